"""How the functions observe themselves: the logger and metrics, made once per container, and the
decorator stack each kind of handler wears (HTTP or stream), the invocation's AWS deadline included.
Handlers import what they need from here and make none of their own.

No tracing library: Lambda's active tracing records each invocation, and every invocation reports how
long each of its DynamoDB, S3 and agent calls took, as one log line and as EMF metrics (timings;
docs/tracing.md has the figures behind that choice)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from tasklogs_core.adapters import timings
from tasklogs_core.adapters.deadlines import invocation_deadline
from tasklogs_core.domain.text import well_formed

if TYPE_CHECKING:  # loaded at run time only by the functions that use them
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.typing import LambdaContext

HttpHandler = Callable[[dict[str, Any], "LambdaContext"], dict[str, Any]]
StreamHandler = Callable[[dict[str, Any], "LambdaContext"], "PartialItemFailureResponse"]


def _log_line(record: dict[str, Any]) -> str:
    # Powertools' own serializer, plus well_formed: a lone surrogate from a client (in a path, a header,
    # an exception's text) would otherwise make the line unwritable to stdout, and the line is lost.
    return well_formed(json.dumps(record, default=str, separators=(",", ":"), ensure_ascii=False))


def new_logger(**options: Any) -> Logger:
    return Logger(json_serializer=_log_line, **options)


logger = new_logger()
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "TaskLogs"))
CALL_METRICS = {"dynamodb": "DynamoDBCallTime", "s3": "S3CallTime", "agent": "AgentCallTime"}

# Counted per function and executed version, as Lambda counts its own Errors behind an alias: what a
# deploy's alarm reads to judge the new version alone (template.yaml, "<Function>CanaryAlarm").
SERVER_ERROR_ANSWERS = "ServerErrorAnswers"  # every 5xx answer the function gave
UNHANDLED_ERRORS = "UnhandledErrors"  # a bug: an exception no contract outcome explains


def count_for_this_version(name: str) -> None:
    """One count of `name` under this function's name and executed version (and the service). Off
    where Powertools' metrics are (the local stack), which single_metric alone does not check."""
    if is_metrics_disabled():
        return
    with single_metric(
        name=name,
        unit=MetricUnit.Count,
        value=1,
        namespace=metrics.namespace,
        default_dimensions={
            "function_name": os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "local"),
            "function_version": os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        },
    ):
        pass


@contextmanager
def reporting_calls() -> Iterator[None]:
    """Times the DynamoDB, S3 and agent calls made inside, then reports them: a `dependency calls` log
    line (each call, and the total per dependency) and a metric value per call."""
    with timings.collecting() as calls:
        try:
            yield
        finally:
            if calls:
                logger.info("dependency calls", extra=timings.summary(calls))
                for call in calls:
                    name = CALL_METRICS.get(call.dependency, "OtherCallTime")  # a report never fails a request
                    metrics.add_metric(name=name, unit=MetricUnit.Milliseconds, value=call.ms)


def http_handler(app: APIGatewayHttpResolver) -> HttpHandler:
    """The entry point of an HTTP function serving `app` (an APIGatewayHttpResolver): JSON logs with
    API Gateway's request id as the correlation id, its calls timed, metrics flushed, and the
    invocation's AWS deadline."""
    from aws_lambda_powertools.logging import correlation_paths

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
    @metrics.log_metrics
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        with invocation_deadline(context), reporting_calls():
            answer = app.resolve(event, context)
        if answer.get("statusCode", 500) >= 500:
            count_for_this_version(SERVER_ERROR_ANSWERS)
        return answer

    return cast("HttpHandler", lambda_handler)  # Powertools' decorators are untyped


def stream_handler(record_handler: Callable[..., None]) -> StreamHandler:
    """The entry point of a DynamoDB stream function: each record through `record_handler`, a failed one
    reported as such (ReportBatchItemFailures) for the event source mapping to retry, a bounded number
    of times, then to park in the failure queue."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    processor = BatchProcessor(event_type=EventType.DynamoDBStreams)

    @logger.inject_lambda_context(clear_state=True)
    @metrics.log_metrics
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
        with invocation_deadline(context), reporting_calls():
            return process_partial_response(
                event=event, record_handler=record_handler, processor=processor, context=context
            )

    return cast("StreamHandler", lambda_handler)  # Powertools' decorators are untyped


AuthorizerHandler = Callable[[dict[str, Any], "LambdaContext"], dict[str, Any]]


class Unauthorized(Exception):
    """Raised from a Lambda authorizer to have API Gateway answer 401 `{"message":"Unauthorized"}`, the
    answer its JWT authorizer gives. Any other error would be a 500; `isAuthorized: false`, a 403."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")


def authorizer_handler(
    authorize: Callable[[dict[str, Any], LambdaContext], dict[str, Any] | None],
) -> AuthorizerHandler:
    """The entry point of the Lambda authorizer: `authorize` answers the simple response, or None to
    refuse. The event is never logged (it holds the tokens)."""
    from aws_lambda_powertools.logging import correlation_paths

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
    @metrics.log_metrics
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        with reporting_calls():
            try:
                answer = authorize(event, context)
            except Exception:
                logger.exception("authorizer failed")  # a 500 from API Gateway; the alarms see it too
                count_for_this_version(UNHANDLED_ERRORS)
                raise
        authorized = answer is not None
        metrics.add_metric(
            name="AuthorizedRequests" if authorized else "UnauthorizedRequests", unit=MetricUnit.Count, value=1
        )
        if answer is None:
            raise Unauthorized
        return answer

    return cast("AuthorizerHandler", lambda_handler)
