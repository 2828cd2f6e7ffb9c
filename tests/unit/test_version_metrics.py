"""The counts a deployment alarm reads (template.yaml, "<Function>CanaryAlarm"): each 5xx answer and
each bug, under the function's name and executed version, as Lambda sets them in its environment."""

import json

import pytest
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from devstack.runtime.lambda_runtime import LocalLambdaContext
from tasklogs_core.adapters import observability
from tasklogs_core.domain import errors
from tasklogs_core.edge.entry_points import http_handler
from tasklogs_core.edge.http_errors import install_error_handlers


def event(path: str) -> dict:
    return {
        "version": "2.0",
        "routeKey": f"GET {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {},
        "requestContext": {"http": {"method": "GET", "path": path}, "requestId": "r", "stage": "$default"},
        "isBase64Encoded": False,
    }


@pytest.fixture
def handler(monkeypatch):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "tasklogs-TaskLogsFunction-abc")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_VERSION", "7")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "tasklogs")  # as the template's Globals set it
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    app = APIGatewayHttpResolver()
    install_error_handlers(app, observability.logger, observability.metrics)

    @app.get("/fine")
    def fine() -> dict:
        return {}

    @app.get("/agent")
    def agent() -> dict:
        raise errors.TaskAppTimeout("slow")

    @app.get("/bug")
    def bug() -> dict:
        raise ZeroDivisionError

    return http_handler(app)


def counted(text: str) -> list[tuple[str, dict]]:
    """(metric name, dimensions) of every EMF line that carries a per-version count."""
    found = []
    for line in text.splitlines():
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        blob = json.loads(line)
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            dimensions = directive["Dimensions"][0]
            if "function_version" in dimensions:
                found += [(metric["Name"], {d: blob[d] for d in dimensions}) for metric in directive["Metrics"]]
    return found


DIMENSIONS = {"function_name": "tasklogs-TaskLogsFunction-abc", "function_version": "7", "service": "tasklogs"}


@pytest.mark.parametrize(
    ("path", "status", "expected"),
    [
        ("/fine", 200, []),
        ("/missing", 404, []),
        ("/agent", 504, [("ServerErrorAnswers", DIMENSIONS)]),
        ("/bug", 500, [("UnhandledErrors", DIMENSIONS), ("ServerErrorAnswers", DIMENSIONS)]),
    ],
)
def test_each_5xx_answer_and_each_bug_is_counted_for_this_version(handler, capsys, path, status, expected) -> None:
    answer = handler(event(path), LocalLambdaContext("TaskLogsFunction", 12))
    assert answer["statusCode"] == status
    assert counted(capsys.readouterr().out) == expected


def test_nothing_is_counted_where_metrics_are_off(handler, capsys, monkeypatch) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")  # as the local stack sets it
    assert handler(event("/bug"), LocalLambdaContext("TaskLogsFunction", 12))["statusCode"] == 500
    assert counted(capsys.readouterr().out) == []
