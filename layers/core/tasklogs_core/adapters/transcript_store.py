"""Transcript sessions (contract §7; docs/transcripts.md): a session's messages in chunk objects in S3,
each chunk the messages of 256 consecutive ids, and one header item per session in the transcripts
table naming the exact version of each chunk. A write puts its new chunk versions first, then moves
the header to them with one conditional write (its revision): a reader follows one header to whole
chunks, never a half-written session, and racing writers retry on the newer header. SDK errors become
domain errors.

Reading is here too (TranscriptReader): the transcript as one ordered walk over its entries from a
seq, one session header and one chunk at a time, so what a page reads follows the page, not the
conversation; the live session's messages are laid over the stored ones by the rules every writer
places them by (domain/transcript.py)."""

from __future__ import annotations

import contextvars
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Generator, Hashable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from tasklogs_core.adapters.conditional_writes import conditionally
from tasklogs_core.adapters.observability import logger
from tasklogs_core.adapters.snapshot_store import delete_versions
from tasklogs_core.domain.conversation import LOG_TYPE_BY_ROLE
from tasklogs_core.domain.errors import AGENT_FAILURES, SnapshotStoreError, StorageError, TaskLogsError
from tasklogs_core.domain.secrets import redactions_in
from tasklogs_core.domain.status import TaskStatus
from tasklogs_core.domain.transcript import (
    MAX_PAGE_BYTES,
    SESSION_SEQ_BLOCK,
    Message,
    PageRequest,
    Placed,
    SessionFacts,
    StoredMessage,
    TranscriptEntry,
    TranscriptGap,
    TranscriptPage,
    cut_to_fit,
    ids_are_contiguous,
    merge,
    page_gaps,
    seq_of,
    session_for,
    session_of_seq,
    unplaced,
)

if TYPE_CHECKING:  # type stubs, for checking only
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

    from tasklogs_core.domain.models import TaskItem

CHUNK_IDS = 256  # ids per chunk object: a page reads the one or two chunks its entries are in
CHUNK_FORMAT = "tasklogs-transcript-chunk/1"
# A chunk whose body is at most this is also held in its session's header item (its S3 object is
# still written: what a reader of an earlier version follows, and what a rollback finds), while the
# header's copies stay within INLINE_HEADER_BYTES (as the item stores them, escaped once more): far
# from DynamoDB's 400 KB per item, and 1,000 such headers fit in one 1 MB Query page.
INLINE_CHUNK_BYTES = 1024
INLINE_HEADER_BYTES = 16 * 1024
KEPT_CHUNK_BYTES = 16 * 1024 * 1024  # chunk bodies a warm container keeps (decoded, they take ~2-3x)
# Session headers a warm container keeps (~0.6 KB each for a short session): of this many tasks, at
# most this many each.
KEPT_HEADER_TASKS = 100
KEPT_HEADERS_PER_TASK = 10_000
_READERS = 10  # chunk reads in flight for a whole session: botocore's pool holds 10 connections
Asked = TypeVar("Asked")
Read = TypeVar("Read")


def transcript_prefix(task_id: str) -> str:
    return f"transcripts/{task_id}/"


def chunk_key(task_id: str, session: int, chunk: int) -> str:
    return f"{transcript_prefix(task_id)}{session:06d}/{chunk:06d}.json"


# An entry's whole content, copied for a presigned URL (contract §7 Large entries): under the task's
# prefix, so deleting the task deletes it (§10), and tagged, so the bucket's lifecycle expires it.
ENTRY_COPY_TAG = "tasklogs-copy=entry"
ENTRY_URL_SECONDS = 300


def entry_copy_key(task_id: str, seq: int, content: bytes) -> str:
    # Named by its content: the same text is copied once, a rewritten live message gets its own copy.
    return f"{transcript_prefix(task_id)}entries/{seq}/{hashlib.sha256(content).hexdigest()}.txt"


def chunk_of(message_id: int) -> int:
    return message_id // CHUNK_IDS


@dataclass(frozen=True)
class ChunkRef:
    version: str  # the S3 version the header points at ("" in an unversioned bucket: the latest)
    count: int
    content_bytes: int
    # A short chunk's body, copied into the header item (INLINE_CHUNK_BYTES): a page over many short
    # sessions then reads their headers and nothing else.
    body: str | None = None

    @cached_property
    def inline_messages(self) -> dict[int, StoredMessage]:
        """The messages of an inline chunk, decoded once per container (headers are kept)."""
        return decode_chunk(self.body.encode()) if self.body is not None else {}


@dataclass(frozen=True)
class Superseded:
    chunk: int
    version: str
    at: str  # when the commit that replaced it was made


