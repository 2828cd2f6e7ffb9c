"""TaskTranscriptFunction: GET .../transcript and .../transcript/entries/{seq} (contract §7, §8)."""

from aws_lambda_powertools.event_handler import Response

from tasklogs_core.edge.entry_points import http_app, http_handler
from tasklogs_core.edge.parsing import entry_seq, page_request
from tasklogs_core.edge.requests import caller_and_task, path_parameter, raw_query
from tasklogs_core.edge.response_size import fits_lambda_response
from tasklogs_core.edge.transcript_response import entry_response, transcript_response
from tasklogs_core.use_cases.task_transcript import serve_task_transcript, serve_transcript_entry

app = http_app()


@app.get("/api/v2/tasks/<user>/<task>/transcript")
def get_task_transcript(user: str, task: str) -> Response[str]:
    served = serve_task_transcript(
        *caller_and_task(app.current_event.raw_event, user, task),
        lambda: page_request(raw_query(app.current_event.raw_event)),
        if_none_match=app.current_event.headers.get("if-none-match"),
        remaining_ms=app.lambda_context.get_remaining_time_in_millis(),
    )
    return transcript_response(served)


@app.get("/api/v2/tasks/<user>/<task>/transcript/entries/<seq>")
def get_transcript_entry(user: str, task: str, seq: str) -> Response[str]:
    served = serve_transcript_entry(
        *caller_and_task(app.current_event.raw_event, user, task),
        lambda: entry_seq(path_parameter(app.current_event.raw_event, "seq", seq)),
        carried=fits_lambda_response,  # the whole text fits what Lambda carries, else a link to a copy
        remaining_ms=app.lambda_context.get_remaining_time_in_millis(),
    )
    return entry_response(served)


lambda_handler = http_handler(app)
