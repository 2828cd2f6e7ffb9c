"""The transcript's rules (contract §7), over data only: what a page asks for, which session new
messages belong to, how a write merges into what is stored, where each entry's `seq` comes from, and
which entries are known to be missing. docs/transcripts.md has the store built on them.

Nothing here reads or writes anything; the store, its writers and the route apply these rules.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar

from pydantic import BaseModel, SerializerFunctionWrapHandler, model_serializer

from tasklogs_core.domain.errors import TaskLogsError
from tasklogs_core.domain.secrets import Redaction
from tasklogs_core.domain.status import TaskStatus

# ---------------------------------------------------------------- seq: task-wide, assigned once

# Each session owns a block of seqs: seq = (session - 1) * SESSION_SEQ_BLOCK + the agent's message id.
# So a seq is known the moment an entry is (read live or stored, in any order, by any writer), never
# changes, is never reused, and ascends in conversation order: sessions follow one another and ids
# ascend within one. A message id at or beyond the block cannot get a seq and is not stored (a gap).
SESSION_SEQ_BLOCK = 2**20
# JavaScript readers hold integers exactly up to 2**53: about 8.6 billion sessions of a task.
MAX_SESSIONS = 2**53 // SESSION_SEQ_BLOCK


def seq_of(session: int, message_id: int) -> int | None:
    """The entry's seq, or None for an id outside its session's block."""
    if session < 1 or session > MAX_SESSIONS or not 0 <= message_id < SESSION_SEQ_BLOCK:
        return None
    return (session - 1) * SESSION_SEQ_BLOCK + message_id


def unplaced(message_ids: Iterable[int]) -> tuple[int, int]:
    """How many of one write's ids `seq` cannot place: below 0, and at or beyond a session's block.
    Neither is stored; §7 Ids counts them in gaps, at the start and at the end of their session."""
    ids = set(message_ids)
    return sum(1 for i in ids if i < 0), sum(1 for i in ids if i >= SESSION_SEQ_BLOCK)


def session_of_seq(seq: int) -> int:
    """The session whose block holds `seq` (seq >= 0)."""
    return seq // SESSION_SEQ_BLOCK + 1


# ---------------------------------------------------------------- entries on the wire (§7)


class TranscriptEntry(BaseModel):
    seq: int
    session: int
    id: int
    content: str
    type: Literal["input", "output"]
    time: str
    final: bool = True
    # The kinds of secret removed from `content`, each with its count (contract §12); left out when none.
    redactions: list[Redaction] | None = None
    # An entry cut to fit its page (contract §7 Large entries): the whole content is at
    # .../transcript/entries/{seq}. Both are left out of a whole entry.
    truncated: bool | None = None
    content_bytes: int | None = None

    @model_serializer(mode="wrap")
    def _whole_entries_say_nothing(self, handler: SerializerFunctionWrapHandler) -> dict[str, object]:
        body: dict[str, object] = handler(self)
        if self.redactions is None:
            body.pop("redactions", None)
        if self.truncated is None:
            body.pop("truncated", None)
            body.pop("content_bytes", None)
        return body


# "agent lost" (contract §11): a session the service last stored by a checkpoint while its agent ran,
# and that no capture or upload closed; what the agent said after that checkpoint is unknown.
GapReason = Literal["not captured", "over size limit", "agent lost"]


class TranscriptGap(BaseModel):
    after_seq: int | None
    before_seq: int | None
    missing: int | None
    reason: GapReason


class LiveError(BaseModel):
    message: str
    detail: str = ""


class TranscriptPage(BaseModel):
    """The 200 body of GET .../transcript: one page of the task's whole conversation."""

    entries: list[TranscriptEntry]
    has_older: bool
    has_newer: bool
    status: str
    live: bool
    gaps: list[TranscriptGap]
    live_error: LiveError | None = None
    # As §5, for a task that is not active and has a snapshot; and when the newest checkpoint of an
    # active task stored its live session (contract §11). Each left out otherwise.
    snapshot_at: str | None = None
    checkpoint_at: str | None = None

    def to_ascii_json(self) -> bytes:
        """ASCII JSON for the reason TaskLogsResponse.to_ascii_json gives; `live_error` only when the
        agent was called and failed, the two times only when known."""
        leave_out = {name for name in ("live_error", "snapshot_at", "checkpoint_at") if getattr(self, name) is None}
        return self.__pydantic_serializer__.to_json(self, ensure_ascii=True, exclude=leave_out or None)


# ---------------------------------------------------------------- the page a reader asks for (§7 Query)

DEFAULT_LIMIT, MAX_LIMIT = 200, 1000
# A page stops early so that its body stays under this (contract §7: under 1 MiB).
MAX_PAGE_BYTES = 1024 * 1024 - 4096


@dataclass(frozen=True)
class PageRequest:
    limit: int = DEFAULT_LIMIT
    after: int | None = None  # the oldest `limit` entries with a greater seq (-1: from the first)
    before: int | None = None  # the newest `limit` entries with a smaller seq; neither: the newest


