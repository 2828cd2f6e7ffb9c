"""GET /api/v2/tasks/{user}/{task}/transcript (contract §7) and conditional requests on it and on /logs
(§8), end to end: the real handlers, moto server, the fake AgentAPI over loopback. Stored sessions are
made the way production makes them: agent uploads through LogSnapshotFunction, captures at pause."""

import collections
import json
import uuid

import pytest

from devstack.demo.catalogue import (
    ALICE,
    BOB,
    FAILED,
    INITIALIZING,
    PAUSED,
    PENDING,
    RUNNING,
    STOPPING,
    snapshot_envelope,
)
from devstack.demo.fake_agentapi import FakeAgentAPI, Mode, Scenario, conversation
from devstack.generators.events import http_api_event, load_event
from tasklogs_core.adapters.snapshot_store import snapshot_key
from tasklogs_core.domain.transcript import SESSION_SEQ_BLOCK, PageRequest, seq_of
from tests.expected import EXPECTED_TRANSCRIPTS
from tests.helpers import as_logs, item_of, put_task
from tests.integration.test_stream_functions import pause, update
from tests.integration.test_transcript_writes import upload


def get(api, name: str, query: str = "", *, headers: dict | None = None, caller=ALICE):
    route = f"/api/v2/tasks/{caller.username if caller else 'me'}/{name}/transcript"
    return api(http_api_event("GET", route, claims=caller.claims if caller else None, raw_query=query, headers=headers))


def logs(invoke, name: str, *, headers: dict | None = None):
    return invoke(http_api_event("GET", f"/api/v2/tasks/me/{name}/logs", claims=ALICE.claims, headers=headers))


def new_task(aws, fake: FakeAgentAPI, messages: list[dict], state: dict = RUNNING) -> tuple[dict, str]:
    name = f"transcript-{uuid.uuid4().hex[:6]}"
    task = put_task(aws, name, state, agent=fake.agent(name, Scenario(messages=messages)))
    return task, name


def restarted(*turns: str, greeting_of: list[dict]) -> list[dict]:
    """A run of an agent without state persistence: it starts again at id 0 with the same greeting."""
    messages = conversation(*turns)
    messages[0] = {**messages[0], "content": greeting_of[0]["content"]}
    return messages


def seqs(answer) -> list[int]:
    return [entry["seq"] for entry in answer.body["entries"]]


def texts(answer) -> list[str]:
    return [entry["content"] for entry in answer.body["entries"]]


# ---------------------------------------------------------------- events/ (the demo catalogue)


@pytest.mark.parametrize("name", sorted(EXPECTED_TRANSCRIPTS))
def test_every_event_answers_per_contract(transcript, name: str) -> None:
    status, message = EXPECTED_TRANSCRIPTS[name]
    answer = transcript(load_event(name))
    assert answer.status == status, answer.body
    if message is not None:
        assert answer.body["message"] == message
    else:
        assert set(answer.body) >= {"entries", "has_older", "has_newer", "status", "live", "gaps"}


def test_the_demo_task_paused_twice_shows_both_sessions_and_the_gap(transcript, invoke) -> None:
    from devstack.demo.catalogue import TWO_SESSIONS

    first, second = (messages for _, messages in TWO_SESSIONS)
    answer = transcript(load_event("transcript_two_sessions"))
    assert texts(answer) == [m["content"] for m in first + second]
    assert answer.body["gaps"] == [{"after_seq": None, "before_seq": 3, "missing": 3, "reason": "not captured"}]
    assert transcript(load_event("transcript_newer_page")).body["entries"][0]["seq"] == SESSION_SEQ_BLOCK
    assert invoke(load_event("logs_port_rate_limiter")).body == {
        "logs": as_logs(second),
        "snapshot": True,
        "snapshot_at": TWO_SESSIONS[-1][0],
    }
    live = transcript(load_event("transcript_live")).body
    assert live["live"] and live["status"] == "active" and live["entries"][-1]["final"] is False
    down = transcript(load_event("transcript_agent_down")).body
    assert down["entries"] == [] and down["live_error"]["message"] == "Failed to get messages from task app."


# ---------------------------------------------------------------- sessions and seqs


