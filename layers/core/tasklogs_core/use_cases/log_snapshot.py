"""The LogSnapshotFunction's use case, POST /api/v2/workspaceagents/me/tasks/{task}/log-snapshot
(contract §6): who may upload and what an upload must look like; the conversation writer stores it
(services/conversation_writer.py, shared with the capture at pause). Checks run in the contract's
order; the body is read only in step 5.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import TypeAdapter, ValidationError

from tasklogs_core.adapters import clients
from tasklogs_core.adapters.observability import logger, metrics
from tasklogs_core.adapters.task_repository import PointerUpdate
from tasklogs_core.domain.conversation import MAX_UPLOAD_BYTES, SNAPSHOT_FORMAT, role_problem, unknown_role
from tasklogs_core.domain.errors import (
    InvalidPayloadStructure,
    InvalidQueryParameters,
    InvalidSnapshotFormat,
    InvalidTaskId,
    PayloadDecodeError,
    TaskNotFound,
    Unauthenticated,
)
from tasklogs_core.domain.models import AgentMessage, TaskItem
from tasklogs_core.domain.text import parse_uuid, well_formed
from tasklogs_core.domain.validation import first_problem
from tasklogs_core.services.conversation_writer import store_snapshot, write_or_defer

if TYPE_CHECKING:
    from tasklogs_core.adapters.task_repository import TaskRepository

_messages = TypeAdapter(list[AgentMessage])


@dataclass(frozen=True)
class UploadRequest:
    """An upload as the HTTP edge received it; the body is read only when step 5 comes."""

    token: str | None  # the agent's token from its headers, if it sent one
    task_ref: str  # the `{task}` path segment
    raw_query: str
    read_body: Callable[[], bytes]


def upload_log_snapshot(request: UploadRequest) -> None:
    """Steps 1-6 of contract §6: the upload stored as the task's snapshot, or a TaskLogsError."""
    repository = clients.task_repository()
    target = authorize_upload(repository, request.token, request.task_ref, request.raw_query)
    logger.append_keys(task_id=target.task_id)
    messages = parse_upload(request.read_body())
    stored = store_snapshot(
        target.task_id,
        messages,
        repository=repository,
        store=clients.snapshot_store(),
        agent_token_sha256=target.agent_token_sha256,
    )
    if stored.outcome is PointerUpdate.TASK_GONE:  # deleted (or handed to another agent) meanwhile
        raise TaskNotFound()
    write_or_defer(target.task_id, messages, stored, repository=repository, before=target.task)
    logger.info(
        "log snapshot stored",
        extra={
            "outcome": stored.outcome.value,
            "snapshot_at": stored.snapshot_at,
            "messages": len(messages),
            "size_bytes": stored.size_bytes,
        },
    )
    metrics.add_metric(name="SnapshotUploads", unit=MetricUnit.Count, value=1)
    if stored.outcome is PointerUpdate.SUPERSEDED:
        metrics.add_metric(name="SnapshotUploadsSuperseded", unit=MetricUnit.Count, value=1)


@dataclass(frozen=True)
class UploadTarget:
    task_id: str
    agent_token_sha256: str
    task: TaskItem  # as found before this upload


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _same_hash(expected: str | None, actual: str) -> bool:
    return expected is not None and hmac.compare_digest(expected.encode(), actual.encode())


def _query_problems(raw_query: str) -> tuple[list[tuple[str, str]], str]:
    """Validation problems of the query string, and the `format` value (contract §6 step 3)."""
    pairs = parse_qsl(raw_query or "", keep_blank_values=True)
    problems = []
    values = [value for key, value in pairs if key == "format"]
    fmt = values[0] if values else ""
    if not fmt:
        problems.append(("format", 'Query param "format" is required and cannot be empty'))
    problems += [
        (key, f'Query param "{key}" is not a valid query param') for key in sorted({k for k, _ in pairs} - {"format"})
    ]
    return problems, fmt


def authorize_upload(repository: TaskRepository, token: str | None, task_ref: str, raw_query: str) -> UploadTarget:
    """Steps 1-4 of contract §6, in that order."""
    task_ref, raw_query = well_formed(task_ref), well_formed(raw_query or "")
    if token is None:
        raise Unauthenticated("no agent token")
    token_hash = token_sha256(token)
    task_id = parse_uuid(task_ref)
    # The common case needs one consistent read: the agent names its own, live task.
    task = repository.get(task_id) if task_id is not None else None
    owns_task = task is not None and not task.is_deleted and _same_hash(task.agent_token_sha256, token_hash)
    # Step 1: a valid token is one of some task that is not deleted.
    if not owns_task and not repository.agent_token_in_use(token_hash):
        raise Unauthenticated("unknown agent token")
    # Step 2.
    if task_id is None:
        raise InvalidTaskId(f'"{task_ref}" is not a UUID.')
    # Step 3.
    problems, fmt = _query_problems(raw_query)
    if problems:
        raise InvalidQueryParameters(validations=problems)
    if fmt != SNAPSHOT_FORMAT:
        raise InvalidSnapshotFormat(fmt)
    # Step 4: missing, deleted and other agents' tasks look the same.
    if not owns_task or task is None:
        raise TaskNotFound()
    return UploadTarget(task_id=task_id, agent_token_sha256=token_hash, task=task)


def parse_upload(raw: bytes) -> list[AgentMessage]:
    """Step 5 of contract §6: at most 64 KiB of JSON, an object with a `messages` array of AgentAPI
    messages. Extra keys (`$schema` from AgentAPI's own /messages answer) are ignored."""
    if len(raw) > MAX_UPLOAD_BYTES:
        raise PayloadDecodeError(f"The request body is larger than {MAX_UPLOAD_BYTES} bytes.")
    try:
        # Invalid UTF-8 becomes U+FFFD, as Coder's (Go) decoder does; lone surrogate escapes in message
        # text become U+FFFD too (AgentMessage), and NaN/Infinity are refused: Go clients could not
        # decode them from the logs.
        payload = json.loads(raw.decode("utf-8", errors="replace"), parse_constant=_not_json)
    except ValueError as exc:
        raise PayloadDecodeError(f"The request body is not valid JSON: {exc}.") from None
    except RecursionError:
        raise PayloadDecodeError("The request body is nested too deeply.") from None
    # Like Coder: JSON null decodes to an empty payload, which has no messages.
    if payload is not None and not isinstance(payload, dict):
        raise PayloadDecodeError(f"The request body must be a JSON object, not {_json_type(payload)}.")
    messages = (payload or {}).get("messages")
    if messages is None:
        raise InvalidPayloadStructure('Missing required "messages" field.')
    if not isinstance(messages, list):
        raise PayloadDecodeError(f'"messages" must be an array, not {_json_type(messages)}.')
    try:
        parsed = _messages.validate_python(messages)
    except ValidationError as exc:
        where, problem = first_problem(exc, "messages")
        raise PayloadDecodeError(f"{where}: {problem}.") from None
    if (found := unknown_role(parsed)) is not None:
        index, message = found
        raise PayloadDecodeError(f"messages[{index}].role: {role_problem(message)}.")
    return parsed


def _not_json(constant: str) -> None:
    raise ValueError(f"{constant} is not a JSON value")


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    return {list: "an array", str: "a string", int: "a number", float: "a number", dict: "an object"}.get(
        type(value), "null"
    )
