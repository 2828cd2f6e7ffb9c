"""A fake AgentAPI: a real HTTP server on 127.0.0.1 that answers as AgentAPI v0.12.1's OpenAPI document says.

One server hosts many agents, each under its own base URL `http://127.0.0.1:PORT/agents/<name>`
(the root `/` is the agent named ""), and each agent plays a scripted Scenario so tests and the local
stack can produce every answer a real agent might give.

Run one on its own: python -m devstack.demo.fake_agentapi --port 3284
"""

import argparse
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from enum import StrEnum
from http.server import BaseHTTPRequestHandler

from devstack.demo.loopback_server import LoopbackServer


def rfc3339_nano(ns: int) -> str:
    """Go's time.RFC3339Nano in UTC, as AgentAPI writes it (trailing zeros trimmed)."""
    seconds, nanos = divmod(ns, 1_000_000_000)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    fraction = f"{nanos:09d}".rstrip("0")
    return f"{stamp}.{fraction}Z" if fraction else f"{stamp}Z"


def conversation(*turns: str, start_ns: int | None = None) -> list[dict]:
    """AgentAPI messages: id 0 is the agent's initial screen, then user/agent turns alternate."""
    start_ns = start_ns if start_ns is not None else time.time_ns() - 600 * 1_000_000_000
    texts = ['Welcome to Claude Code!\n\n> Try "fix typecheck errors"', *turns]
    return [
        {
            "id": i,
            "content": text,
            "role": "agent" if i % 2 == 0 else "user",
            "time": rfc3339_nano(start_ns + i * 7_123_456_789),
        }
        for i, text in enumerate(texts)
    ]


class Mode(StrEnum):
    NORMAL = "normal"  # 200 with the conversation
    HTTP_ERROR = "http_error"  # `status` with an application/problem+json ErrorModel
    NOT_JSON = "not_json"  # 200 with an HTML page
    WRONG_SCHEMA = "wrong_schema"  # 200 JSON that is not a MessagesResponseBody
    UNKNOWN_ROLE = "unknown_role"  # 200 with a message whose role is neither user nor agent
    SLOW = "slow"  # waits `delay` seconds, then answers normally
    DRIP = "drip"  # sends headers, then the body one byte every `delay` seconds
    TRUNCATED = "truncated"  # 200 with the first half of the JSON answer
    RAW = "raw"  # 200 application/json with `raw` as the body, whatever it is
    GONE = "gone"  # the workspace crashed: the connection closes without an answer


@dataclass
class Scenario:
    mode: Mode = Mode.NORMAL
    messages: list[dict] = field(
        default_factory=lambda: conversation("Add a /healthz endpoint", "Done: added /healthz.")
    )
    status: int = 500
    delay: float = 0.0
    agent_type: str = "claude"
    raw: bytes = b""


