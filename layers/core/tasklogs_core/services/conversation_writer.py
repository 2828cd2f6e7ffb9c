"""The conversation writer, which the agent's upload and the capture at pause share: the one code path
that stores a snapshot (contract §4, §6), and the one that keeps a write's messages in the task's
transcript (contract §7; docs/transcripts.md).

Storing: the object is written first, then the task item is pointed at that exact version with a
conditional update. A reader therefore never sees a `snapshot_at` without its content, and a writer
that started earlier but finishes later (an older `snapshot_at`) never replaces a newer one.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from aws_lambda_powertools.metrics import MetricUnit

from tasklogs_core.adapters import clients
from tasklogs_core.adapters.deadlines import aws_seconds_left
from tasklogs_core.adapters.observability import logger, metrics
from tasklogs_core.adapters.task_repository import PointerUpdate
from tasklogs_core.domain.errors import SnapshotStoreError, StorageError, TaskLogsError
from tasklogs_core.domain.models import AgentMessage, SnapshotEnvelope, TaskItem, utc_now_rfc3339, utc_rfc3339
from tasklogs_core.domain.transcript import (
    Message,
    Said,
    StoredMessage,
    ids_are_contiguous,
    merge,
    seq_of,
    session_for,
    unplaced,
)
from tasklogs_core.services.secret_redaction import stored_for_reading, texts_for_storage
from tasklogs_core.services.snapshot_codec import snapshot_messages

if TYPE_CHECKING:
    from tasklogs_core.adapters.snapshot_store import SnapshotStore
    from tasklogs_core.adapters.task_repository import TaskRepository
    from tasklogs_core.adapters.transcript_store import ChunkRef, SessionHeader, Superseded, TranscriptStore


@dataclass(frozen=True)
class StoredSnapshot:
    outcome: PointerUpdate
    snapshot_at: str
    version_id: str | None
    size_bytes: int


def store_snapshot(
    task_id: str,
    messages: list[AgentMessage],
    *,
    repository: TaskRepository,
    store: SnapshotStore,
    started_at: str | None = None,
    agent_token_sha256: str | None = None,
    clock: Callable[[], str] = utc_now_rfc3339,
) -> StoredSnapshot:
    """Store `messages` as the task's snapshot, unless the task holds one from a writer that began
    later (or at the same moment).

    `started_at` (default: now) is when this writer began, as a utc_rfc3339 string from the server's
    clock, and becomes `snapshot_at`. An upload begins when it is received; the capture at pause when
    it starts reading the agent, so it passes its own start: its content is at least as new as any
    upload that began before it, and older than any upload that began after. One clock, one
    resolution: the newest start wins, whatever order the writes finish in. On TASK_GONE the new
    object version is removed again, so a deleted task never gets a snapshot back; on SUPERSEDED it
    stays as an older version, like any upload.
    """
    body = SnapshotEnvelope.of(messages).to_bytes()
    snapshot_at = started_at or clock()
    version_id = store.write(task_id, body)
    outcome = repository.point_at_snapshot(
        task_id, snapshot_at=snapshot_at, version_id=version_id, agent_token_sha256=agent_token_sha256
    )
    if outcome is PointerUpdate.TASK_GONE:
        store.delete_version(task_id, version_id)
    return StoredSnapshot(outcome, snapshot_at, version_id, len(body))


# ---------------------------------------------------------------- the transcript (contract §7; docs/transcripts.md)

# A write is matched against this many of the task's newest sessions (contract §7, Sessions).
SESSIONS_MATCHED = 2
# Racing writers retry on the newer header: each round merges again, so nothing is lost. They back
# off at random (up to 0.2 s a round) so that many at once (50 in the tests) all get through; the
# invocation's AWS deadline (deadlines.py) bounds the whole.
MAX_TRANSCRIPT_ROUNDS = 40
# A writer gives up its rounds this long before the invocation's AWS deadline: time for the one
# UpdateItem that defers its write instead.
TRANSCRIPT_RESERVE_SECONDS = 1.5
_BACKOFF_SECONDS = 0.2
# A chunk version a commit replaced is deleted by a later write once it has been superseded this
# long: well past the longest a reader can still be reading it under an older header (a request
# lasts at most the transcript function's 12 s timeout). Until then the header lists it.
SUPERSEDED_GRACE_SECONDS = 300


def write_transcript(
    task_id: str,
    messages: Sequence[Said],
    written_at: str,
    *,
    repository: TaskRepository,
    before: TaskItem | None = None,
    dropped_oldest: int = 0,
    transcripts: TranscriptStore | None = None,
    checkpoint: bool = False,
) -> SessionHeader | None:
    """Add a write's messages (an upload's, or the capture's whole conversation) to the task's
    transcript, as of `written_at` (the writer's start, the same instant its snapshot carries), then
    count the write on the task item (readers' ETags follow that count). `before`: the task item as
    the writer found it; a snapshot it names that no transcript holds yet (stored by an earlier
    version of this service) is kept first, as session 1. `dropped_oldest`: how many of the oldest
    messages the writer left out for size (TRANSCRIPT_SESSION_MAX_BYTES). `checkpoint`: the write of a
    running task's checkpoint (contract §11), which leaves its session open. Raises StorageError or
    SnapshotStoreError when the write could not be made; None when nothing was written (nothing to
    place, or the task was deleted meanwhile)."""
    transcripts = transcripts or clients.transcript_store()
    earlier = _earlier_snapshot(task_id, before, transcripts)
    header = None
    batches: tuple[tuple[Sequence[Said], str | None, int, bool], ...] = (
        (earlier, before.snapshot_at if before else None, 0, False),
        (messages, written_at, dropped_oldest, checkpoint),
    )
    for batch, at, dropped, open_ended in batches:
        if not batch or at is None:
            continue
        written = record_messages(task_id, batch, at, transcripts, dropped_oldest=dropped, checkpoint=open_ended)
        if written is None:
            continue
        if not repository.count_transcript_write(task_id):
            # Deleted while this write went on: nothing may stay behind.
            transcripts.remove_write(task_id, written.header.session, written.chunks)
            return None
        header = written.header
    return header


def _log_failure(message: str, task_id: str, exc: TaskLogsError, *, handled: bool = False) -> None:
    cause = type(exc.__cause__).__name__ if exc.__cause__ else None
    log = logger.warning if handled else logger.error
    log(message, extra={"task_id": task_id, "error": type(exc).__name__, "detail": exc.detail, "cause": cause})


def keep_in_transcript(
    task_id: str,
    messages: Sequence[Said],
    written_at: str,
    *,
    repository: TaskRepository,
    before: TaskItem | None = None,
    dropped_oldest: int = 0,
    transcripts: TranscriptStore | None = None,
    checkpoint: bool = False,
) -> SessionHeader | None:
    """write_transcript for the agent's reads (the capture at pause, the checkpoint), whose snapshot is
    stored all the same: a failure is logged and counted, not the read's outcome."""
    try:
        return write_transcript(
            task_id,
            messages,
            written_at,
            repository=repository,
            before=before,
            dropped_oldest=dropped_oldest,
            transcripts=transcripts,
            checkpoint=checkpoint,
        )
    except (StorageError, SnapshotStoreError) as exc:
        _log_failure("transcript not written", task_id, exc)
        metrics.add_metric(name="TranscriptWriteFailures", unit=MetricUnit.Count, value=1)
        return None


# A deferred write, as the task item names it: the write's `written_at`, then its snapshot's version.
def due_write(written_at: str, version_id: str) -> str:
    return f"{written_at} {version_id}"


def parse_due_write(due: str) -> tuple[str, str]:
    written_at, _, version_id = due.partition(" ")
    return written_at, version_id


def write_or_defer(
    task_id: str, messages: Sequence[Said], stored: StoredSnapshot, *, repository: TaskRepository, before: TaskItem
) -> None:
    """An upload's transcript write (contract §7: a 204 means stored): made now, or, when it cannot be
    made in the invocation's time (racing writers, a slow store), named on the task item for the
    transcript retry, which makes it from the stored snapshot through the table's stream. Raises when
    neither could be done, so the agent is told."""
    try:
        write_transcript(task_id, messages, stored.snapshot_at, repository=repository, before=before)
        return
    except (StorageError, SnapshotStoreError) as exc:
        if not stored.version_id:  # an unversioned bucket: no snapshot version to make it from later
            raise
        failure = exc
    deferred = repository.defer_transcript_write(task_id, due_write(stored.snapshot_at, stored.version_id))
    if deferred:  # else deleted meanwhile: the deletion removes everything
        _log_failure("transcript write deferred", task_id, failure, handled=True)
        metrics.add_metric(name="TranscriptWritesDeferred", unit=MetricUnit.Count, value=1)


def _earlier_snapshot(task_id: str, before: TaskItem | None, transcripts: TranscriptStore) -> list[Message]:
    """The messages of the snapshot `before` names, when the task has no transcript yet (contract §7:
    snapshots stored before transcripts existed stay readable, as session 1). One that cannot be read
    is left where it is (the reader shows it as session 1 all the same) and logged."""
    if before is None or not before.snapshot_at or before.transcript_revision:
        return []
    if transcripts.newest_sessions(task_id, 1):
        return []
    try:
        # Read as the transcript route reads it, so the seqs a reader saw stay.
        return texts_for_storage(snapshot_messages(clients.snapshot_store().read(task_id, before.snapshot_version)))
    except TaskLogsError as exc:  # unreadable, or not a snapshot this service can read
        logger.warning(
            "earlier snapshot not kept in the transcript", extra={"task_id": task_id, "error": type(exc).__name__}
        )
        return []


@dataclass(frozen=True)
class TranscriptWrite:
    header: SessionHeader  # the session as this write left it
    chunks: dict[int, ChunkRef]  # the chunk versions this write put


def record_messages(
    task_id: str,
    messages: Sequence[Said],
    written_at: str,
    transcripts: TranscriptStore,
    *,
    dropped_oldest: int = 0,
    checkpoint: bool = False,
) -> TranscriptWrite | None:
    """Merge `messages` into the session they continue, or into a new one (contract §7): chunks first,
    then the header, conditionally; on a lost race, read and merge again. A write that would change
    nothing stored writes nothing (a checkpoint of an unchanged conversation, contract §11); a closing
    write (not a checkpoint) still marks its session closed, on the header alone."""
    from tasklogs_core.adapters.transcript_store import SessionHeader, chunk_of

    incoming = [m if isinstance(m, Message) else Message(m.id, m.role, m.content, m.time) for m in messages]
    # An id beyond a session's seq block cannot be placed (docs/transcripts.md): left out, and said so.
    placeable = [m for m in incoming if seq_of(1, m.id) is not None]
    if not placeable:
        return None
    touched = {chunk_of(m.id) for m in placeable}
    for attempt in range(MAX_TRANSCRIPT_ROUNDS):
        if attempt:  # another writer moved the session first
            left = aws_seconds_left()
            if left is not None and left < TRANSCRIPT_RESERVE_SECONDS:
                break  # what is left is for deferring the write (write_or_defer)
            time.sleep(random.uniform(0, min(_BACKOFF_SECONDS, 0.01 * 2**attempt)))  # noqa: S311 - jitter
        newest = transcripts.newest_sessions(task_id, SESSIONS_MATCHED)
        # As readers take them (redacted again): a session stored before redaction still continues.
        held = stored_for_reading([transcripts.read_chunks(task_id, header, touched) for header in newest])
        index = session_for(held, incoming)
        if index is None:
            header, stored = SessionHeader(session=newest[0].session + 1 if newest else 1), {}
        else:
            header, stored = newest[index], held[index]
        below, beyond = unplaced(m.id for m in incoming)
        unchanged = index is not None and holds_already(stored, placeable)
        merged = {} if unchanged else merge(stored, placeable, written_at)
        put = (
            {}
            if unchanged
            else transcripts.put_chunks(
                task_id,
                header,
                {
                    chunk: [kept for i, kept in merged.items() if chunk_of(i) == chunk]
                    for chunk in {chunk_of(m.id) for m in placeable}
                },
            )
        )
        updated = replace(
            header,
            chunks={**header.chunks, **put},
            written_at=max(header.written_at, written_at) if put else header.written_at,
            checkpoint_at=max(header.checkpoint_at, written_at) if checkpoint and put else header.checkpoint_at,
            closed_at=header.closed_at if checkpoint else max(header.closed_at, written_at),
            ids_contiguous=header.ids_contiguous and ids_are_contiguous(incoming),
            left_out_at=max(header.left_out_at, written_at) if len(placeable) < len(incoming) else header.left_out_at,
            dropped_oldest=max(header.dropped_oldest, dropped_oldest),
            kept_from=max(header.kept_from, min(m.id for m in placeable)) if dropped_oldest else header.kept_from,
            unplaced_before=max(header.unplaced_before, below),
            unplaced_after=max(header.unplaced_after, beyond),
        )
        if updated == header:  # nothing this write knows is new: nothing to write
            return None
        updated, due = _supersede(header, updated, put)
        if transcripts.commit(task_id, updated):
            _delete_superseded(task_id, header.session, due, transcripts)
            return TranscriptWrite(replace(updated, revision=header.revision + 1), put)
        transcripts.discard_chunks(task_id, header.session, put)  # no header will ever name these
    raise SnapshotStoreError(f"The transcript kept changing under {attempt + 1} writes in a row.")


def _supersede(
    header: SessionHeader, updated: SessionHeader, put: Mapping[int, ChunkRef]
) -> tuple[SessionHeader, list[Superseded]]:
    """The header to commit, listing the chunk versions this write replaces, and the listed ones old
    enough to delete once it is committed."""
    from tasklogs_core.adapters.transcript_store import Superseded

    now = datetime.now(UTC)
    due_before = utc_rfc3339(now - timedelta(seconds=SUPERSEDED_GRACE_SECONDS))
    due = [old for old in header.superseded if old.at <= due_before]
    replaced = [
        Superseded(chunk, header.chunks[chunk].version, utc_rfc3339(now))
        for chunk in sorted(put)
        if chunk in header.chunks and header.chunks[chunk].version
    ]
    kept = [old for old in header.superseded if old.at > due_before]
    return replace(updated, superseded=(*kept, *replaced)), due


def _delete_superseded(task_id: str, session: int, due: list[Superseded], transcripts: TranscriptStore) -> None:
    """Best effort: a version left behind costs storage until the task is deleted, nothing else."""
    if not due:
        return
    try:
        transcripts.delete_superseded(task_id, session, due)
    except SnapshotStoreError as exc:
        _log_failure("superseded chunk versions not deleted", task_id, exc, handled=True)


def holds_already(stored: Mapping[int, StoredMessage], messages: Sequence[Message]) -> bool:
    """Whether a session holds every one of `messages` as it is (same role, content and time)."""
    for message in messages:
        held = stored.get(message.id)
        if held is None or (held.message.role, held.message.content, held.message.time) != (
            message.role,
            message.content,
            message.time,
        ):
            return False
    return True
