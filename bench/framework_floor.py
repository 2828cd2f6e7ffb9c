"""A handler with the logs function's Powertools stack (decorators, resolver, the outcome's log line and
metric, the calls' report line and metrics) around a route that does no work: the per-request cost of
the framework alone, for the snapshot path's floor line. Kept in step with
functions/task_logs/task_logs_handler.py and observability.http_handler by hand."""

from __future__ import annotations

from collections.abc import Callable

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit


def handler_answering(body: str) -> Callable[[dict, object], dict]:
    logger, metrics = Logger(service="bench-framework-floor"), Metrics(namespace="Bench")
    app = APIGatewayHttpResolver()

    @app.get("/api/v2/tasks/<user>/<task>/logs")
    def answer(user: str, task: str) -> Response:  # noqa: ARG001 - the route's parameters; the floor reads none
        logger.info("task logs served", extra={"task_status": "paused", "snapshot": True, "entries": 0})
        metrics.add_metric(name="SnapshotLogsServed", unit=MetricUnit.Count, value=1)
        return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=body)

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
    @metrics.log_metrics
    def lambda_handler(event: dict, context: object) -> dict:
        try:
            return app.resolve(event, context)
        finally:  # what reporting_calls writes for the snapshot path's two calls
            calls = [
                {"dependency": "dynamodb", "operation": "GetItem", "ms": 1.0, "ok": True},
                {"dependency": "s3", "operation": "GetObject", "ms": 1.0, "ok": True},
            ]
            logger.info("dependency calls", extra={"calls": calls, "dynamodb_ms": 1.0, "s3_ms": 1.0})
            metrics.add_metric(name="DynamoDBCallTime", unit=MetricUnit.Milliseconds, value=1.0)
            metrics.add_metric(name="S3CallTime", unit=MetricUnit.Milliseconds, value=1.0)

    return lambda_handler
