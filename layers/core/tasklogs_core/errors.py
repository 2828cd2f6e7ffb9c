"""Domain exceptions. They say what went wrong; error_responses decides what the client sees."""


class TaskLogsError(Exception):
    """Base class; `detail` is safe to show to the caller."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail)
        self.detail = detail


class Unauthenticated(TaskLogsError):
    """No verified identity on the request."""


class TaskNotFound(TaskLogsError):
    """Missing, deleted, or someone else's task: always indistinguishable to the caller."""


class TaskStateConflict(TaskLogsError):
    """The task's status allows neither live logs nor a snapshot."""

    def __init__(self, status: str) -> None:
        super().__init__(f'Task status is "{status}".')
        self.status = status


class TaskAppUrlNotConfigured(TaskLogsError):
    """The task item has no usable agentapi_url."""


class TaskAppUnavailable(TaskLogsError):
    """AgentAPI unreachable, non-2xx, not JSON, or not the documented schema."""


class InvalidTaskAppResponse(TaskLogsError):
    """AgentAPI answered with a message role we cannot map."""


class TaskAppTimeout(TaskLogsError):
    """AgentAPI did not answer within the request deadline."""


class SnapshotDecodeError(TaskLogsError):
    """The stored snapshot is not JSON, or its `data` is not an object."""


class UnsupportedSnapshotFormat(TaskLogsError):
    def __init__(self, found: str) -> None:
        super().__init__(f'Expected format "agentapi", got "{found}".')
        self.found = found


class InvalidSnapshotData(TaskLogsError):
    """A stored snapshot message has a bad role or shape."""


class SnapshotFetchError(TaskLogsError):
    """The item names a snapshot, but the object cannot be read."""


class StorageError(TaskLogsError):
    """DynamoDB failed in a way the caller cannot fix (throttling, 5xx, permissions)."""