def test_sessions_read_in_order_each_with_its_own_block_of_seqs(handler_env, transcript, fake_agentapi) -> None:
    first = conversation("Add a page", "Added it.")
    task, name = new_task(handler_env, fake_agentapi, first, PAUSED)
    second = restarted("Now add tests", "Added tests.", greeting_of=first)
    assert upload(task, first) == 204
    assert upload(task, second) == 204  # a restarted agent: it repeats only the greeting

    answer = get(transcript, name)
    assert answer.status == 200
    assert seqs(answer) == [0, 1, 2, SESSION_SEQ_BLOCK, SESSION_SEQ_BLOCK + 1, SESSION_SEQ_BLOCK + 2]
    assert [e["session"] for e in answer.body["entries"]] == [1, 1, 1, 2, 2, 2]
    assert texts(answer) == [m["content"] for m in first + second]
    entry = answer.body["entries"][1]
    assert entry == {
        "seq": 1,
        "session": 1,
        "id": 1,
        "content": "Add a page",
        "type": "input",
        "time": first[1]["time"],
        "final": True,
    }
    assert answer.body | {"entries": None} == {
        "entries": None,
        "has_older": False,
        "has_newer": False,
        "status": "paused",
        "live": False,
        "gaps": [],
        "snapshot_at": item_of(handler_env, task["task_id"])["snapshot_at"],  # the newest upload's
    }


def test_a_replayed_history_never_appears_twice(handler_env, transcript, fake_agentapi) -> None:
    """An agent with AgentAPI's state file replays its earlier messages: the same session goes on."""
    first = conversation("Add a page", "Added it.")
    task, name = new_task(handler_env, fake_agentapi, first, PAUSED)
    assert upload(task, first) == 204
    resumed = conversation("Add a page", "Added it.", "Now the footer", "Footer added.")
    assert upload(task, resumed) == 204
    answer = get(transcript, name)
    assert seqs(answer) == [0, 1, 2, 3, 4]
    assert texts(answer) == [m["content"] for m in resumed]


# ---------------------------------------------------------------- pages


def test_pages_walk_the_whole_transcript_both_ways_without_a_seam(handler_env, transcript, fake_agentapi) -> None:
    first = conversation(*[f"turn {i}" for i in range(9)])  # ids 0-9
    second = restarted(*[f"again {i}" for i in range(6)], greeting_of=first)  # ids 0-6
    task, name = new_task(handler_env, fake_agentapi, first, PAUSED)
    assert upload(task, first) == 204
    assert upload(task, second) == 204
    everything = [seq_of(1, m["id"]) for m in first] + [seq_of(2, m["id"]) for m in second]

    newest = get(transcript, name, "limit=4")
    assert seqs(newest) == everything[-4:]
    assert (newest.body["has_older"], newest.body["has_newer"]) == (True, False)

    backwards, cursor = [], None
    while True:
        page = get(transcript, name, "limit=4" + (f"&before={cursor}" if cursor is not None else ""))
        assert page.status == 200 and seqs(page) == sorted(seqs(page))
        backwards = seqs(page) + backwards
        if not page.body["has_older"]:
            break
        cursor = seqs(page)[0]
    assert backwards == everything

    forwards, cursor = [], -1
    while True:
        page = get(transcript, name, f"limit=5&after={cursor}" if cursor >= 0 else "limit=5&before=0")
        if cursor < 0:  # nothing before the first entry; the transcript goes on after it
            assert seqs(page) == [] and page.body["has_newer"] and not page.body["has_older"]
            page = get(transcript, name, "limit=5&after=0")
            forwards = [0]
        forwards += seqs(page)
        if not page.body["has_newer"]:
            break
        cursor = seqs(page)[-1]
    assert forwards == everything

    past_the_end = get(transcript, name, f"after={everything[-1]}")
    assert seqs(past_the_end) == [] and past_the_end.body["has_older"] and not past_the_end.body["has_newer"]


