"""Warm containers for the local stack, as Lambda runs functions: each container is its own process
that imports the function's handler once (its cold start) and then takes one event at a time. A
function scales out to at most `max_per_function` containers; beyond that, invocations wait for one to
be free (Lambda would throttle). A container that outlives the function's timeout is stopped, as
Lambda stops it, and the invocation fails.

So slow requests run side by side, one request never waits behind another function's, and module
state (clients, caches, the logger's cold-start flag) belongs to one container, as in Lambda.
"""

import contextlib
import io
import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

log = logging.getLogger("devstack.runtime.containers")

# New AWS accounts start with a concurrency limit of 10 per region; overridable for the load test.
DEFAULT_CONTAINERS_PER_FUNCTION = int(os.environ.get("TASKLOGS_LOCAL_CONCURRENCY", "10"))
# Time a container may take beyond the function's timeout to report back (its import, the pipe).
_GRACE_SECONDS = 5.0
# Processes started fresh (not forked from a process full of server threads), as Lambda starts them.
_SPAWN = multiprocessing.get_context("spawn")


class InvocationFailed(Exception):
    """The function raised, timed out or its container died: API Gateway answers 500."""


class FunctionError(InvocationFailed):
    """The handler raised: Lambda reports `errorType` and `errorMessage`, and keeps the container warm."""

    def __init__(self, error_type: str, error_message: str) -> None:
        super().__init__(f"{error_type}: {error_message}")
        self.error_type = error_type
        self.error_message = error_message


# Where the containers write their functions' log lines, when set: the local stack's quiet console.
FUNCTION_LOG_VARIABLE = "TASKLOGS_FUNCTION_LOG"


class _QuietStdout(io.TextIOBase):
    """A container's stdout in the quiet local stack: every line to the function log; errors, and
    anything that is not a log line (a print, a traceback), to the console as well."""

    def __init__(self, path: str, console: Any) -> None:
        self._file = open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 - the process's own
        self._console = console
        self._partial = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._file.write(text)
        *lines, self._partial = (self._partial + text).split("\n")
        for line in lines:
            if not line.startswith('{"level":"') or line.startswith(('{"level":"ERROR"', '{"level":"CRITICAL"')):
                self._console.write(line + "\n")
                self._console.flush()
        return len(text)

    def flush(self) -> None:
        self._file.flush()


def _container_main(logical_id: str, connection: Connection) -> None:
    """The container process: import the handler, then serve one event at a time until told to stop."""
    import signal
    import sys
    import warnings

    from devstack.runtime import lambda_runtime

    # Ctrl-C in a terminal reaches the whole process group: the local stack stops its containers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Metrics are off locally (lambda_runtime), so every invocation would say it published none.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    if path := os.environ.get(FUNCTION_LOG_VARIABLE):
        sys.stdout = _QuietStdout(path, sys.stdout)  # before the handler's logger takes its stream

    try:
        handler = lambda_runtime.load_handler(logical_id)
    except BaseException as exc:  # noqa: BLE001 - the init error is the invocation's answer
        connection.send(("error", f"init failed: {type(exc).__name__}: {exc}"))
        return
    connection.send(("ready", None))
    while True:
        try:
            request = connection.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        event, timeout_seconds = request
        try:
            result = handler(event, lambda_runtime.context_for(logical_id, timeout_seconds))
        except Exception as exc:
            if str(exc) != "Unauthorized":  # an authorizer's refusal is an answer, not a failure
                log.exception("%s raised", logical_id)
            connection.send(("raised", (type(exc).__name__, str(exc))))
            continue
        try:
            lambda_runtime.enforce_response_limit(result)
        except lambda_runtime.ResponseTooLarge as exc:  # Lambda's error; the container stays warm
            log.error("%s: %s", logical_id, exc)
            connection.send(("raised", (lambda_runtime.RESPONSE_TOO_LARGE, str(exc))))
        else:
            connection.send(("ok", result))


