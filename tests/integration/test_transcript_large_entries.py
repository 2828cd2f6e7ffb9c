"""Large entries (contract §7): a page never passes 1 MiB, however large one entry is; the entry is sent
cut, marked, and read whole at .../transcript/entries/{seq}: as text up to 5 MiB, else through a
presigned URL. Stored the way production stores them (the capture at pause keeps a session whole, up
to 16 MiB), and invoked through the local Lambda runtime, which fails a result over Lambda's 6 MB as
Lambda does."""

import json

import httpx
import pytest

from devstack.demo.catalogue import ALICE, BOB, PAUSED
from devstack.demo.fake_agentapi import conversation
from devstack.generators.events import http_api_event, load_event
from devstack.runtime import lambda_runtime
from tasklogs_core.domain.transcript import cut_to_fit
from tests.expected import EXPECTED_TRANSCRIPT_ENTRIES, EXPECTED_TRANSCRIPTS
from tests.integration.test_stream_functions import pause
from tests.integration.test_transcript_route import get, new_task

MIB = 1024 * 1024
ESCAPES = "\x1b[0m" * (1_100_000 // 4)  # 1.1 MB of terminal colour codes: 6 bytes in JSON per \x1b


def entry_route(name: str, seq: object, caller=ALICE) -> str:
    return f"/api/v2/tasks/{caller.username}/{name}/transcript/entries/{seq}"


def read_entry(name: str, seq: object, caller=ALICE) -> dict:
    """The raw Lambda result (the body is text, not JSON)."""
    event = http_api_event("GET", entry_route(name, seq, caller), claims=caller.claims)
    return lambda_runtime.invoke("TaskTranscriptFunction", event)


def paused_with(handler_env, poller, fake_agentapi, *turns: str) -> tuple[dict, str, list[dict]]:
    messages = conversation(*turns)
    task, name = new_task(handler_env, fake_agentapi, messages)
    pause(handler_env, poller, task["task_id"])
    return task, name, messages


def page_bytes(transcript, name: str, query: str = "") -> tuple[dict, int]:
    event = http_api_event("GET", f"/api/v2/tasks/alice/{name}/transcript", claims=ALICE.claims, raw_query=query)
    result = lambda_runtime.invoke("TaskTranscriptFunction", event)
    assert result["statusCode"] == 200, result["body"][:500]
    return json.loads(result["body"]), len(result["body"].encode())


# ---------------------------------------------------------------- pages stay under 1 MiB


@pytest.mark.parametrize(
    ("label", "content"),
    [("escape bytes", ESCAPES), ("plain text", "x" * (2 * MIB)), ("non-BMP", "\U0001f600" * 300_000)],
)
def test_a_page_with_one_large_entry_stays_under_1_mib_and_marks_the_entry_cut(
    handler_env, poller, fake_agentapi, transcript, label: str, content: str
) -> None:
    _, name, messages = paused_with(handler_env, poller, fake_agentapi, "Show me the build log", content)
    # A page reading from older entries stops before the large one; the next page starts with it.
    assert [e["id"] for e in page_bytes(transcript, name, "after=-1&limit=1000")[0]["entries"]] == [0, 1]
    for query in ("", "after=1&limit=1000", "before=3"):
        body, size = page_bytes(transcript, name, query)
        assert size < MIB, (label, query, size)
        [large] = [entry for entry in body["entries"] if entry["id"] == 2]
        assert large["truncated"] is True and large["content_bytes"] == len(content.encode())
        assert content.startswith(large["content"]) and len(large["content"]) > 0
        # Cut to fit, not to a token: the page is close to full.
        assert size > MIB - 8192, size
    # The entries around it are whole and say nothing of it; a reader paging back gets past it.
    body, _ = page_bytes(transcript, name, "before=2")
    assert [e["id"] for e in body["entries"]] == [0, 1]
    assert all("truncated" not in e and "content_bytes" not in e for e in body["entries"])
    body, _ = page_bytes(transcript, name, "after=2")
    assert body["entries"] == [] and body["has_older"] is True
    assert messages[2]["content"] == content


def test_a_page_of_many_entries_stops_before_the_large_one(handler_env, poller, fake_agentapi, transcript) -> None:
    _, name, _ = paused_with(handler_env, poller, fake_agentapi, "a", "b" * 900_000, "c", "d" * 900_000)
    body, size = page_bytes(transcript, name, "after=-1")
    assert [e["id"] for e in body["entries"]] == [0, 1, 2, 3] and size < MIB
    assert all("truncated" not in e for e in body["entries"])  # whole entries, and the page stops early
    body, _ = page_bytes(transcript, name, "after=3")
    assert [e["id"] for e in body["entries"]] == [4] and "truncated" not in body["entries"][0]


def test_cut_to_fit_takes_the_longest_start_that_fits() -> None:
    for text in ("plain", "\x00" * 50, "é" * 40, "\U0001f600" * 30, 'a"b\\c' * 20):
        for budget in range(2, 80):
            cut = cut_to_fit(text, budget)
            assert text.startswith(cut) and len(json.dumps(cut)) <= budget
            assert cut == text or len(json.dumps(text[: len(cut) + 1])) > budget


# ---------------------------------------------------------------- the whole entry


def test_every_transcript_event_has_an_expected_answer() -> None:
    from devstack.demo.catalogue import transcript_requests

    assert set(transcript_requests()) == set(EXPECTED_TRANSCRIPTS) | set(EXPECTED_TRANSCRIPT_ENTRIES)


@pytest.mark.parametrize("name", sorted(EXPECTED_TRANSCRIPT_ENTRIES))
def test_every_entry_event_answers_per_contract(handler_env, name: str) -> None:
    from devstack.demo.catalogue import TWO_SESSIONS

    status, message = EXPECTED_TRANSCRIPT_ENTRIES[name]
    result = lambda_runtime.invoke("TaskTranscriptFunction", load_event(name))
    assert result["statusCode"] == status, result["body"]
    if message is None:
        assert result["headers"]["Content-Type"] == "text/plain; charset=utf-8"
        assert result["body"] == TWO_SESSIONS[0][1][0]["content"]  # seq 3: the first entry stored
    else:
        assert json.loads(result["body"])["message"] == message


def test_an_entry_up_to_5_mib_is_answered_whole_as_text(handler_env, poller, fake_agentapi) -> None:
    content = "line of the build log\n" * (4 * MIB // 22)
    _, name, _ = paused_with(handler_env, poller, fake_agentapi, "Show me", content)
    result = read_entry(name, 2)
    assert result["statusCode"] == 200
    assert result["headers"]["Content-Type"] == "text/plain; charset=utf-8"
    assert result["headers"]["X-Content-Type-Options"] == "nosniff"
    assert result["body"] == content and not result.get("isBase64Encoded")
    small = read_entry(name, 1)
    assert small["statusCode"] == 200 and small["body"] == "Show me"


@pytest.mark.parametrize(
    ("label", "content"),
    [
        ("over 5 MiB", "build output, " * (6 * MIB // 14)),
        # At most 5 MiB, but 6 bytes each once serialised: too large for Lambda as text.
        ("escape bytes", "\x1b" * (2 * MIB)),
    ],
)
def test_an_entry_lambda_cannot_carry_is_a_303_to_a_presigned_url_of_it(
    handler_env, poller, fake_agentapi, label: str, content: str
) -> None:
    task, name, _ = paused_with(handler_env, poller, fake_agentapi, "Show me", content)
    result = read_entry(name, 2)
    assert result["statusCode"] == 303, (label, result["body"][:200])
    location = result["headers"]["Location"]
    assert "X-Amz-Expires=300" in location and f"transcripts/{task['task_id']}/entries/2/" in location
    fetched = httpx.get(location, timeout=30)
    assert fetched.status_code == 200 and fetched.text == content
    assert fetched.headers["content-type"] == "text/plain; charset=utf-8"
    # The copy is made once and tagged for the lifecycle rule that expires copies.
    s3 = handler_env.client("s3")
    listed = s3.list_object_versions(Bucket=handler_env.bucket_name, Prefix=f"transcripts/{task['task_id']}/entries/")
    assert len(listed["Versions"]) == 1
    assert read_entry(name, 2)["headers"]["Location"].split("?")[0] == location.split("?")[0]
    key = listed["Versions"][0]["Key"]
    tags = s3.get_object_tagging(Bucket=handler_env.bucket_name, Key=key)["TagSet"]
    assert tags == [{"Key": "tasklogs-copy", "Value": "entry"}]


def test_a_live_entry_is_read_from_the_agent(handler_env, fake_agentapi) -> None:
    content = "still typing " * 200_000
    messages = conversation("Go on", content)
    _, name = new_task(handler_env, fake_agentapi, messages)  # running: nothing stored yet
    result = read_entry(name, 2)
    assert result["statusCode"] == 200 and result["body"] == content


@pytest.mark.parametrize(
    ("seq", "status", "message"),
    [
        ("abc", 400, "Invalid path parameters."),
        ("-1", 400, "Invalid path parameters."),
        ("1.5", 400, "Invalid path parameters."),
        (str(2**53), 400, "Invalid path parameters."),
        ("99", 404, "Resource not found."),
        ("1048576", 404, "Resource not found."),
    ],
)
def test_a_seq_that_names_no_entry_is_a_clear_error(
    handler_env, fake_agentapi, seq: str, status: int, message: str
) -> None:
    task, name = new_task(handler_env, fake_agentapi, conversation("Hello"), PAUSED)
    from tests.integration.test_transcript_writes import upload

    assert upload(task, conversation("Hello")) == 204
    result = read_entry(name, seq)
    assert result["statusCode"] == status
    body = json.loads(result["body"])
    assert body["message"] == message
    if status == 400:
        assert [v["field"] for v in body["validations"]] == ["seq"]


def test_someone_elses_entry_is_not_found(handler_env, fake_agentapi) -> None:
    task, name = new_task(handler_env, fake_agentapi, conversation("Hello"), PAUSED)
    from tests.integration.test_transcript_writes import upload

    assert upload(task, conversation("Hello")) == 204
    assert read_entry(name, 0)["statusCode"] == 200
    for ref in (name, task["task_id"]):  # by name in bob's tasks, by UUID: not his either way
        result = read_entry(ref, 0, caller=BOB)
        assert result["statusCode"] == 404 and json.loads(result["body"])["message"] == "Resource not found."


def test_pages_and_entries_before_and_after_agree(handler_env, poller, fake_agentapi, transcript) -> None:
    """Every entry of a page, read whole, is the content the page sent (whole or its start)."""
    _, name, messages = paused_with(handler_env, poller, fake_agentapi, "one", "two " * 400_000, "three")
    answer = get(transcript, name, "after=-1&limit=1000")
    seen = list(answer.body["entries"])
    while answer.body["has_newer"]:
        answer = get(transcript, name, f"after={seen[-1]['seq']}&limit=1000")
        seen += answer.body["entries"]
    assert [e["id"] for e in seen] == [m["id"] for m in messages]
    for entry, message in zip(seen, messages, strict=True):
        whole = read_entry(name, entry["seq"])["body"]
        assert whole == message["content"] and whole.startswith(entry["content"])
        assert ("truncated" in entry) == (entry["content"] != whole)


# ---------------------------------------------------------------- through the local front


def test_through_the_front_a_large_entry_is_a_page_under_1_mib_and_a_url_for_the_whole(
    handler_env, poller, fake_agentapi
) -> None:
    """As a client sees it: API Gateway's stand-in, each function in its own container, each result held
    to Lambda's limit (the page of the 6.6 MB entry was a 500 there before it was cut)."""
    from devstack.runtime.front import LocalApiGateway

    escapes_only = "\x1b" * (2 * MIB)  # 12 MiB as JSON text: only a URL carries it
    _, name, _ = paused_with(handler_env, poller, fake_agentapi, "Show me", ESCAPES, escapes_only)
    front = LocalApiGateway(port=0).start()
    try:
        with httpx.Client(base_url=front.url, headers={"Authorization": f"Bearer {ALICE.token}"}, timeout=60) as client:
            for before in (3, 4):
                page = client.get(f"/api/v2/tasks/me/{name}/transcript", params={"before": before})
                assert page.status_code == 200 and len(page.content) < MIB
                assert page.json()["entries"][-1]["truncated"] is True
            whole = client.get(f"/api/v2/tasks/me/{name}/transcript/entries/2")
            assert whole.status_code == 200 and whole.text == ESCAPES  # 2.5 MB as JSON text: it fits
            whole = client.get(f"/api/v2/tasks/me/{name}/transcript/entries/3", follow_redirects=True)
            assert whole.status_code == 200 and whole.text == escapes_only
            assert [r.status_code for r in whole.history] == [303]
    finally:
        front.stop()
