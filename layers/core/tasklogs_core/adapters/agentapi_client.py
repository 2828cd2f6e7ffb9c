"""Client for a task's AgentAPI (`GET /messages`, as AgentAPI v0.12.1's OpenAPI document describes it).

Every socket operation is clamped to the request's deadline, so a slow or dripping agent can never
hold the Lambda past it: httpx's own timeouts are per operation, not per request.
"""

import ipaddress
import json
import re
import socket
import ssl
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextvars import ContextVar
from typing import Any, TypeVar, overload
from urllib.parse import urlsplit

import httpcore
import httpx
from httpcore._backends.base import SOCKET_OPTION
from pydantic import ValidationError

from tasklogs_core.adapters.address_policy import AddressPolicy
from tasklogs_core.adapters.timings import timed
from tasklogs_core.domain.errors import TaskAppTimeout, TaskAppUnavailable, TaskAppUrlNotConfigured
from tasklogs_core.domain.models import AgentMessages, RelayedMessages
from tasklogs_core.domain.validation import first_problem

Messages = TypeVar("Messages", AgentMessages, RelayedMessages)

# Far above any real conversation (whose answer is cut to fit Lambda's 6 MB response anyway); keeps a
# broken agent from exhausting the Lambda's memory.
MAX_RESPONSE_BYTES = 16 * 1024 * 1024

_READ_BYTES = 256 * 1024
_deadline: ContextVar[float | None] = ContextVar("agentapi_deadline", default=None)


