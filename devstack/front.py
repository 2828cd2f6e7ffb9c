"""A local stand-in for API Gateway (HTTP API): matches the template's routes, verifies the local JWT
on the routes that need one, turns each request into a real payload 2.0 event and calls the real
handler in this process. Paths under /_devstack/ go to the demo's control routes instead."""

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from devstack import lambda_runtime
from devstack.events import http_api_event, match_route
from devstack.local_jwt import InvalidToken, verify


class LocalApiGateway:
    def __init__(self, host: str = "127.0.0.1", port: int = 3000, control=None) -> None:  # noqa: ANN001
        self.control = control  # devstack.control.DemoControl, or None
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "LocalApiGateway":
        threading.Thread(target=self._server.serve_forever, name="local-api", daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def invoke(self, function: str, event: dict) -> dict:
        return lambda_runtime.invoke(function, event)


def _handler_for(gateway: LocalApiGateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the function logs
            pass

        def do_GET(self) -> None:  # noqa: N802
            self._serve()

        def do_POST(self) -> None:  # noqa: N802
            self._serve()

        def __getattr__(self, name: str):  # noqa: ANN204
            # Like API Gateway, any other method is routed too, and without a route it is a 404.
            if name.startswith("do_"):
                return self._serve
            raise AttributeError(name)

        def _serve(self) -> None:
            raw_path, _, raw_query = self.path.partition("?")
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if raw_path.startswith("/_devstack/") and gateway.control is not None:
                status, answer = gateway.control.handle(self.command, raw_path)
                return self._send(status, {"content-type": "application/json"}, json.dumps(answer, indent=2).encode() + b"\n")
            matched = match_route(self.command, raw_path)
            if matched is None:
                return self._send(404, {"content-type": "application/json"}, b'{"message":"Not Found"}')
            claims = None
            if matched.needs_jwt:  # the template's default authorizer; the agent route has none
                scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
                try:
                    if scheme.lower() != "bearer":
                        raise InvalidToken("no bearer token")
                    claims = verify(token.strip())
                except InvalidToken:
                    headers = {"content-type": "application/json", "www-authenticate": "Bearer"}
                    return self._send(401, headers, b'{"message":"Unauthorized"}')
            headers: dict[str, str] = {}
            for key, value in self.headers.items():
                key = key.lower()
                headers[key] = f"{headers[key]},{value}" if key in headers else value
            text, is_base64 = _event_body(body, headers.get("content-type", ""))
            event = http_api_event(
                self.command, raw_path, claims=claims, headers=headers, raw_query=raw_query,
                body=text if body else None, is_base64=is_base64,
            )
            try:
                result = gateway.invoke(matched.function, event)
            except Exception:  # what API Gateway answers when the function itself fails
                return self._send(500, {"content-type": "application/json"}, b'{"message":"Internal Server Error"}')
            payload = result.get("body") or ""
            data = base64.b64decode(payload) if result.get("isBase64Encoded") else payload.encode()
            self._send(int(result.get("statusCode", 200)), result.get("headers") or {}, data)

        def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for key, value in headers.items():
                if key.lower() != "content-length":
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler



_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript", "application/x-www-form-urlencoded")


def _event_body(body: bytes, content_type: str) -> tuple[str, bool]:
    """Like API Gateway: text types pass as text, anything else (or invalid UTF-8) as base64."""
    media_type = content_type.split(";")[0].strip().lower()
    if media_type.startswith(_TEXT_TYPES) or media_type.endswith("+json"):
        try:
            return body.decode(), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode(), True