def test_a_page_stops_early_to_stay_under_1_mib(handler_env, transcript, fake_agentapi) -> None:
    from tasklogs_core.adapters import clients
    from tasklogs_core.domain.models import AgentMessage
    from tasklogs_core.services.conversation_writer import keep_in_transcript

    big = "x" * 300_000
    messages = [
        AgentMessage(id=i, content=f"{i}{big}", role="agent" if i % 2 == 0 else "user", time=m["time"])
        for i, m in enumerate(conversation(*["turn"] * 7))
    ]
    task, name = new_task(handler_env, fake_agentapi, [], PAUSED)
    keep_in_transcript(task["task_id"], messages, "2026-11-25T10:00:00.000000Z", repository=clients.task_repository())

    answer = get(transcript, name, "limit=10")
    body = json.dumps(answer.body)
    assert len(body) < 1024 * 1024
    assert seqs(answer) == [5, 6, 7]
    assert answer.body["has_older"]
    # One entry over the limit still comes alone, so a reader always gets past it.
    lone = "y" * (1100 * 1024)
    keep_in_transcript(
        task["task_id"],
        [AgentMessage(id=8, content=lone, role="user", time=messages[0].time)],
        "2026-11-25T10:00:01.000000Z",
        repository=clients.task_repository(),
    )
    assert seqs(get(transcript, name, "limit=10")) == [seq_of(2, 8)]  # it shares no id: a session of its own


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("limit=0", ["limit"]),
        ("limit=1001", ["limit"]),
        ("limit=ten", ["limit"]),
        ("after=-2", ["after"]),
        ("before=1.5", ["before"]),
        ("after=1&before=9", ["after", "before"]),
        ("page=2", ["page"]),
        ("limit=5&limit=6", ["limit"]),
        ("limit=0&after=x&sort=asc", ["limit", "after", "sort"]),
    ],
)
def test_a_bad_query_is_400_naming_each_field(handler_env, transcript, query: str, fields: list[str]) -> None:
    answer = get(transcript, "refactor-auth", query)
    assert answer.status == 400
    assert answer.body["message"] == "Invalid query parameters."
    assert sorted({v["field"] for v in answer.body["validations"]}) == sorted(fields)


@pytest.mark.parametrize(
    ("caller", "name"),
    [(ALICE, "no-such-task"), (BOB, "refactor-auth"), (ALICE, "7a5c0000-0000-4000-8000-999999999999")],
)
def test_missing_or_someone_elses_task_is_404(handler_env, transcript, caller, name: str) -> None:
    answer = get(transcript, name, caller=caller)
    assert (answer.status, answer.body) == (404, {"message": "Resource not found."})


def test_another_users_path_is_404(handler_env, transcript) -> None:
    event = http_api_event("GET", "/api/v2/tasks/bob/refactor-auth/transcript", claims=ALICE.claims)
    assert transcript(event).status == 404


# ---------------------------------------------------------------- gaps


def test_entries_that_were_never_stored_show_as_gaps(handler_env, transcript, fake_agentapi) -> None:
    """Coder's shutdown script sends the last 10 messages: a session whose earlier part was never
    uploaded starts late, and the gap sits before its first entry, after the previous session's last."""
    first = conversation(*[f"turn {i}" for i in range(13)])  # ids 0-13
    second = restarted("again", "done again", "more", greeting_of=first)  # ids 0-3
    task, name = new_task(handler_env, fake_agentapi, first, PAUSED)
    assert upload(task, first[-10:]) == 204  # ids 4-13
    assert upload(task, second[2:]) == 204  # ids 2-3, of a run that shares no id with the first

    whole = get(transcript, name)
    b = SESSION_SEQ_BLOCK
    assert seqs(whole) == [*range(4, 14), b + 2, b + 3]
    late_start = {"after_seq": 13, "before_seq": b + 2, "missing": 2, "reason": "not captured"}
    assert whole.body["gaps"] == [
        {"after_seq": None, "before_seq": 4, "missing": 4, "reason": "not captured"},
        late_start,
    ]
    # A page touching a gap reports it, on either side; one that does not, does not.
    assert get(transcript, name, "after=5&limit=2").body["gaps"] == []
    older = get(transcript, name, f"before={b + 2}&limit=1")
    assert seqs(older) == [13] and older.body["gaps"] == [late_start]
    newer = get(transcript, name, "after=13&limit=1")
    assert seqs(newer) == [b + 2] and newer.body["gaps"] == [late_start]


def test_acp_ids_that_skip_make_no_gaps(handler_env, transcript, fake_agentapi) -> None:
    messages = [{**m, "id": m["id"] * 3 + 1} for m in conversation("a", "b", "c")]
    task, name = new_task(handler_env, fake_agentapi, messages, PAUSED)
    assert upload(task, messages) == 204
    answer = get(transcript, name)
    assert seqs(answer) == [1, 4, 7, 10] and answer.body["gaps"] == []


