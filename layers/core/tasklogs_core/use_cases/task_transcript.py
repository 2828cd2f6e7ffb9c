"""The TaskTranscriptFunction's use case, GET /api/v2/tasks/{user}/{task}/transcript (contract §7, §8):
one page of the task's whole conversation across pauses, from its stored sessions and, when the page
reaches the live session of an active task, from the agent.

A page walks the transcript from its cursor, one session header and one chunk at a time, so what it
reads follows the page, not the conversation (docs/transcripts.md). The entries next to the page are
found the same way: they say whether there are older and newer pages, and which gaps touch it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from tasklogs_core.adapters import clients
from tasklogs_core.adapters.deadlines import agent_deadline
from tasklogs_core.adapters.observability import logger
from tasklogs_core.adapters.settings import get_settings
from tasklogs_core.adapters.transcript_store import CHUNK_IDS, KeptHeaders
from tasklogs_core.domain.conditional import names_current, weak_etag
from tasklogs_core.domain.conversation import LOG_TYPE_BY_ROLE, unknown_role, unknown_role_detail
from tasklogs_core.domain.errors import (
    EntryNotFound,
    InvalidTaskAppResponse,
    TaskAppTimeout,
    TaskAppUnavailable,
    TaskAppUrlNotConfigured,
    TaskLogsError,
)
from tasklogs_core.domain.identity import caller_from_claims
from tasklogs_core.domain.status import TaskStatus, derive_status
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
    parse_entry_seq,
    parse_page_request,
    seq_of,
    session_for,
    session_of_seq,
    unplaced,
)

if TYPE_CHECKING:
    from tasklogs_core.adapters.transcript_store import SessionHeader, TranscriptStore
    from tasklogs_core.domain.models import TaskItem

# The agent's failures a page reports as `live_error` instead of failing (contract §7, States).
LIVE_FAILURES = (TaskAppUnavailable, TaskAppTimeout, TaskAppUrlNotConfigured, InvalidTaskAppResponse)
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
# An entry's whole content is answered as text up to this; beyond, through a presigned URL (§7).
MAX_ENTRY_TEXT_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class ServedTranscript:
    status: TaskStatus
    etag: str | None  # decided before reading (a task that is not active); None: the body's own
    page: TranscriptPage | None  # None: If-None-Match named the current ETag (304)
    live_error: TaskLogsError | None = None
    chunks_read: int = 0


def serve_task_transcript(
    claims: Mapping[str, Any] | None,
    user_ref: str,
    task_ref: str,
    raw_query: str,
    *,
    if_none_match: str | None,
    remaining_ms: int,
) -> ServedTranscript:
    """One page of the caller's task's transcript (contract §7); for a task that is not active, a 304
    when `if_none_match` names the page's ETag, decided from the task item alone (§8)."""
    caller = caller_from_claims(claims, get_settings().username_claim)
    task = clients.task_repository().find_callers_task(caller, user_ref, task_ref)
    logger.append_keys(task_id=task.task_id)
    request = parse_page_request(raw_query)
    status = derive_status(task)
    etag = None
    if status is not TaskStatus.ACTIVE:
        etag = decided_etag(task, status, request)
        if names_current(if_none_match, etag):
            return ServedTranscript(status, etag, None)
    deadline = agent_deadline(remaining_ms)  # from the invocation's start, whatever reading takes
    reader = TranscriptReader(task, status, clients.transcript_store(), read_legacy=_legacy_reader(task))
    page, live_error = read_page(reader, request, status, agent=lambda: _live_messages(task, deadline))
    return ServedTranscript(status, etag, page, live_error, reader.chunks_read)


def decided_etag(task: TaskItem, status: TaskStatus, request: PageRequest) -> str:
    """The ETag of a page of a task that is not active: everything its body depends on is on the item
    (every transcript write counts itself there) or in the query."""
    return weak_etag(
        "transcript",
        task.task_id,
        status.value,
        task.transcript_revision,
        ",".join(sorted(task.transcripts_due)),
        task.snapshot_at,
        task.snapshot_version,
        request.limit,
        request.after,
        request.before,
    )


def _legacy_reader(task: TaskItem) -> Callable[[], list[Message]] | None:
    """A snapshot stored before transcripts existed reads as session 1 (contract §7)."""
    if not task.snapshot_at:
        return None

    def read() -> list[Message]:
        from tasklogs_core.services.snapshot_codec import snapshot_messages

        return snapshot_messages(clients.snapshot_store().read(task.task_id, task.snapshot_version))

    return read


def _live_messages(task: TaskItem, deadline: float) -> list[Message]:
    messages = clients.agentapi_client().get_messages(task.agentapi_url, deadline).messages
    if (found := unknown_role(messages)) is not None:
        raise InvalidTaskAppResponse(unknown_role_detail(found[1]))
    return [Message(m.id, m.role, m.content, m.time) for m in messages]


# ---------------------------------------------------------------- sessions as a page reads them


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
    ) -> None:
        self._task_id = task.task_id
        self._store = store
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
                    self._chunks[key] = self._store.read_chunk(self._task_id, header, chunk)
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
        for (header, chunk), messages in zip(wanted, self._store.read_each(self._task_id, wanted), strict=True):
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
        return self._sources[session].facts if session in self._sources else SessionFacts()


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
        except LIVE_FAILURES as exc:
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
        **cut,
    )


def _reaches_live(reader: TranscriptReader, walked: PageWalk) -> bool:
    """Whether the page could hold entries of the live session, which is one of the newest stored
    sessions or the next: so when it ends there, or at the transcript's newest end."""
    if walked.after is None:
        return True
    newest = walked.entries[-1] if walked.entries else walked.after
    return newest.place.session >= min((source.number for source in reader.newest), default=1)


# ---------------------------------------------------------------- one entry, whole (§7 Large entries)


@dataclass(frozen=True)
class ServedEntry:
    seq: int
    text: bytes | None  # the whole content, UTF-8, when it is answered as it is
    location: str | None = None  # else a presigned URL of it, valid 5 minutes


def serve_transcript_entry(
    claims: Mapping[str, Any] | None,
    user_ref: str,
    task_ref: str,
    seq_text: str,
    *,
    carried: Callable[[bytes], bool],
    remaining_ms: int,
) -> ServedEntry:
    """The whole content of one entry of the caller's task (contract §7 Large entries): as text when it
    is at most 5 MiB and `carried` (the answer fits what Lambda carries), else a presigned URL of a copy
    of it. An entry of the live session is read from the agent, as a page reads it."""
    caller = caller_from_claims(claims, get_settings().username_claim)
    task = clients.task_repository().find_callers_task(caller, user_ref, task_ref)
    logger.append_keys(task_id=task.task_id)
    seq = parse_entry_seq(seq_text)
    status = derive_status(task)
    deadline = agent_deadline(remaining_ms)
    store = clients.transcript_store()
    reader = TranscriptReader(task, status, store, read_legacy=_legacy_reader(task))
    held = find_entry(reader, seq, status, agent=lambda: _live_messages(task, deadline))
    if held is None:
        raise EntryNotFound(f"No entry has seq {seq}.")
    text = held.message.content.encode()
    logger.info("transcript entry served", extra={"seq": seq, "content_bytes": len(text), "live": held.from_agent})
    if len(text) <= MAX_ENTRY_TEXT_BYTES and carried(text):
        return ServedEntry(seq, text)
    return ServedEntry(seq, None, store.publish_entry(task.task_id, seq, text))


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
        except LIVE_FAILURES:
            if found is None:
                raise
            logger.warning("agent not read for a transcript entry; the stored one is served")
        else:
            found = held_at()
    return found
