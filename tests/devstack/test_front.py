"""The local API Gateway front over real sockets: what a careless or hostile HTTP client sends (HEAD,
chunked bodies, broken Content-Length, malformed requests) is answered correctly and in the contract's
error shape, and slow requests run side by side in their own containers."""

import http.client
import json
import socket
import threading
import time
import uuid
from urllib.parse import urlsplit

import pytest

from devstack.demo.catalogue import ALICE, PAUSED, RUNNING, upload_path
from devstack.demo.fake_agentapi import FakeAgentAPI, Mode, Scenario
from devstack.runtime.containers import LocalLambda
from devstack.runtime.front import LocalApiGateway
from tests.helpers import put_task

ERROR_KEYS = {"message", "detail", "validations"}
UPLOAD_JSON = b'{"messages":[{"id":0,"content":"chunked","role":"agent","time":"2026-11-25T10:00:00Z"}]}'


@pytest.fixture
def front(handler_env):
    gateway = LocalApiGateway(port=0).start()
    yield gateway
    gateway.stop()


def address(front: LocalApiGateway) -> tuple[str, int]:
    parts = urlsplit(front.url)
    return parts.hostname, parts.port


def exchange(front: LocalApiGateway, raw: bytes, timeout: float = 10) -> bytes:
    """Send raw bytes on a new connection; everything the front answers until it closes (or goes quiet)."""
    with socket.create_connection(address(front), timeout=timeout) as sock:
        sock.sendall(raw)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except TimeoutError:
            pass
    return received


def parse_responses(raw: bytes) -> list[tuple[int, dict[str, str], bytes]]:
    """(status, headers, body) of each response in a byte stream (Content-Length framed)."""
    responses = []
    while raw:
        head, _, rest = raw.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in header_lines)}
        length = int(headers.get("content-length", "0"))
        responses.append((int(status_line.split()[1]), headers, rest[:length]))
        raw = rest[length:]
    return responses


def assert_error_shape(status: int, headers: dict[str, str], body: bytes) -> None:
    assert headers["content-type"] == "application/json", (status, headers, body)
    document = json.loads(body)
    assert isinstance(document["message"], str) and set(document) <= ERROR_KEYS, document


# ---------------------------------------------------------------- HEAD


def test_head_sends_no_body_and_the_next_response_on_the_connection_is_intact(front) -> None:
    connection = http.client.HTTPConnection(*address(front), timeout=10)
    auth = {"Authorization": f"Bearer {ALICE.token}"}
    connection.request("HEAD", "/api/v2/tasks/me/add-billing-page/logs", headers=auth)
    head = connection.getresponse()
    assert head.read() == b"" and head.status == 404  # API Gateway: no HEAD route
    connection.request("GET", "/api/v2/tasks/me/add-billing-page/logs", headers=auth)
    get = connection.getresponse()
    assert get.status == 200 and json.loads(get.read())["snapshot"] is True
    connection.close()


def test_head_on_the_wire_has_no_body_bytes(front) -> None:
    request = (
        b"HEAD /api/v2/tasks/me/add-billing-page/logs HTTP/1.1\r\nHost: x\r\n"
        b"Authorization: Bearer " + ALICE.token.encode() + b"\r\n\r\n"
        b"GET /no-such-route HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    raw = exchange(front, request)
    head, _, rest = raw.partition(b"\r\n\r\n")
    # No route of its own: the $default route's function answers it (the upload function's 404).
    not_found = b'{"message":"Resource not found."}'
    assert head.startswith(b"HTTP/1.1 404") and b"content-length: %d" % len(not_found) in head.lower()
    assert rest.startswith(b"HTTP/1.1 404")  # the next response follows the HEAD's headers at once


# ---------------------------------------------------------------- request bodies


def test_a_chunked_upload_is_read_whole_and_the_connection_stays_in_step(front, handler_env, invoke) -> None:
    name = f"chunked-{uuid.uuid4().hex[:6]}"
    task = put_task(handler_env, name, PAUSED)
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (UPLOAD_JSON[:20], UPLOAD_JSON[20:]))
    request = (
        (
            f"POST {upload_path(task['task_id'])}?format=agentapi HTTP/1.1\r\nHost: x\r\n"
            f"Coder-Session-Token: agent-token-{name}\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n"
        ).encode()
        + chunks
        + b"0\r\n\r\n"
    )
    follow_up = b"GET /api/v2/unknown HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    [upload, unknown] = parse_responses(exchange(front, request + follow_up))
    assert upload[0] == 204
    assert unknown[0] == 404 and json.loads(unknown[2]) == {"message": "Resource not found."}  # via $default
    from devstack.generators.events import http_api_event

    logs = invoke(http_api_event("GET", f"/api/v2/tasks/me/{name}/logs", claims=ALICE.claims)).body
    assert [entry["content"] for entry in logs["logs"]] == ["chunked"]


