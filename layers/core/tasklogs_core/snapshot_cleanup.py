"""Deleting a task deletes its snapshot (contract §4): decided from the table stream's images."""

from __future__ import annotations

from tasklogs_core.models import TaskItem


def task_deleted(event_name: str, old: TaskItem | None, new: TaskItem | None) -> bool:
    """True for the change that deletes a task: the item is removed, or it gains `deleted_at`.
    Later changes to an already deleted item are not new deletions (each delete would add a marker);
    a removal always is, since deleting an absent object is harmless."""
    if event_name == "REMOVE":
        return True
    return new is not None and new.is_deleted and not (old is not None and old.is_deleted)
