"""The service's own reads of a task's conversation, which the capture at pause and the checkpoint
share (contract §4, §7, §11): the agent's whole answer to GET /messages, stored as the task's snapshot
(its newest 64 KiB, the upload's cap) and merged into the transcript (up to
TRANSCRIPT_SESSION_MAX_BYTES of the session), through the conversation writer, as of the moment the
read began. One code path: a checkpoint is a capture that leaves its session open.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tasklogs_core.adapters.agentapi_client import MAX_RESPONSE_BYTES, parse_messages
from tasklogs_core.adapters.settings import get_settings
from tasklogs_core.domain.conversation import MAX_UPLOAD_BYTES, unknown_role, unknown_role_detail
from tasklogs_core.domain.errors import InvalidTaskAppResponse
from tasklogs_core.domain.models import AgentMessage, RelayedMessage, RelayedMessages, SnapshotEnvelope, StoredMessage
from tasklogs_core.domain.transcript import Message, newest_within
from tasklogs_core.services.conversation_writer import (
    StoredSnapshot,
    keep_in_transcript,
    store_snapshot,
    write_transcript,
)
from tasklogs_core.services.secret_redaction import relayed_for_storage

if TYPE_CHECKING:
    from tasklogs_core.adapters.agentapi_client import AgentApiClient
    from tasklogs_core.adapters.snapshot_store import SnapshotStore
    from tasklogs_core.adapters.task_repository import TaskRepository
    from tasklogs_core.domain.models import TaskItem

TRUNCATION_MARKER = "[earlier output truncated]\n\n"

_EMPTY_ENVELOPE_BYTES = len(SnapshotEnvelope.of([]).to_bytes())


@dataclass(frozen=True)
class Capture:
    stored: StoredSnapshot
    messages_fetched: int
    messages_kept: int


def read_conversation(task: TaskItem, agent: AgentApiClient, deadline: float) -> bytes:
    """The agent's answer to GET /messages, as it sent it (bounded by capture_response_limit). Agent
    failures raise the read path's errors (TaskAppUnavailable, TaskAppTimeout, ...)."""
    limit = capture_response_limit(get_settings().transcript_session_max_bytes)
    return agent.get_messages_body(task.agentapi_url, deadline, max_bytes=limit)


def conversation_of(body: bytes) -> list[RelayedMessage]:
    """The messages of an answer read_conversation returned; one that is not AgentAPI's raises."""
    # Relayed: each message's text stays the UTF-8 the agent sent (one byte a character where Python
    # text takes two for any message with a non-ASCII character) until it is taken, one at a time.
    fetched: list[RelayedMessage] = parse_messages(body, RelayedMessages).messages
    if (found := unknown_role(fetched)) is not None:
        raise InvalidTaskAppResponse(unknown_role_detail(found[1]))
    return fetched


def store_conversation(
    task: TaskItem,
    fetched: list[RelayedMessage],
    started_at: str,
    *,
    repository: TaskRepository,
    store: SnapshotStore,
    checkpoint: bool = False,
) -> Capture:
    """Store a read of the agent's conversation as of `started_at`, when the read began: an upload
    that began earlier is replaced (this content is newer), one that began later is kept (see
    store_snapshot). Takes `fetched` over (it is emptied as its messages become text).

    A checkpoint (`checkpoint`) leaves its session open, and a transcript it could not write raises,
    for the queue to deliver it again; the capture at pause stores its snapshot all the same."""
    session_max = get_settings().transcript_session_max_bytes
    fetched_count = len(fetched)
    # Before anything is cut to fit: a secret cut in two would no longer be found.
    fetched[:] = relayed_for_storage(fetched)
    # The snapshot: the newest 64 KiB, fitted from the newest messages that can hold them.
    newest, _ = newest_within(fetched, MAX_UPLOAD_BYTES)
    kept = fit_within([_as_agent_message(m) for m in newest or fetched[-1:]])
    # The transcript keeps the whole conversation, not the snapshot's newest 64 KiB: up to
    # TRANSCRIPT_SESSION_MAX_BYTES of it (contract §7), the oldest left out beyond. It is written
    # first: a task that names a snapshot and has no session yet is read as one from before
    # transcripts (session 1), and this snapshot read so would call its older messages never captured.
    # A task deleted meanwhile keeps neither (keep_in_transcript, store_snapshot).
    whole, dropped = newest_within(fetched, session_max)
    del newest
    fetched.clear()
    write = write_transcript if checkpoint else keep_in_transcript
    write(
        task.task_id,
        _as_text(whole),
        started_at,
        repository=repository,
        before=task,
        dropped_oldest=dropped,
        checkpoint=checkpoint,
    )
    del whole
    stored = store_snapshot(task.task_id, kept, repository=repository, store=store, started_at=started_at)
    return Capture(stored, fetched_count, len(kept))


def _size(message: AgentMessage) -> int:
    return len(StoredMessage.of(message).model_dump_json().encode())


def fit_within(messages: list[AgentMessage], max_bytes: int = MAX_UPLOAD_BYTES) -> list[AgentMessage]:
    """The newest messages whose stored envelope fits in `max_bytes`: oldest dropped first, and when
    even the newest alone is too big, its content is cut from the start (its end is the latest)."""
    budget = max_bytes - _EMPTY_ENVELOPE_BYTES
    kept: list[AgentMessage] = []
    used = 0
    for message in reversed(messages):
        cost = _size(message) + (1 if kept else 0)  # a comma between array elements
        if used + cost > budget:
            break
        kept.append(message)
        used += cost
    if kept or not messages:
        return kept[::-1]
    return _keep_end_of(messages[-1], budget)


def _keep_end_of(message: AgentMessage, budget: int) -> list[AgentMessage]:
    """The message with the longest end of its content that fits `budget` bytes, after the marker."""

    def cut(keep: int) -> AgentMessage:
        tail = message.content[len(message.content) - keep :] if keep else ""
        return message.model_copy(update={"content": TRUNCATION_MARKER + tail})

    if _size(cut(0)) > budget:  # not even the empty message fits: nothing can be kept
        return []
    # Size grows with every character kept, and each takes at least one byte: binary search.
    low, high = 0, min(len(message.content), budget)
    while low < high:
        middle = (low + high + 1) // 2
        if _size(cut(middle)) <= budget:
            low = middle
        else:
            high = middle - 1
    return [cut(low)]


def _as_agent_message(message: RelayedMessage) -> AgentMessage:
    return AgentMessage(id=message.id, content=message.content.decode(), role=message.role, time=message.time)


def _as_text(relayed: list[RelayedMessage]) -> list[Message]:
    """The messages as text, each one's UTF-8 let go as soon as its text is made (the caller holds no
    other reference): the conversation is never in memory twice over."""
    pending = deque(relayed)
    relayed.clear()
    messages = []
    while pending:
        message = pending.popleft()
        messages.append(Message(message.id, message.role, message.content.decode(), message.time))
    return messages


def capture_response_limit(session_max_bytes: int) -> int:
    """How much of the agent's answer the capture reads: the session's content limit, with room for
    its JSON (every message's keys and escapes), and never less than a reader takes."""
    return max(MAX_RESPONSE_BYTES, 2 * session_max_bytes + 1024 * 1024)
