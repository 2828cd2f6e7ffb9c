"""The task list's `q` in Coder's search syntax (contract §9; coderd/searchquery's Tasks)."""

import pytest

from tasklogs_core.domain.errors import InvalidQueryParameters
from tasklogs_core.domain.status import TaskStatus
from tasklogs_core.domain.task_filter import TaskFilter, parse_task_filter


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", TaskFilter()),
        ("   ", TaskFilter()),
        ("owner:me", TaskFilter(owner="me")),
        ('owner:"me"', TaskFilter(owner="me")),
        ('owner:"me" status:"paused"', TaskFilter(owner="me", status=TaskStatus.PAUSED)),
        ("OWNER:Alice STATUS:Active", TaskFilter(owner="alice", status=TaskStatus.ACTIVE)),
        ("alice", TaskFilter(owner="alice")),  # a term without a key names the owner
        ("status:error  alice", TaskFilter(owner="alice", status=TaskStatus.ERROR)),
        ('owner:""', TaskFilter()),  # an empty value filters nothing, as in Coder
        ("status:", None),
        ('owner:"a b"', TaskFilter(owner="a b")),  # quoted spaces stay one value
    ],
)
def test_filters_parse_as_coder_parses_them(query: str, expected: TaskFilter | None) -> None:
    if expected is None:
        with pytest.raises(InvalidQueryParameters):
            parse_task_filter(query)
    else:
        assert parse_task_filter(query) == expected


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("template:go", "template"),
        ("organization:default", "organization"),
        ("has-ai-task:true", "has-ai-task"),
        ("status:done", "status"),
        ("owner:me owner:bob", "owner"),
        ("alice owner:bob", "owner"),  # the bare term is an owner too
        ("a:b:c", "q"),
        (":me", "q"),
    ],
)
def test_bad_filters_name_the_field_at_fault(query: str, field: str) -> None:
    with pytest.raises(InvalidQueryParameters) as raised:
        parse_task_filter(query)
    assert [name for name, _ in raised.value.validations] == [field]
