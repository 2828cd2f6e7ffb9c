"""The TranscriptRetryFunction's use case: tasks table stream → each transcript write an upload
acknowledged but deferred (contract §7: a 204 means stored) is made from the upload's stored snapshot,
then no longer named on the task item. A write that cannot be made raises, for the event source
mapping to retry it, and in the end to park it in the failure queue, whose alarm fires."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from tasklogs_core.adapters import clients
from tasklogs_core.adapters.observability import logger, metrics
from tasklogs_core.adapters.stream_records import task_change
from tasklogs_core.domain.errors import SnapshotFetchError
from tasklogs_core.services.conversation_writer import parse_due_write, write_transcript
from tasklogs_core.services.secret_redaction import texts_for_storage
from tasklogs_core.services.snapshot_codec import snapshot_messages

if TYPE_CHECKING:
    from tasklogs_core.adapters.snapshot_store import SnapshotStore
    from tasklogs_core.adapters.task_repository import TaskRepository


def retry_deferred_writes(record: Mapping[str, Any]) -> None:
    """One stream record: the writes it newly names as due (each change of the item while some are due
    comes through; only the ones this change added are this record's to make)."""
    change = task_change(record)
    if change.new is None:
        return
    added = change.new.transcripts_due - (change.old.transcripts_due if change.old else frozenset())
    for due in sorted(added):
        make_deferred_write(
            change.new.task_id, due, repository=clients.task_repository(), snapshots=clients.snapshot_store()
        )


def make_deferred_write(task_id: str, due: str, *, repository: TaskRepository, snapshots: SnapshotStore) -> None:
    written_at, version_id = parse_due_write(due)
    try:
        raw = snapshots.read(task_id, version_id)
    except SnapshotFetchError:
        task = repository.get(task_id)
        if task is None or task.is_deleted:  # deleted since: its snapshots and transcript are gone
            logger.info("deferred transcript write dropped with its task", extra={"task_id": task_id})
            return
        raise
    write_transcript(task_id, texts_for_storage(snapshot_messages(raw)), written_at, repository=repository)
    repository.transcript_write_made(task_id, due)
    logger.info("deferred transcript write made", extra={"task_id": task_id, "written_at": written_at})
    metrics.add_metric(name="TranscriptDeferredWritesMade", unit=MetricUnit.Count, value=1)
