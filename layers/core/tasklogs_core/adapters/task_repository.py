"""Task items in DynamoDB (contract §3). SDK errors become domain errors.

This service writes only its own attributes, `snapshot_at`, `snapshot_version`, `transcript_revision`
with `transcript_write_id`, `transcripts_due`, and `checkpoint_at` with `checkpoint_digest`, each
through one conditional update, so no other writer's attribute is ever read-modify-written.
"""

from __future__ import annotations

import enum
import secrets
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import BotoCoreError, ClientError

from tasklogs_core.adapters.conditional_writes import conditionally
from tasklogs_core.domain.errors import SnapshotStoreError, StorageError, TaskListTooLarge, TaskNotFound
from tasklogs_core.domain.identity import names_caller
from tasklogs_core.domain.models import Caller, TaskItem
from tasklogs_core.domain.text import parse_uuid, well_formed

if TYPE_CHECKING:  # type stubs, for checking only
    from mypy_boto3_dynamodb import DynamoDBClient

# The indexes this code queries; template.yaml defines them and tests/template checks they agree.
OWNER_ID_NAME_INDEX = "owner_id-name-index"
AGENT_TOKEN_INDEX = "agent_token_sha256-index"  # noqa: S105 - an index name, not a secret
# Tasks by their build's transition, with what their status is derived from (contract §3): the
# checkpoint schedule finds the running ones without a Scan (contract §11).
BUILD_TRANSITION_INDEX = "build_transition-index"


# DynamoDB refuses a key value outside these sizes (UTF-8 bytes) with a ValidationException, in a
# query's key condition too: such a name or owner can match no item, so it is never sent.
PARTITION_KEY_MAX_BYTES = 2048
SORT_KEY_MAX_BYTES = 1024

# An agent whose token matches only deleted tasks is paged through this many index pages at most.
_MAX_TOKEN_PAGES = 10
# A task list reads at most this many index pages (1 MB each): thousands of tasks, well inside the
# request's time. The list is ordered by creation time, which the index does not hold, so it is
# read whole or not at all.
MAX_LIST_PAGES = 16
# What a task list needs of each item (the agent's token hash and URL stay out).
_LISTED_ATTRIBUTES = (
    "task_id, #name, owner_id, owner_name, workspace_id, build_transition, build_job_status, agent_lifecycle, "
    "app_health, display_name, initial_prompt, organization_id, workspace_name, created_at, updated_at"
)


TRANSCRIPT_REVISION = "transcript_revision"
TRANSCRIPT_WRITE_ID = "transcript_write_id"
TRANSCRIPTS_DUE = "transcripts_due"


class PointerUpdate(enum.Enum):
    STORED = "stored"  # the item now points at the new snapshot
    SUPERSEDED = "superseded"  # the item already points at a snapshot at least as new
    TASK_GONE = "task_gone"  # missing, deleted, or (for uploads) no longer this agent's task


def item_from_dynamodb(item: Mapping[str, Mapping[str, Any]]) -> TaskItem:
    # Every attribute of the contract is a string, so the low-level client's {"S": ...} is all we
    # need (it is much cheaper to create and call than the boto3 resource layer); the one number is
    # this service's own counter.
    values = {name: value["S"] for name, value in item.items() if "S" in value}
    if (revision := item.get(TRANSCRIPT_REVISION, {}).get("N", "")).isdigit():  # only ever written by ADD 1
        values[TRANSCRIPT_REVISION] = int(revision)
    if due := item.get(TRANSCRIPTS_DUE, {}).get("SS"):
        values[TRANSCRIPTS_DUE] = frozenset(due)
    return TaskItem.model_validate(values)


def _fits_key(value: str, max_bytes: int) -> bool:
    # Characters take 1-4 bytes: only a string near the limit needs encoding to tell.
    return len(value) > 0 and (len(value) * 4 <= max_bytes or len(value.encode()) <= max_bytes)