def test_ids_no_seq_can_place_are_counted_in_gaps_never_dropped(handler_env, transcript, invoke, fake_agentapi) -> None:
    """§7 Ids: any int64 is an agent's id, but a session's seqs hold ids 0 to 2**20 - 1. An id below or
    beyond is kept by the snapshot (and shown by /logs) and counted in a gap at its session's start
    or end, on every page that touches it."""
    b = SESSION_SEQ_BLOCK
    said = conversation("one", "1", "two", "2")
    first = [{**said[0], "id": -1}, *said[:3], {**said[3], "id": b}]  # ids -1, 0, 1, 2, 2**20
    second = conversation("again")  # ids 0-1: another run, sharing no message with the first
    second[0] = {**second[0], "content": "another agent"}
    task, name = new_task(handler_env, fake_agentapi, first, PAUSED)
    assert upload(task, first) == 204
    assert {e["id"] for e in logs(invoke, name).body["logs"]} == {-1, 0, 1, 2, b}

    only = get(transcript, name)
    assert seqs(only) == [0, 1, 2]
    assert only.body["gaps"] == [
        {"after_seq": None, "before_seq": 0, "missing": 1, "reason": "not captured"},
        {"after_seq": 2, "before_seq": None, "missing": 1, "reason": "not captured"},
    ]

    assert upload(task, second) == 204
    both = get(transcript, name)
    assert seqs(both) == [0, 1, 2, b, b + 1]
    between = {"after_seq": 2, "before_seq": b, "missing": 1, "reason": "not captured"}
    assert both.body["gaps"] == [{"after_seq": None, "before_seq": 0, "missing": 1, "reason": "not captured"}, between]
    assert get(transcript, name, "after=1&limit=1").body["gaps"] == [between]
    assert get(transcript, name, f"before={b}&limit=1").body["gaps"] == [between]
    assert get(transcript, name, f"after={b}").body["gaps"] == []


def test_a_live_id_no_seq_can_place_is_counted_in_a_gap(handler_env, transcript, fake_agentapi) -> None:
    said = conversation("one", "1")
    task, name = new_task(handler_env, fake_agentapi, said)
    assert upload(task, said) == 204
    fake_agentapi.scenarios[name].messages = [*said, {**said[-1], "id": 2**40, "content": "far"}]
    answer = get(transcript, name)
    assert answer.body["live"] is True and seqs(answer) == [0, 1, 2]
    assert answer.body["gaps"] == [{"after_seq": 2, "before_seq": None, "missing": 1, "reason": "not captured"}]


def test_a_first_capture_never_shows_its_snapshot_as_the_whole_session(
    handler_env, poller, fake_agentapi, monkeypatch
) -> None:
    """While the capture at pause writes, a reader sees the transcript from before it or from after it,
    never the capture's snapshot (its newest 64 KiB) read as a session from before transcripts, with
    the older messages reported as never captured."""
    from tasklogs_core.adapters.task_repository import TaskRepository
    from tasklogs_core.use_cases.task_transcript import serve_task_transcript

    messages = conversation(*[f"turn {n}: " + "words " * 2_000 for n in range(30)])  # ~360 KB
    task, name = new_task(handler_env, fake_agentapi, messages)
    point_at_snapshot, seen = TaskRepository.point_at_snapshot, []

    def point_then_read(self, *args, **kwargs):
        outcome = point_at_snapshot(self, *args, **kwargs)
        # The moment the task names the capture's snapshot; read here, in the capture's invocation (the
        # local runtime runs one invocation at a time in process).
        served = serve_task_transcript(ALICE.claims, "me", name, PageRequest, if_none_match=None, remaining_ms=10_000)
        seen.append(served.page.model_dump())
        return outcome

    monkeypatch.setattr(TaskRepository, "point_at_snapshot", point_then_read)
    pause(handler_env, poller, task["task_id"])
    assert len(seen) == 1
    assert [e["id"] for e in seen[0]["entries"]] == [m["id"] for m in messages] and seen[0]["gaps"] == []


# ---------------------------------------------------------------- live