@pytest.mark.parametrize("length", [b"abc", b"-1", b"1x", b"12, 13", b""])
def test_a_bad_content_length_is_a_400_in_the_contract_shape(front, capfd, length: bytes) -> None:
    request = (
        b"POST /api/v2/workspaceagents/me/tasks/x/log-snapshot HTTP/1.1\r\nHost: x\r\n"
        b"Content-Length: " + length + b"\r\n\r\n{}"
    )
    started = time.monotonic()
    [(status, headers, body)] = parse_responses(exchange(front, request))
    assert status == 400 and time.monotonic() - started < 5  # answered, not read until the client gives up
    assert_error_shape(status, headers, body)
    assert "Traceback" not in capfd.readouterr().err


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GARBAGE\r\n\r\n",
        b"GET /api/v2/tasks HTTP/9.9\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET /api/v2/tasks HTTP/1.1\r\nBad Header Line\r\n\r\n",
        b"GET /api/v2/tasks HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n",
        b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 20_000,  # headers that never end: past h11's limit
        b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n",
    ],
)
def test_protocol_errors_are_answered_in_the_contract_shape(front, capfd, request_bytes: bytes) -> None:
    [(status, headers, body)] = parse_responses(exchange(front, request_bytes))
    assert 400 <= status < 500
    assert_error_shape(status, headers, body)
    assert "Traceback" not in capfd.readouterr().err


def test_the_fronts_own_answers_are_in_the_contract_shape(front) -> None:
    raw = exchange(
        front,
        b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /api/v2/tasks/me/x/logs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    [(not_found, h1, b1), (unauthorized, h2, b2)] = parse_responses(raw)
    assert (not_found, unauthorized) == (404, 401)
    assert_error_shape(not_found, h1, b1)
    assert_error_shape(unauthorized, h2, b2)


def test_the_handler_gets_the_raw_path_and_query_as_sent(front, handler_env) -> None:
    # API Gateway hands rawPath and rawQueryString over undecoded: an encoded slash stays one segment.
    task = put_task(handler_env, f"raw-{uuid.uuid4().hex[:6]}", PAUSED)
    request = (
        f"POST {upload_path(task['task_id'])}?format=agent%61pi&x=%2F HTTP/1.1\r\nHost: x\r\n"
        f"Coder-Session-Token: agent-token-{task['name']}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
    )
    [(status, _, body)] = parse_responses(exchange(front, request.encode()))
    assert status == 400
    assert json.loads(body)["validations"] == [{"field": "x", "detail": 'Query param "x" is not a valid query param'}]


# ---------------------------------------------------------------- concurrency


def test_slow_requests_run_side_by_side_and_do_not_hold_up_others(
    front, handler_env, fake_agentapi: FakeAgentAPI
) -> None:
    name = f"slow-side-by-side-{uuid.uuid4().hex[:6]}"
    put_task(handler_env, name, RUNNING, agent=fake_agentapi.agent(name, Scenario(mode=Mode.SLOW, delay=3)))
    front.runtime.prewarm("TaskLogsFunction", 4)  # what is measured is waiting, not cold starts
    finished: dict[str, float] = {}

    def get(label: str, path: str) -> None:
        connection = http.client.HTTPConnection(*address(front), timeout=30)
        connection.request("GET", path, headers={"Authorization": f"Bearer {ALICE.token}"})
        assert connection.getresponse().status == 200
        finished[label] = time.monotonic()

    slow = [threading.Thread(target=get, args=(f"slow-{n}", f"/api/v2/tasks/me/{name}/logs")) for n in range(3)]
    for thread in slow:
        thread.start()
    while sum(1 for _, path in fake_agentapi.requests if path == f"/agents/{name}/messages") < 3:
        assert all(thread.is_alive() for thread in slow), "a slow request ended before all three reached the agent"
        time.sleep(0.05)
    get("snapshot", "/api/v2/tasks/me/add-billing-page/logs")  # while all three are waiting on the agent
    for thread in slow:
        thread.join(30)
    assert finished["snapshot"] < min(finished[f"slow-{n}"] for n in range(3))
    assert front.runtime.containers("TaskLogsFunction") == 4


def test_each_container_has_its_own_process_and_is_reused_when_free(handler_env) -> None:
    import os

    from devstack.generators.events import http_api_event

    runtime = LocalLambda(max_per_function=2)
    event = http_api_event("GET", "/api/v2/tasks/me/add-billing-page/logs", claims=ALICE.claims)
    try:
        for _ in range(3):
            assert runtime.invoke("TaskLogsFunction", event)["statusCode"] == 200
        assert runtime.containers("TaskLogsFunction") == 1  # one at a time: the warm one again
        pids = {container._process.pid for container in runtime._all}
        assert os.getpid() not in pids and len(pids) == 1
    finally:
        runtime.stop()
    assert runtime.containers("TaskLogsFunction") == 1 and not runtime._all
