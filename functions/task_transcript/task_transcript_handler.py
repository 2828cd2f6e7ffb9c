"""TaskTranscriptFunction: GET /api/v2/tasks/{user}/{task}/transcript (contract §7, §8). Routes and
decorates only."""

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response

from tasklogs_core.adapters.observability import http_handler, logger, metrics
from tasklogs_core.edge.http_errors import install_error_handlers
from tasklogs_core.edge.requests import path_parameter, raw_query, user_claims
from tasklogs_core.edge.transcript_response import transcript_response
from tasklogs_core.use_cases.task_transcript import serve_task_transcript

app = APIGatewayHttpResolver()
install_error_handlers(app, logger, metrics)


@app.get("/api/v2/tasks/<user>/<task>/transcript")
def get_task_transcript(user: str, task: str) -> Response[str]:
    event = app.current_event
    if_none_match = event.headers.get("if-none-match")
    served = serve_task_transcript(
        user_claims(event.raw_event),
        path_parameter(event.raw_event, "user", user),
        path_parameter(event.raw_event, "task", task),
        raw_query(event.raw_event),
        if_none_match=if_none_match,
        remaining_ms=app.lambda_context.get_remaining_time_in_millis(),
    )
    return transcript_response(served, if_none_match=if_none_match)


lambda_handler = http_handler(app)
