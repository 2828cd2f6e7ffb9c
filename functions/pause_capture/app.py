"""Tasks table stream → when a task starts pausing, capture its agent's conversation as the snapshot
(contract §4). Handler only."""

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from tasklogs_core import dependencies
from tasklogs_core.errors import InvalidTaskAppResponse, TaskAppTimeout, TaskAppUnavailable, TaskAppUrlNotConfigured
from tasklogs_core.observability import logger, metrics, stream_handler, tracer
from tasklogs_core.pause_capture import capture_at_pause, is_pause_start
from tasklogs_core.settings import get_settings
from tasklogs_core.stream_records import task_change
from tasklogs_core.task_logs import agent_deadline

# The agent may be gone already: that is an expected outcome, logged and counted, never retried.
AGENT_FAILURES = (TaskAppUnavailable, TaskAppTimeout, TaskAppUrlNotConfigured, InvalidTaskAppResponse)


@tracer.capture_method
def capture(record: DynamoDBRecord, lambda_context: LambdaContext) -> None:
    change = task_change(record.raw_event)
    if not is_pause_start(change.old, change.new):  # a later change of a pause, or our own pointer update
        metrics.add_metric(name="StreamRecordsIgnored", unit=MetricUnit.Count, value=1)
        return
    task = change.new
    settings = get_settings()
    deadline = agent_deadline(
        lambda_context.get_remaining_time_in_millis(), settings.agentapi_timeout_seconds, settings.response_margin_seconds
    )
    try:
        result = capture_at_pause(
            task, agent=dependencies.agentapi_client(), repository=dependencies.task_repository(),
            store=dependencies.snapshot_store(), deadline=deadline,
        )
    except AGENT_FAILURES as exc:
        logger.warning("agent unreachable at pause; no snapshot captured",
                       extra={"task_id": task.task_id, "error": type(exc).__name__, "detail": exc.detail})
        metrics.add_metric(name="PauseCaptureAgentUnavailable", unit=MetricUnit.Count, value=1)
        return
    logger.info("snapshot captured at pause", extra={
        "task_id": task.task_id, "outcome": result.stored.outcome.value, "paused_at": change.changed_at,
        "snapshot_at": result.stored.snapshot_at, "messages_fetched": result.messages_fetched,
        "messages_kept": result.messages_kept, "size_bytes": result.stored.size_bytes,
    })
    metrics.add_metric(name=f"PauseCapture{result.stored.outcome.value.title().replace('_', '')}", unit=MetricUnit.Count, value=1)


lambda_handler = stream_handler(capture)
