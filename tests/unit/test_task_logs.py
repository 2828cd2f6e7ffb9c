"""Message mapping and snapshot decoding (contract §4, §5)."""

import json

import pytest

from tasklogs_core.domain import errors
from tasklogs_core.domain.models import RelayedMessage
from tasklogs_core.services.snapshot_codec import UnknownRole, decode_snapshot, to_log_entries

T = "2026-11-25T10:00:00.123456789Z"


def message(i: int, role: str, content: str = "text") -> dict:
    return {"id": i, "content": content, "role": role, "time": T}


def relayed(fields: dict) -> RelayedMessage:
    return RelayedMessage.model_validate_json(json.dumps(fields))


def envelope(messages: object, fmt: object = "agentapi") -> bytes:
    return json.dumps({"format": fmt, "data": {"messages": messages}}).encode()


def test_roles_map_to_types_keeping_order_and_content() -> None:
    messages = [
        relayed(message(0, "agent", "  hi\n")),
        relayed(message(7, "user", "ü")),
        relayed(message(3, "agent", "")),
    ]
    assert [entry.model_dump(mode="json") for entry in to_log_entries(messages)] == [
        {"id": 0, "content": "  hi\n", "type": "output", "time": T},
        {"id": 7, "content": "ü", "type": "input", "time": T},
        {"id": 3, "content": "", "type": "output", "time": T},
    ]


@pytest.mark.parametrize("role", ["system", "User", "assistant", ""])
def test_other_roles_are_refused(role: str) -> None:
    with pytest.raises(UnknownRole, match="role"):
        to_log_entries([relayed(message(0, role))])


def test_snapshot_decodes_to_log_entries() -> None:
    logs = decode_snapshot(envelope([message(0, "agent"), message(1, "user")]))
    assert [(e.id, e.type) for e in logs] == [(0, "output"), (1, "input")]


def test_snapshot_with_no_messages_is_empty() -> None:
    assert decode_snapshot(envelope([])) == []


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b'{"format": "agentapi", "data": {"messages": [',
        b"[]",
        b'"agentapi"',
        b'{"format": "agentapi"}',
        b'{"format": "agentapi", "data": "not an object"}',
        b'{"format": "agentapi", "data": []}',
        b'{"format": 5, "data": {}}',
        b"\xff\xfe",
    ],
)
def test_undecodable_snapshots(raw: bytes) -> None:
    with pytest.raises(errors.SnapshotDecodeError):
        decode_snapshot(raw)


@pytest.mark.parametrize("fmt", ["asciinema", "", "AgentAPI"])
def test_other_formats_are_unsupported(fmt: str) -> None:
    with pytest.raises(errors.UnsupportedSnapshotFormat) as raised:
        decode_snapshot(envelope([], fmt=fmt))
    assert raised.value.detail == f'Expected format "agentapi", got "{fmt}".'


@pytest.mark.parametrize(
    "messages",
    [
        None,
        "x",
        [message(0, "system")],
        [{"id": 0, "content": "x", "role": "agent"}],
        [{**message(0, "agent"), "id": "0"}],
        [{**message(0, "agent"), "time": "now"}],
        [5],
    ],
)
def test_bad_snapshot_messages(messages: object) -> None:
    with pytest.raises(errors.InvalidSnapshotData):
        decode_snapshot(envelope(messages))


def test_a_bad_message_is_named_by_its_place_in_the_messages() -> None:
    with pytest.raises(errors.InvalidSnapshotData) as raised:
        decode_snapshot(envelope([message(0, "agent"), {**message(1, "user"), "id": "1"}]))
    assert raised.value.detail.startswith("Invalid snapshot message at messages[1].id: ")


def test_json_only_pythons_parser_takes_is_still_undecodable() -> None:
    # A lone surrogate escape: json.loads accepts it, pydantic-core does not; neither can be served.
    raw = envelope([message(0, "agent", "x")]).replace(b'"x"', b'"\\ud800"')
    with pytest.raises(errors.SnapshotDecodeError, match="not valid JSON"):
        decode_snapshot(raw)
