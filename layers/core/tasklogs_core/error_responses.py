"""The one place that maps domain errors to the contract's HTTP responses (contract §1, §5)."""

from pydantic import BaseModel, Field

from tasklogs_core import errors


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

# (status, message, show the exception's detail?)
_RESPONSES: dict[type[errors.TaskLogsError], tuple[int, str, bool]] = {
    errors.Unauthenticated: (401, "Unauthorized.", False),
    errors.TaskNotFound: (404, RESOURCE_NOT_FOUND, False),
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
    errors.InvalidTaskId: (400, "Invalid task ID format.", True),
    errors.InvalidQueryParameters: (400, "Invalid query parameters.", False),
    errors.InvalidSnapshotFormat: (400, "Invalid format parameter.", True),
    errors.PayloadDecodeError: (400, "Failed to decode request payload.", True),
    errors.InvalidPayloadStructure: (400, "Invalid agentapi payload structure.", True),
}


def error_response(exc: errors.TaskLogsError) -> tuple[int, ErrorBody]:
    """Status code and body for a domain error; unknown subclasses fall back to their base."""
    for cls in type(exc).__mro__:
        if cls in _RESPONSES:
            status, message, show_detail = _RESPONSES[cls]
            validations = [Validation(field=field, detail=detail) for field, detail in exc.validations]
            return status, ErrorBody(message=message, detail=exc.detail if show_detail else "", validations=validations)
    return 500, ErrorBody(message=INTERNAL_ERROR)


def internal_error() -> tuple[int, ErrorBody]:
    """For bugs: a fixed body, so nothing about the failure leaks."""
    return 500, ErrorBody(message=INTERNAL_ERROR)
