"""The invocation's AWS deadline: attempts after it are refused, before it or outside an invocation not."""

import pytest

from tasklogs_core.adapters.deadlines import (
    AwsDeadlineExceeded,
    agent_deadline,
    invocation_deadline,
    refuse_after_deadline,
)
from tasklogs_core.adapters.settings import Settings


class Context:
    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def test_outside_an_invocation_nothing_is_refused() -> None:
    refuse_after_deadline()


def test_attempts_inside_the_budget_go_ahead() -> None:
    with invocation_deadline(Context(12_000)):  # 12 s, 6 s kept back: 6 s for AWS
        refuse_after_deadline()


def test_attempts_after_the_budget_are_refused_and_not_retryable() -> None:
    from botocore.exceptions import BotoCoreError
    from botocore.exceptions import ConnectionError as BotocoreConnectionError

    with invocation_deadline(Context(0)), pytest.raises(AwsDeadlineExceeded) as caught:
        refuse_after_deadline()
    assert isinstance(caught.value, BotoCoreError) and not isinstance(caught.value, BotocoreConnectionError)
    refuse_after_deadline()  # the deadline ends with the invocation


def test_agent_deadline_leaves_the_margin_and_respects_the_cap() -> None:
    import time

    settings = Settings(
        tasks_table_name="t",
        snapshots_bucket_name="b",
        transcripts_table_name="s",
        agentapi_timeout_seconds=8.0,
        response_margin_seconds=1.0,
    )
    now = time.monotonic()
    assert agent_deadline(10_000, settings) - now == pytest.approx(8.0, abs=0.05)  # capped
    assert agent_deadline(3_000, settings) - now == pytest.approx(2.0, abs=0.05)  # remaining time minus margin
    assert agent_deadline(500, settings) <= now  # no time left: already past
