"""A task as Coder's clients read it (contract §9): Go's `codersdk.Task` and `TasksListResponse`, built
from the task item. Every value decodes in Go: UUIDs in canonical form, null where Go has a NullUUID or
a pointer, RFC 3339 times, and Coder's zero values where the item has nothing to say."""

from datetime import datetime

from pydantic import BaseModel

from tasklogs_core.domain.models import TaskItem, check_rfc3339
from tasklogs_core.domain.status import TaskStatus, derive_status
from tasklogs_core.domain.text import parse_uuid

ZERO_UUID = "00000000-0000-0000-0000-000000000000"
ZERO_TIME = "0001-01-01T00:00:00Z"  # Go's zero time.Time, as encoding/json writes it


class CoderTask(BaseModel):
    """`codersdk.Task`, its fields in Go's order. `owner_avatar_url` is left out (Go: omitempty)."""

    id: str
    organization_id: str
    owner_id: str
    owner_name: str
    name: str
    display_name: str
    template_id: str = ZERO_UUID
    template_version_id: str = ZERO_UUID
    template_name: str = ""
    template_display_name: str = ""
    template_icon: str = ""
    workspace_id: str | None
    workspace_name: str
    workspace_agent_id: str | None = None
    workspace_agent_lifecycle: str | None
    workspace_agent_health: None = None
    workspace_app_id: str | None = None
    initial_prompt: str
    status: TaskStatus
    current_state: None = None
    created_at: str
    updated_at: str


class TasksListResponse(BaseModel):
    tasks: list[CoderTask]
    count: int


def _time_or_zero(value: str | None) -> str:
    # A value Go's time.Time cannot parse would fail the client's whole decode: the zero time instead.
    try:
        return check_rfc3339(value) if value else ZERO_TIME
    except ValueError:
        return ZERO_TIME


def coder_task(item: TaskItem) -> CoderTask:
    return CoderTask(
        id=parse_uuid(item.task_id) or item.task_id,
        organization_id=parse_uuid(item.organization_id) or ZERO_UUID,
        owner_id=parse_uuid(item.owner_id) or item.owner_id,
        owner_name=item.owner_name,
        name=item.name,
        display_name=item.display_name or item.name,
        workspace_id=parse_uuid(item.workspace_id),
        workspace_name=item.workspace_name or "",
        workspace_agent_lifecycle=item.agent_lifecycle or None,
        initial_prompt=item.initial_prompt or "",
        status=derive_status(item),
        created_at=_time_or_zero(item.created_at),
        updated_at=_time_or_zero(item.updated_at),
    )


def newest_first(tasks: list[CoderTask]) -> list[CoderTask]:
    """Ordered by creation time, newest first (contract §9); ties by id, so the order is stable. Times
    compare as instants: offsets and precisions differ between writers."""

    def created(task: CoderTask) -> tuple[datetime, str]:
        return datetime.fromisoformat(task.created_at.upper()), task.id

    return sorted(tasks, key=created, reverse=True)
