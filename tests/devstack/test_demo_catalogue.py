"""The demo's own data tells a consistent story: what a person reads in `make run` must be possible."""

import json

import pytest

from devstack.demo.catalogue import TASKS

STORED = [t for t in TASKS if t.snapshot and t.snapshot_at]


def messages_of(snapshot: bytes) -> list[dict]:
    try:
        return json.loads(snapshot)["data"]["messages"]
    except (ValueError, KeyError, TypeError):
        return []  # the corrupt snapshots are corrupt on purpose


@pytest.mark.parametrize("task", STORED, ids=[t.name for t in STORED])
def test_a_snapshot_is_never_older_than_what_it_holds(task) -> None:
    # Both are fixed-width UTC RFC 3339 up to the seconds, so the seconds compare as strings.
    newest = max((m["time"][:19] for m in messages_of(task.snapshot)), default="")
    assert newest <= task.snapshot_at[:19], f"{task.name}: snapshot_at {task.snapshot_at}, a message at {newest}"


@pytest.mark.parametrize("task", [t for t in TASKS if t.transcript], ids=lambda t: t.name)
def test_a_transcript_write_is_never_older_than_what_it_holds(task) -> None:
    for written_at, messages in task.transcript:
        assert max(m["time"][:19] for m in messages) <= written_at[:19], task.name