class _Container:
    def __init__(self, logical_id: str) -> None:
        self.logical_id = logical_id
        self._connection, child = _SPAWN.Pipe()
        self._process = _SPAWN.Process(
            target=_container_main, args=(logical_id, child), daemon=True, name=f"lambda-{logical_id}"
        )
        self._process.start()
        child.close()

    def wait_ready(self, timeout: float) -> None:
        kind, detail = self._answer(timeout)
        if kind != "ready":
            raise InvocationFailed(detail)

    def invoke(self, event: dict[str, Any], timeout_seconds: float) -> dict[str, Any]:
        try:
            self._connection.send((event, timeout_seconds))
        except OSError:
            raise InvocationFailed(f"the {self.logical_id} container exited") from None
        kind, result = self._answer(timeout_seconds + _GRACE_SECONDS)
        if kind == "raised":
            raise FunctionError(*result)
        if kind != "ok":
            raise InvocationFailed(result)
        return result

    def _answer(self, timeout: float) -> tuple[str, Any]:
        try:
            if self._connection.poll(timeout):
                return self._connection.recv()
        except (EOFError, OSError):
            raise InvocationFailed(f"the {self.logical_id} container exited") from None
        raise InvocationFailed(f"{self.logical_id} timed out after {timeout:.0f} s") from None

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self._connection.send(None)
        self._process.join(timeout=2)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(timeout=2)
        self._connection.close()


class LocalLambda:
    """Invokes functions in warm containers, scaling out per function up to `max_per_function`."""

    def __init__(
        self, max_per_function: int = DEFAULT_CONTAINERS_PER_FUNCTION, timeout_of: Callable[[str], float] | None = None
    ) -> None:
        from devstack.runtime.template_resources import function_timeout_seconds

        self.max_per_function = max(1, max_per_function)
        self._timeout_of = timeout_of or function_timeout_seconds
        self._lock = threading.Condition()
        self._idle: dict[str, list[_Container]] = {}
        self._count: dict[str, int] = {}
        self._all: set[_Container] = set()
        self._stopped = False

    def containers(self, logical_id: str) -> int:
        """How many containers the function has now (busy or idle)."""
        with self._lock:
            return self._count.get(logical_id, 0)

    def invoke(self, logical_id: str, event: dict[str, Any], timeout_seconds: float | None = None) -> dict[str, Any]:
        timeout = timeout_seconds if timeout_seconds is not None else self._timeout_of(logical_id)
        container = self._acquire(logical_id)
        try:
            result = container.invoke(event, timeout)
        except FunctionError:
            self._release(container)  # the handler raised: Lambda keeps the environment
            raise
        except InvocationFailed:
            self._discard(container)  # after a timeout or a crash: a fresh one next time
            raise
        self._release(container)
        return result

    def prewarm(self, logical_id: str, count: int) -> None:
        """Start containers ahead of traffic (what provisioned concurrency does)."""
        from concurrent.futures import ThreadPoolExecutor

        wanted = min(count, self.max_per_function)
        with ThreadPoolExecutor(max_workers=wanted) as pool:  # cold starts side by side, as Lambda scales out
            started = list(pool.map(lambda _: self._acquire(logical_id), range(wanted)))
        for container in started:
            self._release(container)

    def _acquire(self, logical_id: str) -> _Container:
        with self._lock:
            while True:
                if self._stopped:
                    raise InvocationFailed("the local Lambda runtime is stopped")
                idle = self._idle.setdefault(logical_id, [])
                if idle:
                    return idle.pop()
                if self._count.get(logical_id, 0) < self.max_per_function:
                    self._count[logical_id] = self._count.get(logical_id, 0) + 1
                    break
                self._lock.wait()
        container = None
        try:  # a cold start, outside the lock: other functions and warm containers go on meanwhile
            container = _Container(logical_id)
            with self._lock:
                self._all.add(container)
            container.wait_ready(60)
        except BaseException:
            if container is not None:
                container.stop()
            with self._lock:
                self._all.discard(container)
                self._count[logical_id] -= 1
                self._lock.notify_all()
            raise
        return container

    def _release(self, container: _Container) -> None:
        with self._lock:
            if self._stopped:
                stop = True
            else:
                stop = False
                self._idle.setdefault(container.logical_id, []).append(container)
                self._lock.notify_all()
        if stop:
            container.stop()

    def _discard(self, container: _Container) -> None:
        container.stop()
        with self._lock:
            self._all.discard(container)
            self._count[container.logical_id] -= 1
            self._lock.notify_all()

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            containers = list(self._all)
            self._all.clear()
            self._idle.clear()
            self._lock.notify_all()
        for container in containers:
            container.stop()
