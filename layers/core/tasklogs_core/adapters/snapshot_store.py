"""Snapshot objects in S3 (contract §4). SDK errors become domain errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from tasklogs_core.domain.errors import SnapshotFetchError, SnapshotStoreError

if TYPE_CHECKING:  # type stubs, for checking only
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef

# 1,000 rounds of 1,000: a million versions, far beyond what uploads every few minutes could leave.
_MAX_DELETE_ROUNDS = 1000


def snapshot_key(task_id: str) -> str:
    return f"task-snapshots/{task_id}.json"


class SnapshotStore:
    def __init__(self, s3_client: S3Client, bucket: str) -> None:
        self._s3 = s3_client
        self._bucket = bucket

    def read(self, task_id: str, version_id: str | None = None) -> bytes:
        """The snapshot body; `version_id` pins the exact upload the task item points at."""
        key = snapshot_key(task_id)
        try:
            if version_id:
                answer = self._s3.get_object(Bucket=self._bucket, Key=key, VersionId=version_id)
            else:
                answer = self._s3.get_object(Bucket=self._bucket, Key=key)
            return answer["Body"].read()
        except (ClientError, BotoCoreError) as exc:
            # The AWS error code is logged from the chained cause, never shown to the caller.
            raise SnapshotFetchError("The snapshot object could not be read.") from exc

    def write(self, task_id: str, body: bytes) -> str | None:
        """Store a new upload as the object's newest version; its version id (None if unversioned).
        A PutObject is atomic: a reader sees the old or the new body, never a part."""
        try:
            answer = self._s3.put_object(
                Bucket=self._bucket, Key=snapshot_key(task_id), Body=body, ContentType="application/json"
            )
        except (ClientError, BotoCoreError) as exc:
            raise SnapshotStoreError(f"PutObject failed: {type(exc).__name__}") from exc
        return answer.get("VersionId")

    def delete_version(self, task_id: str, version_id: str | None) -> None:
        """Remove one upload that no task item will ever point at. Without a version id (an
        unversioned bucket) there is nothing that names only this upload, so nothing is deleted."""
        if not version_id:
            return
        try:
            self._s3.delete_object(Bucket=self._bucket, Key=snapshot_key(task_id), VersionId=version_id)
        except (ClientError, BotoCoreError) as exc:
            raise SnapshotStoreError(f"DeleteObject failed: {type(exc).__name__}") from exc

    def delete_every_version(self, task_id: str, page_size: int = 1000) -> int:
        """The task is gone: every stored version of its snapshot, and any delete marker, is removed
        (contract §10), not left for the lifecycle rule. Returns how many were removed."""
        key = snapshot_key(task_id)
        return delete_versions(self._s3, self._bucket, key, lambda name: name == key, page_size)


def delete_versions(
    s3: S3Client, bucket: str, prefix: str, belongs: Callable[[str], bool], page_size: int = 1000
) -> int:
    """Every version and delete marker under `prefix` whose key `belongs`, removed; how many. Used for a
    deleted task's snapshot and its transcript's chunks (contract §10).

    Lists from the start again after each deleted page (a listing's next-page marker may name a
    version just deleted); each round removes at least one version, and the rounds are bounded."""
    removed = 0
    try:
        for _ in range(_MAX_DELETE_ROUNDS):
            page = s3.list_object_versions(Bucket=bucket, Prefix=prefix, MaxKeys=page_size)
            # At most 1,000 a page, which is DeleteObjects' limit too.
            doomed: list[ObjectIdentifierTypeDef] = [
                {"Key": entry["Key"], "VersionId": entry["VersionId"]}
                for entry in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
                if belongs(entry["Key"])
            ]
            if not doomed:
                return removed
            answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed, "Quiet": True})
            if answer.get("Errors"):
                codes = sorted({error.get("Code", "?") for error in answer["Errors"]})
                raise SnapshotStoreError(f"DeleteObjects left {len(answer['Errors'])} versions: {', '.join(codes)}")
            removed += len(doomed)
    except (ClientError, BotoCoreError) as exc:
        raise SnapshotStoreError(f"Deleting stored versions failed: {type(exc).__name__}") from exc
    raise SnapshotStoreError(f"More than {_MAX_DELETE_ROUNDS} pages of versions; the retry goes on")
