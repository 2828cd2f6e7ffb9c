"""Domain exceptions. They say what went wrong; the HTTP edge (http_errors) decides what the client sees."""

from tasklogs_core.domain.text import well_formed


class TaskLogsError(Exception):
    """Base class; `detail` is safe to show to the caller. Details often quote what the client sent, so
    they are made well-formed here, once: an error body or log line can then always be encoded."""

    def __init__(self, detail: str = "", validations: list[tuple[str, str]] | None = None) -> None:
        detail = well_formed(detail)
        super().__init__(detail)
        self.detail = detail
        # (field, detail) pairs for the response's `validations`
        self.validations = [(well_formed(field), well_formed(text)) for field, text in validations or []]


class Unauthenticated(TaskLogsError):
    """No verified identity on the request."""


# ---- the user authorizer's (contract §2): API Gateway answers for it, so they never reach the HTTP edge


class TokenError(Exception):
    """Base class of the authorizer's errors; `detail` is for its log, never for the caller."""

    def __init__(self, detail: str) -> None:
        detail = well_formed(detail)
        super().__init__(detail)
        self.detail = detail


class InvalidUserToken(TokenError):
    """A user token that does not verify: its signature, issuer, audience, expiry or shape."""


class SigningKeysUnavailable(TokenError):
    """The issuer's signing keys could not be fetched: no token can be verified until they can."""


class TaskNotFound(TaskLogsError):
    """Missing, deleted, or someone else's task: always indistinguishable to the caller."""


class EntryNotFound(TaskLogsError):
    """A transcript seq that names no entry of the task (§7, large entries)."""


class PageNotFound(TaskLogsError):
    """A path under the web viewer that names none of its files."""


class TaskStateConflict(TaskLogsError):
    """The task's status allows neither live logs nor a snapshot."""

    def __init__(self, status: str) -> None:
        super().__init__(f'Task status is "{status}".')
        self.status = status


class TaskAppUrlNotConfigured(TaskLogsError):
    """The task item has no usable `agentapi_url` (none, or not http or https)."""


class TaskAppUnavailable(TaskLogsError):
    """AgentAPI unreachable, non-2xx, not JSON, or not the documented schema."""


class InvalidTaskAppResponse(TaskLogsError):
    """AgentAPI answered with a message role we cannot map."""


class TaskAppTimeout(TaskLogsError):
    """AgentAPI did not answer within the request deadline."""


# The agent's failures: a reader that can go on without the agent (a transcript page) reports them, and
# the capture at pause, which may find the agent gone, logs and counts them.
AGENT_FAILURES = (TaskAppUnavailable, TaskAppTimeout, TaskAppUrlNotConfigured, InvalidTaskAppResponse)


class SnapshotDecodeError(TaskLogsError):
    """The stored snapshot is not JSON, or its `data` is not an object."""


class UnsupportedSnapshotFormat(TaskLogsError):
    """A stored snapshot's `format` is not `agentapi`."""

    def __init__(self, found: str) -> None:
        super().__init__(f'Expected format "agentapi", got "{found}".')
        self.found = found


class InvalidSnapshotData(TaskLogsError):
    """A stored snapshot message has a bad role or shape."""


class SnapshotFetchError(TaskLogsError):
    """The item names a snapshot, but the object cannot be read."""


class StorageError(TaskLogsError):
    """DynamoDB failed in a way the caller cannot fix (throttling, 5xx, permissions)."""


class SecretScanFailed(TaskLogsError):
    """The secret scanner failed on some content, which is then neither stored nor served."""


class TaskListTooLarge(TaskLogsError):
    """The caller has more tasks than one list answer reads (§9: the list is bounded)."""


class SnapshotStoreError(StorageError):
    """S3 or DynamoDB failed while storing a snapshot; nothing the caller sent was wrong."""


# ---- the snapshot upload's client errors (contract §6), in the order they are checked


class InvalidTaskId(TaskLogsError):
    """`{task}` is not a UUID."""


class InvalidQueryParameters(TaskLogsError):
    """A query the route does not take: for an upload, `format` missing or empty or another parameter;
    for the task list, a bad `q`; for a transcript page, a bad `limit`, `after` or `before`."""


class InvalidPathParameters(TaskLogsError):
    """A path parameter the route cannot take: for a transcript entry, a `{seq}` that is not a seq."""


class InvalidSnapshotFormat(TaskLogsError):
    """An upload's `format` is not `agentapi`."""

    def __init__(self, found: str) -> None:
        super().__init__(f'Only "agentapi" format is currently supported, got "{found}".')


class PayloadDecodeError(TaskLogsError):
    """The body is too large, not JSON, or not AgentAPI's messages shape."""


class InvalidPayloadStructure(TaskLogsError):
    """The body is a JSON object without a `messages` array."""
