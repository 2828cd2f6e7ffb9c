"""A local stand-in for Lambda's DynamoDB event source mappings: reads the tasks table's stream on the
moto server, applies each mapping's FilterCriteria from template.yaml, and invokes its function with
the batch, retrying the records it reports as failed like `ReportBatchItemFailures` does."""

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from devstack.runtime.aws import LocalAws
from devstack.runtime.template_resources import StreamMapping, stream_mappings

log = logging.getLogger("devstack.runtime.streams")

Invoke = Callable[[str, dict[str, Any]], dict[str, Any]]


def matches(pattern: Any, value: Any, present: bool = True) -> bool:
    """EventBridge-style filter matching, the subset Lambda filters use here: nested objects, lists
    of allowed values, and `{"exists": true|false}`."""
    if isinstance(pattern, dict):
        if not isinstance(value, dict):
            return False
        return all(matches(sub, value.get(key), key in value) for key, sub in pattern.items())
    if isinstance(pattern, list):
        for allowed in pattern:
            if isinstance(allowed, dict) and "exists" in allowed:
                if allowed["exists"] == present:
                    return True
            elif present and value == allowed:
                return True
        return False
    raise ValueError(f"unsupported filter pattern {pattern!r}")


def passes_filters(mapping: StreamMapping, record: dict[str, Any]) -> bool:
    return not mapping.filters or any(matches(pattern, record) for pattern in mapping.filters)


def _lambda_record(raw: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A record as Lambda delivers it: ApproximateCreationDateTime in whole epoch seconds."""
    dynamodb = dict(raw["dynamodb"])
    created = dynamodb.get("ApproximateCreationDateTime")
    if hasattr(created, "timestamp"):
        dynamodb["ApproximateCreationDateTime"] = int(created.timestamp())
    return {**raw, "dynamodb": dynamodb, "eventSourceARN": stream_arn}


@dataclass
class _Position:
    mapping: StreamMapping
    iterator: str | None
    delivered: list[dict[str, Any]] = field(default_factory=list)  # what the function was given


class StreamPoller:
    def __init__(self, aws: LocalAws, invoke: Invoke, interval_seconds: float = 0.2, from_now: bool = False) -> None:
        """from_now: begin at the stream's end, not at each mapping's StartingPosition: what earlier tests
        wrote is history, and delivering it again would cost every test the whole session's writes."""
        self._aws = aws
        self._invoke = invoke
        self._interval = interval_seconds
        self._streams = aws.client("dynamodbstreams")
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        table = aws.client("dynamodb").describe_table(TableName=aws.table_name)["Table"]
        self.stream_arn = table["LatestStreamArn"]
        shard = self._streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"][0]
        self._positions = [
            _Position(
                mapping,
                self._streams.get_shard_iterator(
                    StreamArn=self.stream_arn,
                    ShardId=shard["ShardId"],
                    ShardIteratorType="LATEST" if from_now else mapping.starting_position,
                )["ShardIterator"],
            )
            for mapping in stream_mappings()
        ]

    def delivered(self, function: str) -> list[dict[str, Any]]:
        return [r for p in self._positions if p.mapping.function == function for r in p.delivered]

    def drain(self) -> None:
        """Deliver every record written so far; returns when each function has handled its batches."""
        with self._lock:
            for position in self._positions:
                self._drain(position)

    def _drain(self, position: _Position) -> None:
        while position.iterator:
            answer = self._streams.get_records(ShardIterator=position.iterator)
            position.iterator = answer.get("NextShardIterator")
            records = [_lambda_record(r, self.stream_arn) for r in answer.get("Records", [])]
            if not records:
                return
            wanted = [r for r in records if passes_filters(position.mapping, r)]
            size = position.mapping.batch_size
            for start in range(0, len(wanted), size):
                self._deliver(position, wanted[start : start + size])

    def _deliver(self, position: _Position, batch: list[dict[str, Any]]) -> None:
        function = position.mapping.function
        for _attempt in range(1 + position.mapping.max_retries):
            position.delivered.extend(batch)
            try:
                answer = self._invoke(function, {"Records": batch}) or {}
            except Exception:
                log.exception("%s failed on a batch of %d", function, len(batch))
                continue
            failed = {f["itemIdentifier"] for f in answer.get("batchItemFailures", [])}
            if not failed:
                return
            # Lambda retries from the first failed record on, to keep order per item.
            first = next(i for i, r in enumerate(batch) if r["dynamodb"]["SequenceNumber"] in failed)
            batch = batch[first:]
        log.error("%s: %d records given up after retries", function, len(batch))

    def start(self) -> "StreamPoller":
        self._thread = threading.Thread(target=self._run, name="local-streams", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.drain()
            except Exception:
                log.exception("stream poll failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)
