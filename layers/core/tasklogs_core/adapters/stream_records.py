"""DynamoDB stream records of the tasks table, as the stream-triggered functions see them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tasklogs_core.adapters.task_repository import item_from_dynamodb
from tasklogs_core.domain.models import TaskItem, utc_now_rfc3339, utc_rfc3339


@dataclass(frozen=True)
class TaskChange:
    event_name: str  # INSERT, MODIFY or REMOVE
    old: TaskItem | None
    new: TaskItem | None
    changed_at: str  # RFC 3339 (UTC) of the change, from the stream's ApproximateCreationDateTime

    @property
    def task_id(self) -> str:
        item = self.new or self.old
        return item.task_id if item else ""


def task_change(record: Mapping[str, Any]) -> TaskChange:
    """A change from one stream record (the raw Lambda event form, images in DynamoDB JSON)."""
    dynamodb = record.get("dynamodb") or {}
    old, new = dynamodb.get("OldImage"), dynamodb.get("NewImage")
    created = dynamodb.get("ApproximateCreationDateTime")
    # Whole seconds in real events: only logged, never compared with a snapshot's microsecond time.
    changed_at = utc_rfc3339(datetime.fromtimestamp(float(created), UTC)) if created else utc_now_rfc3339()
    return TaskChange(
        event_name=record.get("eventName", ""),
        old=item_from_dynamodb(old) if old else None,
        new=item_from_dynamodb(new) if new else None,
        changed_at=changed_at,
    )
