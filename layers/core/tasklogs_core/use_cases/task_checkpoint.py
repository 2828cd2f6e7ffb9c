"""The TaskCheckpointFunction's use case (contract §11): each task the schedule sent is read from its
agent and what changed is stored in its live session, through the capture's own code path
(services/conversation_capture.py): same writer, same rules, same races. An answer whose digest is
the one stored last changed nothing and writes nothing. An agent that does not answer is counted and
left for the next interval (the message is not retried); a storage failure is retried by the queue.
"""

from __future__ import annotations

import contextvars
import enum
import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from tasklogs_core.adapters import clients
from tasklogs_core.adapters.checkpoint_queue import CheckpointDue
from tasklogs_core.adapters.deadlines import agent_deadline
from tasklogs_core.adapters.observability import logger, metrics
from tasklogs_core.domain.errors import AGENT_FAILURES, TaskLogsError
from tasklogs_core.domain.models import utc_now_rfc3339
from tasklogs_core.domain.status import TaskStatus, derive_status
from tasklogs_core.services.conversation_capture import conversation_of, read_conversation, store_conversation

if TYPE_CHECKING:
    from tasklogs_core.adapters.agentapi_client import AgentApiClient
    from tasklogs_core.adapters.snapshot_store import SnapshotStore
    from tasklogs_core.adapters.task_repository import TaskRepository
    from tasklogs_core.domain.models import TaskItem


class Checkpoint(enum.Enum):
    STORED = "Stored"  # the conversation changed, and is stored
    UNCHANGED = "Unchanged"  # the agent's answer is the one stored last: nothing written
    NOT_ACTIVE = "NotActive"  # gone, deleted or no longer active since the schedule sent it
    STALE = "Stale"  # waited past its interval in the queue: a later message has it
    NOT_UNDERSTOOD = "NotUnderstood"  # a message this service did not send: dropped
    AGENT_UNAVAILABLE = "AgentUnavailable"  # tried again at the next interval
    FAILED = "Failed"  # not stored: the queue delivers it again


def checkpoint_batch(records: Sequence[Mapping[str, Any]], *, remaining_ms: int) -> list[str]:
    """A batch of the queue's messages, side by side (each waits on its agent and the stores); the ids
    of the messages to deliver again."""
    started = time.monotonic()

    def one(record: Mapping[str, Any]) -> Checkpoint:
        left_ms = remaining_ms - int((time.monotonic() - started) * 1000)
        return checkpoint_message(str(record.get("body", "")), remaining_ms=left_ms)

    # Each in a copy of this context: the invocation's AWS deadline holds in every thread.
    with ThreadPoolExecutor(max_workers=max(1, len(records))) as workers:
        futures = [workers.submit(contextvars.copy_context().run, one, record) for record in records]
        outcomes = [future.result() for future in futures]
    for outcome in set(outcomes):  # metrics counted here, in one thread
        metrics.add_metric(name=f"Checkpoints{outcome.value}", unit=MetricUnit.Count, value=outcomes.count(outcome))
    return [str(r["messageId"]) for r, outcome in zip(records, outcomes, strict=True) if outcome is Checkpoint.FAILED]


def checkpoint_message(body: str, *, remaining_ms: int, clock: Callable[[], float] = time.time) -> Checkpoint:
    """One message of the queue: its task checkpointed if it is still due and active. Storage
    failures are logged and answered as FAILED, for the queue to deliver the message again."""
    due = CheckpointDue.from_body(body)
    if due is None:
        logger.warning("checkpoint message not understood; dropped")
        return Checkpoint.NOT_UNDERSTOOD
    if clock() > due.not_after:
        return Checkpoint.STALE
    try:
        task = clients.task_repository().get(due.task_id)
        if task is None or task.is_deleted or derive_status(task) is not TaskStatus.ACTIVE:
            return Checkpoint.NOT_ACTIVE
        return checkpoint_task(
            task,
            agent=clients.agentapi_client(),
            repository=clients.task_repository(),
            store=clients.snapshot_store(),
            deadline=agent_deadline(remaining_ms),
        )
    except TaskLogsError as exc:
        logger.error(
            "checkpoint not stored",
            extra={"task_id": due.task_id, "error": type(exc).__name__, "detail": exc.detail},
        )
        return Checkpoint.FAILED


def checkpoint_task(
    task: TaskItem,
    *,
    agent: AgentApiClient,
    repository: TaskRepository,
    store: SnapshotStore,
    deadline: float,
    clock: Callable[[], str] = utc_now_rfc3339,
) -> Checkpoint:
    """Read the task's agent and store what changed as of the read's start. Storage failures raise."""
    started_at = clock()
    try:
        body = read_conversation(task, agent, deadline)
        digest = hashlib.sha256(body).hexdigest()
        if digest == task.checkpoint_digest:
            return Checkpoint.UNCHANGED
        fetched = conversation_of(body)
    except AGENT_FAILURES as exc:
        logger.warning(
            "agent not read at checkpoint; tried again next interval",
            extra={"task_id": task.task_id, "error": type(exc).__name__, "detail": exc.detail},
        )
        return Checkpoint.AGENT_UNAVAILABLE
    del body
    result = store_conversation(task, fetched, started_at, repository=repository, store=store, checkpoint=True)
    repository.record_checkpoint(task.task_id, checkpoint_at=started_at, digest=digest)
    logger.info(
        "checkpoint stored",
        extra={
            "task_id": task.task_id,
            "outcome": result.stored.outcome.value,
            "checkpoint_at": started_at,
            "messages_fetched": result.messages_fetched,
            "size_bytes": result.stored.size_bytes,
        },
    )
    return Checkpoint.STORED
