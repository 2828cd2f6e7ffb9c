"""Tasks table stream → delete every version of a deleted task's snapshot (contract §10). Handler only."""

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from tasklogs_core import dependencies
from tasklogs_core.observability import logger, metrics, stream_handler, tracer
from tasklogs_core.snapshot_cleanup import delete_conversation, task_deleted
from tasklogs_core.stream_records import task_change


@tracer.capture_method
def clean_up(record: DynamoDBRecord) -> None:
    change = task_change(record.raw_event)
    if not task_deleted(change.event_name, change.old, change.new):  # a later change of a deleted task
        metrics.add_metric(name="StreamRecordsIgnored", unit=MetricUnit.Count, value=1)
        return
    removed = delete_conversation(change, store=dependencies.snapshot_store(), repository=dependencies.task_repository())
    logger.info("snapshot deleted with its task",
                extra={"task_id": change.task_id, "change": change.event_name, "versions_removed": removed})
    metrics.add_metric(name="SnapshotsDeleted", unit=MetricUnit.Count, value=1)


lambda_handler = stream_handler(clean_up)
