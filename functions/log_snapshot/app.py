"""POST /api/v2/workspaceagents/me/tasks/{task}/log-snapshot (contract §6): route and decorators only."""

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.metrics import MetricUnit
from tasklogs_core import dependencies
from tasklogs_core.errors import TaskNotFound
from tasklogs_core.http_errors import install_error_handlers
from tasklogs_core.observability import http_handler, logger, metrics
from tasklogs_core.snapshot_upload import authorize_upload, parse_upload, request_body
from tasklogs_core.snapshot_writer import store_snapshot
from tasklogs_core.task_repository import PointerUpdate

app = APIGatewayHttpResolver()
install_error_handlers(app, logger, metrics)


@app.post("/api/v2/workspaceagents/me/tasks/<task>/log-snapshot")
def upload_log_snapshot(task: str) -> Response:
    event = app.current_event
    task = (event.path_parameters or {}).get("task", task)
    repository = dependencies.task_repository()
    target = authorize_upload(repository, event.headers or {}, task, event.raw_event.get("rawQueryString", ""))
    logger.append_keys(task_id=target.task_id)
    messages = parse_upload(request_body(event.raw_event))
    stored = store_snapshot(
        target.task_id, messages, repository=repository, store=dependencies.snapshot_store(),
        agent_token_sha256=target.agent_token_sha256,
    )
    if stored.outcome is PointerUpdate.TASK_GONE:  # deleted (or handed to another agent) meanwhile
        raise TaskNotFound()
    logger.info("log snapshot stored", extra={
        "outcome": stored.outcome.value, "snapshot_at": stored.snapshot_at, "messages": len(messages),
        "size_bytes": stored.size_bytes,
    })
    metrics.add_metric(name="SnapshotUploads", unit=MetricUnit.Count, value=1)
    if stored.outcome is PointerUpdate.SUPERSEDED:
        metrics.add_metric(name="SnapshotUploadsSuperseded", unit=MetricUnit.Count, value=1)
    return Response(status_code=204)


lambda_handler = http_handler(app)
