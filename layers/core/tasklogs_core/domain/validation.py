"""The one way a pydantic validation failure is put into words for people: where (as a JSON path,
`messages[2].role`) and what (pydantic's message). Only the first problem is named, as Coder does."""

from pydantic import ValidationError


def json_path(root: str, loc: tuple[int | str, ...]) -> str:
    """`root` followed by `loc` in JSON path form: indexes in brackets, keys after dots."""
    path = root + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)
    return path.lstrip(".") or "body"


def first_problem(failure: ValidationError, root: str = "") -> tuple[str, str]:
    """(where, what) of the first error; `root` names what was validated (`messages`)."""
    error = failure.errors(include_url=False, include_input=False)[0]
    return json_path(root, error["loc"]), error["msg"]