@dataclass(frozen=True)
class SessionHeader:
    session: int
    revision: int = 0  # 0: not stored yet
    written_at: str = ""
    chunks: Mapping[int, ChunkRef] = field(default_factory=dict)
    ids_contiguous: bool = True
    dropped_oldest: int = 0
    # The `written_at` of the newest write with messages whose ids have no seq (beyond a session's
    # block): that write's snapshot holds them and this session does not.
    left_out_at: str = ""
    # A capture over TRANSCRIPT_SESSION_MAX_BYTES kept the ids from `kept_from` on; how many it left out.
    kept_from: int = 0
    # Ids no seq can place (below 0; at or beyond the block): how many, at most, one write held.
    unplaced_before: int = 0
    unplaced_after: int = 0
    # The `written_at` of the newest checkpoint (contract §11), and of the newest write that closes a
    # session (a capture, an upload): a session whose newest write is a checkpoint lost its agent, once
    # the task is no longer active or a newer session began.
    checkpoint_at: str = ""
    closed_at: str = ""
    # Chunk versions a commit of this session replaced, and when (utc_rfc3339): no header names them
    # any more, but a reader holding an older header may still be reading them, so a later write
    # deletes them once they are old enough (conversation_writer.SUPERSEDED_GRACE_SECONDS).
    superseded: tuple[Superseded, ...] = ()

    @property
    def entries(self) -> int:
        return sum(chunk.count for chunk in self.chunks.values())

    # Made once per header, not per page: a container keeps headers (TranscriptStore.remembered).
    @cached_property
    def facts(self) -> SessionFacts:
        return SessionFacts(
            self.ids_contiguous,
            self.dropped_oldest,
            self.kept_from,
            self.unplaced_before,
            self.unplaced_after,
            agent_lost=self.checkpoint_at > self.closed_at,
        )

    @cached_property
    def stored_chunks(self) -> frozenset[int]:
        return frozenset(self.chunks)

    @property
    def content_bytes(self) -> int:
        return sum(chunk.content_bytes for chunk in self.chunks.values())


@dataclass
class KeptHeaders:
    """Session headers of one task as of one state of its transcript, by session number."""

    state: Hashable
    by_session: dict[int, SessionHeader] = field(default_factory=dict)
    newest: dict[int, list[SessionHeader]] = field(default_factory=dict)  # by how many were asked

    def add(self, headers: Iterable[SessionHeader]) -> None:
        for header in headers:
            if len(self.by_session) >= KEPT_HEADERS_PER_TASK:
                return
            self.by_session[header.session] = header


def _encode_chunk_refs(chunks: Mapping[int, ChunkRef]) -> str:
    # One string, not a map of maps: a header is read on every page, and a string costs DynamoDB the
    # same bytes but costs botocore (and moto) one value to parse instead of five per chunk.
    return json.dumps(
        [[index, ref.version, ref.count, ref.content_bytes] for index, ref in sorted(chunks.items())],
        separators=(",", ":"),
    )


def _encode_inline(chunks: Mapping[int, ChunkRef]) -> str | None:
    # An attribute of its own, which readers of earlier versions do not know and so leave alone.
    held = {str(index): ref.body for index, ref in sorted(chunks.items()) if ref.body is not None}
    return json.dumps(held, separators=(",", ":"), ensure_ascii=False) if held else None


def _stored_length(body: str) -> int:
    """What an inline copy takes in the header item: escaped as a JSON string."""
    return len(json.dumps(body, ensure_ascii=False).encode())


def _chunk_refs_from_item(item: Mapping[str, Any]) -> dict[int, ChunkRef]:
    stored = item.get("chunks", {})
    if "S" in stored:
        inline = json.loads(item["inline_chunks"]["S"]) if "inline_chunks" in item else {}
        return {
            int(index): ChunkRef(str(v), int(n), int(b), inline.get(str(index)))
            for index, v, n, b in json.loads(stored["S"])
        }
    # Headers written before the string form: a map of maps.
    return {
        int(index): ChunkRef(ref["M"]["v"]["S"], int(ref["M"]["n"]["N"]), int(ref["M"]["b"]["N"]))
        for index, ref in stored.get("M", {}).items()
    }


def _header_from_item(item: Mapping[str, Any]) -> SessionHeader:
    chunks = _chunk_refs_from_item(item)
    return SessionHeader(
        session=int(item["session"]["N"]),
        revision=int(item["revision"]["N"]),
        written_at=item.get("written_at", {}).get("S", ""),
        chunks=chunks,
        ids_contiguous=bool(item.get("ids_contiguous", {}).get("BOOL", True)),
        dropped_oldest=int(item.get("dropped_oldest", {}).get("N", "0")),
        left_out_at=item.get("left_out_at", {}).get("S", ""),
        kept_from=int(item.get("kept_from", {}).get("N", "0")),
        unplaced_before=int(item.get("unplaced_before", {}).get("N", "0")),
        unplaced_after=int(item.get("unplaced_after", {}).get("N", "0")),
        checkpoint_at=item.get("checkpoint_at", {}).get("S", ""),
        closed_at=item.get("closed_at", {}).get("S", ""),
        superseded=tuple(
            Superseded(int(chunk), str(version), str(at))
            for chunk, version, at in json.loads(item.get("superseded", {}).get("S", "[]"))
        ),
    )


def encode_chunk(messages: Iterable[StoredMessage]) -> bytes:
    entries = [
        {
            "id": m.message.id,
            "role": m.message.role,
            "content": m.message.content,
            "time": m.message.time,
            "written_at": m.written_at,
            "provisional": m.provisional,
        }
        for m in sorted(messages, key=lambda m: m.message.id)
    ]
    return json.dumps({"format": CHUNK_FORMAT, "entries": entries}, ensure_ascii=False).encode()


def decode_chunk(body: bytes) -> dict[int, StoredMessage]:
    document = json.loads(body)
    if not isinstance(document, dict) or document.get("format") != CHUNK_FORMAT:
        raise ValueError("not a transcript chunk")
    return {
        e["id"]: StoredMessage(
            Message(e["id"], e["role"], e["content"], e["time"]), e["written_at"], bool(e.get("provisional"))
        )
        for e in document["entries"]
    }


