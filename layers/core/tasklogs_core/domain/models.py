"""The contract's wire shapes (contract §1, §4, §5) and the DynamoDB task item (§3)."""

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBytes,
    StrictInt,
    StrictStr,
    WithJsonSchema,
)

from tasklogs_core.domain.text import clean_text

if TYPE_CHECKING:  # status.py derives a status from the TaskItem below
    from tasklogs_core.domain.status import TaskStatus

# RFC 3339 date-time: up to 9 fractional digits (Go's RFC3339Nano) and a Z or numeric offset, every
# field within its range (ASCII digits only, as Go's parser wants).
_RFC3339 = re.compile(
    r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])[Tt](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    r"(?:\.[0-9]{1,9})?(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
)


def check_rfc3339(value: str) -> str:
    # Runs for every message of every conversation: the pattern bounds each field, so only a day
    # past the 28th (or year 0) still needs the calendar.
    if not _RFC3339.fullmatch(value):
        raise ValueError("not an RFC 3339 date-time")
    if value[8:10] > "28" or value.startswith("0000"):
        try:
            datetime(int(value[:4]), int(value[5:7]), int(value[8:10]))
        except ValueError as exc:
            raise ValueError(f"not an RFC 3339 date-time: {exc}") from None
    return value


# Kept as the original string: re-formatting would drop nanoseconds and offsets the agent sent.
Rfc3339 = Annotated[StrictStr, AfterValidator(check_rfc3339)]


def utc_rfc3339(moment: datetime) -> str:
    """Fixed-width UTC form (`2026-11-25T04:31:04.123456Z`): strings of this form sort in time order,
    which the conditional snapshot writes rely on (DynamoDB compares strings)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def utc_now_rfc3339() -> str:
    return utc_rfc3339(datetime.now(UTC))


# AgentAPI's ids are Go int64s: a Go client cannot decode anything outside (contract §6 step 5), nor a
# number written as a float (`1.0`, `1e2`), which Go's decoder refuses for an int64.
MessageId = Annotated[StrictInt, Field(ge=-(2**63), le=2**63 - 1)]


class AgentMessage(BaseModel):
    """AgentAPI's `Message`, as its `GET /messages` answers it. Role is checked separately: an unknown
    role is each route's own error (see its answers), not a schema failure."""

    model_config = ConfigDict(extra="ignore")

    id: MessageId
    content: Annotated[StrictStr, AfterValidator(clean_text)]
    role: StrictStr
    time: Rfc3339


class AgentMessages(BaseModel):
    """AgentAPI's `MessagesResponseBody`; `$schema` and unknown keys are ignored."""

    model_config = ConfigDict(extra="ignore")

    messages: list[AgentMessage]


def _utf8_without_nul(value: bytes) -> bytes:
    return value.replace(b"\x00", "\ufffd".encode()) if b"\x00" in value else value


# Message text the read path passes on without reading it, kept as the UTF-8 bytes the JSON held:
# a str of a message with any character above U+00FF takes two bytes per character, these take
# one per byte, and pydantic-core reads and writes them as JSON strings all the same.
Utf8Text = Annotated[StrictBytes, AfterValidator(_utf8_without_nul), WithJsonSchema({"type": "string"})]


class RelayedMessage(BaseModel):
    """AgentMessage as the read path relays it (live or from a snapshot): the same checks, the
    content as Utf8Text."""

    model_config = ConfigDict(extra="ignore")

    id: MessageId
    content: Utf8Text
    role: StrictStr
    time: Rfc3339


class RelayedMessages(BaseModel):
    model_config = ConfigDict(extra="ignore")

    messages: list[RelayedMessage]


class StoredMessage(BaseModel):
    """A message as a snapshot keeps it: only these four fields (contract §4)."""

    id: int
    content: str
    role: Literal["user", "agent"]
    time: str

    @classmethod
    def of(cls, message: AgentMessage) -> "StoredMessage":
        return cls(id=message.id, content=message.content, role=message.role, time=message.time)


class SnapshotData(BaseModel):
    messages: list[StoredMessage]


