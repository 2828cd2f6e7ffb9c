"""The TaskTranscriptFunction's use case, GET /api/v2/tasks/{user}/{task}/transcript (contract §7, §8):
one page of the task's whole conversation across pauses, from its stored sessions and, when the page
reaches the live session of an active task, from the agent.

A page walks the transcript from its cursor (the store's TranscriptReader), one session header and
one chunk at a time, so what it reads follows the page, not the conversation (docs/transcripts.md).
The entries next to the page are found the same way: they say whether there are older and newer
pages, and which gaps touch it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from tasklogs_core.adapters import clients
from tasklogs_core.adapters.deadlines import agent_deadline
from tasklogs_core.adapters.observability import logger
from tasklogs_core.adapters.settings import get_settings
from tasklogs_core.adapters.transcript_store import TranscriptReader, find_entry, read_page
from tasklogs_core.domain.conditional import names_current, weak_etag
from tasklogs_core.domain.conversation import unknown_role, unknown_role_detail
from tasklogs_core.domain.errors import EntryNotFound, InvalidTaskAppResponse
from tasklogs_core.domain.identity import caller_from_claims
from tasklogs_core.domain.status import TaskStatus, derive_status
from tasklogs_core.domain.transcript import (
    MAX_ENTRY_TEXT_BYTES,
    Message,
    PageRequest,
    ServedEntry,
    ServedTranscript,
)
from tasklogs_core.services.secret_redaction import stored_for_reading, texts_for_reading

if TYPE_CHECKING:
    from tasklogs_core.domain.models import TaskItem


def serve_task_transcript(
    claims: Mapping[str, Any] | None,
    user_ref: str,
    task_ref: str,
    page_request: Callable[[], PageRequest],
    *,
    if_none_match: str | None,
    remaining_ms: int,
) -> ServedTranscript:
    """One page of the caller's task's transcript (contract §7); for a task that is not active, a 304
    when `if_none_match` names the page's ETag, decided from the task item alone (§8)."""
    caller = caller_from_claims(claims, get_settings().username_claim)
    task = clients.task_repository().find_callers_task(caller, user_ref, task_ref)
    logger.append_keys(task_id=task.task_id)
    request = page_request()  # the query is checked once the task is found
    status = derive_status(task)
    etag = None
    if status is not TaskStatus.ACTIVE:
        etag = decided_etag(task, status, request)
        if names_current(if_none_match, etag):
            return ServedTranscript(status, etag, None, if_none_match=if_none_match)
    deadline = agent_deadline(remaining_ms)  # from the invocation's start, whatever reading takes
    reader = TranscriptReader(
        task, status, clients.transcript_store(), read_legacy=_legacy_reader(task), redact=stored_for_reading
    )
    page, live_error = read_page(reader, request, status, agent=lambda: _live_messages(task, deadline))
    active = status is TaskStatus.ACTIVE
    times = {"checkpoint_at": task.checkpoint_at} if active else {"snapshot_at": task.snapshot_at}
    page = page.model_copy(update=times)
    return ServedTranscript(status, etag, page, live_error, reader.chunks_read, if_none_match)


def decided_etag(task: TaskItem, status: TaskStatus, request: PageRequest) -> str:
    """The ETag of a page of a task that is not active: everything its body depends on is on the item
    (every transcript write counts itself there), in the query, or in the secret rules (contract §12)."""
    return weak_etag(
        "transcript",
        task.task_id,
        status.value,
        task.transcript_revision,
        ",".join(sorted(task.transcripts_due)),
        task.snapshot_at,
        task.snapshot_version,
        request.limit,
        request.after,
        request.before,
        clients.secret_scanner().fingerprint,
    )


def _legacy_reader(task: TaskItem) -> Callable[[], list[Message]] | None:
    """A snapshot stored before transcripts existed reads as session 1 (contract §7)."""
    if not task.snapshot_at:
        return None

    def read() -> list[Message]:
        from tasklogs_core.services.snapshot_codec import snapshot_messages

        return texts_for_reading(snapshot_messages(clients.snapshot_store().read(task.task_id, task.snapshot_version)))

    return read


def _live_messages(task: TaskItem, deadline: float) -> list[Message]:
    messages = clients.agentapi_client().get_messages(task.agentapi_url, deadline).messages
    if (found := unknown_role(messages)) is not None:
        raise InvalidTaskAppResponse(unknown_role_detail(found[1]))
    return texts_for_reading([Message(m.id, m.role, m.content, m.time) for m in messages])


# ---------------------------------------------------------------- one entry, whole (§7 Large entries)


def serve_transcript_entry(
    claims: Mapping[str, Any] | None,
    user_ref: str,
    task_ref: str,
    entry_seq: Callable[[], int],
    *,
    carried: Callable[[bytes], bool],
    remaining_ms: int,
) -> ServedEntry:
    """The whole content of one entry of the caller's task (contract §7 Large entries): as text when it
    is at most 5 MiB and `carried` (the answer fits what Lambda carries), else a presigned URL of a copy
    of it. An entry of the live session is read from the agent, as a page reads it."""
    caller = caller_from_claims(claims, get_settings().username_claim)
    task = clients.task_repository().find_callers_task(caller, user_ref, task_ref)
    logger.append_keys(task_id=task.task_id)
    seq = entry_seq()
    status = derive_status(task)
    deadline = agent_deadline(remaining_ms)
    store = clients.transcript_store()
    reader = TranscriptReader(task, status, store, read_legacy=_legacy_reader(task), redact=stored_for_reading)
    held = find_entry(reader, seq, status, agent=lambda: _live_messages(task, deadline))
    if held is None:
        raise EntryNotFound(f"No entry has seq {seq}.")
    text = held.message.content.encode()
    logger.info("transcript entry served", extra={"seq": seq, "content_bytes": len(text), "live": held.from_agent})
    if len(text) <= MAX_ENTRY_TEXT_BYTES and carried(text):
        return ServedEntry(seq, text)
    return ServedEntry(seq, None, store.publish_entry(task.task_id, seq, text))
