"""GET /api/v2/tasks/{user}/{task}/logs (contract §5): route and decorators only."""

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.metrics import MetricUnit
from tasklogs_core import dependencies
from tasklogs_core.http_errors import install_error_handlers
from tasklogs_core.identity import caller_from_claims, jwt_claims
from tasklogs_core.observability import http_handler, logger, metrics
from tasklogs_core.response_size import accepts_gzip, fit_logs_response
from tasklogs_core.settings import get_settings
from tasklogs_core.task_logs import agent_deadline, find_task, read_task_logs

app = APIGatewayHttpResolver()
install_error_handlers(app, logger, metrics)


@app.get("/api/v2/tasks/<user>/<task>/logs")
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
    snapshot, entries = logs.snapshot, len(logs.logs)
    fitted = fit_logs_response(logs, gzip_ok=accepts_gzip(app.current_event.headers.get("accept-encoding")))
    del logs  # only the encoded body is needed now: free the conversation before its str copy is made
    logger.info("task logs served", extra={
        "task_status": status.value, "snapshot": snapshot, "entries": entries,
        "omitted_entries": fitted.omitted_entries, "gzip": fitted.is_base64,
    })
    metrics.add_metric(name="SnapshotLogsServed" if snapshot else "LiveLogsServed", unit=MetricUnit.Count, value=1)
    if fitted.omitted_entries:
        metrics.add_metric(name="LogsResponsesTruncated", unit=MetricUnit.Count, value=1)
    response = Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=fitted.text(),
                        headers=fitted.headers)
    response.base64_encoded = fitted.is_base64
    return response


# Not the response: it is the conversation. Traces are readable by more people than the logs, and a
# subsegment over the X-Ray daemon's 64 KB datagram is dropped, losing the trace of big answers.
lambda_handler = http_handler(app, capture_response=False)
