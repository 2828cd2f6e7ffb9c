"""Exception handlers shared by the HTTP functions: every error leaves in the contract's shape, as
error_responses decides; bugs get a fixed body so nothing leaks."""

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.metrics import MetricUnit

from tasklogs_core.error_responses import RESOURCE_NOT_FOUND, ErrorBody, error_response, internal_error
from tasklogs_core.errors import TaskLogsError


def json_response(status: int, body: str) -> Response:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def install_error_handlers(app: APIGatewayHttpResolver, logger: Logger, metrics: Metrics) -> None:
    @app.exception_handler(TaskLogsError)
    def handle_domain_error(exc: TaskLogsError) -> Response:
        status, body = error_response(exc)
        cause = type(exc.__cause__).__name__ if exc.__cause__ else None
        log = logger.warning if status < 500 else logger.error
        log(body.message, extra={"error": type(exc).__name__, "status_code": status, "detail": exc.detail, "cause": cause})
        metrics.add_metric(name=f"Http{status // 100}xx", unit=MetricUnit.Count, value=1)
        return json_response(status, body.to_json())

    @app.exception_handler(Exception)
    def handle_bug(exc: Exception) -> Response:
        logger.exception("unhandled error")
        metrics.add_metric(name="Http5xx", unit=MetricUnit.Count, value=1)
        status, body = internal_error()
        return json_response(status, body.to_json())

    @app.not_found
    def handle_unknown_route(exc: Exception) -> Response:
        return json_response(404, ErrorBody(message=RESOURCE_NOT_FOUND).to_json())
