"""Lambda's 6 MB response limit: as is, gzip, or the newest entries that fit (issue: payload limits)."""

import base64
import gzip
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tasklogs_core.domain.models import LogEntry, TaskLogsResponse
from tasklogs_core.edge.response_size import (
    BODY_LIMIT,
    LAMBDA_RESPONSE_LIMIT,
    OMITTED_HEADER,
    accepts_gzip,
    escaped_size,
    fit_logs_response,
)


def logs(count: int, content: str) -> TaskLogsResponse:
    return TaskLogsResponse(
        logs=[
            LogEntry(id=i, content=f"{i}:{content}", type="output", time="2026-11-25T04:31:04Z") for i in range(count)
        ]
    )


def lambda_result_size(body: str, headers: dict) -> int:
    """The handler result as the Lambda runtime serialises it."""
    return len(
        json.dumps(
            {
                "statusCode": 200,
                "headers": {"Content-Type": "application/json", **headers},
                "body": body,
                "isBase64Encoded": False,
                "cookies": [],
            }
        )
    )


@given(st.text(alphabet=st.characters(codec="utf-8")))
def test_escaped_size_is_what_json_dumps_makes(text: str) -> None:
    assert escaped_size(text.encode()) == len(json.dumps(text))


@pytest.mark.parametrize(
    "text", ["", "plain", '"\\\b\f\n\r\t', "\x00\x01\x1f\x7f", "é€😀", "日本語", "\x80\u07ff\u0800\uffff\U00010000"]
)
def test_escaped_size_for_each_kind_of_character(text: str) -> None:
    assert escaped_size(text.encode()) == len(json.dumps(text))


@pytest.mark.parametrize(
    ("header", "ok"),
    [
        ("gzip", True),
        ("gzip, deflate, br", True),
        ("br;q=1.0, gzip;q=0.8", True),
        ("*", True),
        ("gzip;q=0", False),
        ("identity", False),
        ("", False),
        (None, False),
        ("gzip;q=x", False),
    ],
)
def test_accept_encoding(header: str | None, ok: bool) -> None:
    assert accepts_gzip(header) is ok


def test_small_responses_go_as_they_are() -> None:
    response = logs(3, "hello")
    fitted = fit_logs_response(response, gzip_ok=True)
    assert (fitted.text(), fitted.is_base64, fitted.headers, fitted.omitted_entries) == (
        response.to_ascii_json().decode(),
        False,
        {},
        0,
    )


@pytest.mark.parametrize(
    "content", ["x" * 100_000, '"quoted" \\ ' * 10_000, "日本語のテキスト" * 12_000, "😀" * 40_000]
)
def test_without_gzip_the_newest_entries_that_fit_are_kept(content: str) -> None:
    response = logs(100, content)
    assert escaped_size(response.to_ascii_json()) > LAMBDA_RESPONSE_LIMIT
    fitted = fit_logs_response(response, gzip_ok=False)
    kept = json.loads(fitted.text())["logs"]
    assert kept and kept[-1]["id"] == 99 and [e["id"] for e in kept] == list(range(100 - len(kept), 100))
    assert fitted.headers == {OMITTED_HEADER: str(100 - len(kept))}
    assert lambda_result_size(fitted.text(), fitted.headers) <= LAMBDA_RESPONSE_LIMIT
    # ...and as many as fit: one more would not.
    one_more = logs(100, content).model_copy(update={"logs": response.logs[100 - len(kept) - 1 :]}).to_ascii_json()
    assert escaped_size(one_more) > BODY_LIMIT


def test_with_gzip_everything_is_sent_compressed() -> None:
    response = logs(100, "x" * 100_000)
    fitted = fit_logs_response(response, gzip_ok=True)
    assert fitted.is_base64 and fitted.headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(base64.b64decode(fitted.text()))) == json.loads(response.to_ascii_json().decode())
    assert fitted.omitted_entries == 0 and lambda_result_size(fitted.text(), fitted.headers) <= LAMBDA_RESPONSE_LIMIT


def test_gzip_that_is_still_too_big_is_cut_too() -> None:
    import random

    rng = random.Random(7)
    noise = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(200_000))  # compresses badly
    response = logs(60, noise)
    fitted = fit_logs_response(response, gzip_ok=True)
    assert fitted.is_base64 and 0 < fitted.omitted_entries < 60
    kept = json.loads(gzip.decompress(base64.b64decode(fitted.text())))["logs"]
    assert kept[-1]["id"] == 59 and lambda_result_size(fitted.text(), fitted.headers) <= LAMBDA_RESPONSE_LIMIT


def test_a_single_entry_too_big_for_any_response_leaves_an_empty_list_and_says_so() -> None:
    fitted = fit_logs_response(logs(1, "x" * 7_000_000), gzip_ok=False)
    assert json.loads(fitted.text()) == {"logs": []} and fitted.headers == {OMITTED_HEADER: "1"}
