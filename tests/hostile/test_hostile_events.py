"""Hostile input, generated: API Gateway events with odd path parameters (unicode, encoded slashes,
huge strings), missing or duplicated headers, odd query strings, missing or strange authorizer
claims, non-UTF-8 and base64 bodies. Whatever a client sends, the handlers answer with a client
error or success in the contract's shape: never a 5xx, never another body.

The default run generates HOSTILE_EXAMPLES events per property (500); the slow-marked run
HOSTILE_SLOW_EXAMPLES more (2,500: sized so the whole suite holds CI's budget on two cores; raise it for a
deeper search, e.g. HOSTILE_SLOW_EXAMPLES=20000 make test PYTEST_ARGS="tests/hostile").
Text includes lone surrogates (category Cs) and bodies include lone surrogate escapes and NaN tokens.
"""

import base64
import json
import os
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from devstack.demo.catalogue import ALICE, BOB, TASKS, TASKS_BY_NAME, UPLOAD_BODY, UPLOAD_TASK
from devstack.generators.events import http_api_event
from devstack.runtime.lambda_runtime import context_for, load_handler
from tasklogs_core.domain.text import parse_uuid

DEFAULT_EXAMPLES = int(os.environ.get("HOSTILE_EXAMPLES", "500"))
SLOW_EXAMPLES = int(os.environ.get("HOSTILE_SLOW_EXAMPLES", "2500"))
ERROR_KEYS = {"message", "detail", "validations"}

# Healthy demo tasks only: a task whose agent is down answers 502 by design, whoever asks.
HEALTHY = [TASKS_BY_NAME[name] for name in ("refactor-auth", "add-billing-page", "write-docs", "release-notes")]
# The other demo tasks answer 409, 500, 502 or 504 by design. Hypothesis also draws strings from the
# literals of the code it runs (devstack/demo/catalogue.py names them all), so generated text can name one.
BY_DESIGN = {ref for task in TASKS if task not in HEALTHY for ref in (task.name, task.task_id)}

# Lone surrogates (category Cs) are what a `\ud800` escape in a JSON event decodes to: no UTF-8 text can
# hold one, so every place that echoes client text must cope with them.
with_surrogates = st.text(
    alphabet=st.one_of(st.characters(categories=["Cs"]), st.characters()), min_size=1, max_size=40
)
odd_text = st.one_of(
    st.text(max_size=40),
    with_surrogates,
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=300),
    st.sampled_from(["..", ".", "%2F", "a/b", "/", "\\", "%00", "\x00", "me/../bob", "%E2%82", "\ud800", " ", ""]),
    st.builds(lambda c, n: c * n, st.sampled_from(["x", "é", "😀", "/"]), st.integers(1_000, 20_000)),
)
user_segment = st.one_of(st.sampled_from(["me", "alice", "ALICE", ALICE.user_id, "bob", BOB.user_id]), odd_text)
task_segment = st.one_of(st.sampled_from([t.name for t in HEALTHY] + [t.task_id for t in HEALTHY]), odd_text)
header_name = st.one_of(
    st.sampled_from(
        [
            "accept",
            "accept-encoding",
            "content-type",
            "coder-session-token",
            "authorization",
            "x-forwarded-for",
            "cookie",
        ]
    ),
    st.text(min_size=1, max_size=20),
)
headers = st.dictionaries(
    header_name, st.one_of(odd_text, st.sampled_from(["gzip", "Bearer", "Bearer x, Bearer y"])), max_size=6
)
query = st.one_of(
    st.just(""),
    st.sampled_from(
        [
            "format=agentapi",
            "format=",
            "format=agentapi&format=x",
            "a=1&a=2",
            "%ZZ",
            "=",
            "&&&",
            "format=agentapi&" + "x" * 5000,
        ]
    ),
    st.text(max_size=200),
)
claims = st.one_of(
    st.none(),
    st.just(ALICE.claims),
    st.just(BOB.claims),
    st.dictionaries(st.sampled_from(["sub", "username", "email", "aud"]), odd_text, max_size=4),
)
# json.dumps writes NaN and Infinity as bare tokens and lone surrogates as `\udXXX` escapes: bodies that
# are not strict JSON, and escapes no UTF-8 can hold.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=50) | with_surrogates,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
message = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(
            st.integers(),
            st.integers(2**63 - 2, 2**64),
            st.integers(-(2**64), -(2**63) + 1),
            st.floats(),
            st.text(max_size=5),
            st.none(),
        ),
        "content": st.one_of(st.text(max_size=200), with_surrogates, st.integers()),
        "role": st.one_of(
            st.sampled_from(["user", "agent", "system", "", "\ud800"]), st.text(max_size=10), with_surrogates
        ),
        "time": st.one_of(
            st.sampled_from(
                ["2026-11-25T04:31:04Z", "2026-11-25T04:31:04.123456789+02:00", "2026-13-40T99:99:99Z", "yesterday"]
            ),
            st.text(max_size=30),
        ),
    },
)
body_bytes = st.one_of(
    st.none(),
    st.binary(max_size=300),
    st.just(UPLOAD_BODY),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.lists(message, max_size=5).map(lambda ms: json.dumps({"messages": ms}).encode()),
    st.integers(60_000, 70_000).map(lambda n: b'{"messages": [], "pad": "' + b"x" * n + b'"}'),
    st.sampled_from(
        [rb'"\ud800"', rb'"a\udfffb"', rb'"\ud83d"', rb'"\ud83d\ude00"', b"NaN", b"-Infinity", b"1e999", b"9" * 30]
    ).map(
        lambda raw: (
            b'{"messages": [{"id": 0, "content": ' + raw + b', "role": "agent", "time": "2026-11-25T04:31:04Z"}]}'
        )
    ),
)


