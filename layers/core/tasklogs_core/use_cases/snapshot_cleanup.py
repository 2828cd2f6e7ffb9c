"""The SnapshotCleanupFunction's use case: deleting a task deletes its conversation (contract §4,
§10), decided from the table stream's images."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from tasklogs_core.adapters import clients
from tasklogs_core.adapters.observability import logger, metrics
from tasklogs_core.adapters.stream_records import TaskChange, task_change
from tasklogs_core.domain.models import TaskItem

if TYPE_CHECKING:
    from tasklogs_core.adapters.snapshot_store import SnapshotStore
    from tasklogs_core.adapters.task_repository import TaskRepository


def clean_up_on_delete(record: Mapping[str, Any]) -> None:
    """One stream record of the tasks table: when it deletes a task, its conversation goes too.
    Failures raise, for the event source mapping to retry."""
    change = task_change(record)
    if not task_deleted(change.event_name, change.old, change.new):  # a later change of a deleted task
        metrics.add_metric(name="StreamRecordsIgnored", unit=MetricUnit.Count, value=1)
        return
    removed = delete_conversation(change, store=clients.snapshot_store(), repository=clients.task_repository())
    removed += clients.transcript_store().delete_task(change.task_id)  # every session, every chunk version
    logger.info(
        "conversation deleted with its task",  # its snapshot and its transcript
        extra={"task_id": change.task_id, "change": change.event_name, "versions_removed": removed},
    )
    metrics.add_metric(name="SnapshotsDeleted", unit=MetricUnit.Count, value=1)


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
