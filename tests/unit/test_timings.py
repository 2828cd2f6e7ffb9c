"""Per-invocation call timings: kept only inside a collecting block, in order, with their outcome."""

import pytest

from tasklogs_core.adapters import timings


def test_calls_are_kept_only_while_collecting_in_order_with_their_outcome() -> None:
    with timings.timed("agent", "GET /messages"):
        pass  # outside any block: not kept anywhere
    with timings.collecting() as calls:
        with timings.timed("agent", "GET /messages") as call:
            call.ok = False  # answered with an HTTP error
        with pytest.raises(RuntimeError), timings.timed("s3", "GetObject"):
            raise RuntimeError
        with timings.timed("dynamodb", "GetItem"):
            pass
    assert [(c.dependency, c.operation, c.ok) for c in calls] == [
        ("agent", "GET /messages", False),
        ("s3", "GetObject", False),
        ("dynamodb", "GetItem", True),
    ]
    assert all(c.ms >= 0 for c in calls)


def test_the_summary_lists_each_call_and_totals_per_dependency() -> None:
    calls = [
        timings.Call("dynamodb", "Query", 1.25, True),
        timings.Call("dynamodb", "GetItem", 2.5, True),
        timings.Call("s3", "GetObject", 4.0, False),
    ]
    summary = timings.summary(calls)
    assert (summary["dynamodb_ms"], summary["s3_ms"], "agent_ms" in summary) == (3.75, 4.0, False)
    assert summary["calls"][2] == {"dependency": "s3", "operation": "GetObject", "ms": 4.0, "ok": False}
