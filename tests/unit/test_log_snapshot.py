"""Contract §6 pieces that need no AWS: token headers, the query check, body decoding (step 5)."""

import base64
import json

import pytest

from tasklogs_core.domain.conversation import MAX_UPLOAD_BYTES
from tasklogs_core.domain.errors import InvalidPayloadStructure, PayloadDecodeError
from tasklogs_core.edge.parsing import upload_messages, upload_query_problems
from tasklogs_core.edge.requests import agent_token, request_body
from tasklogs_core.use_cases.log_snapshot import token_sha256

MESSAGE = {"id": 0, "content": "hi", "role": "agent", "time": "2026-11-25T04:31:04.123456789Z"}


@pytest.mark.parametrize(
    ("headers", "token"),
    [
        ({"coder-session-token": "abc"}, "abc"),
        ({"Coder-Session-Token": " abc "}, "abc"),
        ({"authorization": "Bearer abc"}, "abc"),
        ({"authorization": "bearer abc"}, "abc"),
        ({"coder-session-token": "first", "authorization": "Bearer second"}, "first"),
        ({"authorization": "Basic abc"}, None),
        ({"authorization": "Bearer "}, None),
        ({"coder-session-token": ""}, None),
        ({}, None),
    ],
)
def test_agent_token_comes_from_either_header(headers: dict, token: str | None) -> None:
    assert agent_token(headers) == token


def test_token_hash_is_lowercase_hex_sha256() -> None:
    assert token_sha256("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


@pytest.mark.parametrize(
    ("query", "fields", "fmt"),
    [
        ("format=agentapi", [], "agentapi"),
        ("format=asciinema", [], "asciinema"),
        ("", ["format"], ""),
        ("format=", ["format"], ""),
        ("format=agentapi&limit=10", ["limit"], "agentapi"),
        ("limit=10&z=1", ["format", "limit", "z"], ""),
        ("format=agentapi&format=other", [], "agentapi"),
    ],
)
def test_query_problems_name_each_field(query: str, fields: list[str], fmt: str) -> None:
    problems, found = upload_query_problems(query)
    assert [field for field, _ in problems] == fields
    assert found == fmt


def test_query_problem_details_match_coder() -> None:
    problems, _ = upload_query_problems("x=1")
    assert dict(problems) == {
        "format": 'Query param "format" is required and cannot be empty',
        "x": 'Query param "x" is not a valid query param',
    }


def test_agentapi_messages_answer_is_accepted_as_is() -> None:
    body = json.dumps({"$schema": "http://localhost:3284/schemas/MessagesResponseBody.json", "messages": [MESSAGE]})
    [message] = upload_messages(body.encode())
    assert message.model_dump() == MESSAGE


def test_empty_messages_are_a_snapshot() -> None:
    assert upload_messages(b'{"messages": []}') == []


@pytest.mark.parametrize("body", [b'{"truncated": false}', b'{"messages": null}', b"null"])
def test_missing_messages_is_a_structure_error(body: bytes) -> None:
    with pytest.raises(InvalidPayloadStructure) as caught:
        upload_messages(body)
    assert caught.value.detail == 'Missing required "messages" field.'


AGENT_MESSAGE_REST = b'"content": "", "role": "agent", "time": "2026-11-25T04:31:04Z"'


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"", "not valid JSON"),
        (b"{invalid json", "not valid JSON"),
        (b"[]", "must be a JSON object, not an array"),
        (b'"messages"', "must be a JSON object, not a string"),
        (b'{"messages": {}}', '"messages" must be an array, not an object'),
        (
            b'{"messages": [{"id": "0", "content": "", "role": "agent", "time": "2026-11-25T04:31:04Z"}]}',
            "messages[0].id",
        ),
        (b'{"messages": [{"id": 0, "role": "agent", "time": "2026-11-25T04:31:04Z"}]}', "messages[0].content"),
        (b'{"messages": [{"id": 0, "content": "", "role": "agent", "time": "yesterday"}]}', "messages[0].time"),
        (
            b'{"messages": [{"id": 0, "content": "", "role": "system", "time": "2026-11-25T04:31:04Z"}]}',
            'messages[0].role: must be "user" or "agent", got "system"',
        ),
        (b'{"messages": []}\xff', "not valid JSON"),
        # Go's decoder refuses a number written as a float for an int64, however whole.
        (
            b'{"messages": [{"id": 1e2, "content": "", "role": "agent", "time": "2026-11-25T04:31:04Z"}]}',
            "messages[0].id",
        ),
        (
            b'{"messages": [{"id": 1.0, "content": "", "role": "agent", "time": "2026-11-25T04:31:04Z"}]}',
            "messages[0].id",
        ),
        # Nested past what the parser can follow (Go's decoder stops at 10,000 levels too).
        (b'{"messages": [], "x": ' + b"[" * 10_000 + b"]" * 10_000 + b"}", "nested too deeply"),
    ],
)
def test_undecodable_bodies_say_why(body: bytes, detail: str) -> None:
    with pytest.raises(PayloadDecodeError) as caught:
        upload_messages(body)
    assert detail in caught.value.detail


def _padded(size: int) -> bytes:
    """A valid upload of exactly `size` bytes."""
    skeleton = json.dumps({"messages": [{**MESSAGE, "content": ""}]})
    padded = json.dumps({"messages": [{**MESSAGE, "content": "x" * (size - len(skeleton))}]}).encode()
    assert len(padded) == size
    return padded


def test_64_kib_is_the_limit_to_the_byte() -> None:
    assert len(upload_messages(_padded(MAX_UPLOAD_BYTES))) == 1
    with pytest.raises(PayloadDecodeError, match="larger than 65536 bytes"):
        upload_messages(_padded(MAX_UPLOAD_BYTES + 1))


def test_request_body_decodes_base64_and_caps_before_decoding() -> None:
    raw = _padded(MAX_UPLOAD_BYTES)
    assert request_body({"body": base64.b64encode(raw).decode(), "isBase64Encoded": True}) == raw
    with pytest.raises(PayloadDecodeError, match="larger than"):
        request_body({"body": "A" * 100_000, "isBase64Encoded": True})
    with pytest.raises(PayloadDecodeError, match="not valid base64"):
        request_body({"body": "not base64!", "isBase64Encoded": True})
    with pytest.raises(PayloadDecodeError, match="larger than"):
        request_body({"body": "x" * (MAX_UPLOAD_BYTES + 1), "isBase64Encoded": False})


@pytest.mark.parametrize("body", [5, ["a"], {"messages": []}, True])
def test_a_hand_made_event_whose_body_is_not_text_is_a_decode_error(body: object) -> None:
    for encoded in (False, True):
        with pytest.raises(PayloadDecodeError, match="not text"):
            request_body({"body": body, "isBase64Encoded": encoded})
    assert request_body({"isBase64Encoded": False}) == b""


def test_invalid_utf8_and_nul_in_messages_are_replaced_not_refused() -> None:
    body = (
        b'{"messages": [{"id": 0, "content": "caf\xe9 \\u0000 ok", "role": "agent", "time": "2026-11-25T04:31:04Z"}]}'
    )
    [message] = upload_messages(body)
    assert message.content == "caf\ufffd \ufffd ok"


def test_a_lone_surrogate_in_a_text_body_is_replaced() -> None:
    raw = request_body(
        {"body": '{"messages": [{"id": 0, "content": "\ud800", "role": "agent", "time": "2026-11-25T04:31:04Z"}]}'}
    )
    assert "\ufffd" in upload_messages(raw)[0].content
