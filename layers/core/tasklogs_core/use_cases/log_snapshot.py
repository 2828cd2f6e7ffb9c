"""The LogSnapshotFunction's use case, POST /api/v2/workspaceagents/me/tasks/{task}/log-snapshot
(contract §6): who may upload, what an upload must look like, and the one code path that stores a
snapshot, which the capture at pause (contract §4) shares. Checks run in the contract's order; the
body is read only in step 5.

Storing: the object is written first, then the task item is pointed at that exact version with a
conditional update. A reader therefore never sees a `snapshot_at` without its content, and a writer
that started earlier but finishes later (an older `snapshot_at`) never replaces a newer one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import TypeAdapter, ValidationError

from tasklogs_core.adapters import clients
from tasklogs_core.adapters.observability import logger, metrics
from tasklogs_core.adapters.task_repository import PointerUpdate
from tasklogs_core.domain.conversation import MAX_UPLOAD_BYTES, SNAPSHOT_FORMAT, role_problem, unknown_role
from tasklogs_core.domain.errors import (
    InvalidPayloadStructure,
    InvalidQueryParameters,
    InvalidSnapshotFormat,
    InvalidTaskId,
    PayloadDecodeError,
    SnapshotStoreError,
    StorageError,
    TaskLogsError,
    TaskNotFound,
    Unauthenticated,
)
from tasklogs_core.domain.models import AgentMessage, SnapshotEnvelope, TaskItem, utc_now_rfc3339
from tasklogs_core.domain.text import parse_uuid, well_formed
from tasklogs_core.domain.transcript import (
    Message,
    Said,
    ids_are_contiguous,
    merge,
    seq_of,
    session_for,
    unplaced,
)
from tasklogs_core.domain.validation import first_problem

if TYPE_CHECKING:
    from tasklogs_core.adapters.snapshot_store import SnapshotStore
    from tasklogs_core.adapters.task_repository import TaskRepository
    from tasklogs_core.adapters.transcript_store import ChunkRef, SessionHeader, TranscriptStore

_messages = TypeAdapter(list[AgentMessage])


@dataclass(frozen=True)
class UploadRequest:
    """An upload as the HTTP edge received it; the body is read only when step 5 comes."""

    token: str | None  # the agent's token from its headers, if it sent one
    task_ref: str  # the `{task}` path segment
    raw_query: str
    read_body: Callable[[], bytes]


def upload_log_snapshot(request: UploadRequest) -> None:
    """Steps 1-6 of contract §6: the upload stored as the task's snapshot, or a TaskLogsError."""
    repository = clients.task_repository()
    target = authorize_upload(repository, request.token, request.task_ref, request.raw_query)
    logger.append_keys(task_id=target.task_id)
    messages = parse_upload(request.read_body())
    stored = store_snapshot(
        target.task_id,
        messages,
        repository=repository,
        store=clients.snapshot_store(),
        agent_token_sha256=target.agent_token_sha256,
    )
    if stored.outcome is PointerUpdate.TASK_GONE:  # deleted (or handed to another agent) meanwhile
        raise TaskNotFound()
    keep_in_transcript(target.task_id, messages, stored.snapshot_at, repository=repository, before=target.task)
    logger.info(
        "log snapshot stored",
        extra={
            "outcome": stored.outcome.value,
            "snapshot_at": stored.snapshot_at,
            "messages": len(messages),
            "size_bytes": stored.size_bytes,
        },
    )
    metrics.add_metric(name="SnapshotUploads", unit=MetricUnit.Count, value=1)
    if stored.outcome is PointerUpdate.SUPERSEDED:
        metrics.add_metric(name="SnapshotUploadsSuperseded", unit=MetricUnit.Count, value=1)


@dataclass(frozen=True)
class UploadTarget:
    task_id: str
    agent_token_sha256: str
    task: TaskItem  # as found before this upload


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _same_hash(expected: str | None, actual: str) -> bool:
    return expected is not None and hmac.compare_digest(expected.encode(), actual.encode())


def _query_problems(raw_query: str) -> tuple[list[tuple[str, str]], str]:
    """Validation problems of the query string, and the `format` value (contract §6 step 3)."""
    pairs = parse_qsl(raw_query or "", keep_blank_values=True)
    problems = []
    values = [value for key, value in pairs if key == "format"]
    fmt = values[0] if values else ""
    if not fmt:
        problems.append(("format", 'Query param "format" is required and cannot be empty'))
    problems += [
        (key, f'Query param "{key}" is not a valid query param') for key in sorted({k for k, _ in pairs} - {"format"})
    ]
    return problems, fmt


