"""A handler with the logs function's Powertools stack (decorators, resolver, one structured log line,
one metric) around a route that does no work: the per-request cost of the framework alone, for the
snapshot path's floor line. Kept in step with functions/task_logs/task_logs_handler.py by hand: it is four lines."""

from __future__ import annotations

from collections.abc import Callable

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit


def handler_answering(body: str) -> Callable[[dict, object], dict]:
    logger, tracer, metrics = Logger(service="bench-framework-floor"), Tracer(), Metrics(namespace="Bench")
    app = APIGatewayHttpResolver()

    @app.get("/api/v2/tasks/<user>/<task>/logs")
    def answer(user: str, task: str) -> Response:  # noqa: ARG001 - the route's parameters; the floor reads none
        logger.info("task logs served", extra={"task_status": "paused", "snapshot": True, "entries": 0})
        metrics.add_metric(name="SnapshotLogsServed", unit=MetricUnit.Count, value=1)
        return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=body)

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
    @tracer.capture_lambda_handler(capture_response=False)
    @metrics.log_metrics
    def lambda_handler(event: dict, context: object) -> dict:
        return app.resolve(event, context)

    return lambda_handler
