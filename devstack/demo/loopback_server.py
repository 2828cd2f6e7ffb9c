"""The threaded HTTP server under the fake AgentAPI and the faulty AWS: http.server, because they must
misbehave byte by byte (drip, truncate, hang), which a full server library would not let them do."""

import socket
import sys
import threading
from http.server import ThreadingHTTPServer

_count_lock = threading.Lock()


class LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True
    connections_closed = 0  # so a test can wait for a request to be over, error handling and all

    def shutdown_request(self, request) -> None:  # noqa: ANN001
        super().shutdown_request(request)
        with _count_lock:
            self.connections_closed += 1

    def get_request(self) -> tuple[socket.socket, object]:
        connection, address = super().get_request()
        # As Go's servers (AgentAPI's included) do: without it, Nagle holds the body back until the
        # client's delayed ACK for the headers, and every keep-alive answer takes 40 ms more.
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection, address

    def handle_error(self, request, client_address) -> None:  # noqa: ANN001
        # A client that gives up (the request deadline passed, a pooled connection was dropped) is
        # what these servers exist to provoke: not an error, and no traceback on the test output.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)
