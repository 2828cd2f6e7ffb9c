"""The stored snapshot's codec, which the logs route, the transcript's reader and its writer share: a
snapshot envelope `{"format": "agentapi", "data": {"messages": [...]}}` decoded to log entries, or to
the messages a transcript holds, with what is wrong with one worded for people."""

from __future__ import annotations

import json
from collections.abc import Sequence

from pydantic import TypeAdapter, ValidationError

from tasklogs_core.domain.conversation import (
    LOG_TYPE_BY_ROLE,
    ROLE_BY_LOG_TYPE,
    SNAPSHOT_FORMAT,
    unknown_role,
    unknown_role_detail,
)
from tasklogs_core.domain.errors import (
    InvalidSnapshotData,
    SnapshotDecodeError,
    TaskLogsError,
    UnsupportedSnapshotFormat,
)
from tasklogs_core.domain.models import AgentMessage, LogEntry, RelayedMessage, RelayedSnapshot
from tasklogs_core.domain.transcript import Message
from tasklogs_core.domain.validation import json_path

_snapshot_messages = TypeAdapter(list[AgentMessage])  # over json.loads output: the same checks on str


class UnknownRole(ValueError):
    pass


def to_log_entries(messages: Sequence[RelayedMessage]) -> list[LogEntry]:
    """AgentAPI `user` → `input`, `agent` → `output`; order and content unchanged."""
    if (found := unknown_role(messages)) is not None:
        raise UnknownRole(unknown_role_detail(found[1]))
    # Validated again, in pydantic-core: cheaper than model_construct's Python loop.
    return [LogEntry(id=m.id, content=m.content, type=LOG_TYPE_BY_ROLE[m.role], time=m.time) for m in messages]


def decode_snapshot(raw: bytes) -> list[LogEntry]:
    """Log entries from a stored envelope `{"format": "agentapi", "data": {"messages": [...]}}`."""
    try:  # one pass of pydantic-core over the bytes
        snapshot = RelayedSnapshot.model_validate_json(raw)
    except ValidationError as exc:
        raise _snapshot_problem(raw, exc) from None
    try:
        return to_log_entries(snapshot.data.messages)
    except UnknownRole as exc:
        raise InvalidSnapshotData(str(exc)) from None


def snapshot_messages(raw: bytes) -> list[Message]:
    """A stored snapshot's messages as the transcript holds them (a snapshot from before transcripts is
    session 1, contract §7), checked as `decode_snapshot` checks them."""
    return [
        Message(entry.id, ROLE_BY_LOG_TYPE[entry.type], entry.content.decode(), entry.time)
        for entry in decode_snapshot(raw)
    ]


def _snapshot_problem(raw: bytes, failure: ValidationError) -> TaskLogsError:
    """What is wrong with a stored object, in words for people (only runs when it is wrong)."""
    try:
        envelope = json.loads(raw)
    except ValueError as exc:
        return SnapshotDecodeError(f"The snapshot is not valid JSON: {exc}.")
    if not isinstance(envelope, dict) or not isinstance(envelope.get("data"), dict):
        return SnapshotDecodeError("The snapshot's data is not an object.")
    found = envelope.get("format")
    if not isinstance(found, str):
        return SnapshotDecodeError("The snapshot's format is not a string.")
    if found != SNAPSHOT_FORMAT:
        return UnsupportedSnapshotFormat(found)
    try:
        _snapshot_messages.validate_python(envelope["data"].get("messages"))
    except ValidationError as exc:
        failure = exc
    error = failure.errors(include_url=False, include_input=False)[0]
    if error["type"] == "json_invalid":  # what Python's parser takes and pydantic-core's does not
        return SnapshotDecodeError(f"The snapshot is not valid JSON: {error['msg']}.")
    loc = error["loc"][2:] if error["loc"][:2] == ("data", "messages") else error["loc"]  # from the fast pass
    return InvalidSnapshotData(f"Invalid snapshot message at {json_path('messages', loc)}: {error['msg']}.")
