"""What the stream functions act on: pause starts, deletions, and the template's filter patterns
(the local poller applies them with devstack.runtime.streams.matches, so both are checked here)."""

import json

import pytest

from devstack.runtime.streams import matches, passes_filters
from devstack.runtime.template_resources import stream_mappings
from tasklogs_core.adapters.stream_records import task_change
from tasklogs_core.domain.conversation import MAX_UPLOAD_BYTES
from tasklogs_core.domain.models import AgentMessage, SnapshotEnvelope, TaskItem
from tasklogs_core.services.conversation_capture import TRUNCATION_MARKER, fit_within
from tasklogs_core.use_cases.pause_capture import is_pause_start
from tasklogs_core.use_cases.snapshot_cleanup import task_deleted

RUNNING = {"build_transition": "start", "build_job_status": "succeeded"}


def item(**attributes: str) -> TaskItem:
    return TaskItem(task_id="t1", **attributes)


def message(i: int, content: str = "x", role: str = "agent") -> AgentMessage:
    return AgentMessage(id=i, content=content, role=role, time="2026-11-25T04:31:04.123456789Z")


# ---------------------------------------------------------------- pause starts


@pytest.mark.parametrize(
    ("old", "new", "starts"),
    [
        (RUNNING, {"build_transition": "stop", "build_job_status": "pending"}, True),
        (RUNNING, {"build_transition": "stop", "build_job_status": "running"}, True),
        (
            {"build_transition": "stop", "build_job_status": "pending"},
            {"build_transition": "stop", "build_job_status": "running"},
            False,
        ),
        (
            {"build_transition": "stop", "build_job_status": "running"},
            {"build_transition": "stop", "build_job_status": "succeeded"},
            False,
        ),
        (RUNNING, {"build_transition": "stop", "build_job_status": "succeeded"}, False),
        (RUNNING, {"build_transition": "delete", "build_job_status": "running"}, False),
        (
            RUNNING,
            {"build_transition": "stop", "build_job_status": "running", "deleted_at": "2026-11-25T00:00:00Z"},
            False,
        ),
        (None, {"build_transition": "stop", "build_job_status": "running"}, True),
    ],
)
def test_pause_start_is_the_turn_to_stop(old: dict | None, new: dict, starts: bool) -> None:
    assert is_pause_start(item(**old) if old is not None else None, item(**new)) is starts


# ---------------------------------------------------------------- deletions


@pytest.mark.parametrize(
    ("event", "old", "new", "deleted"),
    [
        ("REMOVE", {}, None, True),
        ("REMOVE", {"deleted_at": "2026-11-25T00:00:00Z"}, None, True),
        ("MODIFY", {}, {"deleted_at": "2026-11-25T00:00:00Z"}, True),
        ("INSERT", None, {"deleted_at": "2026-11-25T00:00:00Z"}, True),
        ("MODIFY", {"deleted_at": "2026-11-25T00:00:00Z"}, {"deleted_at": "2026-11-25T00:00:00Z", "name": "x"}, False),
        ("MODIFY", {}, {"name": "renamed"}, False),
    ],
)
def test_deletion_is_removal_or_gaining_deleted_at(
    event: str, old: dict | None, new: dict | None, deleted: bool
) -> None:
    assert (
        task_deleted(event, item(**old) if old is not None else None, item(**new) if new is not None else None)
        is deleted
    )


# ---------------------------------------------------------------- fitting a capture into 64 KiB


def envelope_size(messages: list[AgentMessage]) -> int:
    return len(SnapshotEnvelope.of(messages).to_bytes())


def test_small_conversations_are_kept_whole() -> None:
    messages = [message(i, f"turn {i}", "user" if i % 2 else "agent") for i in range(20)]
    assert fit_within(messages) == messages
    assert fit_within([]) == []


def test_oldest_messages_go_first() -> None:
    messages = [message(i, "y" * 10_000) for i in range(10)]
    kept = fit_within(messages)
    assert [m.id for m in kept] == [4, 5, 6, 7, 8, 9]  # six of ~10 KB fit in 64 KiB
    assert envelope_size(kept) <= MAX_UPLOAD_BYTES < envelope_size(messages[3:])


def test_an_oversized_newest_message_keeps_its_end() -> None:
    content = "".join(f"line {n}\n" for n in range(20_000))  # ~190 KB
    [kept] = fit_within([message(0, "old"), message(1, content)])
    assert kept.id == 1
    assert kept.content.startswith(TRUNCATION_MARKER)
    assert content.endswith(kept.content.removeprefix(TRUNCATION_MARKER))
    assert MAX_UPLOAD_BYTES - 16 <= envelope_size([kept]) <= MAX_UPLOAD_BYTES