def cut_to_fit(content: str, budget: int) -> str:
    """The longest start of `content` whose JSON string (ASCII escapes, quotes included) takes at most
    `budget` bytes: what a page sends of an entry too large for it (contract §7 Large entries)."""
    encode = json.JSONEncoder(ensure_ascii=True).encode
    # Every character takes at least one byte, so no more than `budget` of them fit; a binary search
    # over C-speed encodings of at most that many finds the longest start that does.
    low, high = 0, min(len(content), budget)
    while low < high:
        middle = (low + high + 1) // 2
        if len(encode(content[:middle])) <= budget:
            low = middle
        else:
            high = middle - 1
    return content[:low]


# ---------------------------------------------------------------- sessions and merging (§7 Sessions, What is kept)


@dataclass(frozen=True)
class Message:
    """One message as a writer or a live read has it: AgentAPI's id, role, content and time."""

    id: int
    role: str
    content: str
    time: str


class Said(Protocol):
    """Anything with a message's four fields (AgentAPI's messages as parsed, Message itself)."""

    @property
    def id(self) -> int: ...
    @property
    def role(self) -> str: ...
    @property
    def content(self) -> str: ...
    @property
    def time(self) -> str: ...


@dataclass(frozen=True)
class StoredMessage:
    """A message as a session keeps it, with the server time of the write that brought it."""

    message: Message
    written_at: str  # fixed-width UTC RFC 3339 (models.utc_rfc3339): compares as text in time order
    # The newest message of that write, and an agent's: the agent may still have been rewriting it in
    # place, so a later write may hold other text for it without being another session.
    provisional: bool = False


def continues_session(
    stored: Mapping[int, Message], incoming: Iterable[Message], provisional: Collection[int] = frozenset()
) -> bool:
    """Whether `incoming` messages belong to the session holding `stored` (contract §7): they share at
    least one id, and agree (role and content) on every id both hold, except where AgentAPI rewrites
    an agent message in place: the newest common id, and any stored agent message that was the newest
    of the write that stored it (`provisional`: a capture can catch the agent mid-message, and the
    session's later writes still hold the finished text). A user message is never rewritten: excepting
    it would let a restarted agent, whose greeting matches, take over an earlier session and overwrite
    its messages, which §7 forbids. A lone common id must agree as well, unless the stored one is
    provisional: it is all a restarted agent shares with any session (its greeting), so otherwise it
    proves nothing."""
    by_id = {message.id: message for message in incoming}
    common = sorted(message_id for message_id in by_id if message_id in stored)
    if not common:
        return False

    def rewritable(message_id: int) -> bool:
        return stored[message_id].role == by_id[message_id].role == "agent"

    newest = common[-1]
    for message_id in common:
        excepted = message_id in provisional or (len(common) > 1 and message_id == newest)
        if excepted and rewritable(message_id):
            continue
        mine, theirs = stored[message_id], by_id[message_id]
        if (mine.role, mine.content) != (theirs.role, theirs.content):
            return False
    return True


def session_for(
    sessions_newest_first: Sequence[Mapping[int, StoredMessage]], incoming: Sequence[Message]
) -> int | None:
    """Index (in the given order) of the first stored session the messages continue, or None for a new
    session. Writers pass the newest sessions they read; the order decides only between sessions that
    both match, which happens when a new run replays an older one exactly."""
    for index, stored in enumerate(sessions_newest_first):
        messages = {message_id: kept.message for message_id, kept in stored.items()}
        provisional = {message_id for message_id, kept in stored.items() if kept.provisional}
        if continues_session(messages, incoming, provisional):
            return index
    return None


def merge(
    stored: Mapping[int, StoredMessage], incoming: Iterable[Message], written_at: str
) -> dict[int, StoredMessage]:
    """What a session holds after a write: every id either side has (nothing stored is dropped by a
    later, smaller write), and for an id both have, the newer write's message (the newest writer wins
    per entry; a tie keeps what is stored, so replaying a write changes nothing)."""
    written = list(incoming)
    newest = max(written, key=lambda message: message.id, default=None)
    merged = dict(stored)
    for message in written:
        held = merged.get(message.id)
        if held is None or written_at > held.written_at:
            provisional = message is newest and message.role == "agent"
            merged[message.id] = StoredMessage(message, written_at, provisional)
    return merged


# ---------------------------------------------------------------- gaps (§7 200 body)


@dataclass(frozen=True)
class Placed:
    """Where a held entry sits: its seq, its session, and the agent's id for it."""

    seq: int
    session: int
    id: int


@dataclass(frozen=True)
class SessionFacts:
    """What a session's writes told about its ids. `ids_contiguous`: every write numbered its messages
    0, 1, 2, ... without a hole (AgentAPI's way; ACP agents' ids skip, and then a hole proves nothing).
    `dropped_oldest`: how many oldest messages a capture left out over TRANSCRIPT_SESSION_MAX_BYTES,
    keeping the ids from `kept_from` on."""

    ids_contiguous: bool = True
    dropped_oldest: int = 0
    kept_from: int = 0
    # Ids the session's writes held that `seq` cannot place (unplaced()): the most one write held of
    # each kind, as every write carries the whole conversation the agent still has.
    unplaced_before: int = 0
    unplaced_after: int = 0
    # The session's newest write was a checkpoint, and its agent is gone: the task is no longer
    # active, or a newer session began (contract §11).
    agent_lost: bool = False

    def reason(self, before_id: int) -> Literal["not captured", "over size limit"]:
        """Why messages before `before_id` are missing: left out for size, or never stored at all."""
        return "over size limit" if self.dropped_oldest and before_id <= self.kept_from else "not captured"


