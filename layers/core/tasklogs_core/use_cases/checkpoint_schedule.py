"""The CheckpointScheduleFunction's use case (contract §11): on each run of the schedule, every task
that is active now and due is sent to the checkpoint queue. The running tasks are found through the
build-transition index (no Scan) and their status derived as every reader derives it; a task that
stops being active is not sent again.

With an interval longer than the schedule's period, each task is due on one run in every
interval // period, the tasks spread evenly over the runs by their id.
"""

from __future__ import annotations

import hashlib
import time

from aws_lambda_powertools.metrics import MetricUnit

from tasklogs_core.adapters import clients
from tasklogs_core.adapters.checkpoint_queue import CheckpointDue
from tasklogs_core.adapters.observability import logger, metrics
from tasklogs_core.adapters.settings import get_settings
from tasklogs_core.domain.status import TaskStatus, derive_status

# The schedule's period in AWS (template.yaml: rate(1 minute), the finest EventBridge offers).
SCHEDULE_PERIOD_SECONDS = 60


def slots(interval_seconds: int, period_seconds: int = SCHEDULE_PERIOD_SECONDS) -> int:
    """How many runs of the schedule one interval spans: each task is due on one of them."""
    return max(1, interval_seconds // period_seconds)


def slot_of(task_id: str, count: int) -> int:
    return int.from_bytes(hashlib.sha256(task_id.encode()).digest()[:8]) % count


def schedule_checkpoints() -> None:
    repository, queue = clients.task_repository(), clients.checkpoint_queue()
    interval = get_settings().checkpoint_interval_seconds
    now = time.time()
    count = slots(interval)
    slot = int(now // SCHEDULE_PERIOD_SECONDS) % count
    # A message not taken within the interval is stale: a later run has sent the task again.
    not_after = now + interval
    started = active = sent = 0
    for page in repository.started_tasks():
        started += len(page)
        running = [task for task in page if derive_status(task) is TaskStatus.ACTIVE]
        active += len(running)
        due = [CheckpointDue(task.task_id, not_after) for task in running if slot_of(task.task_id, count) == slot]
        queue.send(due)
        sent += len(due)
    logger.info("checkpoints scheduled", extra={"started": started, "active": active, "sent": sent, "slot": slot})
    metrics.add_metric(name="CheckpointsScheduled", unit=MetricUnit.Count, value=sent)
    metrics.add_metric(name="ActiveTasks", unit=MetricUnit.Count, value=active)