def _clamp(timeout: float | None, timeout_error: type[Exception]) -> float:
    deadline = _deadline.get()
    if deadline is None:
        if timeout is None:
            raise timeout_error("no deadline set for the AgentAPI call")
        return timeout
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise timeout_error("request deadline reached")
    return remaining if timeout is None else min(timeout, remaining)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        # httpcore asks for 64 KiB at a time; taking what the socket has (up to 256 KiB) cuts the
        # Python-level round trips for a multi-megabyte conversation by up to 4x. (Larger reads
        # gained little more and held megabytes in flight.)
        return self._inner.read(max(max_bytes, _READ_BYTES), _clamp(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clamp(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(ssl_context, server_hostname, _clamp(timeout, httpcore.ConnectTimeout))
        return _DeadlineStream(inner)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


# getaddrinfo has no timeout of its own, and a slow resolver can take many seconds: it runs on these
# threads so that the caller waits only until the deadline. A lookup still running then finishes (or
# fails) on its own thread; with every thread stuck, later lookups queue and time out the same way.
_resolver = ThreadPoolExecutor(max_workers=4, thread_name_prefix="agentapi-dns")


def _resolve(host: str, port: int, timeout: float) -> list[tuple[Any, ...]]:
    lookup = _resolver.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    try:
        return lookup.result(timeout=timeout)
    except FutureTimeout:
        lookup.cancel()
        raise httpcore.ConnectTimeout(f"resolving {host} outlasted the request deadline") from None
    except OSError as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from None


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, policy: AddressPolicy) -> None:
        self._inner = httpcore.SyncBackend()
        self._policy = policy

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        # Connect to the checked address itself, so DNS cannot answer differently in between.
        address = self._permitted_address(host, port, timeout)
        stream = self._inner.connect_tcp(
            address, port, _clamp(timeout, httpcore.ConnectTimeout), local_address, socket_options
        )
        return _DeadlineStream(stream)

    def _permitted_address(self, host: str, port: int, timeout: float | None) -> str:
        try:
            ipaddress.ip_address(host.split("%", 1)[0])
            candidates = [host]
        except ValueError:
            found = _resolve(host, port, _clamp(timeout, httpcore.ConnectTimeout))
            candidates = list(dict.fromkeys(str(info[4][0]) for info in found))
        refusals = []
        for candidate in candidates:
            refusal = self._policy.refusal(candidate)
            if refusal is None:
                return candidate
            refusals.append(refusal)
        raise TaskAppUrlNotConfigured(f"The task's AgentAPI address is not allowed: {'; '.join(refusals)}.")

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[SOCKET_OPTION] | None = None
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_unix_socket(path, _clamp(timeout, httpcore.ConnectTimeout), socket_options)
        return _DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _DeadlineTransport(httpx.HTTPTransport):
    def __init__(self, policy: AddressPolicy) -> None:
        super().__init__(retries=0)
        # httpx exposes no network-backend option; the pool it would build is replaced by an
        # identical one over the deadline backend (covered by the slow-agent tests).
        self._pool = httpcore.ConnectionPool(
            network_backend=_DeadlineBackend(policy),
            max_connections=10,
            max_keepalive_connections=10,
            keepalive_expiry=30,
        )


def messages_url(agentapi_url: str | None) -> str:
    """`{agentapi_url}/messages`, or TaskAppUrlNotConfigured when the URL is missing or not http(s)."""
    if not agentapi_url:
        raise TaskAppUrlNotConfigured("The task has no AgentAPI URL.")
    try:
        parts = urlsplit(agentapi_url)
        has_host = bool(parts.hostname)
        parts.port  # noqa: B018 - raises on an invalid port
    except ValueError:
        raise TaskAppUrlNotConfigured("The task's AgentAPI URL is not a valid URL.") from None
    if parts.scheme not in ("http", "https") or not has_host:
        raise TaskAppUrlNotConfigured("The task's AgentAPI URL must be an http or https URL.")
    return agentapi_url.rstrip("/") + "/messages"


def _problem_summary(response: httpx.Response, body: bytes) -> str:
    """`title: detail` from an RFC 9457 problem document, when the agent sent one."""
    if "json" not in response.headers.get("content-type", ""):
        return ""
    try:
        problem = json.loads(body)
    except ValueError:
        return ""
    if not isinstance(problem, dict):
        return ""
    parts = [str(problem[key])[:200] for key in ("title", "detail") if isinstance(problem.get(key), str)]
    return ": ".join(parts)


def _read_body(response: httpx.Response, max_bytes: int) -> bytes:
    """The whole body as bytes (pydantic-core would copy a bytearray), refusing more than the cap."""
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise TaskAppUnavailable(f"The task app response is larger than {max_bytes} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


# A JSON escape: a surrogate pair, a lone surrogate, or any other (`\\\\` among them, so that an
# escaped backslash followed by `ud800` is never read as an escape).
_ESCAPE = re.compile(rb"\\(u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|u[dD][89a-fA-F][0-9a-fA-F]{2}|.)")


def _parse_messages(body: bytes, shape: type[Messages]) -> Messages:
    """pydantic-core parses the bytes as they came (no str copy first). Only when that fails as
    JSON does the answer get what Go's decoder would make of it, and a second parse, instead of
    failing the whole conversation: U+FFFD for bytes that are not UTF-8 and for `\\ud800` escapes
    that are not half of a pair (which pydantic-core refuses)."""
    try:
        return shape.model_validate_json(body)
    except ValidationError as exc:
        if exc.errors(include_url=False, include_input=False)[0]["type"] != "json_invalid":
            raise
    repaired = _ESCAPE.sub(_without_lone_surrogate, body.decode("utf-8", errors="replace").encode())
    return shape.model_validate_json(repaired)


def _without_lone_surrogate(escape: re.Match[bytes]) -> bytes:
    return b"\\ufffd" if len(escape.group(1)) == 5 else escape.group(0)  # only a lone one is 5 long


class AgentApiClient:
    def __init__(self, policy: AddressPolicy | None = None) -> None:
        # Socket operations are bounded by the request deadline (see _clamp), not by fixed timeouts;
        # connections go only to addresses the policy permits.
        self._http = httpx.Client(
            transport=_DeadlineTransport(policy or AddressPolicy()),
            timeout=httpx.Timeout(None, pool=1.0),
            trust_env=False,
            follow_redirects=False,
        )

    @overload
    def get_messages(self, agentapi_url: str | None, deadline: float, *, max_bytes: int = ...) -> AgentMessages: ...

    @overload
    def get_messages(
        self, agentapi_url: str | None, deadline: float, shape: type[Messages], *, max_bytes: int = ...
    ) -> Messages: ...

    def get_messages(
        self,
        agentapi_url: str | None,
        deadline: float,
        shape: type[Any] = AgentMessages,
        *,
        max_bytes: int = MAX_RESPONSE_BYTES,
    ) -> Any:
        """The agent's conversation; `deadline` is a time.monotonic() value. `shape` is AgentMessages
        for code that works on the text, RelayedMessages for code that passes it on. A longer answer
        than `max_bytes` is refused (the capture at pause takes more than a reader)."""
        return parse_messages(self.get_messages_body(agentapi_url, deadline, max_bytes=max_bytes), shape)

    def get_messages_body(
        self, agentapi_url: str | None, deadline: float, *, max_bytes: int = MAX_RESPONSE_BYTES
    ) -> bytes:
        """The agent's answer to GET /messages as it sent it, not parsed: the checkpoint compares it
        with the last one it stored before spending anything on it (contract §11)."""
        url = messages_url(agentapi_url)
        token = _deadline.set(deadline)
        try:
            with timed("agent", "GET /messages") as call:
                status, response, body = self._fetch(url, max_bytes)
                call.ok = 200 <= status < 300
        except httpx.TimeoutException:
            raise TaskAppTimeout("The task app did not answer before the request deadline.") from None
        except httpx.HTTPError as exc:
            raise TaskAppUnavailable(f"The task app could not be reached ({type(exc).__name__}).") from exc
        finally:
            _deadline.reset(token)

        if not 200 <= status < 300:
            summary = _problem_summary(response, body)
            raise TaskAppUnavailable(f"The task app answered HTTP {status}" + (f": {summary}." if summary else "."))
        return body

    def _fetch(self, url: str, max_bytes: int) -> tuple[int, httpx.Response, bytes]:
        with self._http.stream("GET", url, headers={"Accept": "application/json"}) as response:
            return response.status_code, response, _read_body(response, max_bytes)


def parse_messages(body: bytes, shape: type[Any] = AgentMessages) -> Any:
    """An answer of GET /messages as `shape`; one that is not AgentAPI's raises TaskAppUnavailable."""
    try:
        return _parse_messages(body, shape)
    except ValidationError as exc:
        if exc.errors(include_url=False, include_input=False)[0]["type"] == "json_invalid":
            raise TaskAppUnavailable("The task app response is not JSON.") from None
        where, problem = first_problem(exc)
        raise TaskAppUnavailable(
            f"The task app response does not match the AgentAPI schema at {where}: {problem}."
        ) from None
