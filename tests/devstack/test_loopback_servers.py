"""The loopback test servers (fake AgentAPI, faulty AWS) take a client that gives up as the normal
event it is there: no "Exception occurred during processing of request" traceback on the test output."""

import socket
import struct
import time

import httpx
import pytest

from devstack.demo.fake_agentapi import Mode, Scenario


def test_a_client_that_gives_up_on_a_slow_agent_leaves_no_traceback(fake_agentapi, capfd) -> None:
    url = fake_agentapi.agent("gives-up", Scenario(mode=Mode.SLOW, delay=0.3))
    closed = fake_agentapi.connections_closed
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(f"{url}/messages", timeout=0.05)
    wait_until_closed(fake_agentapi, closed + 1)  # the agent has answered into the closed connection
    assert "Exception occurred" not in capfd.readouterr().err


def wait_until_closed(fake, count: int, bound_seconds: float = 30) -> None:
    """Until the server is done with `count` connections, its error handling included."""
    bound = time.monotonic() + bound_seconds
    while fake.connections_closed < count and time.monotonic() < bound:
        time.sleep(0.02)
    assert fake.connections_closed >= count


def reset_after(address: tuple[str, int], request: bytes) -> None:
    """Send a request, then drop the connection with a TCP reset (SO_LINGER 0), as a client killed mid-call."""
    sock = socket.create_connection(address)
    sock.sendall(request)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def test_a_reset_keep_alive_connection_leaves_no_traceback(fake_agentapi, capfd) -> None:
    url = fake_agentapi.agent("reset", Scenario(mode=Mode.SLOW, delay=0.2))
    host, port = url.split("//")[1].split("/")[0].split(":")
    closed = fake_agentapi.connections_closed
    reset_after((host, int(port)), b"GET /agents/reset/messages HTTP/1.1\r\nHost: x\r\n\r\n")
    wait_until_closed(fake_agentapi, closed + 1)
    assert "Exception occurred" not in capfd.readouterr().err
