"""The one code path that stores a snapshot (contract §4, §6 step 6), for agent uploads and for the
server-side capture at pause.

Order matters: the object is written first, then the task item is pointed at that exact version
with a conditional update. A reader therefore never sees a `snapshot_at` without its content, and a
writer that started earlier but finishes later (an older `snapshot_at`) never replaces a newer one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tasklogs_core.models import AgentMessage, SnapshotEnvelope, utc_now_rfc3339
from tasklogs_core.task_repository import PointerUpdate

if TYPE_CHECKING:
    from tasklogs_core.snapshot_store import SnapshotStore
    from tasklogs_core.task_repository import TaskRepository


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
