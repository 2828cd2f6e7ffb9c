"""How the functions observe themselves: the logger and metrics, made once per container, the counts
a deploy's alarms read, and the timing of every dependency call. Handlers use these (and the entry
points in edge/entry_points.py, which wear them) and make none of their own.

No tracing library: Lambda's active tracing records each invocation, and every invocation reports how
long each of its DynamoDB, S3 and agent calls took, as one log line and as EMF metrics (timings;
docs/tracing.md has the figures behind that choice)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from tasklogs_core.adapters import timings
from tasklogs_core.domain.text import well_formed


def _log_line(record: dict[str, Any]) -> str:
    # Powertools' own serializer, plus well_formed: a lone surrogate from a client (in a path, a header,
    # an exception's text) would otherwise make the line unwritable to stdout, and the line is lost.
    return well_formed(json.dumps(record, default=str, separators=(",", ":"), ensure_ascii=False))


def new_logger(**options: Any) -> Logger:
    return Logger(json_serializer=_log_line, **options)


logger = new_logger()
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "TaskLogs"))
CALL_METRICS = {"dynamodb": "DynamoDBCallTime", "s3": "S3CallTime", "agent": "AgentCallTime"}

# Counted per function and executed version, as Lambda counts its own Errors behind an alias: what a
# deploy's alarm reads to judge the new version alone (template.yaml, "<Function>CanaryAlarm").
SERVER_ERROR_ANSWERS = "ServerErrorAnswers"  # every 5xx answer the function gave
UNHANDLED_ERRORS = "UnhandledErrors"  # a bug: an exception no contract outcome explains


def count_for_this_version(name: str) -> None:
    """One count of `name` under this function's name and executed version (and the service). Off
    where Powertools' metrics are (the local stack), which single_metric alone does not check."""
    if is_metrics_disabled():
        return
    with single_metric(
        name=name,
        unit=MetricUnit.Count,
        value=1,
        namespace=metrics.namespace,
        default_dimensions={
            "function_name": os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "local"),
            "function_version": os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        },
    ):
        pass


def count_secrets_redacted(kinds: Mapping[str, int]) -> None:
    """`SecretsRedacted` by `kind` (contract §12): the secrets cut out of content before it was stored.
    Only kinds and counts: a secret's text is never in a metric or a log line."""
    if not kinds:
        return
    logger.info("secrets redacted", extra={"redacted": dict(kinds)})
    if is_metrics_disabled():
        return
    for kind, count in sorted(kinds.items()):
        with single_metric(
            name="SecretsRedacted",
            unit=MetricUnit.Count,
            value=count,
            namespace=metrics.namespace,
            default_dimensions=metrics.default_dimensions,
        ) as metric:
            metric.add_dimension(name="kind", value=kind)


@contextmanager
def reporting_calls() -> Iterator[None]:
    """Times the DynamoDB, S3 and agent calls made inside, then reports them: a `dependency calls` log
    line (each call, and the total per dependency) and a metric value per call."""
    with timings.collecting() as calls:
        try:
            yield
        finally:
            if calls:
                logger.info("dependency calls", extra=timings.summary(calls))
                for call in calls:
                    name = CALL_METRICS.get(call.dependency, "OtherCallTime")  # a report never fails a request
                    metrics.add_metric(name=name, unit=MetricUnit.Milliseconds, value=call.ms)
