"""The HTTP edge's one error table: every domain error becomes the contract's status and
`{"message", "detail", "validations"}` body here (contract §1, §5, §6), and nowhere else. The same
table drives docs/openapi.json. Bugs get a fixed body, so nothing about them leaks."""

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, Field

from tasklogs_core.adapters.observability import UNHANDLED_ERRORS, count_for_this_version
from tasklogs_core.domain import errors


class Validation(BaseModel):
    field: str
    detail: str


class ErrorBody(BaseModel):
    """`{"message", "detail", "validations"}`; detail and validations are left out when empty."""

    message: str
    detail: str = ""
    validations: list[Validation] = Field(default_factory=list)

    def to_json(self) -> str:
        return self.model_dump_json(exclude_defaults=True)


RESOURCE_NOT_FOUND = "Resource not found."
INTERNAL_ERROR = "An internal error occurred."

# Domain error → (status, message, show the exception's detail?). A subclass without a row of its own
# takes its nearest base's.
ERROR_TABLE: dict[type[errors.TaskLogsError], tuple[int, str, bool]] = {
    errors.Unauthenticated: (401, "Unauthorized.", False),
    errors.TaskNotFound: (404, RESOURCE_NOT_FOUND, False),
    errors.PageNotFound: (404, RESOURCE_NOT_FOUND, False),
    errors.EntryNotFound: (404, RESOURCE_NOT_FOUND, False),
    errors.TaskStateConflict: (409, "Cannot fetch logs for task in current state.", True),
    errors.TaskAppUrlNotConfigured: (502, "Task app URL is not configured.", True),
    errors.TaskAppUnavailable: (502, "Failed to get messages from task app.", True),
    errors.InvalidTaskAppResponse: (502, "Invalid task app response.", True),
    errors.TaskAppTimeout: (504, "Timed out fetching messages from task app.", True),
    errors.SnapshotDecodeError: (500, "Internal error decoding task snapshot.", True),
    errors.UnsupportedSnapshotFormat: (500, "Unsupported task snapshot format.", True),
    errors.InvalidSnapshotData: (500, "Invalid snapshot data.", True),
    errors.SnapshotFetchError: (500, "Internal error fetching task snapshot.", True),
    errors.SnapshotStoreError: (500, "Internal error storing snapshot.", False),
    errors.StorageError: (500, "Internal error fetching task.", False),
    errors.SecretScanFailed: (500, "Internal error checking content for secrets.", False),
    errors.TaskListTooLarge: (500, "Too many tasks to list.", True),
    errors.InvalidTaskId: (400, "Invalid task ID format.", True),
    errors.InvalidQueryParameters: (400, "Invalid query parameters.", False),
    errors.InvalidPathParameters: (400, "Invalid path parameters.", False),
    errors.InvalidSnapshotFormat: (400, "Invalid format parameter.", True),
    errors.PayloadDecodeError: (400, "Failed to decode request payload.", True),
    errors.InvalidPayloadStructure: (400, "Invalid agentapi payload structure.", True),
}


def error_response(exc: errors.TaskLogsError) -> tuple[int, ErrorBody]:
    """Status code and body for a domain error."""
    for cls in type(exc).__mro__:
        if cls in ERROR_TABLE:
            status, message, show_detail = ERROR_TABLE[cls]
            validations = [Validation(field=field, detail=detail) for field, detail in exc.validations]
            return status, ErrorBody(message=message, detail=exc.detail if show_detail else "", validations=validations)
    return 500, ErrorBody(message=INTERNAL_ERROR)


def json_response(status: int, body: str) -> Response[str]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def install_error_handlers(app: APIGatewayHttpResolver, logger: Logger, metrics: Metrics) -> None:
    """The exception handlers every HTTP function installs: each error leaves in the contract's shape."""

    @app.exception_handler(errors.TaskLogsError)
    def handle_domain_error(exc: errors.TaskLogsError) -> Response[str]:
        status, body = error_response(exc)
        cause = type(exc.__cause__).__name__ if exc.__cause__ else None
        log = logger.warning if status < 500 else logger.error
        log(
            body.message,
            extra={"error": type(exc).__name__, "status_code": status, "detail": exc.detail, "cause": cause},
        )
        metrics.add_metric(name=f"Http{status // 100}xx", unit=MetricUnit.Count, value=1)
        return json_response(status, body.to_json())

    @app.exception_handler(Exception)
    def handle_bug(_exc: Exception) -> Response[str]:
        logger.exception("unhandled error")
        metrics.add_metric(name="Http5xx", unit=MetricUnit.Count, value=1)
        count_for_this_version(UNHANDLED_ERRORS)
        return json_response(500, ErrorBody(message=INTERNAL_ERROR).to_json())

    @app.not_found
    def handle_unknown_route(_exc: Exception) -> Response[str]:
        return json_response(404, ErrorBody(message=RESOURCE_NOT_FOUND).to_json())