def test_the_live_session_is_read_from_the_agent_with_its_last_agent_message_not_final(
    handler_env, transcript, fake_agentapi
) -> None:
    stored = conversation("Add a page", "Adding")
    task, name = new_task(handler_env, fake_agentapi, stored)
    assert upload(task, stored) == 204
    fake_agentapi.scenarios[name].messages = conversation("Add a page", "Added it.", "Now tests", "Writing tes")

    answer = get(transcript, name)
    assert answer.body["status"] == "active" and answer.body["live"] is True
    assert texts(answer)[2:] == ["Added it.", "Now tests", "Writing tes"]
    assert [e["final"] for e in answer.body["entries"]] == [True, True, True, True, False]

    # Following: after the highest final seq, the unfinished message comes again until it is final.
    follow = get(transcript, name, "after=3")
    assert seqs(follow) == [4] and follow.body["entries"][0]["final"] is False
    fake_agentapi.scenarios[name].messages = conversation(
        "Add a page", "Added it.", "Now tests", "Tests written.", "Ok"
    )
    follow = get(transcript, name, "after=3")
    assert texts(follow) == ["Tests written.", "Ok"] and all(e["final"] for e in follow.body["entries"])


def test_a_restarted_live_agent_is_a_new_session_after_the_stored_one(handler_env, transcript, fake_agentapi) -> None:
    first = conversation("Add a page", "Added it.")
    task, name = new_task(handler_env, fake_agentapi, first)
    assert upload(task, first) == 204
    fake_agentapi.scenarios[name].messages = restarted("Start over", greeting_of=first)
    answer = get(transcript, name)
    assert seqs(answer) == [0, 1, 2, SESSION_SEQ_BLOCK, SESSION_SEQ_BLOCK + 1]
    assert answer.body["live"] is True


def test_pages_that_end_before_the_live_session_never_call_the_agent(handler_env, transcript, fake_agentapi) -> None:
    one = conversation("one", "1")
    two = restarted("two", "2", greeting_of=one)
    three = restarted("three", "3", greeting_of=one)
    task, name = new_task(handler_env, fake_agentapi, three)
    for run in (one, two, three):
        assert upload(task, run) == 204
    agent_path = f"/agents/{name}/messages"

    def agent_calls() -> int:
        return sum(1 for _, path in fake_agentapi.requests if path == agent_path)

    before = agent_calls()
    old = get(transcript, name, f"before={seq_of(2, 0)}")
    assert seqs(old) == [0, 1, 2] and old.body["live"] is False
    assert agent_calls() == before
    assert get(transcript, name).body["live"] is True
    assert agent_calls() == before + 1


def test_an_unreachable_agent_leaves_the_stored_entries_and_says_why(handler_env, transcript, fake_agentapi) -> None:
    stored = conversation("Add a page", "Added it.")
    task, name = new_task(handler_env, fake_agentapi, stored)
    assert upload(task, stored) == 204
    fake_agentapi.scenarios[name].mode = Mode.HTTP_ERROR
    answer = get(transcript, name)
    assert answer.status == 200
    assert seqs(answer) == [0, 1, 2] and answer.body["live"] is False
    assert answer.body["live_error"]["message"] == "Failed to get messages from task app."
    assert "HTTP 500" in answer.body["live_error"]["detail"]
    assert all(entry["final"] for entry in answer.body["entries"])


@pytest.mark.parametrize(
    ("state", "status"),
    [
        (FAILED, "error"),
        (STOPPING, "unknown"),
        (PAUSED, "paused"),
        (INITIALIZING, "initializing"),
        (PENDING, "pending"),
    ],
)
def test_stored_history_is_readable_in_every_state(handler_env, transcript, fake_agentapi, state, status) -> None:
    stored = conversation("Add a page", "Added it.")
    task, name = new_task(handler_env, fake_agentapi, stored)
    assert upload(task, stored) == 204
    handler_env.client("dynamodb").update_item(
        TableName=handler_env.table_name,
        Key={"task_id": {"S": task["task_id"]}},
        UpdateExpression="REMOVE build_transition, build_job_status, agent_lifecycle, app_health",
    )
    if state:
        update(handler_env, task["task_id"], **state)
    before = len(fake_agentapi.requests)
    answer = get(transcript, name)
    assert answer.status == 200 and answer.body["status"] == status and seqs(answer) == [0, 1, 2]
    assert "live_error" not in answer.body and len(fake_agentapi.requests) == before  # no agent call


