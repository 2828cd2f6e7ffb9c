"""The invocation's AWS deadline: attempts after it are refused, before it or outside an invocation not."""

import pytest
from tasklogs_core.deadlines import AwsDeadlineExceeded, invocation_deadline, refuse_after_deadline


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
    from botocore.exceptions import BotoCoreError, ConnectionError

    with invocation_deadline(Context(0)), pytest.raises(AwsDeadlineExceeded) as caught:
        refuse_after_deadline()
    assert isinstance(caught.value, BotoCoreError) and not isinstance(caught.value, ConnectionError)
    refuse_after_deadline()  # the deadline ends with the invocation
