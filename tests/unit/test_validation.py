"""The one wording of a validation failure: a JSON path, then pydantic's message."""

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from tasklogs_core.domain.validation import first_problem, json_path


class Message(BaseModel):
    id: int
    role: str


@pytest.mark.parametrize(
    ("root", "loc", "path"),
    [
        ("messages", (2, "role"), "messages[2].role"),
        ("messages", (), "messages"),
        ("", ("messages", 0, "id"), "messages[0].id"),
        ("", (), "body"),
    ],
)
def test_json_path(root: str, loc: tuple, path: str) -> None:
    assert json_path(root, loc) == path


def test_only_the_first_problem_is_named() -> None:
    with pytest.raises(ValidationError) as raised:
        TypeAdapter(list[Message]).validate_python([{"id": 1, "role": "user"}, {"id": "x", "role": 5}])
    assert first_problem(raised.value, "messages") == (
        "messages[1].id",
        "Input should be a valid integer, unable to parse string as an integer",
    )
