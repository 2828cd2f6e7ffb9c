"""The TasksFunction's use case: the task routes Coder's clients call before they ask for logs
(contract §9). `GET /api/v2/tasks/{user}/{task}` finds a task exactly as the logs route does;
`GET /api/v2/tasks?q=` lists the caller's tasks, newest first."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tasklogs_core.adapters import clients
from tasklogs_core.adapters.observability import logger
from tasklogs_core.adapters.settings import get_settings
from tasklogs_core.domain.coder_task import CoderTask, TasksListResponse, coder_task, newest_first
from tasklogs_core.domain.identity import caller_from_claims, names_caller
from tasklogs_core.domain.models import Caller
from tasklogs_core.domain.task_filter import TaskFilter, parse_task_filter
from tasklogs_core.domain.text import well_formed

# A Lambda response holds at most 6 MB: a list stops before its JSON passes this, leaving out the
# oldest tasks (the answer says how many: ListedTasks.omitted).
MAX_LIST_BODY_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class ListedTasks:
    answer: TasksListResponse
    omitted: int  # matching tasks left out to keep the answer inside one Lambda response


def _caller(claims: Mapping[str, Any] | None) -> Caller:
    return caller_from_claims(claims, get_settings().username_claim)


def get_task(claims: Mapping[str, Any] | None, user_ref: str, task_ref: str) -> CoderTask:
    task = clients.task_repository().find_callers_task(_caller(claims), user_ref, task_ref)
    logger.append_keys(task_id=task.task_id)
    return coder_task(task)


def list_tasks(claims: Mapping[str, Any] | None, query: str | None) -> ListedTasks:
    caller = _caller(claims)
    wanted = parse_task_filter(well_formed(query or ""))
    if not _owner_is_caller(caller, wanted):
        return ListedTasks(TasksListResponse(tasks=[], count=0), omitted=0)
    tasks = [coder_task(item) for item in clients.task_repository().list_owned(caller.user_id)]
    if wanted.status is not None:
        tasks = [task for task in tasks if task.status is wanted.status]
    kept: list[CoderTask] = []
    size = 0
    for task in newest_first(tasks):
        size += len(task.model_dump_json()) + 1
        if size > MAX_LIST_BODY_BYTES:
            break
        kept.append(task)
    return ListedTasks(TasksListResponse(tasks=kept, count=len(kept)), omitted=len(tasks) - len(kept))


def _owner_is_caller(caller: Caller, wanted: TaskFilter) -> bool:
    """Only the caller's own tasks are ever listed: any other owner gets an empty list (contract §9)."""
    return wanted.owner is None or names_caller(caller, wanted.owner)