class SnapshotEnvelope(BaseModel):
    """The stored object: `{"format": "agentapi", "data": {"messages": [...]}}`."""

    format: Literal["agentapi"] = "agentapi"
    data: SnapshotData

    @classmethod
    def of(cls, messages: list[AgentMessage]) -> "SnapshotEnvelope":
        return cls(data=SnapshotData(messages=[StoredMessage.of(m) for m in messages]))

    def to_bytes(self) -> bytes:
        return self.__pydantic_serializer__.to_json(self)  # UTF-8 bytes, without a str in between


class RelayedSnapshot(BaseModel):
    """A stored object as the read path takes it: any extra keys ignored, messages checked as
    AgentAPI's. Parsed straight from bytes; its errors are not worded for people (see decode_snapshot)."""

    model_config = ConfigDict(extra="ignore")

    format: Literal["agentapi"]
    data: RelayedMessages


class LogEntry(BaseModel):
    id: int
    content: Annotated[bytes, WithJsonSchema({"type": "string"})]  # UTF-8 (a str given here is encoded)
    type: Literal["input", "output"]
    time: str


class TaskLogsResponse(BaseModel):
    logs: list[LogEntry]
    snapshot: bool = False
    snapshot_at: str | None = None

    def to_ascii_json(self) -> bytes:
        """The body as ASCII JSON bytes (non-ASCII as \\uXXXX), straight from pydantic-core.

        ASCII because the body becomes a str: a str holding any character above U+00FF takes two
        bytes per character, an ASCII one takes one and decodes with a plain copy. The Lambda
        runtime escapes non-ASCII this way anyway (its JSON encoder keeps ensure_ascii)."""
        # `snapshot` is left out when false and `snapshot_at` when there is none (contract §5).
        return self.__pydantic_serializer__.to_json(self, exclude_defaults=True, ensure_ascii=True)


@dataclass(frozen=True)
class ServedLogs:
    """What GET .../logs serves, before the HTTP edge makes a response of it."""

    status: "TaskStatus"
    logs: TaskLogsResponse | None  # None: If-None-Match named the current ETag (304)
    etag: str | None = None  # decided before reading (stored logs); None: the body's own
    # The request's If-None-Match, read once by the handler: a body's own ETag is compared with it too.
    if_none_match: str | None = None


class TaskItem(BaseModel):
    """One task as the control plane, provisioner, agent and this service wrote it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    task_id: str
    name: str = ""
    owner_id: str = ""
    owner_name: str = ""
    workspace_id: str | None = None
    build_transition: str | None = None
    build_job_status: str | None = None
    agent_lifecycle: str | None = None
    app_health: str | None = None
    agentapi_url: str | None = None
    agent_token_sha256: str | None = None
    deleted_at: str | None = None
    snapshot_at: str | None = None
    snapshot_version: str | None = None
    # This service's own: how many transcript writes the task has had (contract §7). Any change to the
    # stored transcript changes it, so a reader's ETag (§8) of a task that is not active comes from
    # the item alone.
    transcript_revision: int = 0
    # This service's own: a random id each transcript write sets as it counts itself, so that what a
    # container kept of the transcript is known to be current while the id is the same.
    transcript_write_id: str | None = None
    # This service's own: transcript writes an upload acknowledged but could not make in its time
    # (contract §7: a 204 means stored), each its `written_at` and snapshot version; the transcript
    # retry makes them and removes them.
    transcripts_due: frozenset[str] = frozenset()
    # This service's own (contract §11): when the newest checkpoint that stored something began, and
    # the SHA-256 of the agent's answer it stored: an answer with that digest changed nothing.
    checkpoint_at: str | None = None
    checkpoint_digest: str | None = None
    # Optional, for the task routes (contract §9): the control plane may write them.
    display_name: str | None = None
    initial_prompt: str | None = None
    organization_id: str | None = None
    workspace_name: str | None = None
    created_at: str | None = None
    updated_at: str | None = None

    @property
    def is_deleted(self) -> bool:
        return bool(self.deleted_at)


class Caller(BaseModel):
    """A user whose JWT API Gateway verified."""

    model_config = ConfigDict(frozen=True)

    user_id: str = Field(min_length=1)
    username: str = ""
