"""Shared fixtures: one moto server (DynamoDB + S3 from template.yaml) and one fake AgentAPI per session,
seeded with the demo catalogue; the real handler invoked with events from events/."""

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from devstack.demo.catalogue import seed
from devstack.demo.fake_agentapi import FakeAgentAPI
from devstack.runtime import lambda_runtime
from devstack.runtime.aws import LocalAws, start_local_aws
from devstack.runtime.lambda_runtime import load_handler

pytest_plugins = ["tests.capture_tail"]


@pytest.fixture(scope="session")
def local_aws() -> Iterator[LocalAws]:
    aws = start_local_aws()
    yield aws
    aws.stop()


@pytest.fixture(scope="session")
def fake_agentapi() -> Iterator[FakeAgentAPI]:
    with FakeAgentAPI() as fake:
        yield fake


@pytest.fixture(scope="session")
def demo(local_aws: LocalAws, fake_agentapi: FakeAgentAPI) -> LocalAws:
    seed(local_aws, fake_agentapi)
    return local_aws


@pytest.fixture
def handler_env(demo: LocalAws, monkeypatch: pytest.MonkeyPatch) -> LocalAws:
    """The handler's environment pointing at the local AWS; clients rebuilt for each test."""
    from devstack.runtime.local_idp import serve_keys
    from tasklogs_core.adapters import clients

    for key, value in demo.environment().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "TaskLogsTest")
    serve_keys()  # the authorizer's issuer, audience and keys: the local identity provider's
    clients.reset()
    yield demo
    clients.reset()


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any
    elapsed: float
    remaining_ms: int  # what the Lambda had left when the handler returned


def _invoker(function: str) -> Callable[..., Answer]:
    import gc

    from tasklogs_core.adapters import clients

    load_handler(function)  # its import is not the call's time
    # Nor making the DynamoDB client, which every path uses: a warm container has it. (A short-deadline
    # test on a loaded machine otherwise spends its AWS budget on it. S3's stays lazy: tests check the
    # live path never makes it.)
    clients.task_repository()

    def call(event: dict, timeout_seconds: float | None = None) -> Answer:
        if timeout_seconds is not None and timeout_seconds < 5:
            gc.collect()  # nor the garbage of the tests before: a deadline test measures the function
        result, context, elapsed = lambda_runtime.invoke_timed(function, event, timeout_seconds)
        body = json.loads(result["body"]) if result.get("body") else None
        return Answer(
            result["statusCode"], result.get("headers") or {}, body, elapsed, context.get_remaining_time_in_millis()
        )

    return call


@pytest.fixture
def invoke(handler_env: LocalAws) -> Callable[..., Answer]:
    """GET .../logs: the real TaskLogsFunction handler."""
    return _invoker("TaskLogsFunction")


@pytest.fixture
def upload(handler_env: LocalAws) -> Callable[..., Answer]:
    """POST .../log-snapshot: the real LogSnapshotFunction handler."""
    return _invoker("LogSnapshotFunction")


@pytest.fixture
def tasks_api(handler_env: LocalAws) -> Callable[..., Answer]:
    """GET /api/v2/tasks/{user}/{task} and GET /api/v2/tasks: the real TasksFunction handler."""
    return _invoker("TasksFunction")


@pytest.fixture
def transcript(handler_env: LocalAws) -> Callable[..., Answer]:
    """GET .../transcript: the real TaskTranscriptFunction handler."""
    return _invoker("TaskTranscriptFunction")


@pytest.fixture
def poller(handler_env: LocalAws):
    """The tasks table's stream, read by the local event source mapping into the real stream functions;
    everything before the test is history."""
    from devstack.runtime.streams import StreamPoller

    return StreamPoller(handler_env, lambda_runtime.invoke, from_now=True)


@pytest.fixture
def function_log():
    """`watch(logical_id)` → a StringIO receiving that function's structured log lines (the Powertools
    Logger keeps the stdout it saw at import, which pytest's per-test capture does not see). Functions
    loaded in this process share the layer's one logger, as each Lambda container has its own."""
    import io
    import logging

    attached: list[tuple[Any, logging.Handler]] = []

    def watch(logical_id: str) -> io.StringIO:
        from tasklogs_core.adapters.observability import logger

        load_handler(logical_id)
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logger.registered_formatter)
        logger.addHandler(handler)
        attached.append((logger, handler))
        return stream

    yield watch
    for logger, handler in attached:
        logger.removeHandler(handler)
