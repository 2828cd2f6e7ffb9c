"""Tasks table stream → delete every version of a deleted task's snapshot (contract §10). Handler only."""

import os

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from tasklogs_core import dependencies
from tasklogs_core.observability import new_logger
from tasklogs_core.deadlines import invocation_deadline
from tasklogs_core.snapshot_cleanup import delete_conversation, task_deleted
from tasklogs_core.stream_records import task_change

logger = new_logger()
tracer = Tracer(patch_modules=dependencies.TRACED_AT_INIT)
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "TaskLogs"))
# A failed record is retried by the event source mapping (bounded; then sent to the failure queue).
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


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


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: object) -> dict:
    with invocation_deadline(context):
        return process_partial_response(event=event, record_handler=clean_up, processor=processor, context=context)
