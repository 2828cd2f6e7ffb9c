"""The invocation's deadlines: one for AWS calls, one for the call to a task's agent.

botocore's timeouts and retries are per attempt: a DynamoDB or S3 that hangs would take
attempts × (connect + read timeout) plus back-off, per call, and a request makes up to four calls.
Every attempt is therefore refused once the invocation's AWS deadline has passed, leaving time for
one attempt in flight and the error response before Lambda's own timeout.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from botocore.exceptions import BotoCoreError

from tasklogs_core.adapters.settings import Settings, get_settings

# One attempt in flight (connect 2 s + read 3 s, see clients) plus time to answer.
AWS_DEADLINE_MARGIN_SECONDS = 6.0


class AwsDeadlineExceeded(BotoCoreError):
    """Not one of the errors botocore retries: the call ends here, the stores turn it into a 5xx."""

    fmt = "The invocation's deadline for AWS calls has passed; {operation} was not attempted."


_aws_deadline: ContextVar[float | None] = ContextVar("aws_deadline", default=None)


@contextmanager
def invocation_deadline(lambda_context: Any) -> Iterator[None]:
    """For the duration of one invocation: no AWS attempt starts later than the margin allows."""
    remaining = lambda_context.get_remaining_time_in_millis() / 1000
    # A short-lived invocation (tests give 2-3 s) keeps half its time for AWS.
    margin = min(AWS_DEADLINE_MARGIN_SECONDS, remaining / 2)
    token = _aws_deadline.set(time.monotonic() + remaining - margin)
    try:
        yield
    finally:
        _aws_deadline.reset(token)


def aws_seconds_left() -> float | None:
    """Seconds until the invocation's AWS deadline (None outside an invocation)."""
    deadline = _aws_deadline.get()
    return None if deadline is None else deadline - time.monotonic()


def refuse_after_deadline(request: Any = None, **_: Any) -> None:
    """botocore `before-send` hook: each attempt, retries included, checks the deadline first."""
    deadline = _aws_deadline.get()
    if deadline is not None and time.monotonic() > deadline:
        raise AwsDeadlineExceeded(operation=getattr(request, "url", "the request"))


def agent_deadline(remaining_ms: int, settings: Settings | None = None) -> float:
    """A time.monotonic() deadline for the agent call: at most the configured AgentAPI timeout, and
    early enough to answer (a 504) before Lambda's own deadline."""
    settings = settings or get_settings()
    budget = min(settings.agentapi_timeout_seconds, remaining_ms / 1000 - settings.response_margin_seconds)
    return time.monotonic() + budget
