"""TasksFunction: GET /api/v2/tasks/{user}/{task} and GET /api/v2/tasks (contract §9), the task routes
Coder's CLI and VS Code extension call before the logs. Routes and decorates only."""

from aws_lambda_powertools.event_handler import Response, content_types

from tasklogs_core.edge.entry_points import http_app, http_handler
from tasklogs_core.edge.requests import caller_and_task, query_parameter, user_claims
from tasklogs_core.use_cases.tasks import get_task, list_tasks

app = http_app()


@app.get("/api/v2/tasks/<user>/<task>")
def get_one_task(user: str, task: str) -> Response[str]:
    event = app.current_event.raw_event
    found = get_task(*caller_and_task(event, user, task))
    return Response(200, content_types.APPLICATION_JSON, found.model_dump_json())


@app.get("/api/v2/tasks")
def get_task_list() -> Response[str]:
    event = app.current_event.raw_event
    listed = list_tasks(user_claims(event), query_parameter(event, "q"))
    # Left out to stay inside one Lambda response: the oldest matching tasks (contract §9, README).
    headers = {"X-Tasklogs-Omitted-Tasks": str(listed.omitted)} if listed.omitted else None
    return Response(200, content_types.APPLICATION_JSON, listed.answer.model_dump_json(), headers=headers)


lambda_handler = http_handler(app)
