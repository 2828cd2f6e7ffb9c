"""TaskLogsFunction: GET /api/v2/tasks/{user}/{task}/logs (contract §5). Routes and decorates only."""

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response

from tasklogs_core.adapters.observability import http_handler, logger, metrics
from tasklogs_core.edge.http_errors import install_error_handlers
from tasklogs_core.edge.requests import caller_and_task
from tasklogs_core.edge.response_size import logs_response
from tasklogs_core.use_cases.task_logs import serve_task_logs

app = APIGatewayHttpResolver()
install_error_handlers(app, logger, metrics)


@app.get("/api/v2/tasks/<user>/<task>/logs")
def get_task_logs(user: str, task: str) -> Response[str]:
    event = app.current_event
    # Passed straight through, so the conversation is freed before the response body is copied.
    return logs_response(
        serve_task_logs(
            *caller_and_task(event.raw_event, user, task),
            remaining_ms=app.lambda_context.get_remaining_time_in_millis(),
            if_none_match=event.headers.get("if-none-match"),
        ),
        accept_encoding=event.headers.get("accept-encoding"),
        if_none_match=event.headers.get("if-none-match"),
    )


lambda_handler = http_handler(app)
