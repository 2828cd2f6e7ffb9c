"""Snapshot objects in S3 (contract §4). SDK errors become domain errors."""

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tasklogs_core.errors import SnapshotFetchError


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
