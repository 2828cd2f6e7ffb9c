"""A local stand-in for API Gateway (HTTP API): verifies the local JWT, matches the template's routes,
turns each request into a real payload 2.0 event and calls the real handler in this process."""

import base64
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from devstack.events import http_api_event, match_route
from devstack.lambda_runtime import context_for, load_handler
from devstack.local_jwt import InvalidToken, verify


class LocalApiGateway:
    def __init__(self, host: str = "127.0.0.1", port: int = 3000) -> None:
        self._invoke_lock = threading.Lock()  # one invocation at a time, like one Lambda container
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
        handler = load_handler(function)
        with self._invoke_lock:
            return handler(event, context_for(function))


def _handler_for(gateway: LocalApiGateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the function logs
            pass

        def do_GET(self) -> None:  # noqa: N802
            self._serve()

        def do_POST(self) -> None:  # noqa: N802
            self._serve()

        def _serve(self) -> None:
            raw_path, _, raw_query = self.path.partition("?")
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            matched = match_route(self.command, raw_path)
            if matched is None:
                return self._send(404, {"content-type": "application/json"}, b'{"message":"Not Found"}')
            _, function, _ = matched
            # The template protects every route with the JWT authorizer by default.
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
            try:
                text, is_base64 = body.decode(), False
            except UnicodeDecodeError:
                text, is_base64 = base64.b64encode(body).decode(), True
            event = http_api_event(
                self.command, raw_path, claims=claims, headers=headers, raw_query=raw_query,
                body=text if body else None, is_base64=is_base64,
            )
            try:
                result = gateway.invoke(function, event)
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

