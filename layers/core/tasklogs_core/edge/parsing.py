"""A request's query, path and body as the use cases take them, typed: a transcript page's query and
an entry's `{seq}`, an upload's query and its body. Each raises the contract's 400 naming what is wrong;
a handler passes them to its use case as callables, so that they run at the step the contract checks
them (a task not found comes before its query is looked at, the body after everything else)."""

from __future__ import annotations

import json
from functools import cache
from urllib.parse import parse_qsl

from pydantic import TypeAdapter, ValidationError

from tasklogs_core.domain.conversation import MAX_UPLOAD_BYTES, role_problem, unknown_role
from tasklogs_core.domain.errors import (
    InvalidPathParameters,
    InvalidPayloadStructure,
    InvalidQueryParameters,
    PayloadDecodeError,
)
from tasklogs_core.domain.models import AgentMessage
from tasklogs_core.domain.transcript import DEFAULT_LIMIT, MAX_LIMIT, PageRequest
from tasklogs_core.domain.validation import first_problem


@cache
def _messages() -> TypeAdapter[list[AgentMessage]]:
    # Built on first use: only the upload needs it, and the transcript function imports this module too.
    return TypeAdapter(list[AgentMessage])


# ---------------------------------------------------------------- the transcript (contract §7 Query)


def _integer(text: str) -> int | None:
    # ASCII digits only, an optional minus: what a Go or JS client writes for an integer.
    body = text[1:] if text.startswith("-") else text
    if not body or not body.isascii() or not body.isdigit() or len(body) > 19:
        return None
    return int(text)


def entry_seq(text: str) -> int:
    """The `{seq}` of .../transcript/entries/{seq}: a seq as a page names it, 0 to 2**53 - 1."""
    seq = _integer(text)
    if seq is None or not 0 <= seq < 2**53:
        detail = f'Path param "seq" must be an integer from 0 to {2**53 - 1}.'
        raise InvalidPathParameters(detail, validations=[("seq", detail)])
    return seq


def page_request(raw_query: str) -> PageRequest:
    """`limit` 1-1000, at most one of `after` (a seq, or -1 for the first page) and `before` (a seq);
    anything else is a 400 naming each bad field (contract §7)."""
    values: dict[str, list[str]] = {}
    for key, value in parse_qsl(raw_query or "", keep_blank_values=True):
        values.setdefault(key, []).append(value)
    problems: list[tuple[str, str]] = []
    parsed: dict[str, int] = {}
    for key, given in values.items():
        if key not in ("limit", "after", "before"):
            problems.append((key, f'Query param "{key}" is not a valid query param.'))
            continue
        if len(given) > 1:
            problems.append((key, f'Query param "{key}" provided more than once, found {len(given)} times.'))
            continue
        number = _integer(given[0])
        # `after=-1` pages from the very first entry: there is no seq below 0 to name.
        low = {"limit": 1, "after": -1, "before": 0}[key]
        high = MAX_LIMIT if key == "limit" else 2**53 - 1
        if number is None or not low <= number <= high:
            problems.append((key, f'Query param "{key}" must be an integer from {low} to {high}.'))
            continue
        parsed[key] = number
    if "after" in values and "before" in values:
        detail = 'Query params "after" and "before" cannot be given together.'
        problems += [("after", detail), ("before", detail)]
    if problems:
        raise InvalidQueryParameters("; ".join(detail for _, detail in problems), validations=problems)
    return PageRequest(limit=parsed.get("limit", DEFAULT_LIMIT), after=parsed.get("after"), before=parsed.get("before"))


# ---------------------------------------------------------------- an upload (contract §6 steps 3 and 5)


def upload_query_problems(raw_query: str) -> tuple[list[tuple[str, str]], str]:
    """Validation problems of an upload's query string, and its `format` value (contract §6 step 3)."""
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


def snapshot_format(raw_query: str) -> str:
    """The upload's `format`, or the 400 naming each bad field."""
    problems, found = upload_query_problems(raw_query)
    if problems:
        raise InvalidQueryParameters(validations=problems)
    return found


def upload_messages(raw: bytes) -> list[AgentMessage]:
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
        parsed = _messages().validate_python(messages)
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
