"""The service's user routes over HTTP (contract §5, §7, §8, §9), answering plain values or an ApiError
that carries the contract's error shape."""

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import quote

import httpx

from tasklogs_cli import __version__

# Most a transcript page may hold (§7).
PAGE_LIMIT = 1000


class Status(StrEnum):
    """A task's derived status (contract §3), as the service names it. The CLI installs without the
    service's layer, so it keeps its own copy; tests/unit/test_cli_words.py holds it to the layer's."""

    PENDING = "pending"
    INITIALIZING = "initializing"
    ACTIVE = "active"
    PAUSED = "paused"
    ERROR = "error"
    UNKNOWN = "unknown"


# Statuses whose conversation is the stored one, a snapshot (§5), and those the service reports as in
# trouble (its stored conversation is still readable, §7).
SNAPSHOT_STATUSES = frozenset({Status.PAUSED, Status.PENDING, Status.INITIALIZING})
TROUBLED_STATUSES = frozenset({Status.ERROR, Status.UNKNOWN})


@dataclass(frozen=True)
class ApiError(Exception):
    """A refusal or failure. `status` is None when no HTTP answer came (refused, timed out, not HTTP)."""

    status: int | None
    message: str
    detail: str = ""
    validations: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Page:
    """One transcript page (§7) and the ETag that names it (§8)."""

    entries: list[dict[str, Any]]
    has_older: bool
    has_newer: bool
    status: str
    live: bool
    gaps: list[dict[str, Any]] = field(default_factory=list)
    live_error: dict[str, str] | None = None
    etag: str | None = None
    snapshot_at: str | None = None  # a task that is not active: when its stored session was last written


@dataclass(frozen=True)
class TaskRef:
    """`[OWNER/]TASK` as typed: the owner (`me` unless given) and the task's name or id."""

    owner: str
    task: str

    @classmethod
    def parse(cls, text: str) -> "TaskRef":
        owner, _, task = text.rpartition("/")
        return cls(owner or "me", task)

    def path(self) -> str:
        return f"/api/v2/tasks/{_segment(self.owner)}/{_segment(self.task)}"


def _segment(text: str) -> str:
    """`text` as one path segment: slashes, `?`, `#` escaped, and `.`/`..` too, which a URL would resolve."""
    escaped = quote(text, safe="")
    return escaped.replace(".", "%2E") if set(text) == {"."} else escaped


class TasklogsApi:
    def __init__(
        self, url: str, token: str, *, timeout: float = 30.0, transport: httpx.BaseTransport | None = None
    ) -> None:
        self._http = httpx.Client(
            base_url=url.rstrip("/"),
            # Both headers the service accepts carry the token; Bearer is the standard one.
            headers={"Authorization": f"Bearer {token}", "User-Agent": f"tasklogs-cli/{__version__}"},
            timeout=timeout,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "TasklogsApi":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def task(self, ref: TaskRef) -> dict[str, Any]:
        """One task as codersdk.Task (§9)."""
        return dict(self._get(ref.path()).json())

    def tasks(self, status: str | None = None) -> list[dict[str, Any]]:
        """The caller's tasks, newest first (§9)."""
        query = {"q": f"status:{status}"} if status else None
        return list(self._get("/api/v2/tasks", params=query).json()["tasks"])

    def snapshot_at(self, ref: TaskRef) -> str | None:
        """When the newest stored session was last written (§5's `snapshot_at`, from /logs)."""
        value = self._get(f"{ref.path()}/logs").json().get("snapshot_at")
        return str(value) if value else None

    def page(
        self,
        ref: TaskRef,
        *,
        after: int | None = None,
        before: int | None = None,
        limit: int = 200,
        etag: str | None = None,
    ) -> Page | None:
        """One transcript page, or None when `etag` still names it (304, §8)."""
        params: dict[str, int] = {"limit": limit}
        if after is not None:
            params["after"] = after
        if before is not None:
            params["before"] = before
        answer = self._get(f"{ref.path()}/transcript", params=params, etag=etag)
        if answer.status_code == 304:
            return None
        body = answer.json()
        return Page(
            entries=body["entries"],
            has_older=body["has_older"],
            has_newer=body["has_newer"],
            status=body["status"],
            live=body["live"],
            gaps=body.get("gaps") or [],
            live_error=body.get("live_error"),
            etag=answer.headers.get("etag"),
            snapshot_at=body.get("snapshot_at"),
        )

    def _get(self, path: str, *, params: Any = None, etag: str | None = None) -> httpx.Response:
        headers = {"If-None-Match": etag} if etag else None
        try:
            answer = self._http.get(path, params=params, headers=headers)
        except httpx.TimeoutException as error:
            raise ApiError(None, "The service did not answer in time.", str(error) or type(error).__name__) from None
        except httpx.HTTPError as error:
            raise ApiError(None, "Cannot reach the service.", str(error) or type(error).__name__) from None
        if answer.status_code in (200, 304):
            if answer.status_code == 200 and not _is_json(answer):
                raise ApiError(answer.status_code, "The service's answer is not JSON.", _content_type(answer))
            return answer
        raise _error_of(answer)


def _is_json(answer: httpx.Response) -> bool:
    if "json" not in _content_type(answer):
        return False
    try:
        answer.json()
    except ValueError:
        return False
    return True


def _content_type(answer: httpx.Response) -> str:
    return str(answer.headers.get("content-type", "no Content-Type"))


def _error_of(answer: httpx.Response) -> ApiError:
    """The contract's error shape when the answer has it; else what API Gateway or a proxy said."""
    try:
        body = answer.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        validations = tuple(
            (str(v.get("field", "")), str(v.get("detail", "")))
            for v in body.get("validations") or []
            if isinstance(v, dict)
        )
        return ApiError(answer.status_code, body["message"], str(body.get("detail") or ""), validations)
    return ApiError(answer.status_code, f"HTTP {answer.status_code} {answer.reason_phrase}".strip())