@pytest.mark.parametrize("char", ["é", "\u0000", "😀", '"'])
def test_truncation_counts_bytes_not_characters(char: str) -> None:
    [kept] = fit_within([message(0, char * 70_000)])
    assert envelope_size([kept]) <= MAX_UPLOAD_BYTES


def test_exactly_the_cap_fits() -> None:
    empty = envelope_size([message(0, "")])
    exact = message(0, "z" * (MAX_UPLOAD_BYTES - empty))
    assert envelope_size([exact]) == MAX_UPLOAD_BYTES
    assert fit_within([exact]) == [exact]


# ---------------------------------------------------------------- stream records and the template's filters


def _attribute(value: str | list[str]) -> dict:
    return {"SS": value} if isinstance(value, list) else {"S": value}


def record(event: str, old: dict | None, new: dict | None) -> dict:
    dynamodb: dict = {
        "Keys": {"task_id": {"S": "t1"}},
        "ApproximateCreationDateTime": 1795581548,
        "SequenceNumber": "1",
    }
    if old is not None:
        dynamodb["OldImage"] = {k: _attribute(v) for k, v in {"task_id": "t1", **old}.items()}
    if new is not None:
        dynamodb["NewImage"] = {k: _attribute(v) for k, v in {"task_id": "t1", **new}.items()}
    return {"eventName": event, "eventSource": "aws:dynamodb", "dynamodb": dynamodb}


def test_task_change_reads_images_and_time() -> None:
    change = task_change(record("MODIFY", RUNNING, {"build_transition": "stop", "build_job_status": "pending"}))
    assert change.task_id == "t1"
    assert change.old.build_transition == "start" and change.new.build_job_status == "pending"
    assert change.changed_at == "2026-11-25T04:39:08.000000Z"


MAPPINGS = {mapping.function: mapping for mapping in stream_mappings()}
STOPPING = {"build_transition": "stop", "build_job_status": "running"}


@pytest.mark.parametrize(
    ("function", "rec", "delivered"),
    [
        ("PauseCaptureFunction", record("MODIFY", RUNNING, STOPPING), True),
        (
            "PauseCaptureFunction",
            record("MODIFY", RUNNING, {"build_transition": "stop", "build_job_status": "pending"}),
            True,
        ),
        ("PauseCaptureFunction", record("MODIFY", STOPPING, {**STOPPING, "build_job_status": "succeeded"}), False),
        ("PauseCaptureFunction", record("MODIFY", {}, RUNNING), False),
        ("PauseCaptureFunction", record("INSERT", None, STOPPING), False),
        ("PauseCaptureFunction", record("REMOVE", STOPPING, None), False),
        ("SnapshotCleanupFunction", record("REMOVE", RUNNING, None), True),
        ("SnapshotCleanupFunction", record("MODIFY", RUNNING, {**RUNNING, "deleted_at": "2026-11-25T00:00:00Z"}), True),
        ("SnapshotCleanupFunction", record("INSERT", None, {"deleted_at": "2026-11-25T00:00:00Z"}), True),
        ("SnapshotCleanupFunction", record("MODIFY", RUNNING, STOPPING), False),
        ("SnapshotCleanupFunction", record("INSERT", None, RUNNING), False),
        ("TranscriptRetryFunction", record("MODIFY", RUNNING, {**RUNNING, "transcripts_due": ["t v"]}), True),
        ("TranscriptRetryFunction", record("MODIFY", RUNNING, STOPPING), False),
        ("TranscriptRetryFunction", record("REMOVE", {**RUNNING, "transcripts_due": ["t v"]}, None), False),
    ],
)
def test_template_filters_deliver_only_what_the_function_acts_on(function: str, rec: dict, delivered: bool) -> None:
    assert passes_filters(MAPPINGS[function], rec) is delivered


def test_the_retry_makes_only_the_writes_a_change_added() -> None:
    change = task_change(record("MODIFY", {"transcripts_due": ["a 1"]}, {"transcripts_due": ["a 1", "b 2"]}))
    assert change.new.transcripts_due - change.old.transcripts_due == {"b 2"}


def test_filter_matching_rules() -> None:
    assert matches({"a": ["x", "y"]}, {"a": "y"})
    assert not matches({"a": ["x"]}, {"a": "z"})
    assert not matches({"a": ["x"]}, {})
    assert matches({"a": {"S": [{"exists": True}]}}, {"a": {"S": ""}})
    assert not matches({"a": {"S": [{"exists": True}]}}, {"b": {"S": ""}})
    assert matches({"a": [{"exists": False}]}, {})
    with pytest.raises(ValueError, match="unsupported filter pattern"):
        matches({"a": "x"}, {"a": "x"})


def test_every_template_pattern_is_valid_json_lambda_accepts() -> None:
    for mapping in MAPPINGS.values():
        for pattern in mapping.filters:
            assert json.loads(json.dumps(pattern)) == pattern and set(pattern) <= {"eventName", "dynamodb"}
