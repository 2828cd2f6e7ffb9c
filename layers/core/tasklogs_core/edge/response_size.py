"""The logs response, kept inside Lambda's 6 MB response payload limit.

A synchronous Lambda response over 6,291,456 bytes fails the invocation (API Gateway answers 500).
The limit applies to the handler's result as the runtime serialises it: the body is a JSON string
inside that JSON, so quotes and backslashes double and non-ASCII characters become \\uXXXX escapes.

Order of remedies: send it as it is when it fits; else gzip it when the client accepts gzip; else
keep the newest log entries that fit and say how many were left out in a response header.
"""

from __future__ import annotations

import base64
import gzip
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.metrics import MetricUnit

from tasklogs_core.adapters.observability import logger, metrics
from tasklogs_core.domain.conditional import body_etag, names_current
from tasklogs_core.domain.models import TaskLogsResponse
from tasklogs_core.edge.conditional_responses import not_modified, validators

if TYPE_CHECKING:
    from tasklogs_core.domain.models import ServedLogs

LAMBDA_RESPONSE_LIMIT = 6_291_456
# Room for the status code, the headers and the JSON around the body.
BODY_LIMIT = LAMBDA_RESPONSE_LIMIT - 16_384
OMITTED_HEADER = "X-Tasklogs-Omitted-Entries"
_WORST_CASE_ESCAPE = 6  # per UTF-8 byte: a control byte becomes \u00XX, nothing grows more

# What json.dumps adds per UTF-8 byte of a string, by class: ASCII it copies as is (deleted first),
# `"` `\` and the short escapes (+1), other control characters and DEL (\u00XX: +5), lead bytes of
# 2-, 3- and 4-byte characters (\uXXXX, or two for a 4-byte one: +4, +3, +8), continuation bytes (0).
_COPIED_AS_IS = bytes(range(0x20, 0x7F)).translate(None, b'"\\')
# fmt: off
_CLASS_OF_BYTE = bytes(
    ord("1") if b in b'"\\\b\f\n\r\t' else
    ord("5") if b < 0x20 or b == 0x7F else
    ord("0") if b < 0xC0 else
    ord("4") if b < 0xE0 else
    ord("3") if b < 0xF0 else
    ord("8")
    for b in range(256)
)
# fmt: on


@dataclass(frozen=True)
class FittedBody:
    body: bytes  # ASCII JSON, or base64 of gzipped JSON when `is_base64`
    is_base64: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    omitted_entries: int = 0
    etag: str = ""  # of the whole body, before anything was fitted (contract §8)

    def text(self) -> str:
        """The body as the handler returns it (kept as bytes until the conversation is freed)."""
        return self.body.decode()


def accepts_gzip(accept_encoding: str | None) -> bool:
    """True when `Accept-Encoding` lists gzip (or `*`) without `q=0`."""
    for coding in (accept_encoding or "").lower().split(","):
        name, _, params = coding.partition(";")
        if name.strip() not in ("gzip", "*"):
            continue
        params = params.strip()
        if not params.startswith("q="):
            return True
        try:
            return float(params[2:]) > 0
        except ValueError:
            return False
    return False


_SLICE = 1024 * 1024  # translate() first allocates a result as long as its input: keep that small


def escaped_size(utf8: bytes) -> int:
    """`len(json.dumps(utf8.decode()))`, the bytes a body takes inside the runtime's serialised result
    (ASCII escapes), without building that string: C-speed passes over 1 MiB slices."""
    extra = 0
    for start in range(0, len(utf8), _SLICE):
        special = utf8[start : start + _SLICE].translate(None, _COPIED_AS_IS)
        if special:
            classes = special.translate(_CLASS_OF_BYTE)
            extra += sum(int(cls) * classes.count(cls.encode()) for cls in "15438")
    return len(utf8) + 2 + extra


def fits_lambda_response(body: bytes) -> bool:
    """Whether a text body (UTF-8) fits Lambda's response limit however the runtime escapes it."""
    if len(body) * _WORST_CASE_ESCAPE + 2 <= BODY_LIMIT:  # cheap: fits however it is escaped
        return True
    if len(body) + 2 > BODY_LIMIT:
        return False
    return escaped_size(body) <= BODY_LIMIT


def _gzipped(body: bytes) -> bytes | None:
    """Base64 of the gzipped body, when that fits (base64 needs no JSON escaping)."""
    packed = gzip.compress(body, compresslevel=6)
    return base64.b64encode(packed) if 4 * -(-len(packed) // 3) <= BODY_LIMIT else None


def fit_logs_response(response: TaskLogsResponse, *, gzip_ok: bool, etag: str | None = None) -> FittedBody:
    """The body that fits; its ETag is `etag` when one was decided before reading, else the body's."""
    body = response.to_ascii_json()
    etag = etag or body_etag(body)
    if fits_lambda_response(body):
        return FittedBody(body, etag=etag)
    gzip_headers = {"Content-Encoding": "gzip", "Vary": "Accept-Encoding"}
    if gzip_ok and (packed := _gzipped(body)) is not None:
        return FittedBody(packed, True, gzip_headers, etag=etag)
    del body

    def encoded(kept: int) -> tuple[bytes, bool] | None:
        logs = response.logs[len(response.logs) - kept :] if kept else []
        part = response.model_copy(update={"logs": logs}).to_ascii_json()
        if fits_lambda_response(part):
            return part, False
        packed = _gzipped(part) if gzip_ok else None
        return (packed, True) if packed is not None else None

    # The size grows with every entry kept: binary search the most of the newest entries that fit.
    low, high = 0, len(response.logs)
    while low < high:
        middle = (low + high + 1) // 2
        if encoded(middle) is not None:
            low = middle
        else:
            high = middle - 1
    body, is_base64 = encoded(low) or (b'{"logs":[]}', False)
    omitted = len(response.logs) - low
    headers = {OMITTED_HEADER: str(omitted), **(gzip_headers if is_base64 else {})}
    return FittedBody(body, is_base64, headers, omitted, etag)


def logs_response(served: ServedLogs, *, accept_encoding: str | None) -> Response[str]:
    """The HTTP response for served logs, fitted to Lambda's limit, logged and counted, or a 304 when
    the request's If-None-Match names its ETag (contract §8). Pass `served` straight from the use case (hold no
    other reference): it is freed here before the body's str copy is made, so the conversation is
    never in memory three times."""
    if served.logs is None:  # decided from the task item alone
        assert served.etag is not None  # noqa: S101 - a 304 is only decided from an ETag
        return not_modified(served.etag)
    status, snapshot, entries = served.status, served.logs.snapshot, len(served.logs.logs)
    if_none_match = served.if_none_match
    fitted = fit_logs_response(served.logs, gzip_ok=accepts_gzip(accept_encoding), etag=served.etag)
    del served
    if names_current(if_none_match, fitted.etag):
        return not_modified(fitted.etag)
    logger.info(
        "task logs served",
        extra={
            "task_status": status.value,
            "snapshot": snapshot,
            "entries": entries,
            "omitted_entries": fitted.omitted_entries,
            "gzip": fitted.is_base64,
        },
    )
    metrics.add_metric(name="SnapshotLogsServed" if snapshot else "LiveLogsServed", unit=MetricUnit.Count, value=1)
    if fitted.omitted_entries:
        metrics.add_metric(name="LogsResponsesTruncated", unit=MetricUnit.Count, value=1)
    response = Response(
        status_code=200,
        content_type=content_types.APPLICATION_JSON,
        body=fitted.text(),
        headers={**fitted.headers, **validators(fitted.etag)},
    )
    response.base64_encoded = fitted.is_base64
    return response