def _event(
    method: str,
    user: str | None,
    task: str,
    hdrs: dict,
    raw_query: str,
    claim: dict | None,
    body: bytes | None,
    as_base64: bool,
) -> dict:
    path = (
        f"/api/v2/tasks/{quote(user, safe='', errors='replace')}/{quote(task, safe='', errors='replace')}/logs"
        if method == "GET"
        else f"/api/v2/workspaceagents/me/tasks/{quote(task, safe='', errors='replace')}/log-snapshot"
    )
    try:
        event = http_api_event(method, path, claims=claim, headers=hdrs, raw_query=raw_query)
    except ValueError:  # no template route matches (for example an empty segment): API Gateway's own 404
        return {}
    event["pathParameters"] = {"user": user, "task": task} if method == "GET" else {"task": task}
    if body is not None:
        if as_base64:
            event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
        else:
            event["body"] = body.decode("utf-8", errors="surrogateescape")
    return event


def assert_contract(result: dict, allowed: set[int], ok_key: str = "logs") -> None:
    status = result["statusCode"]
    assert status in allowed, result
    (result.get("body") or "").encode()  # a body with a lone surrogate cannot leave Lambda: API Gateway's bare 500
    if status == 204:
        assert not result.get("body")
        return
    if status == 304:
        assert not result.get("body") and result["headers"]["ETag"].startswith('W/"')
        return
    assert result["headers"]["Content-Type"] == "application/json"
    body = json.loads(result["body"]) if not result.get("isBase64Encoded") else None
    if status == 200:
        assert body is None or ok_key in body, body
        return
    assert isinstance(body, dict) and "message" in body and set(body) <= ERROR_KEYS, body
    assert isinstance(body["message"], str) and isinstance(body.get("detail", ""), str)
    for validation in body.get("validations", []):
        assert set(validation) == {"field", "detail"}


def _run(function: str, event: dict, allowed: set[int], ok_key: str = "logs") -> None:
    if not event:
        return
    result = load_handler(function)(event, context_for(function, 10))
    assert_contract(result, allowed, ok_key)


SETTINGS = {"deadline": None, "database": None, "suppress_health_check": list(HealthCheck), "derandomize": False}


