"""How `tasklogs logs --follow` polls: conditional requests that cost the service a 304, backing off on
failures instead of hammering, and a still-changing message redrawn in place on a terminal."""

import json
import os
import pty
import select
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from rich.console import Console

from devstack.demo.catalogue import ALICE
from devstack.runtime.local_idp import mint
from tasklogs_cli.api import TasklogsApi, TaskRef
from tasklogs_cli.reading import MAX_BACKOFF_SECONDS, Follower, Progress
from tasklogs_cli.render import ConversationPrinter, Output
from tests.clients.test_cli import TASKLOGS, cli_env


class Enough(Exception):
    """Ends a follow loop from its sleep, after the polls a test wanted."""


class Sleeps:
    def __init__(self, polls: int, then=None) -> None:
        self.delays: list[float] = []
        self._polls, self._then = polls, then

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        if len(self.delays) == self._polls and self._then:
            self._then()
        if len(self.delays) > self._polls:
            raise Enough


class Recorder(httpx.BaseTransport):
    """The real transport, remembering each request's If-None-Match and the answer's status."""

    def __init__(self) -> None:
        self._real = httpx.HTTPTransport()
        self.seen: list[tuple[str | None, int]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._real.handle_request(request)
        self.seen.append((request.headers.get("if-none-match"), response.status_code))
        return response


def quiet_printer(output: Output = Output.JSON) -> tuple[ConversationPrinter, Console, Console]:
    out, err = Console(record=True, width=200), Console(record=True, width=200)
    return ConversationPrinter(out, err, output, hold_provisional=True), out, err


def test_following_a_paused_task_costs_304s_after_the_first_answer(stack) -> None:
    transport = Recorder()
    ref = TaskRef("me", "add-billing-page")
    printer, _out, err = quiet_printer()
    with TasklogsApi(stack.url, mint(ALICE.claims), transport=transport) as api:
        newest = stack.api("/api/v2/tasks/me/add-billing-page/transcript", limit=1).json()["entries"][-1]["seq"]
        progress = Progress(cursor=newest, status="paused")  # nothing newer to print
        with pytest.raises(Enough):
            Follower(api, ref, printer, err, interval=0.5, sleep=Sleeps(4)).run(progress)
    assert [status for _, status in transport.seen] == [200, 304, 304, 304]
    first_etag = transport.seen[1][0]
    assert first_etag and first_etag.startswith('W/"')
    assert [etag for etag, _ in transport.seen] == [None, first_etag, first_etag, first_etag]


class Failing(BaseHTTPRequestHandler):
    """A service that answers 503 until told otherwise, counting requests."""

    status = 503
    requests = 0

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        type(self).requests += 1
        if type(self).status == 503:
            body = json.dumps({"message": "Service Unavailable"}).encode()
        else:
            body = json.dumps(
                {"entries": [], "has_older": False, "has_newer": False, "status": "active", "live": True, "gaps": []}
            ).encode()
        self.send_response(type(self).status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def failing_service():
    Failing.status, Failing.requests = 503, 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), Failing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_following_backs_off_on_failures_up_to_a_minute_and_recovers(failing_service) -> None:
    printer, _out, err = quiet_printer()

    def recover() -> None:
        Failing.status = 200

    sleeps = Sleeps(9, then=recover)
    with TasklogsApi(failing_service, "token") as api, pytest.raises(Enough):
        Follower(api, TaskRef("me", "t"), printer, err, interval=2, sleep=sleeps).run(Progress(status="active"))
    # The first wait is the poll interval; each failure doubles it, up to a minute; success resets it.
    assert sleeps.delays == [2, 4, 8, 16, 32, MAX_BACKOFF_SECONDS, MAX_BACKOFF_SECONDS, MAX_BACKOFF_SECONDS, 60, 2]
    assert Failing.requests == 9, "one request per wait: never a retry storm"
    said = err.export_text()
    # Told on the first failure, then once a minute at the cap: not on every retry.
    assert said.count("Service Unavailable") == 5
    assert "Retrying in 4 s." in said and "Reconnected." in said


def test_a_still_changing_message_is_redrawn_in_place_on_a_terminal(stack) -> None:
    task = stack.new_task("Write the changelog", "Drafting")
    primary, replica = pty.openpty()
    env = cli_env(stack, COLUMNS="100", LINES="40")
    process = subprocess.Popen(
        [str(TASKLOGS), "logs", task["name"], "--follow", "--interval", "0.5"],
        stdin=subprocess.DEVNULL,
        stdout=replica,
        stderr=subprocess.PIPE,
        env=env,
    )
    os.close(replica)
    seen = bytearray()

    def read_until(text: bytes, seconds: float = 30, printed_final: bool = False) -> None:
        def done() -> bool:
            if not printed_final:
                return text in seen
            tail = seen.rsplit(b"\x1b[2K", 1)[-1]  # what came after the last erase
            return text in tail and b"(still writing)" not in tail

        deadline = time.monotonic() + seconds
        while not done() and time.monotonic() < deadline:
            ready, _, _ = select.select([primary], [], [], 0.2)
            if ready:
                try:
                    seen.extend(os.read(primary, 65536))
                except OSError:
                    break
        assert done(), seen.decode(errors="replace")

    try:
        read_until(b"Drafting")  # drawn while still being written
        scenario = stack.fake.scenarios[task["name"]]
        scenario.messages[-1] = {**scenario.messages[-1], "content": "Drafting the changelog: 3 entries"}
        read_until(b"Drafting the changelog: 3 entries")
        stack.pause(task)
        read_until(b"Drafting the changelog: 3 entries\r\n", printed_final=True)  # once stored
    finally:
        process.terminate()
        process.wait(timeout=10)
        os.close(primary)
    text = seen.decode()
    assert "(still writing)" in text
    assert "\x1b[2K" in text, "the provisional lines are erased before they are redrawn"
    final = text.rsplit("\x1b[2K", 1)[-1]
    assert "Drafting the changelog: 3 entries" in final and "(still writing)" not in final
