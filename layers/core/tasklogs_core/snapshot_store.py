"""Snapshot objects in S3 (contract §4). SDK errors become domain errors."""

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tasklogs_core.errors import SnapshotFetchError, SnapshotStoreError


def snapshot_key(task_id: str) -> str:
    return f"task-snapshots/{task_id}.json"


class SnapshotStore:
    def __init__(self, s3_client: Any, bucket: str) -> None:
        self._s3 = s3_client
        self._bucket = bucket

    def read(self, task_id: str, version_id: str | None = None) -> bytes:
        """The snapshot body; `version_id` pins the exact upload the task item points at."""
        request: dict[str, str] = {"Bucket": self._bucket, "Key": snapshot_key(task_id)}
        if version_id:
            request["VersionId"] = version_id
        try:
            return self._s3.get_object(**request)["Body"].read()
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

    def delete(self, task_id: str) -> None:
        """The task is gone: its snapshot disappears (a delete marker); older versions are removed
        by the bucket's lifecycle rule for noncurrent versions."""
        try:
            self._s3.delete_object(Bucket=self._bucket, Key=snapshot_key(task_id))
        except (ClientError, BotoCoreError) as exc:
            raise SnapshotStoreError(f"DeleteObject failed: {type(exc).__name__}") from exc