def _inline(ref: ChunkRef) -> dict[int, StoredMessage]:
    try:
        return ref.inline_messages
    except (ValueError, KeyError, TypeError) as exc:  # not a header this code wrote
        raise StorageError(f"Transcript chunk unreadable: {type(exc).__name__}") from exc


def _side_by_side(read: Callable[[Asked], Read], asked: Sequence[Asked]) -> list[Read]:
    """`read` of each, up to _READERS at once, in the order asked. Each runs in a copy of the caller's
    context, so the invocation's AWS deadline and its calls report (contextvars) hold there too."""
    with ThreadPoolExecutor(max_workers=min(_READERS, len(asked))) as pool:
        futures = [pool.submit(contextvars.copy_context().run, read, one) for one in asked]
        return [future.result() for future in futures]


class TranscriptStore:
    def __init__(self, dynamodb_client: DynamoDBClient, s3_client: S3Client, table: str, bucket: str) -> None:
        self._dynamodb = dynamodb_client
        self._s3 = s3_client
        self._table = table
        self._bucket = bucket
        # A chunk version never changes, so a warm container keeps the ones it read: a follower polling
        # the live session every 2 s reads its stored chunks once, not 30 times a minute.
        # Keyed (task, session, chunk, version): cheaper to make than the object's key.
        self._kept: OrderedDict[tuple[str, int, int, str], tuple[dict[int, StoredMessage], int]] = OrderedDict()
        self._kept_bytes = 0
        self._kept_lock = threading.Lock()  # read_chunks reads side by side
        # Headers, per task, as of one state of its transcript (`remembered`).
        self._headers: OrderedDict[str, KeptHeaders] = OrderedDict()

    # ---- reading

    def sessions(self, task_id: str, *, start: int, newest_first: bool, count: int) -> list[SessionHeader]:
        """Up to `count` session headers from session `start` on (it included), in either direction: one
        Query, so a reader takes only the sessions its page reaches."""
        condition = "task_id = :task AND #session " + ("<= :start" if newest_first else ">= :start")
        answer = self._query(
            {
                "TableName": self._table,
                "KeyConditionExpression": condition,
                "ExpressionAttributeNames": {"#session": "session"},
                "ExpressionAttributeValues": {":task": {"S": task_id}, ":start": {"N": str(start)}},
                "ScanIndexForward": not newest_first,
                "Limit": count,
                "ConsistentRead": True,
            }
        )
        return [self._header(item) for item in answer.get("Items", [])]

    def remembered(self, task_id: str, state: Hashable) -> KeptHeaders:
        """The task's session headers this container read while its transcript was in `state`; the
        caller adds what it reads. `state` must change with every write of the transcript (the id the
        task item gets with each, task_repository.count_transcript_write): another state starts empty,
        so no header is kept past a write."""
        with self._kept_lock:
            kept = self._headers.pop(task_id, None)
            if kept is None or kept.state != state:
                kept = KeptHeaders(state)
            self._headers[task_id] = kept
            while len(self._headers) > KEPT_HEADER_TASKS:
                self._headers.popitem(last=False)  # the task read longest ago
            return kept

    def newest_sessions(self, task_id: str, count: int) -> list[SessionHeader]:
        """The task's newest `count` session headers, newest first."""
        answer = self._query(
            {
                "TableName": self._table,
                "KeyConditionExpression": "task_id = :task",
                "ExpressionAttributeValues": {":task": {"S": task_id}},
                "ScanIndexForward": False,
                "Limit": count,
                "ConsistentRead": True,
            }
        )
        return [self._header(item) for item in answer.get("Items", [])]

    def _query(self, request: dict[str, Any]) -> Any:
        try:
            return self._dynamodb.query(**request)
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"Query failed: {type(exc).__name__}") from exc

    @staticmethod
    def _header(item: Mapping[str, Any]) -> SessionHeader:
        try:
            return _header_from_item(item)
        except (KeyError, ValueError, TypeError, AttributeError) as exc:  # not an item this code wrote
            raise StorageError(f"Transcript header unreadable: {type(exc).__name__}") from exc

    def read_chunk(self, task_id: str, header: SessionHeader, index: int) -> dict[int, StoredMessage]:
        """The messages of one chunk of a session, as its header names it (a chunk it lacks: none)."""
        with self._kept_lock:
            if (found := self._kept_chunk(task_id, header, index)) is not None:
                return found
        ref = header.chunks[index]  # named, in S3, and not kept
        key = chunk_key(task_id, header.session, index)
        try:
            if ref.version:
                answer = self._s3.get_object(Bucket=self._bucket, Key=key, VersionId=ref.version)
            else:
                answer = self._s3.get_object(Bucket=self._bucket, Key=key)
            body = answer["Body"].read()
            messages = decode_chunk(body)
        except (ClientError, BotoCoreError, ValueError, KeyError, TypeError) as exc:
            raise StorageError(f"Transcript chunk unreadable: {type(exc).__name__}") from exc
        if ref.version:  # only a named version is known never to change
            self._keep((task_id, header.session, index, ref.version), messages, len(body))
        return messages

    def _keep(self, key: tuple[str, int, int, str], messages: dict[int, StoredMessage], size: int) -> None:
        with self._kept_lock:
            if key in self._kept:
                return
            self._kept[key] = (messages, size)
            self._kept_bytes += size
            while self._kept_bytes > KEPT_CHUNK_BYTES:
                _, (_, dropped) = self._kept.popitem(last=False)
                self._kept_bytes -= dropped

    def read_chunks(self, task_id: str, header: SessionHeader, chunks: Iterable[int]) -> dict[int, StoredMessage]:
        """The messages of these chunks of a session, read side by side (a whole session's chunks are
        many small objects: one after another they would take seconds)."""
        wanted = sorted(set(chunks) & set(header.chunks))
        messages: dict[int, StoredMessage] = {}
        if len(wanted) <= 1:
            for index in wanted:
                messages.update(self.read_chunk(task_id, header, index))
            return messages
        for part in _side_by_side(lambda index: self.read_chunk(task_id, header, index), wanted):
            messages.update(part)
        return messages

    def read_each(self, task_id: str, wanted: Sequence[tuple[SessionHeader, int]]) -> list[Mapping[int, StoredMessage]]:
        """One chunk of each of several sessions, in the order asked: the kept ones at once, the others
        read side by side."""
        with self._kept_lock:
            found: list[Mapping[int, StoredMessage] | None] = [self._kept_chunk(task_id, *asked) for asked in wanted]
        missing = [n for n, messages in enumerate(found) if messages is None]
        if len(missing) <= 1:
            read = [self.read_chunk(task_id, *wanted[n]) for n in missing]
        else:
            read = _side_by_side(lambda n: self.read_chunk(task_id, *wanted[n]), missing)
        for n, messages in zip(missing, read, strict=True):
            found[n] = messages
        return [messages or {} for messages in found]

    def _kept_chunk(self, task_id: str, header: SessionHeader, index: int) -> dict[int, StoredMessage] | None:
        """A chunk's messages without reading S3 (its caller holds the lock): none for a chunk the
        header lacks, the header's own copy, or the version this container kept. None: to be read."""
        ref = header.chunks.get(index)
        if ref is None:
            return {}
        if ref.body is not None:
            return _inline(ref)
        kept_as = (task_id, header.session, index, ref.version)
        if (kept := self._kept.get(kept_as)) is None:
            return None
        self._kept.move_to_end(kept_as)
        return kept[0]

    def publish_entry(self, task_id: str, seq: int, content: bytes) -> str:
        """A presigned URL (valid ENTRY_URL_SECONDS) of a copy of one entry's whole content, copied
        unless an earlier read already did."""
        key = entry_copy_key(task_id, seq, content)
        try:
            try:
                self._s3.head_object(Bucket=self._bucket, Key=key)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
                    raise
                self._s3.put_object(
                    Bucket=self._bucket,
                    Key=key,
                    Body=content,
                    ContentType="text/plain; charset=utf-8",
                    Tagging=ENTRY_COPY_TAG,
                )
            return self._s3.generate_presigned_url(
                "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=ENTRY_URL_SECONDS
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"Entry copy failed: {type(exc).__name__}") from exc

    # ---- writing

    def put_chunks(
        self, task_id: str, header: SessionHeader, chunks: Mapping[int, Iterable[StoredMessage]]
    ) -> dict[int, ChunkRef]:
        """New versions of these chunks of the session `header` is, put in S3, the short ones also
        copied for the header (INLINE_CHUNK_BYTES, while it has room). The header names none of them
        until `commit`."""
        room = INLINE_HEADER_BYTES - sum(
            _stored_length(ref.body)
            for index, ref in header.chunks.items()
            if ref.body is not None and index not in chunks
        )
        put: dict[int, ChunkRef] = {}
        for index, messages in sorted(chunks.items()):
            kept = list(messages)
            body = encode_chunk(kept)
            content = sum(len(m.message.content.encode()) for m in kept)
            copy = None
            if len(body) <= INLINE_CHUNK_BYTES and (used := _stored_length(text := body.decode())) <= room:
                room, copy = room - used, text
            put[index] = ChunkRef(self._put_chunk(task_id, header.session, index, body), len(kept), content, copy)
        return put

    def _put_chunk(self, task_id: str, session: int, index: int, body: bytes) -> str:
        """A new version of one chunk object: its version id ("" in an unversioned bucket)."""
        try:
            answer = self._s3.put_object(
                Bucket=self._bucket,
                Key=chunk_key(task_id, session, index),
                Body=body,
                ContentType="application/json",
            )
        except (ClientError, BotoCoreError) as exc:
            raise SnapshotStoreError(f"PutObject failed: {type(exc).__name__}") from exc
        return str(answer.get("VersionId", ""))

    def commit(self, task_id: str, header: SessionHeader) -> bool:
        """Point the session at `header`'s chunks, if nobody else moved it since `header.revision`
        (0: the session must not exist yet). False when another writer was first: read again, merge
        again."""
        item = {
            "task_id": {"S": task_id},
            "session": {"N": str(header.session)},
            "revision": {"N": str(header.revision + 1)},
            "written_at": {"S": header.written_at},
            "chunks": {"S": _encode_chunk_refs(header.chunks)},
            "ids_contiguous": {"BOOL": header.ids_contiguous},
            "dropped_oldest": {"N": str(header.dropped_oldest)},
        }
        for name, at in (
            ("left_out_at", header.left_out_at),
            ("checkpoint_at", header.checkpoint_at),
            ("closed_at", header.closed_at),
        ):
            if at:
                item[name] = {"S": at}
        if (inline := _encode_inline(header.chunks)) is not None:
            item["inline_chunks"] = {"S": inline}
        if header.superseded:
            found = [[old.chunk, old.version, old.at] for old in header.superseded]
            item["superseded"] = {"S": json.dumps(found, separators=(",", ":"))}
        for name, count in (
            ("kept_from", header.kept_from),
            ("unplaced_before", header.unplaced_before),
            ("unplaced_after", header.unplaced_after),
        ):
            if count:
                item[name] = {"N": str(count)}
        if header.revision == 0:
            condition, values = "attribute_not_exists(task_id)", None
        else:
            condition, values = "revision = :seen", {":seen": {"N": str(header.revision)}}
        request: dict[str, Any] = {"TableName": self._table, "Item": item, "ConditionExpression": condition}
        if values:
            request["ExpressionAttributeValues"] = values
        return conditionally("PutItem", lambda: self._dynamodb.put_item(**request))

    # ---- deleting (contract §10)

    def discard_chunks(self, task_id: str, session: int, chunks: Mapping[int, ChunkRef]) -> None:
        """Remove chunk versions a lost race put and no header will name, so that the version the
        header does name becomes the object's current one again."""
        try:
            for index, ref in chunks.items():
                if ref.version:
                    self._s3.delete_object(
                        Bucket=self._bucket, Key=chunk_key(task_id, session, index), VersionId=ref.version
                    )
        except (ClientError, BotoCoreError) as exc:
            raise SnapshotStoreError(f"DeleteObject failed: {type(exc).__name__}") from exc

    def delete_superseded(self, task_id: str, session: int, versions: Iterable[Superseded]) -> None:
        """Delete chunk versions no header names any more (each listed by the commit that replaced it)."""
        try:
            for old in versions:
                self._s3.delete_object(
                    Bucket=self._bucket, Key=chunk_key(task_id, session, old.chunk), VersionId=old.version
                )
        except (ClientError, BotoCoreError) as exc:
            raise SnapshotStoreError(f"DeleteObject failed: {type(exc).__name__}") from exc

    def remove_write(self, task_id: str, session: int, chunks: Mapping[int, ChunkRef]) -> None:
        """Undo one write whose task was deleted while it went on: its own chunk versions and the
        session's header. (The deletion's cleanup removed everything stored before; this is what came
        after it.)"""
        self.discard_chunks(task_id, session, chunks)
        try:
            self._dynamodb.delete_item(
                TableName=self._table, Key={"task_id": {"S": task_id}, "session": {"N": str(session)}}
            )
        except (ClientError, BotoCoreError) as exc:
            raise SnapshotStoreError(f"Transcript removal failed: {type(exc).__name__}") from exc

    def delete_task(self, task_id: str, page_size: int = 1000) -> int:
        """Every session header and every version of every chunk object of the task: gone, not kept for
        a lifecycle rule. Returns how many object versions were removed. Safe to run again."""
        prefix = transcript_prefix(task_id)
        removed = delete_versions(self._s3, self._bucket, prefix, lambda key: key.startswith(prefix), page_size)
        try:
            # Keys only: a session item this code cannot read is deleted all the same.
            request: dict[str, Any] = {
                "TableName": self._table,
                "KeyConditionExpression": "task_id = :task",
                "ExpressionAttributeValues": {":task": {"S": task_id}},
                "ProjectionExpression": "#session",
                "ExpressionAttributeNames": {"#session": "session"},
                "ConsistentRead": True,
            }
            while True:
                answer = self._dynamodb.query(**request)
                for item in answer.get("Items", []):
                    self._dynamodb.delete_item(
                        TableName=self._table, Key={"task_id": {"S": task_id}, "session": item["session"]}
                    )
                if "LastEvaluatedKey" not in answer:
                    return removed
                request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
        except (ClientError, BotoCoreError) as exc:
            raise SnapshotStoreError(f"Transcript deletion failed: {type(exc).__name__}") from exc