def test_a_page_reads_what_it_shows_not_the_conversation(handler_env, transcript, fake_agentapi, function_log) -> None:
    """Contract §7, Cost: the newest page of six sessions of 300 messages each (two chunks a session)
    reads one header Query and the one chunk its entries are in."""
    first = conversation(*[f"turn {i}" for i in range(299)])
    task, _ = new_task(handler_env, fake_agentapi, first, PAUSED)
    for run in range(6):
        messages = restarted(*[f"run {run} turn {i}" for i in range(299)], greeting_of=first)
        assert upload(task, messages[-200:]) == 204  # ids 100-299: one chunk (256-299) and part of another
    from tasklogs_core.adapters import clients

    clients.reset()  # a container that has read no chunk yet (the writers above shared this one)
    log = function_log("TaskTranscriptFunction")
    answer = get(transcript, task["task_id"], "limit=40")
    assert seqs(answer)[-1] == seq_of(6, 299) and len(seqs(answer)) == 40
    assert calls_of(log) == [("dynamodb", "GetItem"), ("dynamodb", "Query"), ("s3", "GetObject")]
    # The same container again, no write since: the header and the chunk it read are kept.
    again = function_log("TaskTranscriptFunction")
    assert get(transcript, task["task_id"], "limit=40").body == answer.body
    assert calls_of(again) == [("dynamodb", "GetItem")]
    clients.reset()
    older = function_log("TaskTranscriptFunction")
    assert len(seqs(get(transcript, task["task_id"], f"before={seq_of(3, 150)}&limit=40"))) == 40
    # Sessions 3 and 2 only: their headers (one Query of up to four) and the chunks the entries are in.
    reads = [("dynamodb", "GetItem"), ("dynamodb", "Query"), ("dynamodb", "Query"), ("s3", "GetObject")]
    assert sorted(calls_of(older)) == reads


@pytest.mark.parametrize("words", [1, 300], ids=["short: in the headers", "long: in S3"])
def test_a_page_over_many_one_entry_sessions_costs_the_page_not_the_sessions(
    handler_env, transcript, fake_agentapi, function_log, words
) -> None:
    """Contract §7, Cost, for a task of 200 one-entry sessions: a page's header Queries double as its walk
    goes on (a few, not one per four sessions). A short session's chunk is in its header, so that is
    all the page reads; a long one's chunk reads are the sessions it shows, plus at most one Query's
    worth read ahead, side by side."""
    from tasklogs_core.adapters import clients
    from tasklogs_core.domain.models import AgentMessage
    from tasklogs_core.services.conversation_writer import record_messages

    task, _ = new_task(handler_env, fake_agentapi, [], PAUSED)
    in_s3 = words > 1
    for n in range(200):  # a user message no other write agrees with: a session each
        content = f"session {n + 1}" + " words" * (words - 1)
        message = AgentMessage(id=0, content=content, role="user", time="2026-12-03T10:00:00Z")
        record_messages(
            task["task_id"], [message], f"2026-12-03T10:{n // 60:02d}:{n % 60:02d}.000000Z", clients.transcript_store()
        )
        clients.task_repository().count_transcript_write(task["task_id"])

    def page(query: str) -> tuple[list[int], collections.Counter]:
        clients.reset()  # a container that has read no chunk yet
        log = function_log("TaskTranscriptFunction")
        answer = get(transcript, task["task_id"], query)
        assert answer.status == 200
        return [e["session"] for e in answer.body["entries"]], collections.Counter(calls_of(log))

    sessions, calls = page("limit=1000")
    assert sessions == list(range(1, 201))
    # Was 51 Queries and 200 reads in a row.
    assert calls[("s3", "GetObject")] == (200 if in_s3 else 0) and calls[("dynamodb", "Query")] <= 9
    sessions, calls = page("limit=20")
    assert sessions == list(range(181, 201))
    assert calls[("s3", "GetObject")] <= (2 * 20 + 8 if in_s3 else 0) and calls[("dynamodb", "Query")] <= 5


