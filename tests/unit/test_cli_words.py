"""What the tasklogs CLI says about a conversation: gap notes and ages (render.py)."""

from datetime import UTC, datetime

import pytest

from tasklogs_cli.api import TaskRef
from tasklogs_cli.render import ago, gap_note


@pytest.mark.parametrize(
    ("gap", "said"),
    [
        (
            {"after_seq": None, "before_seq": 5, "missing": 12, "reason": "not captured"},
            "12 earlier messages were not captured",
        ),
        (
            {"after_seq": None, "before_seq": 5, "missing": 1, "reason": "not captured"},
            "1 earlier message was not captured",
        ),
        ({"after_seq": 3, "before_seq": 7, "missing": 3, "reason": "not captured"}, "3 messages were not captured"),
        (
            {"after_seq": 3, "before_seq": None, "missing": 2, "reason": "not captured"},
            "2 later messages were not captured",
        ),
        (
            {"after_seq": 3, "before_seq": 9, "missing": None, "reason": "not captured"},
            "Some messages were not captured",
        ),
        (
            {"after_seq": None, "before_seq": 9, "missing": 40, "reason": "over size limit"},
            "40 earlier messages left out: over the session size limit",
        ),
    ],
)
def test_gap_notes(gap, said) -> None:
    assert gap_note(gap) == said


def test_a_crash_says_until_when_the_history_was_kept_in_local_time(monkeypatch) -> None:
    import time

    monkeypatch.setenv("TZ", "Asia/Kolkata")  # UTC+05:30, no daylight saving
    time.tzset()
    try:
        lost = {"after_seq": 7, "before_seq": None, "missing": None, "reason": "agent lost"}
        assert gap_note(lost, "2026-12-04T10:42:13.5Z") == "history kept until 16:12; the workspace stopped answering"
        assert gap_note(lost) == "history kept; the workspace stopped answering"  # the entry not at hand
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


@pytest.mark.parametrize(
    ("then", "said"),
    [
        ("2026-11-26T11:59:30Z", "just now"),
        ("2026-11-26T11:59:00Z", "1 minute ago"),
        ("2026-11-26T09:00:00.123456789Z", "2 hours ago"),
        ("2026-11-19T12:00:00+00:00", "7 days ago"),
    ],
)
def test_ages(then, said) -> None:
    assert ago(then, now=datetime(2026, 11, 26, 12, 0, tzinfo=UTC)) == said


@pytest.mark.parametrize(
    ("typed", "path"),
    [
        ("fix-ci", "/api/v2/tasks/me/fix-ci"),
        ("alice/fix-ci", "/api/v2/tasks/alice/fix-ci"),
        ("a/b/c", "/api/v2/tasks/a%2Fb/c"),  # a name never holds a slash: the owner part is sent escaped
        ("../x?y", "/api/v2/tasks/%2E%2E/x%3Fy"),
        ("..", "/api/v2/tasks/me/%2E%2E"),
    ],
)
def test_task_references_become_one_path_segment_each(typed, path) -> None:
    assert TaskRef.parse(typed).path() == path


def test_the_cli_s_statuses_are_the_service_s() -> None:
    """The CLI installs without the layer, so it keeps its own copy of §3's statuses: held to it here."""
    from tasklogs_cli.api import SNAPSHOT_STATUSES, TROUBLED_STATUSES, Status
    from tasklogs_core.domain.status import SNAPSHOT_STATUSES as LAYER_SNAPSHOT_STATUSES
    from tasklogs_core.domain.status import TaskStatus

    assert [s.value for s in Status] == [s.value for s in TaskStatus]
    assert {s.value for s in SNAPSHOT_STATUSES} == {s.value for s in LAYER_SNAPSHOT_STATUSES}
    assert {s.value for s in TROUBLED_STATUSES} == {"error", "unknown"}
