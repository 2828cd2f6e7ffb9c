"""The PauseCaptureFunction's use case, the server-side capture at pause (contract §4): when a task's
build turns to `stop` while its job is pending or running, the agent is usually still up for a few
seconds. Fetch its conversation then and store it through the upload's own code path, within the
upload's 64 KiB cap.

Coder relies only on the agent's best-effort shutdown script; this covers agents that never ran it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from tasklogs_core.adapters import clients
from tasklogs_core.adapters.agentapi_client import MAX_RESPONSE_BYTES
from tasklogs_core.adapters.deadlines import agent_deadline
from tasklogs_core.adapters.observability import logger, metrics
from tasklogs_core.adapters.settings import get_settings
from tasklogs_core.adapters.stream_records import task_change
from tasklogs_core.domain.conversation import MAX_UPLOAD_BYTES, unknown_role, unknown_role_detail
from tasklogs_core.domain.errors import AGENT_FAILURES, InvalidTaskAppResponse
from tasklogs_core.domain.models import (
    AgentMessage,
    RelayedMessage,
    RelayedMessages,
    SnapshotEnvelope,
    StoredMessage,
    utc_now_rfc3339,
)
from tasklogs_core.domain.transcript import Message, newest_within
from tasklogs_core.services.conversation_writer import StoredSnapshot, keep_in_transcript, store_snapshot

if TYPE_CHECKING:
    from tasklogs_core.adapters.agentapi_client import AgentApiClient
    from tasklogs_core.adapters.snapshot_store import SnapshotStore
    from tasklogs_core.adapters.task_repository import TaskRepository
    from tasklogs_core.domain.models import TaskItem

STOPPING_JOB_STATUSES = ("pending", "running")
TRUNCATION_MARKER = "[earlier output truncated]\n\n"

_EMPTY_ENVELOPE_BYTES = len(SnapshotEnvelope.of([]).to_bytes())


def capture_on_pause(record: Mapping[str, Any], *, remaining_ms: int) -> None:
    """One stream record of the tasks table: when it starts a pause, the agent's conversation is
    stored as the task's snapshot. Storage failures raise, for the event source mapping to retry."""
    change = task_change(record)
    task = change.new
    if task is None or not is_pause_start(change.old, task):  # a later change of a pause, or our own update
        metrics.add_metric(name="StreamRecordsIgnored", unit=MetricUnit.Count, value=1)
        return
    try:
        result = capture_at_pause(
            task,
            agent=clients.agentapi_client(),
            repository=clients.task_repository(),
            store=clients.snapshot_store(),
            deadline=agent_deadline(remaining_ms),
        )
    except AGENT_FAILURES as exc:  # the agent may be gone already: logged and counted, never retried
        logger.warning(
            "agent unreachable at pause; no snapshot captured",
            extra={"task_id": task.task_id, "error": type(exc).__name__, "detail": exc.detail},
        )
        metrics.add_metric(name="PauseCaptureAgentUnavailable", unit=MetricUnit.Count, value=1)
        return
    logger.info(
        "snapshot captured at pause",
        extra={
            "task_id": task.task_id,
            "outcome": result.stored.outcome.value,
            "paused_at": change.changed_at,
            "snapshot_at": result.stored.snapshot_at,
            "messages_fetched": result.messages_fetched,
            "messages_kept": result.messages_kept,
            "size_bytes": result.stored.size_bytes,
        },
    )
    outcome = result.stored.outcome.value.title().replace("_", "")
    metrics.add_metric(name=f"PauseCapture{outcome}", unit=MetricUnit.Count, value=1)


def _is_stopping(task: TaskItem | None) -> bool:
    return task is not None and task.build_transition == "stop" and task.build_job_status in STOPPING_JOB_STATUSES


def is_pause_start(old: TaskItem | None, new: TaskItem | None) -> bool:
    """The change that starts a pause: the build turns to `stop` (pending or running) just now.
    Later changes while it stops (pending → running, the agent shutting down) are not new pauses."""
    return _is_stopping(new) and not _is_stopping(old) and new is not None and not new.is_deleted


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


@dataclass(frozen=True)
class Capture:
    stored: StoredSnapshot
    messages_fetched: int
    messages_kept: int


def capture_at_pause(
    task: TaskItem,
    *,
    agent: AgentApiClient,
    repository: TaskRepository,
    store: SnapshotStore,
    deadline: float,
    clock: Callable[[], str] = utc_now_rfc3339,
) -> Capture:
    """Fetch the agent's messages and store them as of the moment the capture began: an upload that
    began earlier is replaced (this content is newer), one that began later is kept (see
    store_snapshot). Agent failures raise the read path's errors (TaskAppUnavailable,
    TaskAppTimeout, ...) for the caller to count."""
    started_at = clock()
    session_max = get_settings().transcript_session_max_bytes
    # Relayed: each message's text stays the UTF-8 the agent sent (one byte a character where Python
    # text takes two for any message with a non-ASCII character) until it is taken, one at a time.
    fetched = agent.get_messages(
        task.agentapi_url, deadline, RelayedMessages, max_bytes=capture_response_limit(session_max)
    ).messages
    if (found := unknown_role(fetched)) is not None:
        raise InvalidTaskAppResponse(unknown_role_detail(found[1]))
    fetched_count = len(fetched)
    # The snapshot: the newest 64 KiB, fitted from the newest messages that can hold them.
    newest, _ = newest_within(fetched, MAX_UPLOAD_BYTES)
    kept = fit_within([_as_agent_message(m) for m in newest or fetched[-1:]])
    # The transcript keeps the whole conversation, not the snapshot's newest 64 KiB: up to
    # TRANSCRIPT_SESSION_MAX_BYTES of it (contract §7), the oldest left out beyond. It is written
    # first: a task that names a snapshot and has no session yet is read as one from before
    # transcripts (session 1), and this snapshot read so would call its older messages never captured.
    # A task deleted meanwhile keeps neither (keep_in_transcript, store_snapshot).
    whole, dropped = newest_within(fetched, session_max)
    del fetched, newest
    keep_in_transcript(
        task.task_id, _as_text(whole), started_at, repository=repository, before=task, dropped_oldest=dropped
    )
    del whole
    stored = store_snapshot(task.task_id, kept, repository=repository, store=store, started_at=started_at)
    return Capture(stored, fetched_count, len(kept))


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
