"""How long each call to DynamoDB, S3 and a task's agent took, per invocation: what the X-Ray SDK's
subsegments used to show (docs/tracing.md). The handlers' decorator stacks collect the calls and
report them once per invocation, as one structured log line and as EMF metrics.

Only a call's service, operation, duration and outcome are kept: never a parameter, key or body.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

_CONTEXT_KEY = "tasklogs_call_started"


@dataclass(frozen=True)
class Call:
    dependency: str  # dynamodb, s3 or agent
    operation: str  # GetItem, GetObject, GET /messages, ...
    ms: float
    ok: bool  # False when it raised or answered with an HTTP error


_calls: ContextVar[list[Call] | None] = ContextVar("dependency_calls", default=None)


@contextmanager
def collecting() -> Iterator[list[Call]]:
    """The calls made inside the block, in order (outside any block, calls are not kept)."""
    calls: list[Call] = []
    token = _calls.set(calls)
    try:
        yield calls
    finally:
        _calls.reset(token)


def _record(dependency: str, operation: str, started: float, ok: bool) -> None:
    calls = _calls.get()
    if calls is not None:
        calls.append(Call(dependency, operation, round((time.perf_counter() - started) * 1000, 2), ok))


@dataclass
class Outcome:
    ok: bool = True  # set False for an answer that is an error (an exception always is)


@contextmanager
def timed(dependency: str, operation: str) -> Iterator[Outcome]:
    started, outcome, raised = time.perf_counter(), Outcome(), True
    try:
        yield outcome
        raised = False
    finally:
        _record(dependency, operation, started, outcome.ok and not raised)


# botocore's events around each API call (retries included), registered once on the botocore session.
def before_aws_call(model: Any, context: dict[str, Any], **_: Any) -> None:
    context[_CONTEXT_KEY] = (model.service_model.endpoint_prefix, model.name, time.perf_counter())


def after_aws_call(context: dict[str, Any], http_response: Any = None, **_: Any) -> None:
    if (started := context.pop(_CONTEXT_KEY, None)) is not None:
        dependency, operation, at = started
        _record(dependency, operation, at, http_response is not None and http_response.status_code < 300)


def after_aws_call_error(context: dict[str, Any], **_: Any) -> None:
    if (started := context.pop(_CONTEXT_KEY, None)) is not None:
        dependency, operation, at = started
        _record(dependency, operation, at, False)


def register_on(session: Any) -> None:
    """Time every API call of the clients made from a botocore session (or anything with `register`,
    such as a boto3 session's `events`)."""
    session.register("before-call", before_aws_call)
    session.register("after-call", after_aws_call)
    session.register("after-call-error", after_aws_call_error)


def summary(calls: list[Call]) -> dict[str, Any]:
    """The log fields of an invocation's calls: each call, and the total milliseconds per dependency."""
    totals: dict[str, float] = {}
    for call in calls:
        totals[call.dependency] = round(totals.get(call.dependency, 0.0) + call.ms, 2)
    return {
        "calls": [{"dependency": c.dependency, "operation": c.operation, "ms": c.ms, "ok": c.ok} for c in calls],
        **{f"{dependency}_ms": total for dependency, total in totals.items()},
    }
