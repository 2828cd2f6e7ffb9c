"""LogSnapshotFunction: POST /api/v2/workspaceagents/me/tasks/{task}/log-snapshot (contract §6).
Routes and decorates only."""

from aws_lambda_powertools.event_handler import Response

from tasklogs_core.edge.entry_points import http_app, http_handler
from tasklogs_core.edge.parsing import snapshot_format, upload_messages
from tasklogs_core.edge.requests import (
    DOUBLED_LEADING_SLASHES,
    agent_token,
    path_parameter,
    raw_query,
    request_body,
)
from tasklogs_core.use_cases.log_snapshot import UploadRequest, upload_log_snapshot

# Also behind the API's $default route (template.yaml), where `//api/...` may arrive: stripped, it is
# the upload's own path; anything else there is this resolver's 404.
app = http_app(strip_prefixes=[DOUBLED_LEADING_SLASHES])


@app.post("/api/v2/workspaceagents/me/tasks/<task>/log-snapshot")
def post_log_snapshot(task: str) -> Response[str]:
    event = app.current_event
    upload_log_snapshot(
        UploadRequest(
            token=agent_token(event.headers or {}),
            task_ref=path_parameter(event.raw_event, "task", task),
            snapshot_format=lambda: snapshot_format(raw_query(event.raw_event)),
            messages=lambda: upload_messages(request_body(event.raw_event)),
        )
    )
    return Response(status_code=204)


lambda_handler = http_handler(app)
