"""The HTTP side of conditional requests (contract §8): a 200 carries its weak ETag and
`Cache-Control: private, no-cache`; a request naming the current ETag gets 304 with no body."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.metrics import MetricUnit

from tasklogs_core.adapters.observability import metrics
from tasklogs_core.domain.conditional import CACHE_CONTROL


def validators(etag: str) -> dict[str, str]:
    return {"ETag": etag, "Cache-Control": CACHE_CONTROL}


def not_modified(etag: str) -> Response[str]:
    metrics.add_metric(name="NotModifiedAnswers", unit=MetricUnit.Count, value=1)
    return Response(status_code=304, body="", headers=validators(etag))
