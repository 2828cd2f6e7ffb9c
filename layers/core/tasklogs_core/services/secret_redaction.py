"""Secrets cut out of a conversation where its text enters or leaves the service (contract §12): the
upload, the capture and the checkpoint before anything is stored; the live and stored reads of /logs
and /transcript before anything is answered (stored text from before redaction existed, or from before
a deployment's new pattern, is redacted as it is read). Each call scans its messages together, a
1 MiB batch at a time.

Writes count what they removed (`SecretsRedacted` by kind); reads do not: they find again what a
write counted, or the same live text on every poll."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
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
TextMessage = TypeVar("TextMessage", "AgentMessage", "Message")


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
    redacted, kinds = _with_text(messages, lambda m, text: m.model_copy(update={"content": text}))
    count_secrets_redacted(kinds)
    return redacted


def texts_for_storage(messages: list[Message]) -> list[Message]:
    """Messages read back from a stored snapshot (written, perhaps, before redaction existed) on their
    way into the transcript."""
    kept, kinds = _texts(messages)
    count_secrets_redacted(kinds)
    return kept


def texts_for_reading(messages: list[Message]) -> list[Message]:
    """Messages a transcript page or entry is about to serve, stored or live."""
    return _texts(messages)[0]


def stored_for_reading(chunks: Sequence[Mapping[int, StoredMessage]]) -> list[dict[int, StoredMessage]]:
    """Stored chunks' messages as a reader, or a writer matching new messages against them, takes
    them (all of them in one scan): a chunk stored before redaction (or before a deployment's newer
    pattern) then compares equal to the same messages read now, so its session goes on instead of
    splitting in two."""
    held = [kept for chunk in chunks for kept in chunk.values()]
    texts = iter(texts_for_reading([kept.message for kept in held]))
    redacted: list[dict[int, StoredMessage]] = []
    for chunk in chunks:
        redacted.append({})
        for message_id, kept in chunk.items():
            text = next(texts)
            redacted[-1][message_id] = kept if kept.message is text else replace(kept, message=text)
    return redacted


def entries_for_reading(entries: list[LogEntry]) -> list[LogEntry]:
    """The log entries GET .../logs is about to serve, live or stored."""
    return _with_bytes(entries)[0]


def _texts(messages: list[Message]) -> tuple[list[Message], Counter[str]]:
    return _with_text(messages, lambda m, text: replace(m, content=text))


def _with_text(
    messages: list[TextMessage], remade: Callable[[TextMessage, str], TextMessage]
) -> tuple[list[TextMessage], Counter[str]]:
    originals = [m.content.encode() for m in messages]
    contents, kinds = _redacted(originals)
    if not kinds:
        return messages, kinds
    return [
        m if new is old else remade(m, new.decode()) for m, old, new in zip(messages, originals, contents, strict=True)
    ], kinds
