"""The TaskLogsFunction's use case, GET /api/v2/tasks/{user}/{task}/logs (contract §5): find the
caller's task, then its live logs from the agent or its stored snapshot."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from tasklogs_core.adapters import clients
from tasklogs_core.adapters.deadlines import agent_deadline
from tasklogs_core.adapters.observability import logger
from tasklogs_core.adapters.settings import get_settings
from tasklogs_core.domain.conditional import names_current, weak_etag
from tasklogs_core.domain.conversation import (
    LOG_TYPE_BY_ROLE,
    unknown_role_detail,
)
from tasklogs_core.domain.errors import (
    InvalidSnapshotData,
    InvalidTaskAppResponse,
    SnapshotFetchError,
    StorageError,
    TaskStateConflict,
)
from tasklogs_core.domain.identity import caller_from_claims
from tasklogs_core.domain.models import (
    LogEntry,
    RelayedMessages,
    ServedLogs,
    TaskItem,
    TaskLogsResponse,
)
from tasklogs_core.domain.status import SNAPSHOT_STATUSES, TaskStatus, derive_status
from tasklogs_core.services.secret_redaction import entries_for_reading
from tasklogs_core.services.snapshot_codec import UnknownRole, decode_snapshot, to_log_entries

if TYPE_CHECKING:  # the clients' modules import httpx and botocore: load them only on their paths
    from tasklogs_core.adapters.agentapi_client import AgentApiClient
    from tasklogs_core.adapters.snapshot_store import SnapshotStore
    from tasklogs_core.adapters.transcript_store import TranscriptStore


def serve_task_logs(
    claims: Mapping[str, Any] | None,
    user_ref: str,
    task_ref: str,
    *,
    remaining_ms: int,
    if_none_match: str | None = None,
) -> ServedLogs:
    """The logs of the caller's task (`claims`: the JWT's, as API Gateway verified them), live or
    stored by its status; the agent is given what the invocation has left (`remaining_ms`). Stored
    logs whose ETag `if_none_match` names are not read at all (contract §8)."""
    caller = caller_from_claims(claims, get_settings().username_claim)
    task = clients.task_repository().find_callers_task(caller, user_ref, task_ref)
    logger.append_keys(task_id=task.task_id)
    status = derive_status(task)
    etag = None
    if status in SNAPSHOT_STATUSES:
        etag = stored_logs_etag(task, status)
        if names_current(if_none_match, etag):
            return ServedLogs(status, None, etag, if_none_match)
    status, logs = read_task_logs(
        task,
        snapshots=clients.snapshot_store,
        transcripts=clients.transcript_store,
        agent=clients.agentapi_client,
        deadline=agent_deadline(remaining_ms),
    )
    return ServedLogs(status, logs, etag, if_none_match)


def stored_logs_etag(task: TaskItem, status: TaskStatus) -> str:
    """What decides stored logs is on the task item (its snapshot, and its count of transcript writes)
    and in the secret rules the text is read through (contract §12)."""
    return weak_etag(
        "logs",
        task.task_id,
        status.value,
        task.snapshot_at,
        task.snapshot_version,
        task.transcript_revision,
        clients.secret_scanner().fingerprint,
    )


def live_logs(task: TaskItem, agent: AgentApiClient, deadline: float) -> TaskLogsResponse:
    messages = agent.get_messages(task.agentapi_url, deadline, RelayedMessages)
    try:
        return TaskLogsResponse(logs=to_log_entries(messages.messages))
    except UnknownRole as exc:
        raise InvalidTaskAppResponse(str(exc)) from None


def newest_session_logs(task: TaskItem, transcripts: TranscriptStore) -> TaskLogsResponse | None:
    """The task's newest transcript session, whole, as of its last write (contract §5 with §7), unless
    the snapshot is newer (its transcript write failed) or there is none."""
    if not task.transcript_revision:
        return None
    try:
        newest = transcripts.newest_sessions(task.task_id, 1)
        # The snapshot is newer (the transcript write failed), or it holds messages the session
        # could not (ids beyond a session's seq block): the snapshot is the newest content.
        if not newest or newest[0].written_at < (task.snapshot_at or "") or newest[0].left_out_at == task.snapshot_at:
            return None
        session = newest[0]
        messages = transcripts.read_chunks(task.task_id, session, session.chunks)
    except StorageError as exc:
        raise SnapshotFetchError("The task's newest transcript session could not be read.") from exc
    logs = []
    for message_id in sorted(messages):
        message = messages[message_id].message
        if message.role not in LOG_TYPE_BY_ROLE:
            raise InvalidSnapshotData(unknown_role_detail(message))
        logs.append(
            LogEntry(
                id=message_id, content=message.content.encode(), type=LOG_TYPE_BY_ROLE[message.role], time=message.time
            )
        )
    return TaskLogsResponse(logs=logs, snapshot=True, snapshot_at=session.written_at)


def snapshot_logs(task: TaskItem, snapshots: SnapshotStore) -> TaskLogsResponse:
    if not task.snapshot_at:
        # No snapshot yet: still `snapshot: true`, since these logs are not live (as in Coder).
        return TaskLogsResponse(logs=[], snapshot=True)
    raw = snapshots.read(task.task_id, task.snapshot_version)
    # snapshot_at comes from the same item that named the version, so content and time match.
    return TaskLogsResponse(logs=decode_snapshot(raw), snapshot=True, snapshot_at=task.snapshot_at)


def read_task_logs(
    task: TaskItem,
    *,
    snapshots: Callable[[], SnapshotStore],
    transcripts: Callable[[], TranscriptStore],
    agent: Callable[[], AgentApiClient],
    deadline: float,
) -> tuple[TaskStatus, TaskLogsResponse]:
    """Logs for the task's derived status, their secrets redacted (contract §12: live or stored, the same
    text); stores are factories so only the needed one is built."""
    status = derive_status(task)
    if status is TaskStatus.ACTIVE:
        logs = live_logs(task, agent(), deadline)
    elif status in SNAPSHOT_STATUSES:
        session = newest_session_logs(task, transcripts()) if task.transcript_revision else None
        logs = session or snapshot_logs(task, snapshots())
    else:
        raise TaskStateConflict(status)
    logs.logs = entries_for_reading(logs.logs)
    return status, logs
