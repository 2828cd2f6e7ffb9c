"""The LogSnapshotFunction's use case, POST /api/v2/workspaceagents/me/tasks/{task}/log-snapshot
(contract §6): who may upload and what an upload must look like; the conversation writer stores it
(services/conversation_writer.py, shared with the capture at pause). Checks run in the contract's
order; the edge parses the query when step 3 asks for it, the body only in step 5.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aws_lambda_powertools.metrics import MetricUnit

from tasklogs_core.adapters import clients
from tasklogs_core.adapters.observability import logger, metrics
from tasklogs_core.adapters.task_repository import PointerUpdate
from tasklogs_core.domain.conversation import SNAPSHOT_FORMAT
from tasklogs_core.domain.errors import (
    InvalidSnapshotFormat,
    InvalidTaskId,
    TaskNotFound,
    Unauthenticated,
)
from tasklogs_core.domain.models import AgentMessage, TaskItem
from tasklogs_core.domain.text import parse_uuid, well_formed
from tasklogs_core.services.conversation_writer import store_snapshot, write_or_defer
from tasklogs_core.services.secret_redaction import uploaded_for_storage

if TYPE_CHECKING:
    from tasklogs_core.adapters.task_repository import TaskRepository


@dataclass(frozen=True)
class UploadRequest:
    """An upload as the HTTP edge received it; its query is parsed at step 3, its body at step 5."""

    token: str | None  # the agent's token from its headers, if it sent one
    task_ref: str  # the `{task}` path segment
    snapshot_format: Callable[[], str]  # the query's `format`, or its 400
    messages: Callable[[], list[AgentMessage]]  # the body's, or its 400


def upload_log_snapshot(request: UploadRequest) -> None:
    """Steps 1-6 of contract §6: the upload stored as the task's snapshot, or a TaskLogsError."""
    repository = clients.task_repository()
    target = authorize_upload(repository, request.token, request.task_ref, request.snapshot_format)
    logger.append_keys(task_id=target.task_id)
    messages = uploaded_for_storage(request.messages())
    stored = store_snapshot(
        target.task_id,
        messages,
        repository=repository,
        store=clients.snapshot_store(),
        agent_token_sha256=target.agent_token_sha256,
    )
    if stored.outcome is PointerUpdate.TASK_GONE:  # deleted (or handed to another agent) meanwhile
        raise TaskNotFound()
    write_or_defer(target.task_id, messages, stored, repository=repository, before=target.task)
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


def authorize_upload(
    repository: TaskRepository, token: str | None, task_ref: str, snapshot_format: Callable[[], str]
) -> UploadTarget:
    """Steps 1-4 of contract §6, in that order."""
    task_ref = well_formed(task_ref)
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
    fmt = snapshot_format()
    if fmt != SNAPSHOT_FORMAT:
        raise InvalidSnapshotFormat(fmt)
    # Step 4: missing, deleted and other agents' tasks look the same.
    if not owns_task or task is None:
        raise TaskNotFound()
    return UploadTarget(task_id=task_id, agent_token_sha256=token_hash, task=task)