class FakeAgentAPI:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.scenarios: dict[str, Scenario] = {"": Scenario()}
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request, for assertions
        self._lock = threading.Lock()
        self._server = LoopbackServer((host, port), _handler_for(self))
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def reads_of(self, name: str) -> int:
        """How many times the agent's conversation has been asked for (GET .../messages)."""
        path = f"/agents/{name}/messages" if name else "/messages"
        with self._lock:
            return self.requests.count(("GET", path))

    @property
    def connections_closed(self) -> int:
        """Connections the server has finished with, its error handling included."""
        return self._server.connections_closed

    def say(self, name: str, content: str, role: str = "agent") -> dict:
        """The agent `name` adds a message to its conversation, as a working agent's screen changes."""
        with self._lock:
            scenario = self.scenarios[name]
            last = scenario.messages[-1]["id"] if scenario.messages else -1
            message = {"id": last + 1, "content": content, "role": role, "time": rfc3339_nano(time.time_ns())}
            scenario.messages = [*scenario.messages, message]  # a new list: a reader's copy stays whole
            return message

    def agent(self, name: str, scenario: Scenario | None = None) -> str:
        """Registers (or re-scripts) an agent; returns its AgentAPI base URL."""
        with self._lock:
            self.scenarios[name] = scenario or Scenario()
        return f"{self.url}/agents/{name}" if name else self.url

    def start(self) -> "FakeAgentAPI":
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-agentapi", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "FakeAgentAPI":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def refused_url() -> str:
    """A loopback URL nobody listens on: connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _handler_for(fake: FakeAgentAPI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "agentapi-fake/0.12.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet by default
            pass

        # ---- routing
        def _route(self) -> tuple[str | None, Scenario | None, str]:
            path = self.path.split("?", 1)[0]
            name, operation = "", path.lstrip("/")
            if path.startswith("/agents/"):
                name, _, operation = path[len("/agents/") :].partition("/")
            with fake._lock:
                fake.requests.append((self.command, path))
                return name, fake.scenarios.get(name), operation

        def do_GET(self) -> None:
            _, scenario, operation = self._route()
            if scenario is None or operation not in ("messages", "status"):
                return self._problem(404, "Not Found", f"no such resource: {self.path}")
            if operation == "status":
                return self._json(200, "StatusResponseBody", {"agent_type": scenario.agent_type, "status": "stable"})
            self._messages(scenario)

        def do_POST(self) -> None:
            _, scenario, operation = self._route()
            if scenario is None or operation != "message":
                return self._problem(404, "Not Found", f"no such resource: {self.path}")
            try:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length))
                content, kind = body["content"], body["type"]
                if not isinstance(content, str) or kind not in ("user", "raw"):
                    raise ValueError
            except (ValueError, KeyError, TypeError):
                return self._problem(422, "Unprocessable Entity", "expected {content: string, type: user|raw}")
            if kind == "user":
                with fake._lock:
                    next_id = len(scenario.messages)
                    now = time.time_ns()
                    scenario.messages.append(
                        {"id": next_id, "content": content, "role": "user", "time": rfc3339_nano(now)}
                    )
                    scenario.messages.append(
                        {
                            "id": next_id + 1,
                            "content": f"Working on: {content}",
                            "role": "agent",
                            "time": rfc3339_nano(now + 1000),
                        }
                    )
            self._json(200, "MessageResponseBody", {"ok": True})

        # ---- answers
        def _messages(self, scenario: Scenario) -> None:
            mode = scenario.mode
            if mode is Mode.GONE:
                self.close_connection = True
                return None
            if mode is Mode.SLOW:
                time.sleep(scenario.delay)
            if mode is Mode.HTTP_ERROR:
                return self._problem(scenario.status, "Internal Server Error", "the agent's terminal is gone")
            if mode is Mode.NOT_JSON:
                return self._send(200, "text/html", b"<html><body>502 Bad Gateway</body></html>")
            if mode is Mode.RAW:
                return self._send(200, "application/json", scenario.raw)
            if mode is Mode.WRONG_SCHEMA:
                return self._json(200, "MessagesResponseBody", {"messages": {"id": 0, "content": "not a list"}})
            messages = list(scenario.messages)
            if mode is Mode.UNKNOWN_ROLE:
                messages.append(
                    {
                        "id": len(messages),
                        "content": "thinking...",
                        "role": "system",
                        "time": rfc3339_nano(time.time_ns()),
                    }
                )
            if mode is Mode.DRIP:
                return self._drip(self._encode("MessagesResponseBody", {"messages": messages}), scenario.delay)
            if mode is Mode.TRUNCATED:
                whole = self._encode("MessagesResponseBody", {"messages": messages})
                return self._send(200, "application/json", whole[: len(whole) // 2])
            self._json(200, "MessagesResponseBody", {"messages": messages})

        def _encode(self, schema: str, body: dict) -> bytes:
            # AgentAPI (huma) writes `$schema` as the first key.
            host = self.headers.get("Host") or "127.0.0.1"
            return json.dumps({"$schema": f"http://{host}/schemas/{schema}.json", **body}).encode()

        def _json(self, status: int, schema: str, body: dict) -> None:
            self._send(status, "application/json", self._encode(schema, body))

        def _problem(self, status: int, title: str, detail: str) -> None:
            body = self._encode("ErrorModel", {"title": title, "status": status, "detail": detail})
            self._send(status, "application/problem+json", body)

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _drip(self, body: bytes, interval: float) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                for i in range(len(body)):
                    self.wfile.write(body[i : i + 1])
                    self.wfile.flush()
                    time.sleep(interval)
            except OSError:  # the client gave up: that is the point of this scenario
                self.close_connection = True

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=3284, help="port on 127.0.0.1 (AgentAPI's default is 3284)")
    args = parser.parse_args()
    fake = FakeAgentAPI(port=args.port)
    print(f"fake AgentAPI on {fake.url} (GET /messages, GET /status, POST /message); Ctrl-C stops it", flush=True)
    try:
        fake._server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        fake._server.server_close()


if __name__ == "__main__":
    main()
