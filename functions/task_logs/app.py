"""GET /api/v2/tasks/{user}/{task}/logs (contract §5): route and decorators only."""

import os

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from tasklogs_core import dependencies
from tasklogs_core.error_responses import RESOURCE_NOT_FOUND, ErrorBody, error_response, internal_error
from tasklogs_core.errors import TaskLogsError
from tasklogs_core.identity import caller_from_claims, jwt_claims
from tasklogs_core.settings import get_settings
from tasklogs_core.task_logs import agent_deadline, find_task, read_task_logs

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "TaskLogs"))
app = APIGatewayHttpResolver()


def _json(status: int, body: str) -> Response:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


@app.get("/api/v2/tasks/<user>/<task>/logs")
@tracer.capture_method
def get_task_logs(user: str, task: str) -> Response:
    settings = get_settings()
    caller = caller_from_claims(jwt_claims(app.current_event.raw_event), settings.username_claim)
    # API Gateway decoded its pathParameters exactly once; the raw path's segments may still be encoded.
    path_parameters = app.current_event.path_parameters or {}
    user, task = path_parameters.get("user", user), path_parameters.get("task", task)
    item = find_task(dependencies.task_repository(), caller, user, task)
    logger.append_keys(task_id=item.task_id)
    deadline = agent_deadline(
        app.lambda_context.get_remaining_time_in_millis(),
        settings.agentapi_timeout_seconds,
        settings.response_margin_seconds,
    )
    status, logs = read_task_logs(
        item, snapshots=dependencies.snapshot_store, agent=dependencies.agentapi_client, deadline=deadline
    )
    logger.info("task logs served", extra={"task_status": status.value, "snapshot": logs.snapshot, "entries": len(logs.logs)})
    metrics.add_metric(name="SnapshotLogsServed" if logs.snapshot else "LiveLogsServed", unit=MetricUnit.Count, value=1)
    return _json(200, logs.to_json())


@app.exception_handler(TaskLogsError)
def handle_domain_error(exc: TaskLogsError) -> Response:
    status, body = error_response(exc)
    cause = type(exc.__cause__).__name__ if exc.__cause__ else None
    log = logger.warning if status < 500 else logger.error
    log(body.message, extra={"error": type(exc).__name__, "status_code": status, "detail": exc.detail, "cause": cause})
    metrics.add_metric(name=f"Http{status // 100}xx", unit=MetricUnit.Count, value=1)
    return _json(status, body.to_json())


@app.exception_handler(Exception)
def handle_bug(exc: Exception) -> Response:
    logger.exception("unhandled error")
    metrics.add_metric(name="Http5xx", unit=MetricUnit.Count, value=1)
    status, body = internal_error()
    return _json(status, body.to_json())


@app.not_found
def handle_unknown_route(exc: Exception) -> Response:
    return _json(404, ErrorBody(message=RESOURCE_NOT_FOUND).to_json())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: object) -> dict:
    return app.resolve(event, context)
