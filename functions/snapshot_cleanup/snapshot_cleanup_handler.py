"""SnapshotCleanupFunction: tasks table stream → every version of a deleted task's snapshot is deleted
(contract §10). Hands each record to its use case; decorates."""

from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from tasklogs_core.edge.entry_points import stream_handler
from tasklogs_core.use_cases.snapshot_cleanup import clean_up_on_delete


def clean_up(record: DynamoDBRecord) -> None:
    clean_up_on_delete(record.raw_event)


lambda_handler = stream_handler(clean_up)
