"""Client text rules: lone surrogates, NUL, and exactly the UUID forms Go's uuid.Parse accepts."""

import io
import json
import logging
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tasklogs_core.adapters.observability import new_logger
from tasklogs_core.domain.text import clean_text, parse_uuid, well_formed

CANONICAL = "7a5c0000-0000-4000-8000-00000000ab0f"


@pytest.mark.parametrize(
    "text",
    [
        CANONICAL,
        CANONICAL.upper(),
        "{" + CANONICAL + "}",
        "urn:uuid:" + CANONICAL,
        "URN:UUID:" + CANONICAL.upper(),
        "UrN:uUiD:" + CANONICAL,
        CANONICAL.replace("-", ""),
        "{" + CANONICAL.upper() + "}",
    ],
)
def test_the_forms_go_accepts(text: str) -> None:
    assert parse_uuid(text) == CANONICAL


@pytest.mark.parametrize(
    "text",
    [
        "{{" + CANONICAL + "}}",
        "uuid:" + CANONICAL,
        "urn:" + CANONICAL,
        "urn:uuid:" + CANONICAL.replace("-", ""),
        "{" + CANONICAL.replace("-", "") + "}",
        "(" + CANONICAL + ")",
        "{" + CANONICAL,
        CANONICAL + "}",
        CANONICAL.replace("-", "")[:12] + "-" + CANONICAL.replace("-", "")[12:],
        "7a5c-0000" + CANONICAL[9:],
        CANONICAL.replace("a", "\uff41"),
        CANONICAL.replace("0", "\uff10"),
        CANONICAL.replace("0", "\u0660"),
        CANONICAL[:-1],
        CANONICAL + "0",
        " " + CANONICAL,
        CANONICAL + "\n",
        CANONICAL.replace("-", "_"),
        "g" + CANONICAL[1:],
        "",
        "me",
        "urn:uuid:" + CANONICAL + "}",
        "{urn:uuid:" + CANONICAL + "}",
    ],
)
def test_everything_else_is_not_a_uuid(text: str) -> None:
    # Python's uuid.UUID takes most of these; Go's uuid.Parse (and so Coder) takes none.
    assert parse_uuid(text) is None


@given(st.uuids())
def test_every_uuid_in_every_accepted_spelling(value: uuid.UUID) -> None:
    text = str(value)
    for spelling in (text, text.upper(), "{" + text + "}", "urn:uuid:" + text, value.hex):
        assert parse_uuid(spelling) == text


@given(st.text(max_size=50))
def test_whatever_parse_uuid_takes_python_takes_to_the_same_value(text: str) -> None:
    parsed = parse_uuid(text)
    if parsed is not None:
        assert str(uuid.UUID(text)) == parsed


def test_each_lone_surrogate_becomes_one_u_fffd() -> None:
    assert well_formed("a\ud800b\udfff\ud83d") == "a\ufffdb\ufffd\ufffd"
    assert well_formed("caf\u00e9 \U0001f600") == "caf\u00e9 \U0001f600"
    assert clean_text("a\x00\udc80") == "a\ufffd\ufffd"


@given(st.text(alphabet=st.characters(codec=None), max_size=50))
def test_well_formed_text_always_encodes(text: str) -> None:
    well_formed(text).encode()


def test_a_log_line_quoting_a_lone_surrogate_is_written() -> None:
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="utf-8", write_through=True)  # strict, as Lambda's stdout
    logger = new_logger(service="test", logger_handler=logging.StreamHandler(stream))
    logger.warning("odd \ud800 input", extra={"detail": "x\udfffy"})
    line = json.loads(raw.getvalue())
    assert (line["message"], line["detail"]) == ("odd \ufffd input", "x\ufffdy")
