"""ViewerFunction: GET /viewer and GET /viewer/{file}, the web viewer's page, script, style and sign-in
settings. No authorizer on these routes, and no task data behind them. Routes and decorates only."""

from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from tasklogs_core.edge.entry_points import http_app, http_handler
from tasklogs_core.edge.requests import path_parameter
from tasklogs_core.use_cases.viewer import ViewerFile, serve_viewer, viewer_security_headers

STATIC = Path(__file__).parent / "static"
app = http_app()


@app.get("/viewer")
def viewer_page() -> Response[str]:
    return _answer(serve_viewer("index.html", STATIC))


@app.get("/viewer/<name>")
def viewer_file(name: str) -> Response[str]:
    return _answer(serve_viewer(path_parameter(app.current_event.raw_event, "name", name), STATIC))


def _answer(file: ViewerFile) -> Response[str]:
    return Response(file.status, file.content_type, file.body, headers=file.headers)


_resolve = http_handler(app)


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Every answer, a 404 or a 500 too, under the page's policy: never framed, never sniffed."""
    answer = _resolve(event, context)
    answer["headers"] = {**viewer_security_headers(), **(answer.get("headers") or {})}
    return answer
