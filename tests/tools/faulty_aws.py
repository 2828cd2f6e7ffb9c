"""A real HTTP server on 127.0.0.1 that answers AWS API calls with faults moto cannot produce:
DynamoDB throttling and 5xx, S3 SlowDown and 5xx, or no answer at all. Point one service at it with
AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL_S3 and count what the SDK sent (retries included)."""

import threading
import time
from enum import StrEnum
from http.server import BaseHTTPRequestHandler

from devstack.demo.loopback_server import LoopbackServer


class Fault(StrEnum):
    THROTTLE = "throttle"  # DynamoDB ThrottlingException (400) / S3 SlowDown (503)
    SERVER_ERROR = "server_error"  # DynamoDB InternalServerError / S3 InternalError (500)
    HANG = "hang"  # reads the request, never answers


_DYNAMODB = {
    Fault.THROTTLE: (
        400,
        "com.amazon.coral.availability#ThrottlingException",
        "Rate of requests exceeds the allowed throughput.",
    ),
    Fault.SERVER_ERROR: (500, "com.amazonaws.dynamodb.v20120810#InternalServerError", "Internal server error"),
}
_S3 = {
    Fault.THROTTLE: (503, "SlowDown", "Please reduce your request rate."),
    Fault.SERVER_ERROR: (500, "InternalError", "We encountered an internal error. Please try again."),
}


class FaultyAws:
    def __init__(self, fault: Fault) -> None:
        self.fault = fault
        self.requests: list[str] = []  # "METHOD path" of every request received
        self._stop = threading.Event()
        self._server = LoopbackServer(("127.0.0.1", 0), _handler_for(self))

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "FaultyAws":
        threading.Thread(target=self._server.serve_forever, name="faulty-aws", daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()


def _handler_for(aws: FaultyAws) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            aws.requests.append(f"{self.command} {self.path}")
            if aws.fault is Fault.HANG:
                aws._stop.wait(60)
                self.close_connection = True
                return
            if self.headers.get("X-Amz-Target", "").startswith("DynamoDB_"):
                status, error_type, message = _DYNAMODB[aws.fault]
                body = f'{{"__type":"{error_type}","message":"{message}"}}'.encode()
                content_type = "application/x-amz-json-1.0"
            else:
                status, code, message = _S3[aws.fault]
                body = (
                    f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code><Message>{message}</Message>"
                    f"<RequestId>{time.time_ns()}</RequestId></Error>"
                ).encode()
                content_type = "application/xml"
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _answer  # noqa: N815 - http.server's names

    return Handler
