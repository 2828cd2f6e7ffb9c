"""DynamoDB's conditional writes: a failed condition is an answer (another writer was first, or the
item is gone), any other failure a domain error."""

from __future__ import annotations

from collections.abc import Callable

from botocore.exceptions import BotoCoreError, ClientError

from tasklogs_core.domain.errors import SnapshotStoreError


def conditionally(operation: str, write: Callable[[], object]) -> bool:
    """Run `write`; False when DynamoDB refused it for its condition."""
    try:
        write()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False
        raise SnapshotStoreError(f"{operation} failed: {type(exc).__name__}") from exc
    except BotoCoreError as exc:
        raise SnapshotStoreError(f"{operation} failed: {type(exc).__name__}") from exc
    return True
