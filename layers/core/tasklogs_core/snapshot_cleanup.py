"""Deleting a task deletes its conversation (contract §4, §10): decided from the table stream's images."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tasklogs_core.models import TaskItem

if TYPE_CHECKING:
    from tasklogs_core.snapshot_store import SnapshotStore
    from tasklogs_core.stream_records import TaskChange
    from tasklogs_core.task_repository import TaskRepository


def task_deleted(event_name: str, old: TaskItem | None, new: TaskItem | None) -> bool:
    """True for the change that deletes a task: the item is removed, or it gains `deleted_at`.
    Later changes to an already deleted item are not new deletions; a removal always is, since
    deleting what is already gone is harmless."""
    if event_name == "REMOVE":
        return True
    return new is not None and new.is_deleted and not (old is not None and old.is_deleted)


def delete_conversation(change: TaskChange, *, store: SnapshotStore, repository: TaskRepository) -> int:
    """Every stored version of the task's snapshot goes, then the pointer to it on a soft-deleted
    item: nothing is left to read, in S3 or through the item. Both steps can run again safely, so a
    failure is retried by the event source mapping. Returns how many object versions were removed."""
    removed = store.delete_every_version(change.task_id)
    if change.event_name != "REMOVE":
        repository.forget_snapshot(change.task_id)
    return removed