def authorize_upload(repository: TaskRepository, token: str | None, task_ref: str, raw_query: str) -> UploadTarget:
    """Steps 1-4 of contract §6, in that order."""
    task_ref, raw_query = well_formed(task_ref), well_formed(raw_query or "")
    if token is None:
        raise Unauthenticated("no agent token")
    token_hash = token_sha256(token)
    task_id = parse_uuid(task_ref)
    # The common case needs one consistent read: the agent names its own, live task.
    task = repository.get(task_id) if task_id is not None else None
    owns_task = task is not None and not task.is_deleted and _same_hash(task.agent_token_sha256, token_hash)
    # Step 1: a valid token is one of some task that is not deleted.
    if not owns_task and not repository.agent_token_in_use(token_hash):
        raise Unauthenticated("unknown agent token")
    # Step 2.
    if task_id is None:
        raise InvalidTaskId(f'"{task_ref}" is not a UUID.')
    # Step 3.
    problems, fmt = _query_problems(raw_query)
    if problems:
        raise InvalidQueryParameters(validations=problems)
    if fmt != SNAPSHOT_FORMAT:
        raise InvalidSnapshotFormat(fmt)
    # Step 4: missing, deleted and other agents' tasks look the same.
    if not owns_task or task is None:
        raise TaskNotFound()
    return UploadTarget(task_id=task_id, agent_token_sha256=token_hash, task=task)


def parse_upload(raw: bytes) -> list[AgentMessage]:
    """Step 5 of contract §6: at most 64 KiB of JSON, an object with a `messages` array of AgentAPI
    messages. Extra keys (`$schema` from AgentAPI's own /messages answer) are ignored."""
    if len(raw) > MAX_UPLOAD_BYTES:
        raise PayloadDecodeError(f"The request body is larger than {MAX_UPLOAD_BYTES} bytes.")
    try:
        # Invalid UTF-8 becomes U+FFFD, as Coder's (Go) decoder does; lone surrogate escapes in message
        # text become U+FFFD too (AgentMessage), and NaN/Infinity are refused: Go clients could not
        # decode them from the logs.
        payload = json.loads(raw.decode("utf-8", errors="replace"), parse_constant=_not_json)
    except ValueError as exc:
        raise PayloadDecodeError(f"The request body is not valid JSON: {exc}.") from None
    except RecursionError:
        raise PayloadDecodeError("The request body is nested too deeply.") from None
    # Like Coder: JSON null decodes to an empty payload, which has no messages.
    if payload is not None and not isinstance(payload, dict):
        raise PayloadDecodeError(f"The request body must be a JSON object, not {_json_type(payload)}.")
    messages = (payload or {}).get("messages")
    if messages is None:
        raise InvalidPayloadStructure('Missing required "messages" field.')
    if not isinstance(messages, list):
        raise PayloadDecodeError(f'"messages" must be an array, not {_json_type(messages)}.')
    try:
        parsed = _messages.validate_python(messages)
    except ValidationError as exc:
        where, problem = first_problem(exc, "messages")
        raise PayloadDecodeError(f"{where}: {problem}.") from None
    if (found := unknown_role(parsed)) is not None:
        index, message = found
        raise PayloadDecodeError(f"messages[{index}].role: {role_problem(message)}.")
    return parsed


def _not_json(constant: str) -> None:
    raise ValueError(f"{constant} is not a JSON value")


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    return {list: "an array", str: "a string", int: "a number", float: "a number", dict: "an object"}.get(
        type(value), "null"
    )


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
_BACKOFF_SECONDS = 0.2


