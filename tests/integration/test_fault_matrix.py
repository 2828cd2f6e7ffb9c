"""Every way a task's agent can fail, against the real fake AgentAPI on 127.0.0.1: each ends in the
contract's 502 or 504 while the Lambda still has time left (asserted against its deadline, not the
wall clock). And answers too big for Lambda's 6 MB response are cut or gzipped, never fatal."""

import base64
import gzip
import json
import uuid

import pytest

from devstack.demo.catalogue import ALICE, RUNNING
from devstack.demo.fake_agentapi import FakeAgentAPI, Mode, Scenario, conversation, refused_url
from devstack.generators.events import http_api_event
from tasklogs_core.edge.response_size import OMITTED_HEADER
from tests.helpers import put_task

UNAVAILABLE = "Failed to get messages from task app."
TIMEOUT = "Timed out fetching messages from task app."
LAMBDA_TIMEOUT = 3.0  # seconds the handler gets in these tests; the agent deadline is min(8, 3 - 1)

FAULTS = {
    "refuses connections": (None, 502, UNAVAILABLE, "could not be reached"),
    "accepts and never answers": (Scenario(mode=Mode.SLOW, delay=30), 504, TIMEOUT, "deadline"),
    "drips bytes": (Scenario(mode=Mode.DRIP, delay=0.2), 504, TIMEOUT, "deadline"),
    "answers 500": (Scenario(mode=Mode.HTTP_ERROR, status=500), 502, UNAVAILABLE, "HTTP 500"),
    "answers 404": (Scenario(mode=Mode.HTTP_ERROR, status=404), 502, UNAVAILABLE, "HTTP 404"),
    "answers HTML": (Scenario(mode=Mode.NOT_JSON), 502, UNAVAILABLE, "not JSON"),
    "answers truncated JSON": (Scenario(mode=Mode.TRUNCATED), 502, UNAVAILABLE, "not JSON"),
    "answers the wrong schema": (Scenario(mode=Mode.WRONG_SCHEMA), 502, UNAVAILABLE, "schema"),
    "answers 20 MB": (
        Scenario(mode=Mode.RAW, raw=b'{"messages": [' + b" " * 20_000_000 + b"]}"),
        502,
        UNAVAILABLE,
        "larger than",
    ),
    "answers an unknown role": (Scenario(mode=Mode.UNKNOWN_ROLE), 502, "Invalid task app response.", "system"),
}


def live_task(demo, fake_agentapi: FakeAgentAPI, scenario: Scenario | None) -> dict:
    name = f"fault-{uuid.uuid4().hex[:8]}"
    url = refused_url() if scenario is None else fake_agentapi.agent(name, scenario)
    return put_task(demo, name, RUNNING, agent=url)


def logs_event(task: dict, accept_encoding: str | None = None) -> dict:
    headers = {"accept-encoding": accept_encoding} if accept_encoding else {}
    return http_api_event("GET", f"/api/v2/tasks/me/{task['task_id']}/logs", claims=ALICE.claims, headers=headers)


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_agent_fault_ends_in_the_contract_answer_before_the_deadline(
    invoke, demo, fake_agentapi, fault: str
) -> None:
    scenario, status, message, why = FAULTS[fault]
    task = live_task(demo, fake_agentapi, scenario)
    answer = invoke(logs_event(task), timeout_seconds=LAMBDA_TIMEOUT)
    assert (answer.status, answer.body["message"]) == (status, message)
    assert why in answer.body["detail"]
    assert set(answer.body) == {"message", "detail"}
    # The Lambda still had time left: the answer was not cut off by its timeout.
    assert answer.remaining_ms > 0


def test_invalid_utf8_and_nul_from_the_agent_are_replaced(invoke, demo, fake_agentapi) -> None:
    raw = (
        (
            b'{"messages": [{"id": 0, "content": "caf\\xe9 \\\\u0000 end", "role": "agent", '
            b'"time": "2026-11-25T04:31:04.123456789Z"}]}'
        )
        .replace(b"\\\\u", b"\\u")
        .replace(b"\\xe9", b"\xe9")
    )
    task = live_task(demo, fake_agentapi, Scenario(mode=Mode.RAW, raw=raw))
    answer = invoke(logs_event(task))
    assert answer.status == 200, answer.body
    assert answer.body["logs"][0]["content"] == "caf\ufffd \ufffd end"


# ---------------------------------------------------------------- Lambda's 6 MB response limit

BIG = conversation(*[f"turn {n}: " + "output line\n" * 6_000 for n in range(100)])  # ~7.3 MB of JSON


def lambda_result_size(result: dict) -> int:
    return len(json.dumps(result))


@pytest.fixture
def raw_invoke(handler_env):
    from devstack.runtime.lambda_runtime import context_for, load_handler

    handler = load_handler("TaskLogsFunction")
    return lambda event: handler(event, context_for("TaskLogsFunction", 10))


def test_a_live_answer_over_6_mb_keeps_the_newest_entries_and_says_so(raw_invoke, demo, fake_agentapi) -> None:
    task = live_task(demo, fake_agentapi, Scenario(messages=BIG))
    result = raw_invoke(logs_event(task))
    assert result["statusCode"] == 200 and lambda_result_size(result) <= 6_291_456
    kept = json.loads(result["body"])["logs"]
    omitted = int(result["headers"][OMITTED_HEADER])
    assert omitted > 0 and len(kept) + omitted == len(BIG)
    assert [entry["id"] for entry in kept] == [m["id"] for m in BIG[omitted:]]


def test_a_client_that_accepts_gzip_gets_everything(raw_invoke, demo, fake_agentapi) -> None:
    task = live_task(demo, fake_agentapi, Scenario(messages=BIG))
    result = raw_invoke(logs_event(task, accept_encoding="gzip, deflate"))
    assert result["statusCode"] == 200 and lambda_result_size(result) <= 6_291_456
    assert result["isBase64Encoded"] is True and result["headers"]["Content-Encoding"] == "gzip"
    body = json.loads(gzip.decompress(base64.b64decode(result["body"])))
    assert len(body["logs"]) == len(BIG) and OMITTED_HEADER not in result["headers"]
