"""POST /api/v2/workspaceagents/me/tasks/{task}/log-snapshot (contract §6): who may upload, and what
an upload must look like. Checks run in the contract's order; the body is looked at only in step 5."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from pydantic import TypeAdapter, ValidationError

from tasklogs_core.conversation import MAX_UPLOAD_BYTES, SNAPSHOT_FORMAT, unknown_role
from tasklogs_core.errors import (
    InvalidPayloadStructure,
    InvalidQueryParameters,
    InvalidSnapshotFormat,
    InvalidTaskId,
    PayloadDecodeError,
    TaskNotFound,
    Unauthenticated,
)
from tasklogs_core.models import AgentMessage
from tasklogs_core.text import parse_uuid, well_formed

if TYPE_CHECKING:
    from tasklogs_core.task_repository import TaskRepository

_messages = TypeAdapter(list[AgentMessage])
# Base64 of MAX_UPLOAD_BYTES, rounded up: a longer encoded body cannot decode to an allowed size.
_MAX_BASE64_CHARS = 4 * -(-MAX_UPLOAD_BYTES // 3)


@dataclass(frozen=True)
class UploadTarget:
    task_id: str
    agent_token_sha256: str


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def agent_token(headers: Mapping[str, str]) -> str | None:
    """`Coder-Session-Token`, else `Authorization: Bearer <token>` (API Gateway lowercases names)."""
    lowered = {key.lower(): value for key, value in headers.items()}
    token = well_formed(lowered.get("coder-session-token") or "").strip()
    if token:
        return token
    scheme, _, credentials = well_formed(lowered.get("authorization") or "").strip().partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None


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
    for key in sorted({key for key, _ in pairs} - {"format"}):
        problems.append((key, f'Query param "{key}" is not a valid query param'))
    return problems, fmt


def authorize_upload(
    repository: TaskRepository, headers: Mapping[str, str], task_ref: str, raw_query: str
) -> UploadTarget:
    """Steps 1-4 of contract §6, in that order."""
    task_ref, raw_query = well_formed(task_ref), well_formed(raw_query or "")
    token = agent_token(headers)
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
    if not owns_task:
        raise TaskNotFound()
    return UploadTarget(task_id=task_id, agent_token_sha256=token_hash)


def request_body(event: Mapping[str, Any]) -> bytes:
    """The raw request body of an HTTP API event; API Gateway base64-encodes bodies it deems binary."""
    body = event.get("body")
    if body is None:
        return b""
    if event.get("isBase64Encoded"):
        if len(body) > _MAX_BASE64_CHARS:
            raise PayloadDecodeError(f"The request body is larger than {MAX_UPLOAD_BYTES} bytes.")
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise PayloadDecodeError("The request body is not valid base64.") from None
    if len(body) > MAX_UPLOAD_BYTES:  # every character is at least one byte
        raise PayloadDecodeError(f"The request body is larger than {MAX_UPLOAD_BYTES} bytes.")
    # A lone surrogate (from a \ud800 escape in the event) is kept as bytes; parse_upload replaces it.
    return body.encode("utf-8", "surrogatepass")


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
        error = exc.errors(include_url=False, include_input=False)[0]
        where = "messages" + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"])
        raise PayloadDecodeError(f"{where}: {error['msg']}.") from None
    if (found := unknown_role(parsed)) is not None:
        index, message = found
        raise PayloadDecodeError(f'messages[{index}].role: must be "user" or "agent", got "{message.role}".')
    return parsed


def _not_json(constant: str) -> None:
    raise ValueError(f"{constant} is not a JSON value")


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    return {list: "an array", str: "a string", int: "a number", float: "a number", dict: "an object"}.get(
        type(value), "null"
    )
