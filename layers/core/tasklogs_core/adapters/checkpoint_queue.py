"""The checkpoint queue in SQS (contract §11): the schedule sends each task due, the checkpoint
function takes them in batches with bounded concurrency. SDK errors become domain errors."""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from tasklogs_core.domain.errors import StorageError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

# SendMessageBatch takes ten entries; batches go side by side, so that the schedule sends 10,000
# tasks in a few seconds.
_BATCH_ENTRIES = 10
_SENDERS = 8


@dataclass(frozen=True)
class CheckpointDue:
    """One task to checkpoint, and the time (epoch seconds) after which the next schedule has sent it
    again: a message still waiting then is stale, and dropped."""

    task_id: str
    not_after: float

    def to_body(self) -> str:
        return json.dumps({"task_id": self.task_id, "not_after": self.not_after})

    @classmethod
    def from_body(cls, body: str) -> CheckpointDue | None:
        """None for a body this service did not send."""
        try:
            found = json.loads(body)
            return cls(str(found["task_id"]), float(found["not_after"]))
        except (ValueError, TypeError, KeyError):
            return None


class CheckpointQueue:
    def __init__(self, sqs_client: SQSClient, queue_url: str) -> None:
        self._client = sqs_client
        self._url = queue_url

    def send(self, due: Sequence[CheckpointDue]) -> None:
        """Send every one of `due`; raises StorageError when some could not be sent."""
        batches = [due[start : start + _BATCH_ENTRIES] for start in range(0, len(due), _BATCH_ENTRIES)]
        if not batches:
            return
        with ThreadPoolExecutor(max_workers=min(_SENDERS, len(batches))) as senders:
            failed = sum(senders.map(self._send_batch, batches))
        if failed:
            raise StorageError(f"SendMessageBatch refused {failed} of {len(due)} checkpoints.")

    def _send_batch(self, batch: Sequence[CheckpointDue]) -> int:
        entries: list[Any] = [{"Id": str(i), "MessageBody": item.to_body()} for i, item in enumerate(batch)]
        try:
            answer = self._client.send_message_batch(QueueUrl=self._url, Entries=entries)
            if failed := answer.get("Failed"):  # throttled or refused: once more, the failed ones
                retry = [entries[int(f["Id"])] for f in failed]
                answer = self._client.send_message_batch(QueueUrl=self._url, Entries=retry)
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"SendMessageBatch failed: {type(exc).__name__}") from exc
        return len(answer.get("Failed", []))