class TaskRepository:
    def __init__(self, dynamodb_client: DynamoDBClient, table_name: str) -> None:
        self._client = dynamodb_client
        self._table = table_name

    def get(self, task_id: str) -> TaskItem | None:
        try:
            answer = self._client.get_item(TableName=self._table, Key={"task_id": {"S": task_id}}, ConsistentRead=True)
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"GetItem failed: {type(exc).__name__}") from exc
        item = answer.get("Item")
        return item_from_dynamodb(item) if item else None

    def find_by_owner_and_name(self, owner_id: str, name: str) -> list[TaskItem]:
        """Tasks of one owner with this name; deleted ones included, the caller filters."""
        if not _fits_key(owner_id, PARTITION_KEY_MAX_BYTES) or not _fits_key(name, SORT_KEY_MAX_BYTES):
            return []
        try:
            answer = self._client.query(
                TableName=self._table,
                IndexName=OWNER_ID_NAME_INDEX,
                KeyConditionExpression="owner_id = :owner AND #name = :name",
                ExpressionAttributeNames={"#name": "name"},
                ExpressionAttributeValues={":owner": {"S": owner_id}, ":name": {"S": name}},
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"Query failed: {type(exc).__name__}") from exc
        return [item_from_dynamodb(item) for item in answer.get("Items", [])]

    def find_callers_task(self, caller: Caller, user_ref: str, task_ref: str) -> TaskItem:
        """The caller's task named by UUID first, then by name (contract §5); anything else, including a
        `{user}` that is not the caller, is TaskNotFound."""
        user_ref, task_ref = well_formed(user_ref), well_formed(task_ref)
        if not names_caller(caller, user_ref):
            raise TaskNotFound()
        task_id = parse_uuid(task_ref)
        if task_id is not None:
            task = self.get(task_id)
            if (
                task is not None
                and not task.is_deleted
                and (parse_uuid(task.owner_id) or task.owner_id) == caller.user_id
            ):
                return task
        for task in self.find_by_owner_and_name(caller.user_id, task_ref):
            if not task.is_deleted:
                return task
        raise TaskNotFound()

    def list_owned(self, owner_id: str) -> list[TaskItem]:
        """Every task of one owner that is not deleted, through the owner index (no Scan)."""
        if not _fits_key(owner_id, PARTITION_KEY_MAX_BYTES):
            return []
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": OWNER_ID_NAME_INDEX,
            "KeyConditionExpression": "owner_id = :owner",
            "FilterExpression": "attribute_not_exists(deleted_at)",
            "ProjectionExpression": _LISTED_ATTRIBUTES,
            "ExpressionAttributeNames": {"#name": "name"},
            "ExpressionAttributeValues": {":owner": {"S": owner_id}},
        }
        items: list[TaskItem] = []
        try:
            for _ in range(MAX_LIST_PAGES):
                answer = self._client.query(**request)
                items.extend(item_from_dynamodb(item) for item in answer.get("Items", []))
                if "LastEvaluatedKey" not in answer:
                    return items
                request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"Query failed: {type(exc).__name__}") from exc
        raise TaskListTooLarge(f"The owner has more tasks than {MAX_LIST_PAGES} MB of task items hold.")

    def started_tasks(self) -> Iterator[list[TaskItem]]:
        """Every task whose latest build is a start and that is not deleted, a page (1 MB of index) at
        a time, with what its status is derived from: the candidates for a checkpoint (contract §11)."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": BUILD_TRANSITION_INDEX,
            "KeyConditionExpression": "build_transition = :start",
            "FilterExpression": "attribute_not_exists(deleted_at)",
            "ExpressionAttributeValues": {":start": {"S": "start"}},
        }
        while True:
            try:
                answer = self._client.query(**request)
            except (ClientError, BotoCoreError) as exc:
                raise StorageError(f"Query failed: {type(exc).__name__}") from exc
            yield [item_from_dynamodb(item) for item in answer.get("Items", [])]
            if "LastEvaluatedKey" not in answer:
                return
            request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    def record_checkpoint(self, task_id: str, *, checkpoint_at: str, digest: str) -> bool:
        """Note the checkpoint that began at `checkpoint_at` and stored the agent's answer whose SHA-256
        is `digest`, unless one that began later is noted already; False when it was not noted (a later
        one, or the task is gone)."""
        return conditionally(
            "UpdateItem",
            lambda: self._client.update_item(
                TableName=self._table,
                Key={"task_id": {"S": task_id}},
                UpdateExpression="SET checkpoint_at = :at, checkpoint_digest = :digest",
                ConditionExpression=(
                    "attribute_exists(task_id) AND attribute_not_exists(deleted_at)"
                    " AND (attribute_not_exists(checkpoint_at) OR checkpoint_at < :at)"
                ),
                ExpressionAttributeValues={":at": {"S": checkpoint_at}, ":digest": {"S": digest}},
            ),
        )

    def agent_token_in_use(self, token_sha256: str) -> bool:
        """True when some task that is not deleted has this agent token hash (contract §2)."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": AGENT_TOKEN_INDEX,
            "KeyConditionExpression": "agent_token_sha256 = :hash",
            "FilterExpression": "attribute_not_exists(deleted_at)",
            "ExpressionAttributeValues": {":hash": {"S": token_sha256}},
            "Select": "COUNT",
        }
        try:
            for _ in range(_MAX_TOKEN_PAGES):
                answer = self._client.query(**request)
                if answer.get("Count", 0) > 0:
                    return True
                if "LastEvaluatedKey" not in answer:
                    return False
                request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"Query failed: {type(exc).__name__}") from exc
        return False

    def point_at_snapshot(
        self,
        task_id: str,
        *,
        snapshot_at: str,
        version_id: str | None,
        agent_token_sha256: str | None = None,
    ) -> PointerUpdate:
        """Point the task at a stored snapshot unless it already points at one whose `snapshot_at` is
        not older (RFC 3339 strings of utc_rfc3339's fixed-width form compare in time order).
        `agent_token_sha256`, when given, must still be the task's."""
        condition = [
            "attribute_exists(task_id)",
            "attribute_not_exists(deleted_at)",
            "(attribute_not_exists(snapshot_at) OR snapshot_at < :at)",
        ]
        values: dict[str, Any] = {":at": {"S": snapshot_at}}
        if agent_token_sha256 is not None:
            condition.append("agent_token_sha256 = :token")
            values[":token"] = {"S": agent_token_sha256}
        if version_id:
            update = "SET snapshot_at = :at, snapshot_version = :version"
            values[":version"] = {"S": version_id}
        else:  # an unversioned bucket: readers take the object's latest content
            update = "SET snapshot_at = :at REMOVE snapshot_version"
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"task_id": {"S": task_id}},
                UpdateExpression=update,
                ConditionExpression=" AND ".join(condition),
                ExpressionAttributeValues=values,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise SnapshotStoreError(f"UpdateItem failed: {type(exc).__name__}") from exc
            old = cast("Mapping[str, Mapping[str, Any]] | None", exc.response.get("Item"))
            current = item_from_dynamodb(old) if old else None
            if current is None or current.is_deleted:
                return PointerUpdate.TASK_GONE
            if agent_token_sha256 is not None and current.agent_token_sha256 != agent_token_sha256:
                return PointerUpdate.TASK_GONE
            return PointerUpdate.SUPERSEDED
        except BotoCoreError as exc:
            raise SnapshotStoreError(f"UpdateItem failed: {type(exc).__name__}") from exc
        return PointerUpdate.STORED

    def count_transcript_write(self, task_id: str) -> bool:
        """Count one more write of the task's transcript (after its session header moved), so that a
        reader's ETag changes with it, and name it with a new random id, so that what a reader kept
        is known to be current while the id is the same (never reused, unlike a count that starts
        again). False when the task is missing or deleted."""
        return conditionally(
            "UpdateItem",
            lambda: self._client.update_item(
                TableName=self._table,
                Key={"task_id": {"S": task_id}},
                UpdateExpression=f"SET {TRANSCRIPT_WRITE_ID} = :id ADD {TRANSCRIPT_REVISION} :one",
                ConditionExpression="attribute_exists(task_id) AND attribute_not_exists(deleted_at)",
                ExpressionAttributeValues={":one": {"N": "1"}, ":id": {"S": secrets.token_hex(16)}},
            ),
        )

    def defer_transcript_write(self, task_id: str, due: str) -> bool:
        """Name on the task item a transcript write still to be made (`due`), for the transcript retry
        to make through the table's stream. False when the task is missing or deleted."""
        return conditionally(
            "UpdateItem",
            lambda: self._client.update_item(
                TableName=self._table,
                Key={"task_id": {"S": task_id}},
                UpdateExpression=f"ADD {TRANSCRIPTS_DUE} :due",
                ConditionExpression="attribute_exists(task_id) AND attribute_not_exists(deleted_at)",
                ExpressionAttributeValues={":due": {"SS": [due]}},
            ),
        )

    def transcript_write_made(self, task_id: str, due: str) -> None:
        """The deferred write `due` is in the transcript now: the item no longer names it (an item
        gone meanwhile needs nothing)."""
        conditionally(
            "UpdateItem",
            lambda: self._client.update_item(
                TableName=self._table,
                Key={"task_id": {"S": task_id}},
                UpdateExpression=f"DELETE {TRANSCRIPTS_DUE} :due",
                ConditionExpression="attribute_exists(task_id)",
                ExpressionAttributeValues={":due": {"SS": [due]}},
            ),
        )

    def forget_snapshot(self, task_id: str) -> None:
        """A deleted task's item no longer names a snapshot, nor a checkpoint's digest of its
        conversation. Only while the item is still there and deleted: a removed item needs nothing, and
        one brought back is not touched."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"task_id": {"S": task_id}},
                UpdateExpression="REMOVE snapshot_at, snapshot_version, checkpoint_at, checkpoint_digest",
                ConditionExpression="attribute_exists(deleted_at)",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise StorageError(f"UpdateItem failed: {type(exc).__name__}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"UpdateItem failed: {type(exc).__name__}") from exc
