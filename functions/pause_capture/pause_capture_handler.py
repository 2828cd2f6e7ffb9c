"""PauseCaptureFunction: tasks table stream → when a task starts pausing, its agent's conversation is
captured as the snapshot (contract §4). Hands each record to its use case; decorates."""

from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from tasklogs_core.edge.entry_points import stream_handler
from tasklogs_core.use_cases.pause_capture import capture_on_pause


def capture(record: DynamoDBRecord, lambda_context: LambdaContext) -> None:
    capture_on_pause(record.raw_event, remaining_ms=lambda_context.get_remaining_time_in_millis())


lambda_handler = stream_handler(capture)
