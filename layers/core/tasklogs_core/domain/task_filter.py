"""The task list's `q` filter in Coder's search syntax (contract §9): space-separated `key:value` terms,
values optionally in double quotes, the whole query case-insensitive. Terms without a key name the
owner, as in Coder. `owner` and `status` are honoured; any other key is refused."""

from dataclasses import dataclass

from tasklogs_core.domain.errors import InvalidQueryParameters
from tasklogs_core.domain.status import TaskStatus

KNOWN_KEYS = ("owner", "status")


@dataclass(frozen=True)
class TaskFilter:
    owner: str | None = None  # `me`, a username or a user id, as written
    status: TaskStatus | None = None


def _split(text: str, delimiter: str) -> list[str]:
    """`text` cut at each `delimiter` outside double quotes; empty pieces dropped (Go's FieldsFunc)."""
    pieces: list[str] = []
    current: list[str] = []
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == delimiter and not quoted:
            pieces.append("".join(current))
            current = []
        else:
            current.append(char)
    pieces.append("".join(current))
    return [piece for piece in pieces if piece]


def _refuse(field: str, detail: str) -> InvalidQueryParameters:
    return InvalidQueryParameters(detail, validations=[(field, detail)])


def parse_task_filter(query: str) -> TaskFilter:
    terms: dict[str, list[str]] = {}
    tokens = _split(query.lower(), " ")
    keyed = [token for token in tokens if ":" in token]
    bare = [token for token in tokens if ":" not in token]
    for element in keyed + ([" ".join(bare)] if bare else []):
        if element.startswith(":") or element.endswith(":"):
            raise _refuse("q", f"Query element {element!r} cannot start or end with ':'.")
        parts = [part.strip('"') for part in _split(element, ":")]
        if len(parts) > 2:
            raise _refuse("q", f"Query element {element!r} can only contain 1 ':'.")
        key, value = parts if len(parts) == 2 else ("owner", parts[0])
        terms.setdefault(key, []).append(value)
    for key, values in terms.items():
        if key not in KNOWN_KEYS:
            raise _refuse(key, f'Query param "{key}" is not a valid query param.')
        if len(values) > 1:
            raise _refuse(key, f'Query param "{key}" provided more than once, found {len(values)} times.')
    status = terms.get("status", [""])[0]  # an empty value filters nothing, as in Coder
    if status and status not in {member.value for member in TaskStatus}:
        valid = ", ".join(TaskStatus)
        raise _refuse("status", f'Query param "status" has invalid value "{status}": expected one of {valid}.')
    return TaskFilter(owner=terms.get("owner", [""])[0] or None, status=TaskStatus(status) if status else None)
