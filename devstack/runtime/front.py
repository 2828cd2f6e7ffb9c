"""A local stand-in for API Gateway (HTTP API): matches the template's routes, asks the template's Lambda
authorizer (in its own container) about each request to a route behind it, turns each request into a
real payload 2.0 event and invokes the function in a warm local container
(devstack.runtime.containers). Paths under /_devstack/ go to the demo's
control routes instead.

HTTP itself is uvicorn's (h11): chunked bodies, HEAD, keep-alive and malformed requests are handled
as a real server handles them. The application below sees the exact raw path and query string the
client sent, as API Gateway's `rawPath` and `rawQueryString` carry them, and every answer the front
gives itself, protocol errors included, is JSON in the contract's error shape.
"""

import asyncio
import base64
import json
import logging
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from devstack.generators.events import authorizer_event, http_api_event, match_route
from devstack.runtime.containers import FunctionError, InvocationFailed, LocalLambda
from devstack.runtime.local_idp import SIGN_IN_PREFIX, LocalSignIn
from devstack.runtime.template_resources import default_authorizer_function

log = logging.getLogger("devstack.runtime.front")

# API Gateway's own answers, in its words (HTTP APIs send {"message": ...}).
NOT_FOUND = b'{"message":"Not Found"}'
UNAUTHORIZED = b'{"message":"Unauthorized"}'
FORBIDDEN = b'{"message":"Forbidden"}'
FUNCTION_FAILED = b'{"message":"Internal Server Error"}'
TOO_LARGE = b'{"message":"Request Entity Too Large"}'
BAD_REQUEST = json.dumps({"message": "Bad Request", "detail": "Invalid HTTP request received."}).encode()
# API Gateway refuses request bodies over 10 MB.
MAX_BODY_BYTES = 10 * 1024 * 1024
# Requests being answered at once (each waits on a container or a control route in a thread).
_WORKERS = 64

JSON = [(b"content-type", b"application/json")]


