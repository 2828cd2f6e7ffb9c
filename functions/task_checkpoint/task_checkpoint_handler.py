"""TaskCheckpointFunction: checkpoint queue (SQS) → each task's agent is read and what changed is
stored in its live session (contract §11). Hands the batch to its use case; decorates."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from tasklogs_core.edge.entry_points import queue_handler
from tasklogs_core.use_cases.task_checkpoint import checkpoint_batch


def checkpoint(records: list[dict[str, Any]], lambda_context: LambdaContext) -> list[str]:
    return checkpoint_batch(records, remaining_ms=lambda_context.get_remaining_time_in_millis())


lambda_handler = queue_handler(checkpoint)