# ---------------------------------------------------------------- reading: the transcript as one walk

# A write is matched against this many newest sessions (conversation_writer.SESSIONS_MATCHED): the live
# session is one of them or the next.
_MATCHED = 2
# Session headers read by a walk's first Query: most pages need one or two sessions. Each further
# Query of the same walk reads twice as many (up to a page's worth), so a page over many small
# sessions takes a few Queries, not one per four sessions.
_HEADERS_PER_QUERY = 4
_MAX_HEADERS_PER_QUERY = 1024
# Room in a page's body for an entry besides its content and time: its keys, numbers and a gap note.
_ENTRY_OVERHEAD = 200


_NONE_LIVE: Mapping[int, Message] = MappingProxyType({})


@dataclass(slots=True)
class SessionSource:
    """One session: its stored chunks, read when a page first needs them and kept for the request, with
    the live messages laid over them when it is the live session (the agent's text is the newest)."""

    number: int
    facts: SessionFacts
    load: Callable[[int], Mapping[int, StoredMessage]]  # a stored chunk's messages
    stored_chunks: frozenset[int]
    live: Mapping[int, Message] = _NONE_LIVE
    newest_live: int | None = None  # the live session's newest id, when it is an agent's (not final)
    _loaded: dict[int, dict[int, Message]] = field(default_factory=dict)  # the live session's chunks

    @property
    def chunks(self) -> list[int]:
        if not self.live:  # every session but the live one
            return sorted(self.stored_chunks)
        return sorted(self.stored_chunks | {message_id // CHUNK_IDS for message_id in self.live})

    def stored(self, chunk: int) -> Mapping[int, StoredMessage]:
        return self.load(chunk) if chunk in self.stored_chunks else {}

    def lay(self, messages: list[Message]) -> None:
        """The agent's messages over the stored ones: the agent's text is the newest."""
        live = {m.id: m for m in messages if seq_of(self.number, m.id) is not None}
        below, beyond = unplaced(m.id for m in messages)
        self.live = live
        self.facts = replace(
            self.facts,
            ids_contiguous=self.facts.ids_contiguous and ids_are_contiguous(messages),
            unplaced_before=max(self.facts.unplaced_before, below),
            unplaced_after=max(self.facts.unplaced_after, beyond),
        )
        self._loaded.clear()
        newest = max(live, default=None)
        self.newest_live = newest if newest is not None and live[newest].role == "agent" else None

    def messages(self, chunk: int) -> dict[int, Message]:
        if not self.live:  # a stored session: as stored (a page reads most sessions once or twice)
            return {message_id: kept.message for message_id, kept in self.stored(chunk).items()}
        if chunk not in self._loaded:
            held = {message_id: kept.message for message_id, kept in self.stored(chunk).items()}
            held.update((i, m) for i, m in self.live.items() if i // CHUNK_IDS == chunk)
            self._loaded[chunk] = held
        return self._loaded[chunk]


@dataclass(frozen=True)
class Held:
    place: Placed
    message: Message
    final: bool
    from_agent: bool  # read live just now


class TranscriptReader:
    """The task's transcript as one ordered walk over its entries, in either direction from a seq."""

    def __init__(
        self,
        task: TaskItem,
        status: TaskStatus,
        store: TranscriptStore,
        *,
        read_legacy: Callable[[], list[Message]] | None,
        redact: Callable[[Sequence[Mapping[int, StoredMessage]]], list[dict[int, StoredMessage]]],
    ) -> None:
        self._task_id = task.task_id
        # What a stored chunk holds is redacted as it is read (contract §12): text stored before
        # redaction, or before a deployment's newer pattern, is never served as it was stored.
        self._redact = redact
        self._store = store
        self._active = status is TaskStatus.ACTIVE
        self.writes_due = len(task.transcripts_due)  # acknowledged, not in the transcript yet
        self._sources: dict[int, SessionSource] = {}
        self._chunks: dict[tuple[int, int], Mapping[int, StoredMessage]] = {}
        self.chunks_read = 0
        # The live session is matched against the newest two; otherwise the newest one is where a walk
        # starts.
        count = _MATCHED if status is TaskStatus.ACTIVE else 1
        # Headers a walk reads are kept in the container while the transcript stays as it is (the task
        # item names its last write; the count too, which a writer of an earlier version moves without
        # naming its write): a task of many sessions is read page after page (the CLI, the viewer)
        # without reading them again. An item from before write ids keeps nothing.
        state = (task.transcript_write_id, task.transcript_revision, tuple(sorted(task.transcripts_due)))
        self._kept = store.remembered(task.task_id, state) if task.transcript_write_id else KeptHeaders(state)
        if (newest := self._kept.newest.get(count)) is None:
            newest = self._kept.newest[count] = store.newest_sessions(task.task_id, count)
            self._kept.add(newest)
        self.newest = [self._source_of(header) for header in newest]
        self._legacy = None
        if not self.newest and read_legacy is not None:
            self._legacy = self._legacy_source(read_legacy, task.snapshot_at or "")
            self.newest = [self._legacy]
        self.live: SessionSource | None = None

    # ---- sessions

    def _source_of(self, header: SessionHeader) -> SessionSource:
        if header.session not in self._sources:

            def load(chunk: int) -> Mapping[int, StoredMessage]:
                key = (header.session, chunk)
                if key not in self._chunks:
                    self._chunks[key] = self._redact([self._store.read_chunk(self._task_id, header, chunk)])[0]
                    self.chunks_read += 1
                return self._chunks[key]

            self._sources[header.session] = SessionSource(header.session, header.facts, load, header.stored_chunks)
        return self._sources[header.session]

    def _legacy_source(self, read_legacy: Callable[[], list[Message]], snapshot_at: str) -> SessionSource:
        """Session 1 from a snapshot stored before transcripts existed, held exactly as a writer's import
        of it would hold it (conversation_writer.keep_in_transcript), so the live session matches it the same."""
        read = read_legacy()  # at most 64 KiB: read whole
        messages = [m for m in read if seq_of(1, m.id) is not None]
        chunks: dict[int, dict[int, StoredMessage]] = {}
        for message_id, kept in merge({}, messages, snapshot_at).items():
            chunks.setdefault(message_id // CHUNK_IDS, {})[message_id] = kept
        facts = SessionFacts(ids_are_contiguous(read), 0, 0, *unplaced(m.id for m in read))
        source = SessionSource(1, facts, lambda chunk: chunks.get(chunk, {}), frozenset(chunks))
        self._sources[1] = source
        return source

    def _stored_sessions(self, start: int, newest_first: bool) -> Iterator[SessionSource]:
        # Sessions are numbered 1, 2, 3, ... with none left out (each write that opens one takes the
        # next number), so the walk goes by number; headers come a few per Query, each read once.
        top = self.newest[0].number if self.newest else 0
        numbers = range(min(start, top), 0, -1) if newest_first else range(max(start, 1), top + 1)
        count = _HEADERS_PER_QUERY
        for number in numbers:
            if number not in self._sources and self._legacy is None:
                headers = self._headers_from(number, newest_first, count)
                for header in headers:
                    self._source_of(header)
                if count > _HEADERS_PER_QUERY:  # the walk went past the first Query's sessions
                    self._read_ahead(headers, newest_first)
                count = min(2 * count, _MAX_HEADERS_PER_QUERY)
            if number in self._sources:
                yield self._sources[number]

    def _headers_from(self, number: int, newest_first: bool, count: int) -> list[SessionHeader]:
        """Up to `count` headers from session `number` on: the kept ones, else one Query."""
        step = -1 if newest_first else 1
        kept: list[SessionHeader] = []
        for n in range(number, number + step * count, step):
            if (header := self._kept.by_session.get(n)) is None:
                break
            kept.append(header)
        if kept:
            return kept
        headers = self._store.sessions(self._task_id, start=number, newest_first=newest_first, count=count)
        self._kept.add(headers)
        return headers

    def _read_ahead(self, headers: list[SessionHeader], newest_first: bool) -> None:
        """The chunk a walk reaches first in each of these sessions, read side by side: a page over
        many short sessions would otherwise wait on one read per session, one after another. Only
        once a walk went past its first Query's sessions; at most one Query's worth more than the
        page needs."""
        wanted = [
            (header, max(header.chunks) if newest_first else min(header.chunks)) for header in headers if header.chunks
        ]
        wanted = [(header, chunk) for header, chunk in wanted if (header.session, chunk) not in self._chunks]
        # Redacted together: one scan for a thousand one-entry sessions, not a thousand.
        read = self._redact(self._store.read_each(self._task_id, wanted))
        for (header, chunk), messages in zip(wanted, read, strict=True):
            self._chunks[(header.session, chunk)] = messages
            self.chunks_read += 1

    def sessions(self, start: int, *, newest_first: bool) -> Iterator[SessionSource]:
        """Sessions from `start` on, in order, the live one among them wherever it falls."""
        live = self.live
        if live is not None and (live.number > start if newest_first else live.number < start):
            live = None
        for source in self._stored_sessions(start, newest_first):
            if live is not None and (live.number > source.number if newest_first else live.number < source.number):
                yield live
                live = None
            if live is not None and live.number == source.number:
                live = None  # the stored session, with the live messages laid over it
            yield source
        if live is not None:
            yield live

    @property
    def newest_session(self) -> int:
        numbers = [source.number for source in self.newest]
        if self.live is not None:
            numbers.append(self.live.number)
        return max(numbers, default=0)

    # ---- the live session

    def lay_live(self, messages: list[Message]) -> None:
        """Place the agent's messages in the session they continue (contract §7, as every writer
        places them), or in the next one."""
        held: list[dict[int, StoredMessage]] = []
        for candidate in self.newest:
            common = sorted({m.id // CHUNK_IDS for m in messages} & candidate.stored_chunks)
            # Compared on the first and the newest chunk both hold, whatever the session's length:
            # AgentAPI rewrites only its newest message, so a run that agrees with a session there
            # agrees everywhere (docs/transcripts.md).
            held.append(
                {i: kept for chunk in {*common[:1], *common[-1:]} for i, kept in candidate.stored(chunk).items()}
            )
        index = session_for(held, messages)
        if index is not None:
            source = self.newest[index]
        else:
            number = self.newest[0].number + 1 if self.newest else 1
            source = SessionSource(number, SessionFacts(), lambda _chunk: {}, frozenset())
            self._sources[number] = source
        source.lay(messages)
        self.live = source

    # ---- walking

    def walk(self, seq: int | None, *, newest_first: bool) -> Generator[Held]:
        """Every entry past `seq` (exclusive; None: from the newest end), in order."""
        if newest_first:
            if seq is not None and seq <= 0:
                return
            start = session_of_seq(seq - 1) if seq is not None else max(self.newest_session, 1)
        else:
            start = session_of_seq(seq + 1) if seq is not None else 1
        for source in self.sessions(start, newest_first=newest_first):
            base = (source.number - 1) * SESSION_SEQ_BLOCK
            bound = None if seq is None else seq - base  # an id bound within this session
            chunk_ids = CHUNK_IDS
            for chunk in reversed(source.chunks) if newest_first else source.chunks:
                if bound is not None and (
                    chunk * chunk_ids >= bound if newest_first else (chunk + 1) * chunk_ids <= bound + 1
                ):
                    continue
                held = source.messages(chunk)
                for message_id in sorted(held, reverse=newest_first):
                    if bound is not None and (message_id >= bound if newest_first else message_id <= bound):
                        continue
                    place = Placed(base + message_id, source.number, message_id)
                    from_agent = source is self.live and message_id in source.live
                    final = not (from_agent and message_id == source.newest_live)
                    yield Held(place, held[message_id], final, from_agent)

    def facts(self, session: int) -> SessionFacts:
        facts = self._sources[session].facts if session in self._sources else SessionFacts()
        if facts.agent_lost and self._active and session >= self.newest_session:
            return replace(facts, agent_lost=False)  # still the running session: its agent is there
        return facts


def entry_bytes(message: Message) -> int:
    """About what an entry adds to a page's body (ASCII JSON), at most."""
    return len(json.dumps(message.content)) + len(message.time) + _ENTRY_OVERHEAD


@dataclass(frozen=True)
class PageWalk:
    entries: list[Held]  # ascending
    before: Held | None  # the entry just older than the page
    after: Held | None  # the entry just newer


def walk_page(reader: TranscriptReader, request: PageRequest) -> PageWalk:
    """The entries a page holds (contract §7 Query): up to `limit`, and fewer when the body would
    reach MAX_PAGE_BYTES (never none while there is one: a reader must always get past it)."""
    newest_first = request.after is None
    cursor = request.after if request.after is not None else request.before
    walk = reader.walk(cursor, newest_first=newest_first)
    taken: list[Held] = []
    used = 0
    for held in walk:
        used += entry_bytes(held.message)
        if taken and (len(taken) == request.limit or used > MAX_PAGE_BYTES):
            walk.close()
            break
        taken.append(held)
    if newest_first:
        taken.reverse()
    if not taken:
        # Nothing past the cursor: the entry on its other side tells whether the transcript goes on.
        if cursor is None:
            return PageWalk([], None, None)
        other = next(reader.walk(cursor - 1 if newest_first else cursor + 1, newest_first=not newest_first), None)
        return PageWalk([], other if not newest_first else None, other if newest_first else None)
    before = next(reader.walk(taken[0].place.seq, newest_first=True), None)
    after = next(reader.walk(taken[-1].place.seq, newest_first=False), None)
    return PageWalk(taken, before, after)


def read_page(
    reader: TranscriptReader,
    request: PageRequest,
    status: TaskStatus,
    *,
    agent: Callable[[], list[Message]],
) -> tuple[TranscriptPage, TaskLogsError | None]:
    """The page, with the agent read only when the task is active and the page reaches the session that
    may be live: the newest stored ones (or past them). A failed read leaves the stored entries and
    reports why (contract §7, States)."""
    walked = walk_page(reader, request)
    live_error: TaskLogsError | None = None
    if status is TaskStatus.ACTIVE and _reaches_live(reader, walked):
        try:
            reader.lay_live(agent())
            walked = walk_page(reader, request)
        except AGENT_FAILURES as exc:
            live_error = exc
            logger.warning("agent not read for a transcript page", extra={"error": type(exc).__name__})
    entries = [_on_the_page(held) for held in walked.entries]
    places = [held.place for held in walked.entries]
    gaps = page_gaps(
        walked.before.place if walked.before else None,
        places,
        walked.after.place if walked.after else None,
        reader.facts,
    )
    if walked.after is None and reader.writes_due:
        # Uploads acknowledged whose messages the transcript retry has yet to make (or, having failed
        # every retry, never will: its alarm fires): at the newest end, how many unknown (§7).
        newest = walked.entries[-1] if walked.entries else walked.before
        gaps.append(
            TranscriptGap(
                after_seq=newest.place.seq if newest else None, before_seq=None, missing=None, reason="not captured"
            )
        )
    live = any(held.from_agent for held in walked.entries)
    page = TranscriptPage(
        entries=entries,
        has_older=walked.before is not None,
        has_newer=walked.after is not None,
        status=status.value,
        live=live,
        gaps=gaps,
    )
    return page, live_error


def _on_the_page(held: Held) -> TranscriptEntry:
    """The entry as a page sends it: whole, or cut to fit the page when it would not (contract §7 Large
    entries). Only a page's lone entry can be too large: walk_page stops before any other."""
    message = held.message
    content, cut = message.content, {}
    if entry_bytes(message) > MAX_PAGE_BYTES:
        # The page's keys, its two gap notes at most and a live_error fit in what is left.
        content = cut_to_fit(message.content, MAX_PAGE_BYTES - len(message.time) - 4 * _ENTRY_OVERHEAD)
        cut = {"truncated": True, "content_bytes": len(message.content.encode())}
    return TranscriptEntry(
        seq=held.place.seq,
        session=held.place.session,
        id=message.id,
        content=content,
        type=LOG_TYPE_BY_ROLE[message.role],
        time=message.time,
        final=held.final,
        redactions=redactions_in(content) or None,
        **cut,
    )


def _reaches_live(reader: TranscriptReader, walked: PageWalk) -> bool:
    """Whether the page could hold entries of the live session, which is one of the newest stored
    sessions or the next: so when it ends there, or at the transcript's newest end."""
    if walked.after is None:
        return True
    newest = walked.entries[-1] if walked.entries else walked.after
    return newest.place.session >= min((source.number for source in reader.newest), default=1)


def find_entry(
    reader: TranscriptReader, seq: int, status: TaskStatus, *, agent: Callable[[], list[Message]]
) -> Held | None:
    """The entry with this seq: stored, or read live when the task is active and the seq falls in the
    session that may be live (the agent's text is the newest). The agent's failure is the answer only
    when nothing is stored for the seq."""

    def held_at() -> Held | None:
        found = next(reader.walk(seq - 1, newest_first=False), None)
        return found if found is not None and found.place.seq == seq else None

    found = held_at()
    oldest_live = min((source.number for source in reader.newest), default=1)
    if status is TaskStatus.ACTIVE and oldest_live <= session_of_seq(seq) <= reader.newest_session + 1:
        try:
            reader.lay_live(agent())
        except AGENT_FAILURES:
            if found is None:
                raise
            logger.warning("agent not read for a transcript entry; the stored one is served")
        else:
            found = held_at()
    return found
