"""The PauseCaptureFunction's use case, the server-side capture at pause (contract §4): when a task's
build turns to `stop` while its job is pending or running, the agent is usually still up for a few
seconds. Fetch its conversation then and store it (services/conversation_capture.py, which the
checkpoint shares).

Coder relies only on the agent's best-effort shutdown script; this covers agents that never ran it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from tasklogs_core.adapters import clients
from tasklogs_core.adapters.deadlines import agent_deadline
from tasklogs_core.adapters.observability import logger, metrics
from tasklogs_core.adapters.stream_records import task_change
from tasklogs_core.domain.errors import AGENT_FAILURES
from tasklogs_core.domain.models import utc_now_rfc3339
from tasklogs_core.services.conversation_capture import (
    Capture,
    conversation_of,
    read_conversation,
    store_conversation,
)

if TYPE_CHECKING:
    from tasklogs_core.adapters.agentapi_client import AgentApiClient
    from tasklogs_core.adapters.snapshot_store import SnapshotStore
    from tasklogs_core.adapters.task_repository import TaskRepository
    from tasklogs_core.domain.models import TaskItem

STOPPING_JOB_STATUSES = ("pending", "running")


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


def capture_at_pause(
    task: TaskItem,
    *,
    agent: AgentApiClient,
    repository: TaskRepository,
    store: SnapshotStore,
    deadline: float,
    clock: Callable[[], str] = utc_now_rfc3339,
) -> Capture:
    """Fetch the agent's messages and store them as of the moment the capture began (a closing write:
    the session is complete). Agent failures raise the read path's errors (TaskAppUnavailable,
    TaskAppTimeout, ...) for the caller to count."""
    started_at = clock()
    body = read_conversation(task, agent, deadline)
    fetched = conversation_of(body)
    del body
    return store_conversation(task, fetched, started_at, repository=repository, store=store)
