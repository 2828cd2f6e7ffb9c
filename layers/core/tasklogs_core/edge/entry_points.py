"""The entry points the handlers export: the decorator stack each kind of function wears (HTTP, DynamoDB
stream, SQS queue, schedule, Lambda authorizer, CloudFormation custom resource). Each logs in JSON with
the invocation's context, times the dependency calls, flushes the metrics and, but for the authorizer
and the custom resource, sets the invocation's AWS deadline."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from aws_lambda_powertools.metrics import MetricUnit

from tasklogs_core.adapters.deadlines import invocation_deadline
from tasklogs_core.adapters.observability import (
    SERVER_ERROR_ANSWERS,
    UNHANDLED_ERRORS,
    count_for_this_version,
    logger,
    metrics,
    reporting_calls,
)

if TYPE_CHECKING:  # loaded at run time only by the functions that use them (a cold start imports less)
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.typing import LambdaContext

HttpHandler = Callable[[dict[str, Any], "LambdaContext"], dict[str, Any]]
StreamHandler = Callable[[dict[str, Any], "LambdaContext"], "PartialItemFailureResponse"]


def http_app(**options: Any) -> APIGatewayHttpResolver:
    """The resolver of an HTTP function (`options`: the resolver's), every error it raises answered in
    the contract's shape."""
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

    from tasklogs_core.edge.http_errors import install_error_handlers

    app = APIGatewayHttpResolver(**options)
    install_error_handlers(app, logger, metrics)
    return app


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


QueueHandler = Callable[[dict[str, Any], "LambdaContext"], dict[str, list[dict[str, str]]]]
ScheduledHandler = Callable[[dict[str, Any], "LambdaContext"], None]


def queue_handler(batch_handler: Callable[[list[dict[str, Any]], LambdaContext], list[str]]) -> QueueHandler:
    """The entry point of an SQS function: the whole batch through `batch_handler`, which answers the
    ids of the messages to deliver again (ReportBatchItemFailures)."""

    @logger.inject_lambda_context(clear_state=True)
    @metrics.log_metrics
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, list[dict[str, str]]]:
        with invocation_deadline(context), reporting_calls():
            failed = batch_handler(list(event.get("Records", [])), context)
        return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}

    return cast("QueueHandler", lambda_handler)  # Powertools' decorators are untyped


def scheduled_handler(run: Callable[[dict[str, Any]], None]) -> ScheduledHandler:
    """The entry point of a scheduled function: `run` once per invocation; what it raises fails the
    invocation, for the scheduler's retry policy."""

    @logger.inject_lambda_context(clear_state=True)
    @metrics.log_metrics
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> None:
        with invocation_deadline(context), reporting_calls():
            run(event)

    return cast("ScheduledHandler", lambda_handler)  # Powertools' decorators are untyped


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


CustomResourceHandler = Callable[[dict[str, Any], "LambdaContext"], None]
# CloudFormation shows a failed resource's reason in the stack's events; it takes about 4 KB.
_REASON_CHARS = 3500


def custom_resource_handler(check: Callable[[str, dict[str, Any]], list[str]]) -> CustomResourceHandler:
    """The entry point of a CloudFormation custom resource: `check` answers the problems of a request
    (its type and properties); none is SUCCESS, any is FAILED with them as the reason. Every request is
    answered, a bug too (FAILED, the log has the rest), for the stack never to wait on it."""
    from tasklogs_core.adapters.cloudformation_response import send_answer

    @logger.inject_lambda_context(clear_state=True)
    @metrics.log_metrics
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> None:
        try:
            problems = check(str(event.get("RequestType", "")), dict(event.get("ResourceProperties") or {}))
        except Exception:  # noqa: BLE001 - answered all the same, or the stack waits on it
            logger.exception("custom resource check failed")
            count_for_this_version(UNHANDLED_ERRORS)
            problems = [f"The check failed; see the log of {context.function_name}."]
        answer = {
            "Status": "FAILED" if problems else "SUCCESS",
            "Reason": "; ".join(problems)[:_REASON_CHARS] or "checked",
            # The same id every time: an update never replaces the resource (nor deletes the old one).
            "PhysicalResourceId": event.get("PhysicalResourceId") or str(event.get("LogicalResourceId", "checked")),
            "StackId": event.get("StackId"),
            "RequestId": event.get("RequestId"),
            "LogicalResourceId": event.get("LogicalResourceId"),
        }
        send_answer(str(event.get("ResponseURL", "")), answer)

    return cast("CustomResourceHandler", lambda_handler)  # Powertools' decorators are untyped
