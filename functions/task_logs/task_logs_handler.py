"""TaskLogsFunction: GET /api/v2/tasks/{user}/{task}/logs (contract §5). Routes and decorates only."""

from aws_lambda_powertools.event_handler import Response

from tasklogs_core.edge.entry_points import http_app, http_handler
from tasklogs_core.edge.requests import caller_and_task
from tasklogs_core.edge.response_size import logs_response
from tasklogs_core.use_cases.task_logs import serve_task_logs

app = http_app()


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
    )


lambda_handler = http_handler(app)