def logs_property(examples: int):
    @settings(max_examples=examples, **SETTINGS)
    @given(
        user=user_segment,
        task=task_segment,
        hdrs=headers,
        raw_query=query,
        claim=claims,
        body=st.one_of(st.none(), st.binary(max_size=100)),
        as_base64=st.booleans(),
    )
    def check(user, task, hdrs, raw_query, claim, body, as_base64) -> None:
        assume((parse_uuid(task) or task) not in BY_DESIGN)
        _run("TaskLogsFunction", _event("GET", user, task, hdrs, raw_query, claim, body, as_base64), {200, 401, 404})

    return check


def upload_property(examples: int):
    token = st.one_of(
        st.none(), st.just(UPLOAD_TASK.agent_token), st.just(TASKS_BY_NAME["refactor-auth"].agent_token), odd_text
    )
    task = st.one_of(st.just(UPLOAD_TASK.task_id), st.just(TASKS_BY_NAME["bobs-task"].task_id), task_segment)

    @settings(max_examples=examples, **SETTINGS)
    @given(task=task, hdrs=headers, agent_token=token, raw_query=query, body=body_bytes, as_base64=st.booleans())
    def check(task, hdrs, agent_token, raw_query, body, as_base64) -> None:
        if agent_token is not None:
            hdrs = {**hdrs, "coder-session-token": agent_token}
        event = _event("POST", None, task, hdrs, raw_query, None, body, as_base64)
        _run("LogSnapshotFunction", event, {204, 400, 401, 404})

    return check


def upload_body_property(examples: int):
    """Bodies only: the agent, task and query are right, so every example reaches step 5 (the body),
    which the whole-event property reaches only now and then."""

    @settings(max_examples=examples, **SETTINGS)
    @given(body=body_bytes, as_base64=st.booleans())
    def check(body, as_base64) -> None:
        hdrs = {"coder-session-token": UPLOAD_TASK.agent_token, "content-type": "application/json"}
        event = _event("POST", None, UPLOAD_TASK.task_id, hdrs, "format=agentapi", None, body, as_base64)
        _run("LogSnapshotFunction", event, {204, 400})

    return check


def task_route_property(examples: int):
    """GET /api/v2/tasks/{user}/{task} and GET /api/v2/tasks?q=: any segments, headers, queries and
    claims get the task, the list, or a client error (contract §9), never a 5xx."""
    q_values = st.one_of(
        odd_text,
        st.sampled_from(['owner:"me"', "status:paused", 'owner:"a b', '""', ":", "a:b:c", "owner:me owner:me"]),
    )
    raw_list_query = st.one_of(query, q_values.map(lambda q: "q=" + quote(q, safe="", errors="replace")))

    @settings(max_examples=examples, **SETTINGS)
    @given(user=user_segment, task=task_segment, hdrs=headers, raw_query=raw_list_query, claim=claims)
    def check(user, task, hdrs, raw_query, claim) -> None:
        path = f"/api/v2/tasks/{quote(user, safe='', errors='replace')}/{quote(task, safe='', errors='replace')}"
        try:
            event = http_api_event("GET", path, claims=claim, headers=hdrs)
        except ValueError:
            event = {}
        if event:
            event["pathParameters"] = {"user": user, "task": task}
        _run("TasksFunction", event, {200, 401, 404}, ok_key="id")
        listing = http_api_event("GET", "/api/v2/tasks", claims=claim, headers=hdrs, raw_query=raw_query)
        _run("TasksFunction", listing, {200, 400, 401}, ok_key="tasks")

    return check