def test_a_container_keeps_the_headers_it_read_until_the_next_write(
    handler_env, transcript, fake_agentapi, function_log
) -> None:
    """A page read again in a warm container costs the task's GetItem alone (the headers and chunks it
    read are kept while the task item names the same last write); any write makes it read again, and
    the reader sees that write."""
    from tasklogs_core.adapters import clients
    from tasklogs_core.domain.models import AgentMessage
    from tasklogs_core.services.conversation_writer import record_messages

    task, _ = new_task(handler_env, fake_agentapi, [], PAUSED)
    said = [AgentMessage(id=0, content=f"session {n + 1}", role="user", time="2026-12-03T10:00:00Z") for n in range(30)]
    for n, message in enumerate(said):
        record_messages(task["task_id"], [message], f"2026-12-03T10:00:{n:02d}.000000Z", clients.transcript_store())
        clients.task_repository().count_transcript_write(task["task_id"])
    clients.reset()

    def page() -> tuple[list[tuple[int, str]], collections.Counter]:
        log = function_log("TaskTranscriptFunction")
        answer = get(transcript, task["task_id"], "limit=1000")
        assert answer.status == 200
        entries = [(e["session"], e["content"]) for e in answer.body["entries"]]
        return entries, collections.Counter(calls_of(log))

    first, calls = page()
    assert first == [(n + 1, f"session {n + 1}") for n in range(30)] and calls[("dynamodb", "Query")] >= 2
    again, calls = page()
    assert again == first and calls == collections.Counter({("dynamodb", "GetItem"): 1})

    # The agent of session 30 answers: its upload continues that session (the newest) ...
    reply = AgentMessage(id=1, content="the reply", role="agent", time="2026-12-03T10:01:00Z")
    record_messages(task["task_id"], [said[-1], reply], "2026-12-03T10:01:00.000000Z", clients.transcript_store())
    clients.task_repository().count_transcript_write(task["task_id"])
    after, calls = page()
    assert after == [*first, (30, "the reply")] and calls[("dynamodb", "Query")] >= 1
    # ... and a restarted agent's first message opens session 31, seen the same way.
    restart = AgentMessage(id=0, content="session 31", role="user", time="2026-12-03T10:02:00Z")
    record_messages(task["task_id"], [restart], "2026-12-03T10:02:00.000000Z", clients.transcript_store())
    clients.task_repository().count_transcript_write(task["task_id"])
    latest, _ = page()
    assert latest == [*after, (31, "session 31")]


# ---------------------------------------------------------------- before transcripts existed


def seed_old_layout(aws, fake: FakeAgentAPI, messages: list[dict], state: dict = PAUSED) -> tuple[dict, str]:
    """A task as an earlier version left it (contract §4): a snapshot object, the item pointing at it, no
    transcript at all."""
    name = f"old-{uuid.uuid4().hex[:6]}"
    task_id = str(uuid.uuid4())
    put = aws.client("s3").put_object(
        Bucket=aws.bucket_name, Key=snapshot_key(task_id), Body=snapshot_envelope(messages)
    )
    task = put_task(
        aws,
        name,
        state,
        task_id=task_id,
        agent=fake.agent(name, Scenario(messages=messages)),
        version=put["VersionId"],
        snapshot_at="2026-11-01T09:00:00.000000Z",
    )
    return task, name


def test_a_snapshot_from_before_transcripts_reads_as_session_1_and_is_kept_by_the_next_write(
    handler_env, transcript, invoke, fake_agentapi
) -> None:
    old = conversation("Add a page", "Added it.")
    task, name = seed_old_layout(handler_env, fake_agentapi, old)
    answer = get(transcript, name)
    assert seqs(answer) == [0, 1, 2] and texts(answer) == [m["content"] for m in old]
    assert logs(invoke, name).body["logs"] == as_logs(old)

    # The next upload shares only the greeting and the first prompt: the old snapshot stays session 1.
    newer = restarted("Something else", greeting_of=old)
    assert upload(task, newer) == 204
    answer = get(transcript, name)
    assert seqs(answer) == [0, 1, 2, SESSION_SEQ_BLOCK, SESSION_SEQ_BLOCK + 1]
    assert texts(answer) == [m["content"] for m in old + newer]
    assert item_of(handler_env, task["task_id"])["transcript_revision"] == 2  # the old snapshot, then the upload


# ---------------------------------------------------------------- /logs: the newest session, whole (§5)


def test_paused_logs_are_the_newest_session_whole_not_its_newest_64_kib(
    handler_env, poller, invoke, fake_agentapi
) -> None:
    long = conversation(*[f"{i} " + "words " * 400 for i in range(60)])  # about 145 KB
    task, name = new_task(handler_env, fake_agentapi, long)
    pause(handler_env, poller, task["task_id"])
    item = item_of(handler_env, task["task_id"])
    answer = logs(invoke, name)
    assert answer.body["logs"] == as_logs(long)
    assert answer.body["snapshot"] is True and answer.body["snapshot_at"] == item["snapshot_at"]


# ---------------------------------------------------------------- conditional requests (§8)


def calls_of(log) -> list[tuple[str, str]]:
    reports = [json.loads(line) for line in log.getvalue().splitlines()]
    [report] = [r for r in reports if r.get("message") == "dependency calls"]
    return [(call["dependency"], call["operation"]) for call in report["calls"]]