def gaps_between(earlier: Placed | None, later: Placed, facts: Callable[[int], SessionFacts]) -> list[TranscriptGap]:
    """The entries known to be missing between two entries next to each other in the transcript
    (`earlier` None: `later` is its first). Within a session with contiguous ids, a hole in the ids is
    that many messages. Where `later` opens its session: ids of `earlier`'s session past its block,
    then the ones `later`'s session lacks before it: ids below 0, the ones before its first id when
    ids are contiguous, and what a capture over the size limit left out."""
    after_seq = earlier.seq if earlier else None
    mine = facts(later.session)

    def gap(missing: int | None, reason: GapReason = "not captured") -> TranscriptGap:
        return TranscriptGap(after_seq=after_seq, before_seq=later.seq, missing=missing, reason=reason)

    if earlier is not None and earlier.session == later.session:
        missing = later.id - earlier.id - 1
        return [gap(missing, mine.reason(later.id))] if mine.ids_contiguous and missing > 0 else []
    lost = [] if earlier is None or not facts(earlier.session).agent_lost else [gap(None, "agent lost")]
    not_captured = facts(earlier.session).unplaced_after if earlier else 0
    not_captured += mine.unplaced_before
    over_limit = 0
    if mine.ids_contiguous and later.id > 0:
        if mine.reason(later.id) == "over size limit":
            over_limit = later.id
        else:
            not_captured += later.id
    elif mine.dropped_oldest and later.id <= mine.kept_from:  # ids that skip: the capture's count is all we know
        over_limit = mine.dropped_oldest
    return [
        *lost,
        *([gap(not_captured)] if not_captured else []),
        *([gap(over_limit, "over size limit")] if over_limit else []),
    ]


class HasContent(Protocol):
    @property
    def content(self) -> str | bytes: ...  # text, or its UTF-8 as the agent sent it


Kept = TypeVar("Kept", bound=HasContent)


def newest_within(messages: Sequence[Kept], max_content_bytes: int) -> tuple[list[Kept], int]:
    """The newest messages whose content (UTF-8) fits in `max_content_bytes`, and how many of the oldest
    were left out (contract §7: what the capture keeps of a session)."""
    used = 0
    for index in range(len(messages) - 1, -1, -1):
        content = messages[index].content
        used += len(content) if isinstance(content, bytes) else len(content.encode())
        if used > max_content_bytes:
            return list(messages[index + 1 :]), index + 1
    return list(messages), 0


def page_gaps(
    before: Placed | None,
    entries: Sequence[Placed],
    after: Placed | None,
    facts: Callable[[int], SessionFacts],
) -> list[TranscriptGap]:
    """The gaps that touch a page (contract §7): between two of its entries, between its first entry
    and the one before it (`before`, None when the page starts the transcript), and between its last
    and the one after it (`after`). `facts(session)` gives a session's facts."""
    if not entries:
        return []
    pairs = [(before, entries[0]), *itertools.pairwise(entries)]
    if after is not None:
        pairs.append((entries[-1], after))
    gaps = [gap for earlier, later in pairs for gap in gaps_between(earlier, later, facts)]
    last = entries[-1]
    if after is None:  # the transcript's newest end
        if beyond := facts(last.session).unplaced_after:
            gaps.append(TranscriptGap(after_seq=last.seq, before_seq=None, missing=beyond, reason="not captured"))
        if facts(last.session).agent_lost:
            gaps.append(TranscriptGap(after_seq=last.seq, before_seq=None, missing=None, reason="agent lost"))
    return gaps


def ids_are_contiguous(messages: Iterable[Message]) -> bool:
    """Whether one write's messages are numbered without a hole (AgentAPI's way); one that skips shows
    the agent's ids do not count its messages (ACP agents)."""
    ids = sorted(message.id for message in messages)
    return all(b - a == 1 for a, b in itertools.pairwise(ids))


# ---------------------------------------------------------------- what the route serves (§7, §8)

# An entry's whole content is answered as text up to this; beyond, through a presigned URL (§7).
MAX_ENTRY_TEXT_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class ServedTranscript:
    status: TaskStatus
    etag: str | None  # decided before reading (a task that is not active); None: the body's own
    page: TranscriptPage | None  # None: If-None-Match named the current ETag (304)
    live_error: TaskLogsError | None = None
    chunks_read: int = 0
    # The request's If-None-Match, read once by the handler: a body's own ETag is compared with it too.
    if_none_match: str | None = None


@dataclass(frozen=True)
class ServedEntry:
    seq: int
    text: bytes | None  # the whole content, UTF-8, when it is answered as it is
    location: str | None = None  # else a presigned URL of it, valid 5 minutes