def transcript_property(examples: int):
    """GET .../transcript: any segments, headers (If-None-Match among them), queries and claims get a
    page, a 304, or a client error (contract §7, §8), never a 5xx."""
    number = st.one_of(
        st.integers(-5, 2**53 + 5).map(str), st.sampled_from(["", "1.5", "1e3", "+1", "0x10", "２"]), odd_text
    )
    field = st.sampled_from(["limit", "after", "before", "LIMIT", "page"])
    structured = st.lists(st.tuples(field, number), max_size=4).map(
        lambda pairs: "&".join(f"{quote(k)}={quote(v, safe='', errors='replace')}" for k, v in pairs)
    )
    etag = st.one_of(st.none(), odd_text, st.sampled_from(["*", 'W/"x"', '"a", W/"b"', 'W/"', ",,"]))

    @settings(max_examples=examples, **SETTINGS)
    @given(
        user=user_segment,
        task=st.one_of(task_segment, st.sampled_from(["port-rate-limiter", "refactor-auth", "flaky-build"])),
        hdrs=headers,
        raw_query=st.one_of(query, structured),
        claim=claims,
        if_none_match=etag,
    )
    def check(user, task, hdrs, raw_query, claim, if_none_match) -> None:
        path = f"/api/v2/tasks/{quote(user, safe='', errors='replace')}/{quote(task, safe='', errors='replace')}"
        if if_none_match is not None:
            hdrs = {**hdrs, "if-none-match": if_none_match}
        try:
            event = http_api_event("GET", f"{path}/transcript", claims=claim, headers=hdrs, raw_query=raw_query)
        except ValueError:
            return
        event["pathParameters"] = {"user": user, "task": task}
        _run("TaskTranscriptFunction", event, {200, 304, 400, 401, 404}, ok_key="entries")

    return check


def authorizer_property(examples: int):
    """The user authorizer, whatever the headers: it lets a request through with the verified subject,
    or raises API Gateway's "Unauthorized"; never any other error (a 500 for the caller)."""
    from devstack.generators.events import authorizer_event
    from devstack.runtime.local_idp import mint
    from tasklogs_core.edge.entry_points import Unauthorized

    valid = mint(ALICE.claims)
    token = st.one_of(st.just(valid), odd_text, st.just(valid[:-5]), st.just(valid.replace(".", "..")))

    @settings(max_examples=examples, **SETTINGS)
    @given(hdrs=headers, session=st.one_of(st.none(), token), bearer=st.one_of(st.none(), token))
    def check(hdrs, session, bearer) -> None:
        if session is not None:
            hdrs = {**hdrs, "coder-session-token": session}
        if bearer is not None:
            hdrs = {**hdrs, "authorization": f"Bearer {bearer}"}
        event = authorizer_event("GET", "/api/v2/tasks/me/refactor-auth/logs", headers=hdrs)
        try:
            answer = load_handler("UserAuthorizerFunction")(event, context_for("UserAuthorizerFunction", 5))
        except Unauthorized:
            return
        assert answer == {"isAuthorized": True, "context": {"sub": ALICE.user_id, "username": "alice"}}

    return check


def test_task_routes_answer_any_event_per_contract(handler_env) -> None:
    task_route_property(DEFAULT_EXAMPLES)()


def test_the_transcript_route_answers_any_event_per_contract(handler_env) -> None:
    transcript_property(DEFAULT_EXAMPLES)()


@pytest.mark.slow
def test_the_transcript_route_answers_many_events_per_contract(handler_env) -> None:
    transcript_property(SLOW_EXAMPLES)()


def test_the_authorizer_answers_any_headers_with_a_verdict(handler_env) -> None:
    authorizer_property(DEFAULT_EXAMPLES)()


@pytest.mark.slow
def test_task_routes_answer_many_events_per_contract(handler_env) -> None:
    task_route_property(SLOW_EXAMPLES)()


def test_logs_route_answers_any_event_per_contract(handler_env) -> None:
    logs_property(DEFAULT_EXAMPLES)()


def test_upload_route_answers_any_event_per_contract(handler_env) -> None:
    upload_property(DEFAULT_EXAMPLES)()


def test_upload_route_answers_any_body_per_contract(handler_env) -> None:
    upload_body_property(DEFAULT_EXAMPLES)()


@pytest.mark.slow
def test_upload_route_answers_many_bodies_per_contract(handler_env) -> None:
    upload_body_property(SLOW_EXAMPLES)()


@pytest.mark.slow
def test_logs_route_answers_many_events_per_contract(handler_env) -> None:
    logs_property(SLOW_EXAMPLES)()


@pytest.mark.slow
def test_upload_route_answers_many_events_per_contract(handler_env) -> None:
    upload_property(SLOW_EXAMPLES)()