class _JsonErrorsProtocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, answering a request h11 cannot parse (a bad Content-Length or
    Transfer-Encoding, a malformed request line or header, headers past h11's size limit) in JSON
    instead of text."""

    def send_400_response(self, msg: str) -> None:  # noqa: ARG002 - the body says it in our shape
        headers = [*JSON, (b"content-length", str(len(BAD_REQUEST)).encode()), (b"connection", b"close")]
        response = h11.Response(status_code=400, headers=headers, reason=b"Bad Request")
        for event in (response, h11.Data(data=BAD_REQUEST), h11.EndOfMessage()):
            self.transport.write(self.conn.send(event))
        self.transport.close()


class LocalApiGateway:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 3000,
        control=None,  # noqa: ANN001
        runtime: LocalLambda | None = None,
        sign_in: LocalSignIn | None = None,
    ) -> None:
        self.control = control  # devstack.demo.control.DemoControl, or None
        self.sign_in = sign_in  # the identity provider's endpoints the web viewer signs in with, or None
        self.runtime = runtime or LocalLambda()
        self._owns_runtime = runtime is None
        self._socket = socket.create_server((host, port))
        # Accepted connections inherit this on Linux. asyncio sets it only on sockets it knows are TCP
        # (proto 6, which create_server leaves 0): without it, Nagle holds each body back for the
        # client's delayed ACK, and every keep-alive request waits 40 ms.
        self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._workers = ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="local-api")
        config = uvicorn.Config(
            self._app,
            interface="asgi3",
            http=_JsonErrorsProtocol,
            lifespan="off",
            proxy_headers=False,
            access_log=False,
            log_level="error",
            server_header=False,
            date_header=False,
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._socket.getsockname()[:2]
        return f"http://{host}:{port}"

    def start(self) -> "LocalApiGateway":
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, name="local-api", daemon=True
        )
        self._thread.start()
        while not self._server.started and self._thread.is_alive():
            self._thread.join(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread:
            self._thread.join(timeout=10)
        self._socket.close()
        self._workers.shutdown(wait=False, cancel_futures=True)
        if self._owns_runtime:
            self.runtime.stop()

    async def _app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body += message.get("body", b"")
            if len(body) > MAX_BODY_BYTES:
                return await _respond(send, 413, JSON, TOO_LARGE)
            if not message.get("more_body"):
                break
        loop = asyncio.get_running_loop()
        try:
            status, headers, data = await loop.run_in_executor(self._workers, self.answer, scope, bytes(body))
        except Exception:  # a bug of the front itself: logged, and still answered in the contract's shape
            log.exception("the local front failed on %s %s", scope["method"], scope["raw_path"])
            status, headers, data = 500, JSON, FUNCTION_FAILED
        await _respond(send, status, headers, data)

    def answer(self, scope: dict[str, Any], body: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """What API Gateway answers one request: routing, the authorizer, then the function."""
        method = scope["method"]
        raw_path = scope["raw_path"].decode("ascii")  # h11 accepts only visible ASCII in the target
        raw_query = scope["query_string"].decode("ascii")
        headers: dict[str, str] = {}
        for key, value in scope["headers"]:
            key_text, value_text = key.decode("latin-1").lower(), value.decode("latin-1")
            headers[key_text] = f"{headers[key_text]},{value_text}" if key_text in headers else value_text
        if raw_path.startswith(SIGN_IN_PREFIX) and self.sign_in is not None:
            return self.sign_in.answer(method, raw_path, raw_query, body)
        if raw_path.startswith("/_devstack/") and self.control is not None:
            status, answer = self.control.handle(method, raw_path)
            return status, JSON, json.dumps(answer, indent=2).encode() + b"\n"
        matched = match_route(method, raw_path)
        if matched is None:
            return 404, JSON, NOT_FOUND
        claims = None
        if matched.needs_jwt:  # the template's default authorizer; the agent's routes have none
            refused, claims = self._authorize(method, raw_path, headers, raw_query)
            if refused is not None:
                return refused
        text, is_base64 = _event_body(body, headers.get("content-type", ""))
        event = http_api_event(
            method,
            raw_path,
            claims=claims,
            headers=headers,
            raw_query=raw_query,
            body=text if body else None,
            is_base64=is_base64,
        )
        try:
            result = self.runtime.invoke(matched.function, event)
        except InvocationFailed:  # a timeout, a crash, or a result over Lambda's response limit
            return 500, JSON, FUNCTION_FAILED
        payload = result.get("body") or ""
        data = base64.b64decode(payload) if result.get("isBase64Encoded") else payload.encode()
        answer_headers = [
            (key.lower().encode("latin-1"), str(value).encode("latin-1"))
            for key, value in (result.get("headers") or {}).items()
            if key.lower() != "content-length"
        ]
        return int(result.get("statusCode", 200)), answer_headers, data

    def _authorize(
        self, method: str, raw_path: str, headers: dict[str, str], raw_query: str
    ) -> tuple[tuple[int, list[tuple[bytes, bytes]], bytes] | None, dict[str, Any] | None]:
        """API Gateway's part with a Lambda authorizer (simple responses): the authorizer's context when
        it allows the request; else the answer API Gateway gives. Raising "Unauthorized" is a 401,
        `isAuthorized: false` a 403, anything else a 500."""
        event = authorizer_event(method, raw_path, headers=headers, raw_query=raw_query)
        try:
            answer = self.runtime.invoke(default_authorizer_function(), event)
        except FunctionError as exc:
            if exc.error_message == "Unauthorized":
                return (401, JSON, UNAUTHORIZED), None
            return (500, JSON, FUNCTION_FAILED), None
        except InvocationFailed:
            return (500, JSON, FUNCTION_FAILED), None
        if not isinstance(answer, dict) or not isinstance(answer.get("isAuthorized"), bool):
            return (500, JSON, FUNCTION_FAILED), None  # API Gateway: an authorizer configuration error
        if not answer["isAuthorized"]:
            return (403, JSON, FORBIDDEN), None
        context = answer.get("context")
        return None, context if isinstance(context, dict) else {}


async def _respond(send: Any, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    # uvicorn leaves the body out for HEAD and keeps Content-Length as the GET's would be.
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


_TEXT_TYPES = (
    "text/",
    "application/json",
    "application/xml",
    "application/javascript",
    "application/x-www-form-urlencoded",
)


def _event_body(body: bytes, content_type: str) -> tuple[str, bool]:
    """Like API Gateway: text types pass as text, anything else (or invalid UTF-8) as base64."""
    media_type = content_type.split(";")[0].strip().lower()
    if media_type.startswith(_TEXT_TYPES) or media_type.endswith("+json"):
        try:
            return body.decode(), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode(), True
