"""docs/openapi.json is generated from the code and committed; schemathesis generates requests from it
and sends them over HTTP to the local API Gateway front (real handlers, moto server, fake AgentAPI),
checking every answer against the document: status codes, content types, bodies, headers, no 5xx."""

import json
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance, unsupported_method

from devstack.demo.catalogue import ALICE, UPLOAD_TASK
from devstack.generators.openapi import (
    OPENAPI_PATH,
    TASKS_PATH,
    TRANSCRIPT_PATH,
    UPLOAD_PATH,
    VIEWER_FILE_PATH,
    VIEWER_PATH,
    render,
)
from devstack.runtime.front import LocalApiGateway

schema = schemathesis.openapi.from_path(OPENAPI_PATH)


@schema.hook
def map_body(_context, body):
    """Message ids as integer literals. To JSON Schema `1.0` is an integer, and schemathesis sends
    such ids; Go's decoder (AgentAPI's and Coder's clients) refuses them for an int64, and so does
    the upload (a documented 400, tests/unit/test_log_snapshot.py). Everything else is sent as made."""
    if isinstance(body, dict) and isinstance(body.get("messages"), list):
        for message in body["messages"]:
            if isinstance(message, dict) and isinstance(message.get("id"), float) and message["id"].is_integer():
                message["id"] = int(message["id"])
    return body


def test_committed_document_matches_the_code() -> None:
    assert OPENAPI_PATH.read_text() == render(), "docs/openapi.json drifted: run `make openapi`"


def test_the_api_page_s_tables_match_the_code() -> None:
    from devstack.generators import api_reference

    page = api_reference.API_REFERENCE_PATH.read_text()
    assert page == api_reference.render(page), "docs/api.md's tables drifted: run `make openapi`"
    assert page.count("<!-- generated: ") == 2
    assert "|  |" not in page, "every error says when it happens (its docstring)"
    document = json.loads(OPENAPI_PATH.read_text())
    for path, operations in document["paths"].items():
        for method in operations:
            assert f"`{method.upper()} {path}`" in page, (method, path)


def test_document_is_openapi_31_with_every_route() -> None:
    document = json.loads(OPENAPI_PATH.read_text())
    assert document["openapi"] == "3.1.0"
    assert set(document["paths"]) == {
        "/api/v2/tasks/{user}/{task}/logs",
        "/api/v2/tasks/{user}/{task}/transcript",
        "/api/v2/tasks/{user}/{task}/transcript/entries/{seq}",
        "/api/v2/tasks/{user}/{task}",
        "/api/v2/tasks",
        UPLOAD_PATH,
        VIEWER_PATH,
        VIEWER_FILE_PATH,
    }


@pytest.fixture
def front(handler_env):
    gateway = LocalApiGateway(port=0).start()
    yield gateway
    gateway.stop()


@schema.parametrize()
@settings(
    max_examples=int(os.environ.get("SCHEMATHESIS_EXAMPLES", "60")),
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_answer_conforms_to_the_document(case, front) -> None:
    if case.path == UPLOAD_PATH:
        headers = {"Coder-Session-Token": UPLOAD_TASK.agent_token}
    else:
        headers = {"Authorization": f"Bearer {ALICE.token}"}
    # A method without a route of its own goes to $default, whose function answers 404, not 405.
    excluded = [unsupported_method]
    if case.path == TASKS_PATH:
        # `q` is Coder's filter grammar, which a JSON Schema string cannot express: any string is
        # schema-valid, yet `template:go` is a documented 400 (tests/unit/test_task_filter.py).
        excluded.append(positive_data_acceptance)
    if case.path == TRANSCRIPT_PATH:
        # `after` and `before` exclude each other, which OpenAPI's parameters cannot say: both given
        # is a documented 400 (tests/integration/test_transcript_route.py).
        excluded.append(positive_data_acceptance)
    case.call_and_validate(base_url=front.url, headers=headers, excluded_checks=excluded)
