"""Secrets cut out of a conversation where its text enters or leaves the service (contract §12): the
upload, the capture and the checkpoint before anything is stored; the live and stored reads of /logs
and /transcript before anything is answered (stored text from before redaction existed, or from before
a deployment's new pattern, is redacted as it is read). Each call scans all its messages at once.

Writes count what they removed (`SecretsRedacted` by kind); reads do not: they find again what a
write counted, or the same live text on every poll."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, TypeVar

from tasklogs_core.adapters import clients
from tasklogs_core.adapters.observability import count_secrets_redacted
from tasklogs_core.adapters.secret_scanner import compile_rules
from tasklogs_core.domain.secrets import redacted_each

if TYPE_CHECKING:
    from tasklogs_core.domain.models import AgentMessage, LogEntry, RelayedMessage
    from tasklogs_core.domain.transcript import Message, StoredMessage

# In a container's init, not on its first request: the rule set takes seconds to compile. Only the
# functions that scan import this module (the others never load the scanner's library).
compile_rules()

BytesMessage = TypeVar("BytesMessage", "RelayedMessage", "LogEntry")


def _redacted(contents: Sequence[bytes]) -> tuple[list[bytes], Counter[str]]:
    return redacted_each(contents, clients.secret_scanner())


def _with_bytes(messages: list[BytesMessage]) -> tuple[list[BytesMessage], Counter[str]]:
    contents, kinds = _redacted([m.content for m in messages])
    if not kinds:
        return messages, kinds
    return [
        m if new is m.content else m.model_copy(update={"content": new})
        for m, new in zip(messages, contents, strict=True)
    ], kinds


def relayed_for_storage(messages: list[RelayedMessage]) -> list[RelayedMessage]:
    """The agent's messages as the capture and the checkpoint read them, before they are fitted or stored."""
    redacted, kinds = _with_bytes(messages)
    count_secrets_redacted(kinds)
    return redacted


def uploaded_for_storage(messages: list[AgentMessage]) -> list[AgentMessage]:
    """An upload's messages, before they are stored."""
    originals = [m.content.encode() for m in messages]
    contents, kinds = _redacted(originals)
    count_secrets_redacted(kinds)
    if not kinds:
        return messages
    return [
        m if new is old else m.model_copy(update={"content": new.decode()})
        for m, old, new in zip(messages, originals, contents, strict=True)
    ]


def texts_for_storage(messages: list[Message]) -> list[Message]:
    """Messages read back from a stored snapshot (written, perhaps, before redaction existed) on their
    way into the transcript."""
    kept, kinds = _texts(messages)
    count_secrets_redacted(kinds)
    return kept


def texts_for_reading(messages: list[Message]) -> list[Message]:
    """Messages a transcript page or entry is about to serve, stored or live."""
    return _texts(messages)[0]


def stored_for_reading(chunk: Mapping[int, StoredMessage]) -> dict[int, StoredMessage]:
    """A stored chunk's messages as a reader, or a writer matching new messages against them, takes
    them: a chunk stored before redaction (or before a deployment's newer pattern) then compares equal
    to the same messages read now, so its session goes on instead of splitting in two."""
    ids = list(chunk)
    texts = texts_for_reading([chunk[i].message for i in ids])
    return {
        i: held if held.message is text else replace(held, message=text)
        for i, held, text in zip(ids, chunk.values(), texts, strict=True)
    }


def entries_for_reading(entries: list[LogEntry]) -> list[LogEntry]:
    """The log entries GET .../logs is about to serve, live or stored."""
    return _with_bytes(entries)[0]


def _texts(messages: list[Message]) -> tuple[list[Message], Counter[str]]:
    originals = [m.content.encode() for m in messages]
    contents, kinds = _redacted(originals)
    if not kinds:
        return messages, kinds
    return [
        m if new is old else replace(m, content=new.decode())
        for m, old, new in zip(messages, originals, contents, strict=True)
    ], kinds
