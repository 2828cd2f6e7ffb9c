"""TranscriptRetryFunction: tasks table stream → the transcript writes uploads acknowledged but could
not make in their time are made (contract §7: a 204 means stored). Hands each record to its use case;
decorates."""

from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from tasklogs_core.edge.entry_points import stream_handler
from tasklogs_core.use_cases.transcript_retry import retry_deferred_writes


def retry(record: DynamoDBRecord) -> None:
    retry_deferred_writes(record.raw_event)


lambda_handler = stream_handler(retry)
