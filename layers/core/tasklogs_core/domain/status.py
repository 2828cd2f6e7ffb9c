"""Task status, derived at read time from the writers' signals (contract §3). Never stored."""

from enum import StrEnum

from tasklogs_core.domain.models import TaskItem


class TaskStatus(StrEnum):
    PENDING = "pending"
    INITIALIZING = "initializing"
    ACTIVE = "active"
    PAUSED = "paused"
    ERROR = "error"
    UNKNOWN = "unknown"


# Statuses whose logs come from the stored snapshot rather than the live agent.
SNAPSHOT_STATUSES = frozenset({TaskStatus.PAUSED, TaskStatus.PENDING, TaskStatus.INITIALIZING})

_FAILED_JOB = frozenset({"failed", "canceling", "canceled"})


def derive_status(task: TaskItem) -> TaskStatus:
    if not task.workspace_id:
        return TaskStatus.PENDING

    # 2. The latest workspace build.
    transition, job = task.build_transition, task.build_job_status
    if not job:
        return TaskStatus.PENDING
    if job in _FAILED_JOB:
        return TaskStatus.ERROR
    if transition in ("stop", "delete") and job == "succeeded":
        return TaskStatus.PAUSED
    if transition == "start" and job == "pending":
        return TaskStatus.PENDING
    if not (transition == "start" and job in ("running", "succeeded")):
        return TaskStatus.UNKNOWN

    # 3. The workspace agent.
    lifecycle = task.agent_lifecycle
    if lifecycle in (None, "", "created", "starting"):
        return TaskStatus.INITIALIZING
    if lifecycle not in ("ready", "start_timeout", "start_error"):
        return TaskStatus.UNKNOWN

    # 4. The task app.
    health = task.app_health
    if health == "initializing":
        return TaskStatus.INITIALIZING
    if health == "unhealthy":
        return TaskStatus.ERROR
    if health in (None, "", "healthy", "disabled"):
        return TaskStatus.ACTIVE
    return TaskStatus.UNKNOWN
