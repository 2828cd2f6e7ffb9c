"""The transcript's HTTP responses (contract §7, §8): a page, with the agent's failure, when there was
one, worded as §5 words it, its ETag, or a 304; and one entry's whole content, as text or a 303."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.metrics import MetricUnit

from tasklogs_core.adapters.observability import logger, metrics
from tasklogs_core.domain.conditional import body_etag, names_current
from tasklogs_core.domain.transcript import LiveError
from tasklogs_core.edge.conditional_responses import not_modified, validators
from tasklogs_core.edge.http_errors import error_response

if TYPE_CHECKING:
    from tasklogs_core.domain.transcript import ServedEntry, ServedTranscript

TEXT_PLAIN = "text/plain; charset=utf-8"


def transcript_response(served: ServedTranscript) -> Response[str]:
    if served.page is None:  # decided from the task item alone
        assert served.etag is not None  # noqa: S101 - a 304 is only decided from an ETag
        return not_modified(served.etag)
    page = served.page
    if served.live_error is not None:
        _, error = error_response(served.live_error)
        page = page.model_copy(update={"live_error": LiveError(message=error.message, detail=error.detail)})
    body = page.to_ascii_json()
    etag = served.etag or body_etag(body)
    logger.info(
        "transcript page served",
        extra={
            "task_status": served.status.value,
            "entries": len(page.entries),
            "live": page.live,
            "live_error": type(served.live_error).__name__ if served.live_error else None,
            "chunks_read": served.chunks_read,
        },
    )
    if names_current(served.if_none_match, etag):
        return not_modified(etag)
    metrics.add_metric(name="TranscriptPagesServed", unit=MetricUnit.Count, value=1)
    return Response(
        status_code=200, content_type=content_types.APPLICATION_JSON, body=body.decode(), headers=validators(etag)
    )


def entry_response(served: ServedEntry) -> Response[str]:
    """200 with the content as text, or 303 to its presigned URL (contract §7 Large entries). The text
    is never sniffed as anything else; the URL expires, so neither answer is stored by a cache."""
    if served.text is None:
        assert served.location is not None  # noqa: S101 - a ServedEntry holds one or the other
        metrics.add_metric(name="TranscriptEntriesRedirected", unit=MetricUnit.Count, value=1)
        return Response(
            status_code=303,
            content_type=TEXT_PLAIN,
            body="",
            headers={"Location": served.location, "Cache-Control": "no-store"},
        )
    metrics.add_metric(name="TranscriptEntriesServed", unit=MetricUnit.Count, value=1)
    return Response(
        status_code=200,
        content_type=TEXT_PLAIN,
        body=served.text.decode(),
        headers={"Cache-Control": "private, no-cache", "X-Content-Type-Options": "nosniff"},
    )