@pytest.mark.parametrize("route", ["transcript", "logs"])
def test_a_paused_tasks_304_costs_one_getitem_and_no_s3_read(
    handler_env, transcript, invoke, fake_agentapi, function_log, route: str
) -> None:
    stored = conversation("Add a page", "Added it.")
    task, _ = new_task(handler_env, fake_agentapi, stored, PAUSED)
    assert upload(task, stored) == 204
    api = transcript if route == "transcript" else invoke
    by_uuid = task["task_id"]

    def read(headers=None):
        if route == "transcript":
            return get(api, by_uuid, headers=headers)
        return logs(api, by_uuid, headers=headers)

    first = read()
    etag = first.headers["ETag"]
    assert first.status == 200 and etag.startswith('W/"')
    assert first.headers["Cache-Control"] == "private, no-cache"

    log = function_log("TaskTranscriptFunction" if route == "transcript" else "TaskLogsFunction")
    again = read({"if-none-match": etag})
    assert (again.status, again.body) == (304, None)
    assert again.headers["ETag"] == etag and again.headers["Cache-Control"] == "private, no-cache"
    assert calls_of(log) == [("dynamodb", "GetItem")]

    # Any list naming it, by weak comparison, and `*`, are 304 as well; another tag is not.
    assert read({"if-none-match": f'"other", {etag.removeprefix("W/")}'}).status == 304
    assert read({"if-none-match": "*"}).status == 304
    assert read({"if-none-match": '"other"'}).status == 200

    # A new write changes the body, and so the ETag.
    assert upload(task, conversation("Add a page", "Added it.", "More")) == 204
    changed = read({"if-none-match": etag})
    assert changed.status == 200 and changed.headers["ETag"] != etag


def test_a_transcript_etag_belongs_to_its_page(handler_env, transcript, fake_agentapi) -> None:
    stored = conversation("Add a page", "Added it.")
    task, name = new_task(handler_env, fake_agentapi, stored, PAUSED)
    assert upload(task, stored) == 204
    whole = get(transcript, name).headers["ETag"]
    assert get(transcript, name, "limit=1").headers["ETag"] != whole
    assert get(transcript, name, "limit=1", headers={"if-none-match": whole}).status == 200


@pytest.mark.parametrize("route", ["transcript", "logs"])
def test_an_active_tasks_etag_follows_the_agents_answer(
    handler_env, transcript, invoke, fake_agentapi, route: str
) -> None:
    messages = conversation("Add a page", "Adding")
    _, name = new_task(handler_env, fake_agentapi, messages)

    def read(headers=None):
        return get(transcript, name, headers=headers) if route == "transcript" else logs(invoke, name, headers=headers)

    etag = read().headers["ETag"]
    assert read({"if-none-match": etag}).status == 304
    fake_agentapi.scenarios[name].messages = conversation("Add a page", "Added it.")
    changed = read({"if-none-match": etag})
    assert changed.status == 200 and changed.headers["ETag"] != etag


def test_errors_carry_no_etag(handler_env, transcript, invoke) -> None:
    assert "ETag" not in get(transcript, "no-such-task").headers
    failing = http_api_event("GET", "/api/v2/tasks/me/flaky-build/logs", claims=ALICE.claims)
    answer = invoke(failing)
    assert answer.status == 409 and "ETag" not in answer.headers


# ---------------------------------------------------------------- TRANSCRIPT_SESSION_MAX_BYTES


def test_a_capture_over_the_session_limit_keeps_the_newest_and_reports_the_rest(
    handler_env, poller, transcript, fake_agentapi, monkeypatch
) -> None:
    from tasklogs_core.adapters import clients

    monkeypatch.setenv("TRANSCRIPT_SESSION_MAX_BYTES", str(64 * 1024))
    clients.reset()
    long = conversation(*[f"{i:03d} " + "x" * 4000 for i in range(40)])  # ids 0-40, about 160 KB of content
    task, name = new_task(handler_env, fake_agentapi, long)
    pause(handler_env, poller, task["task_id"])

    answer = get(transcript, name, "limit=1000")
    kept = seqs(answer)
    assert kept == list(range(kept[0], 41)) and 10 < kept[0] < 30
    assert sum(len(text.encode()) for text in texts(answer)) <= 64 * 1024
    assert answer.body["gaps"] == [
        {"after_seq": None, "before_seq": kept[0], "missing": kept[0], "reason": "over size limit"}
    ]
