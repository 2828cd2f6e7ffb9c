import re
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from tasklogs_core.domain.models import AgentMessage, AgentMessages, LogEntry, TaskLogsResponse

VALID_TIMES = [
    "2026-11-25T10:00:00Z",
    "2026-11-25T10:00:00.1Z",
    "2026-11-25T10:00:00.123456789Z",
    "2026-11-25t10:00:00.5z",
    "2026-11-25T10:00:00.123456789+05:30",
    "2026-11-25T10:00:00-08:00",
    "2024-02-29T23:59:59.999999999Z",
    "2026-01-31T00:00:00+23:59",
    "2000-02-29T12:00:00Z",
]
INVALID_TIMES = [
    "2026-11-25 10:00:00Z",  # RFC 3339's T (lower or upper case) only
    "2026-11-25T10:00:00",  # no offset
    "2026-11-25T10:00:00.1234567890Z",  # ten fractional digits
    "2026-13-25T10:00:00Z",
    "2026-02-30T10:00:00Z",
    "2026-11-25T24:00:00Z",
    "2026-11-25T10:00:00+25:00",
    "2026-11-25T10:00:00+05:60",
    "2026-04-31T10:00:00Z",
    "2025-02-29T10:00:00Z",
    "1900-02-29T10:00:00Z",
    "0000-01-01T10:00:00Z",
    "2026-11-25T10:60:00Z",
    "2026-11-25T10:00:60Z",
    "٢٠٢٦-11-25T10:00:00Z",  # digits, but not ASCII ones
    "yesterday",
    "",
]


@pytest.mark.parametrize("value", VALID_TIMES)
def test_rfc3339_times_are_kept_exactly(value: str) -> None:
    message = AgentMessage.model_validate({"id": 1, "content": "x", "role": "agent", "time": value})
    assert message.time == value


@pytest.mark.parametrize("value", INVALID_TIMES)
def test_non_rfc3339_times_are_rejected(value: str) -> None:
    with pytest.raises(ValidationError):
        AgentMessage.model_validate({"id": 1, "content": "x", "role": "agent", "time": value})


def _is_rfc3339(value: str) -> bool:
    """Reference: every field read and checked by the calendar, as RFC 3339 (and Go) define them."""
    m = re.fullmatch(
        r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]{1,9})?"
        r"(?:[Zz]|[+-]([0-9]{2}):([0-9]{2}))",
        value,
    )
    if not m:
        return False
    try:
        datetime(*(int(g) for g in m.groups()[:6]))
    except ValueError:
        return False
    return m.group(8) is None or (int(m.group(8)) <= 23 and int(m.group(9)) <= 59)


_two = st.one_of(st.integers(0, 31), st.integers(0, 99)).map("{:02d}".format)  # mostly in range, some not
_year = st.one_of(st.sampled_from([0, 1900, 2000, 2024, 2025]), st.integers(0, 9999)).map("{:04d}".format)


@given(_year, _two, _two, _two, _two, _two, st.sampled_from(["Z", "+", "-"]), _two, _two)
def test_the_time_check_agrees_with_reading_every_field(year, month, day, hour, minute, second, zone, oh, om) -> None:
    value = f"{year}-{month}-{day}T{hour}:{minute}:{second}" + (zone if zone == "Z" else f"{zone}{oh}:{om}")
    try:
        AgentMessage.model_validate({"id": 1, "content": "x", "role": "agent", "time": value})
        accepted = True
    except ValidationError:
        accepted = False
    assert accepted == _is_rfc3339(value)


@pytest.mark.parametrize(
    ("field", "value"), [("id", "1"), ("id", 1.5), ("id", True), ("content", 5), ("role", None), ("time", 0)]
)
def test_message_fields_are_strictly_typed(field: str, value: object) -> None:
    message = {"id": 1, "content": "x", "role": "agent", "time": "2026-11-25T10:00:00Z", field: value}
    with pytest.raises(ValidationError):
        AgentMessage.model_validate(message)


def test_schema_key_and_unknown_keys_are_ignored() -> None:
    body = (
        b'{"$schema":"http://x/schemas/MessagesResponseBody.json","extra":1,"messages":'
        b'[{"id":0,"content":"hi","role":"agent","time":"2026-11-25T10:00:00Z","new_field":true}]}'
    )
    parsed = AgentMessages.model_validate_json(body)
    assert [m.model_dump() for m in parsed.messages] == [
        {"id": 0, "content": "hi", "role": "agent", "time": "2026-11-25T10:00:00Z"}
    ]


def test_response_leaves_out_snapshot_fields_when_live() -> None:
    live = TaskLogsResponse(logs=[LogEntry(id=0, content="a", type="output", time="2026-11-25T10:00:00Z")])
    assert (
        live.to_ascii_json().decode()
        == '{"logs":[{"id":0,"content":"a","type":"output","time":"2026-11-25T10:00:00Z"}]}'
    )
    assert TaskLogsResponse(logs=[], snapshot=True).to_ascii_json().decode() == '{"logs":[],"snapshot":true}'
    assert (
        TaskLogsResponse(logs=[], snapshot=True, snapshot_at="2026-11-25T10:00:00Z").to_ascii_json().decode()
        == '{"logs":[],"snapshot":true,"snapshot_at":"2026-11-25T10:00:00Z"}'
    )
