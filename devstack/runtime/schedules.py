"""The template's schedules and queue mappings, run locally (docs/local-stack.md): every
`every_seconds` (from one run's start to the next's, as EventBridge Scheduler keeps time) each
scheduled function is invoked, and then each queue is delivered to its function in batches, several
side by side, as Lambda's SQS mapping would, until it is empty."""

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from devstack.runtime.aws import REGION, LocalAws
from devstack.runtime.template_resources import queue_mappings, scheduled_functions

log = logging.getLogger(__name__)


class Invoke(Protocol):
    def __call__(self, logical_id: str, event: dict[str, Any]) -> Any: ...


class LocalSchedules:
    def __init__(self, aws: LocalAws, invoke: Invoke, every_seconds: float, batches_at_once: int = 4) -> None:
        """`batches_at_once`: 1 when `invoke` runs the handlers in this process, which is not a container."""
        self._aws = aws
        self._batches_at_once = batches_at_once
        self._invoke = invoke
        self.every_seconds = every_seconds
        self._sqs = aws.client("sqs")
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.runs = 0  # completed runs: a test waits for one to follow what it did

    def run_once(self) -> None:
        """One run of every schedule, and every queue delivered until it is empty."""
        with self._lock:
            for function in scheduled_functions():
                try:
                    self._invoke(function, {"source": "local.scheduler", "detail-type": "Scheduled Event"})
                except Exception:
                    log.exception("%s failed", function)
            for mapping in queue_mappings():
                self._drain(mapping.queue, mapping.function, mapping.batch_size)
            self.runs += 1

    def _drain(self, queue: str, function: str, batch_size: int) -> None:
        url = self._aws.queue_urls[queue]
        arn = f"arn:aws:sqs:{REGION}:123456789012:{queue}"
        # Batches side by side, as the mapping's concurrency allows: one slow agent holds up its own.
        with ThreadPoolExecutor(max_workers=self._batches_at_once) as invokers:
            while True:
                answer = self._sqs.receive_message(
                    QueueUrl=url, MaxNumberOfMessages=min(10, batch_size), WaitTimeSeconds=0
                )
                messages = answer.get("Messages", [])
                if not messages:
                    return  # the pool waits for the batches under way
                invokers.submit(self._deliver, url, arn, function, messages)

    def _deliver(self, url: str, arn: str, function: str, messages: list[dict[str, Any]]) -> None:
        records = [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {},
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
                "awsRegion": REGION,
            }
            for m in messages
        ]
        try:
            answer = self._invoke(function, {"Records": records}) or {}
        except Exception:
            log.exception("%s failed on a batch of %d", function, len(records))
            return  # the batch comes back after its visibility timeout, as on AWS
        failed = {f["itemIdentifier"] for f in answer.get("batchItemFailures", [])}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self._sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )

    def start(self) -> "LocalSchedules":
        self._thread = threading.Thread(target=self._run, name="local-schedules", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        due = time.monotonic() + self.every_seconds
        while not self._stop.wait(max(0.0, due - time.monotonic())):
            due += self.every_seconds  # start to start: a run's own length does not stretch the interval
            try:
                self.run_once()
            except Exception:
                log.exception("scheduled run failed")
            due = max(due, time.monotonic())  # a run longer than the interval: the next starts at once

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=30)
