"""CheckpointScheduleFunction: EventBridge Scheduler, every minute → every active task due is sent to
the checkpoint queue (contract §11). Calls its use case; decorates."""

from typing import Any

from tasklogs_core.edge.entry_points import scheduled_handler
from tasklogs_core.use_cases.checkpoint_schedule import schedule_checkpoints


def schedule(_event: dict[str, Any]) -> None:
    schedule_checkpoints()


lambda_handler = scheduled_handler(schedule)