def keep_in_transcript(
    task_id: str,
    messages: Sequence[Said],
    written_at: str,
    *,
    repository: TaskRepository,
    before: TaskItem | None = None,
    dropped_oldest: int = 0,
    transcripts: TranscriptStore | None = None,
) -> SessionHeader | None:
    """Add a write's messages (an upload's, or the capture's whole conversation) to the task's
    transcript, as of `written_at` (the writer's start, the same instant its snapshot carries), then
    count the write on the task item (readers' ETags follow that count). `before`: the task item as
    the writer found it; a snapshot it names that no transcript holds yet (stored by an earlier
    version of this service) is kept first, as session 1. `dropped_oldest`: how many of the oldest
    messages the writer left out for size (TRANSCRIPT_SESSION_MAX_BYTES). The snapshot is already stored, so a
    failure here is logged and counted, not the writer's answer."""
    transcripts = transcripts or clients.transcript_store()
    try:
        earlier = _earlier_snapshot(task_id, before, transcripts)
        header = None
        batches: tuple[tuple[Sequence[Said], str | None, int], ...] = (
            (earlier, before.snapshot_at if before else None, 0),
            (messages, written_at, dropped_oldest),
        )
        for batch, at, dropped in batches:
            if not batch or at is None:
                continue
            written = record_messages(task_id, batch, at, transcripts, dropped_oldest=dropped)
            if written is None:
                continue
            if not repository.count_transcript_write(task_id):
                # Deleted while this write went on: nothing may stay behind.
                transcripts.remove_write(task_id, written.header.session, written.chunks)
                return None
            header = written.header
    except (StorageError, SnapshotStoreError) as exc:
        cause = type(exc.__cause__).__name__ if exc.__cause__ else None
        logger.error(
            "transcript not written",
            extra={"task_id": task_id, "error": type(exc).__name__, "detail": exc.detail, "cause": cause},
        )
        metrics.add_metric(name="TranscriptWriteFailures", unit=MetricUnit.Count, value=1)
        return None
    return header


def _earlier_snapshot(task_id: str, before: TaskItem | None, transcripts: TranscriptStore) -> list[Message]:
    """The messages of the snapshot `before` names, when the task has no transcript yet (contract §7:
    snapshots stored before transcripts existed stay readable, as session 1). One that cannot be read
    is left where it is (the reader shows it as session 1 all the same) and logged."""
    if before is None or not before.snapshot_at or before.transcript_revision:
        return []
    if transcripts.newest_sessions(task_id, 1):
        return []
    from tasklogs_core.use_cases.task_logs import snapshot_messages  # only on a task's first transcript write

    try:
        # Read as the transcript route reads it, so the seqs a reader saw stay.
        return snapshot_messages(clients.snapshot_store().read(task_id, before.snapshot_version))
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
) -> TranscriptWrite | None:
    """Merge `messages` into the session they continue, or into a new one (contract §7): chunks first,
    then the header, conditionally; on a lost race, read and merge again."""
    from tasklogs_core.adapters.transcript_store import SessionHeader, chunk_of

    incoming = [m if isinstance(m, Message) else Message(m.id, m.role, m.content, m.time) for m in messages]
    # An id beyond a session's seq block cannot be placed (docs/transcripts.md): left out, and said so.
    placeable = [m for m in incoming if seq_of(1, m.id) is not None]
    if not placeable:
        return None
    touched = {chunk_of(m.id) for m in placeable}
    for attempt in range(MAX_TRANSCRIPT_ROUNDS):
        if attempt:  # another writer moved the session first
            time.sleep(random.uniform(0, min(_BACKOFF_SECONDS, 0.01 * 2**attempt)))  # noqa: S311 - jitter
        newest = transcripts.newest_sessions(task_id, SESSIONS_MATCHED)
        held = [transcripts.read_chunks(task_id, header, touched) for header in newest]
        index = session_for(held, incoming)
        if index is None:
            header, stored = SessionHeader(session=newest[0].session + 1 if newest else 1), {}
        else:
            header, stored = newest[index], held[index]
        below, beyond = unplaced(m.id for m in incoming)
        merged = merge(stored, placeable, written_at)
        put = {
            chunk: transcripts.put_chunk(
                task_id, header.session, chunk, [kept for i, kept in merged.items() if chunk_of(i) == chunk]
            )
            for chunk in {chunk_of(m.id) for m in placeable}
        }
        updated = replace(
            header,
            chunks={**header.chunks, **put},
            written_at=max(header.written_at, written_at),
            ids_contiguous=header.ids_contiguous and ids_are_contiguous(incoming),
            left_out_at=max(header.left_out_at, written_at) if len(placeable) < len(incoming) else header.left_out_at,
            dropped_oldest=max(header.dropped_oldest, dropped_oldest),
            kept_from=max(header.kept_from, min(m.id for m in placeable)) if dropped_oldest else header.kept_from,
            unplaced_before=max(header.unplaced_before, below),
            unplaced_after=max(header.unplaced_after, beyond),
        )
        if transcripts.commit(task_id, updated):
            return TranscriptWrite(replace(updated, revision=header.revision + 1), put)
        transcripts.discard_chunks(task_id, header.session, put)  # no header will ever name these
    raise SnapshotStoreError(f"The transcript kept changing under {MAX_TRANSCRIPT_ROUNDS} writes in a row.")
