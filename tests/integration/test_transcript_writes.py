"""Transcript writes (contract §7; docs/transcripts.md) end to end on moto server: the agent's upload
and the capture at pause add to the task's transcript sessions, matched as §7 says; racing writers
lose nothing; deleting the task deletes every session and every chunk version (§10)."""

import json
import threading
import uuid

import pytest

from devstack.demo.catalogue import ALICE, PAUSED, RUNNING, upload_path
from devstack.demo.fake_agentapi import FakeAgentAPI, Scenario, conversation
from devstack.generators.events import http_api_event
from devstack.runtime import lambda_runtime
from tasklogs_core.adapters.snapshot_store import snapshot_key
from tasklogs_core.adapters.transcript_store import CHUNK_IDS, transcript_prefix
from tests.helpers import item_of, put_task
from tests.integration.test_stream_functions import pause, update


@pytest.fixture
def transcripts(handler_env):
    from tasklogs_core.adapters import clients

    return clients.transcript_store()


def sessions(transcripts, task_id: str) -> list[dict[int, tuple[str, str]]]:
    """Every stored session of the task, oldest first: id → (role, content)."""
    headers = list(reversed(transcripts.newest_sessions(task_id, 100)))
    return [
        {i: (m.message.role, m.message.content) for i, m in transcripts.read_chunks(task_id, h, h.chunks).items()}
        for h in headers
    ]


def as_session(messages: list[dict]) -> dict[int, tuple[str, str]]:
    return {m["id"]: (m["role"], m["content"]) for m in messages}


def agent_task(aws, fake: FakeAgentAPI, messages: list[dict]) -> tuple[dict, str]:
    name = f"transcript-{uuid.uuid4().hex[:6]}"
    task = put_task(aws, name, RUNNING, agent=fake.agent(name, Scenario(messages=messages)))
    return task, name


def upload(task: dict, messages: list[dict]) -> int:
    event = http_api_event(
        "POST",
        upload_path(task["task_id"]),
        claims=None,
        headers={"coder-session-token": f"agent-token-{task['name']}", "content-type": "application/json"},
        raw_query="format=agentapi",
        body=json.dumps({"messages": messages}),
    )
    return lambda_runtime.invoke("LogSnapshotFunction", event)["statusCode"]


def chunk_versions(aws, task_id: str) -> list[dict]:
    listing = aws.client("s3").list_object_versions(Bucket=aws.bucket_name, Prefix=transcript_prefix(task_id))
    return [*listing.get("Versions", []), *listing.get("DeleteMarkers", [])]


def test_an_upload_starts_the_transcript_as_session_1(handler_env, transcripts, fake_agentapi) -> None:
    messages = conversation("Add a page", "Added it.")
    task, _ = agent_task(handler_env, fake_agentapi, messages)
    assert upload(task, messages) == 204
    assert sessions(transcripts, task["task_id"]) == [as_session(messages)]


def test_the_capture_keeps_the_whole_conversation_the_snapshot_only_its_newest_64_kib(
    handler_env, poller, transcripts, fake_agentapi
) -> None:
    turns = [f"turn {n}: " + "words " * 2_000 for n in range(30)]  # ~360 KB
    messages = conversation(*turns)
    task, _ = agent_task(handler_env, fake_agentapi, messages)
    pause(handler_env, poller, task["task_id"])
    [session] = sessions(transcripts, task["task_id"])
    assert session == as_session(messages)  # all 31, where the snapshot kept the newest few


def test_a_replayed_history_continues_its_session_a_restarted_agent_starts_another(
    handler_env, poller, transcripts, fake_agentapi
) -> None:
    first = conversation("Add a page", "Added it.")
    task, name = agent_task(handler_env, fake_agentapi, first)
    pause(handler_env, poller, task["task_id"])
    # Resumed with AgentAPI's state file: the earlier messages first, then new ones.
    replayed = conversation("Add a page", "Added it.", "Now tests", "Tests added.")
    fake_agentapi.scenarios[name].messages = replayed
    update(handler_env, task["task_id"], **RUNNING)
    poller.drain()
    pause(handler_env, poller, task["task_id"])
    assert sessions(transcripts, task["task_id"]) == [as_session(replayed)]
    # Resumed without it: the agent numbers from 0 again, with other messages.
    fresh = conversation("Write the docs", "Docs written.")
    fake_agentapi.scenarios[name].messages = fresh
    update(handler_env, task["task_id"], **RUNNING)
    poller.drain()
    pause(handler_env, poller, task["task_id"])
    assert sessions(transcripts, task["task_id"]) == [as_session(replayed), as_session(fresh)]


def test_a_partial_upload_and_the_whole_capture_make_one_session(
    handler_env, poller, transcripts, fake_agentapi
) -> None:
    messages = conversation(*(f"turn {n}" for n in range(20)))
    task, _ = agent_task(handler_env, fake_agentapi, messages)
    assert upload(task, messages[-10:]) == 204  # the shutdown script sends only the last 10
    [partial] = sessions(transcripts, task["task_id"])
    assert sorted(partial) == list(range(11, 21))
    pause(handler_env, poller, task["task_id"])
    assert sessions(transcripts, task["task_id"]) == [as_session(messages)]


def test_an_older_write_never_replaces_a_newer_one_but_adds_what_it_alone_has(handler_env, transcripts) -> None:
    from tasklogs_core.adapters import clients
    from tasklogs_core.domain.models import AgentMessage
    from tasklogs_core.services.conversation_writer import keep_in_transcript

    task = put_task(handler_env, f"order-{uuid.uuid4().hex[:6]}", RUNNING)
    newer = [AgentMessage(id=0, content="hi", role="agent", time="2026-11-25T10:00:00Z"),
             AgentMessage(id=1, content="final answer", role="agent", time="2026-11-25T10:00:09Z")]  # fmt: skip
    older = [AgentMessage(id=0, content="hi", role="agent", time="2026-11-25T10:00:00Z"),
             AgentMessage(id=1, content="draft", role="agent", time="2026-11-25T10:00:05Z"),
             AgentMessage(id=2, content="only here", role="user", time="2026-11-25T10:00:06Z")]  # fmt: skip
    repository = clients.task_repository()
    keep_in_transcript(task["task_id"], newer, "2026-11-25T10:00:10.000000Z", repository=repository)
    keep_in_transcript(task["task_id"], older, "2026-11-25T10:00:07.000000Z", repository=repository)
    [session] = sessions(transcripts, task["task_id"])
    assert session == {0: ("agent", "hi"), 1: ("agent", "final answer"), 2: ("user", "only here")}


def test_a_long_session_is_split_into_chunks_of_consecutive_ids(handler_env, transcripts) -> None:
    from tasklogs_core.adapters import clients
    from tasklogs_core.domain.models import AgentMessage
    from tasklogs_core.services.conversation_writer import keep_in_transcript

    task = put_task(handler_env, f"chunks-{uuid.uuid4().hex[:6]}", RUNNING)
    messages = [
        AgentMessage(id=i, content=f"m{i}", role="agent" if i % 2 == 0 else "user", time="2026-11-25T10:00:00Z")
        for i in range(2 * CHUNK_IDS + 10)
    ]
    header = keep_in_transcript(
        task["task_id"], messages, "2026-11-25T10:00:00.000000Z", repository=clients.task_repository()
    )
    assert sorted(header.chunks) == [0, 1, 2]
    assert [header.chunks[c].count for c in (0, 1, 2)] == [CHUNK_IDS, CHUNK_IDS, 10]
    assert len(sessions(transcripts, task["task_id"])[0]) == 2 * CHUNK_IDS + 10


def test_short_chunks_are_held_in_the_header_while_it_has_room(handler_env, transcripts) -> None:
    """A chunk of at most INLINE_CHUNK_BYTES is also copied into its session's header item (in an
    attribute readers of earlier versions leave alone) until the header's copies, as the item stores
    them (escaped once more), reach INLINE_HEADER_BYTES. Every chunk is in S3 all the same, so an
    earlier version, or a rollback, reads them there. Either way the session reads back exactly."""
    from tasklogs_core.adapters import clients
    from tasklogs_core.adapters.transcript_store import INLINE_CHUNK_BYTES, INLINE_HEADER_BYTES
    from tasklogs_core.domain.models import AgentMessage
    from tasklogs_core.services.conversation_writer import record_messages

    task = put_task(handler_env, f"inline-{uuid.uuid4().hex[:6]}", RUNNING)
    # Ids that skip (an ACP agent's): each message alone in its chunk. Quotes, backslashes and control
    # characters take the most room once escaped twice.
    tricky = '"\\\x00\n' * 30 + "✻"
    said = [
        AgentMessage(id=CHUNK_IDS * n, content=f"{n} {tricky}", role="user", time="2026-11-25T10:00:00Z")
        for n in range(60)
    ]
    said.append(
        AgentMessage(id=CHUNK_IDS * 60, content="x" * 2 * INLINE_CHUNK_BYTES, role="user", time="2026-11-25T10:00:00Z")
    )
    written = record_messages(task["task_id"], said, "2026-11-25T10:00:00.000000Z", clients.transcript_store())
    assert written is not None
    inline = {index for index, ref in written.header.chunks.items() if ref.body is not None}
    assert inline == set(range(len(inline))) and 10 < len(inline) < 60  # the first ones, while room lasts
    held = sum(len(json.dumps(written.header.chunks[index].body, ensure_ascii=False).encode()) for index in inline)
    assert INLINE_HEADER_BYTES - INLINE_CHUNK_BYTES * 2 < held <= INLINE_HEADER_BYTES
    in_s3 = {version["Key"] for version in chunk_versions(handler_env, task["task_id"])}
    assert len(in_s3) == 61 and 60 not in inline  # the long one is never copied
    [stored] = sessions(transcripts, task["task_id"])
    assert stored == {m.id: (m.role, m.content) for m in said}
    # As a reader of an earlier version reads it: the chunk list alone, each chunk from S3.
    [item] = handler_env.client("dynamodb").query(
        TableName=handler_env.transcripts_table_name,
        KeyConditionExpression="task_id = :task",
        ExpressionAttributeValues={":task": {"S": task["task_id"]}},
    )["Items"]
    s3 = handler_env.client("s3")
    earlier = {}
    for index, version, count, _ in json.loads(item["chunks"]["S"]):
        key = f"transcripts/{task['task_id']}/000001/{index:06d}.json"
        body = json.loads(s3.get_object(Bucket=handler_env.bucket_name, Key=key, VersionId=version)["Body"].read())
        assert len(body["entries"]) == count
        earlier.update({e["id"]: (e["role"], e["content"]) for e in body["entries"]})
    assert earlier == stored


def test_racing_writers_lose_nothing_and_the_newest_write_of_each_id_wins(handler_env, transcripts) -> None:
    """50 writers at once on one session, as an agent's conversation grows around a pause: each sends a
    window of it (the shutdown script's last 10, or everything), its newest agent message as the agent
    had it then (AgentAPI rewrites its last message in place). The ground truth: the union of ids, each
    with the content of its newest writer; one session."""
    from tasklogs_core.adapters import clients
    from tasklogs_core.domain.models import AgentMessage
    from tasklogs_core.services.conversation_writer import keep_in_transcript

    def role(i: int) -> str:
        return "agent" if i % 2 == 0 else "user"

    def window(n: int) -> list[int]:
        # The conversation at writer n's moment: around one pause, every window overlapping what was
        # stored before it (a window sharing no id with the session would start another, §7).
        end = 12 + n % 10
        return list(range(end)) if n % 5 == 0 else list(range(end - 10, end))

    task = put_task(handler_env, f"race-{uuid.uuid4().hex[:6]}", RUNNING)
    repository = clients.task_repository()
    first = [AgentMessage(id=i, content=f"id {i}", role=role(i), time="2026-11-25T10:00:00Z") for i in range(12)]
    keep_in_transcript(task["task_id"], first, "2026-11-25T09:59:59.000000Z", repository=repository)
    writes = []
    for n in range(50):
        at = f"2026-11-25T10:00:{n:02d}.000000Z"
        ids = window(n)
        writes.append(
            (
                [
                    AgentMessage(
                        id=i,
                        content=f"id {i} (writer {n})" if i == ids[-1] and role(i) == "agent" else f"id {i}",
                        role=role(i),
                        time=at,
                    )
                    for i in ids
                ],
                at,
            )
        )
    errors: list[BaseException] = []

    def write(messages, at) -> None:
        try:
            assert keep_in_transcript(task["task_id"], messages, at, repository=repository) is not None
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=w) for w in writes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    expected = {i: (role(i), f"id {i}") for i in range(12)}
    for messages, _at in sorted(writes, key=lambda w: w[1]):
        for m in messages:
            expected[m.id] = (m.role, m.content)
    assert sessions(transcripts, task["task_id"]) == [expected]
    # Every version a lost race put was removed again: what the header names is each chunk's current one.
    [header] = transcripts.newest_sessions(task["task_id"], 10)
    listing = handler_env.client("s3").list_object_versions(
        Bucket=handler_env.bucket_name, Prefix=transcript_prefix(task["task_id"])
    )
    current = {v["Key"]: v["VersionId"] for v in listing.get("Versions", []) if v["IsLatest"]}
    assert sorted(current.values()) == sorted(ref.version for ref in header.chunks.values())


def test_deleting_a_task_deletes_every_session_and_every_chunk_version(
    handler_env, poller, transcripts, fake_agentapi
) -> None:
    messages = conversation("Add a page", "Added it.")
    task, name = agent_task(handler_env, fake_agentapi, messages)
    assert upload(task, messages[:2]) == 204
    pause(handler_env, poller, task["task_id"])
    fake_agentapi.scenarios[name].messages = conversation("Something else")
    update(handler_env, task["task_id"], **RUNNING)
    poller.drain()
    pause(handler_env, poller, task["task_id"])
    assert len(sessions(transcripts, task["task_id"])) == 2 and len(chunk_versions(handler_env, task["task_id"])) >= 3
    update(handler_env, task["task_id"], deleted_at="2026-11-25T12:00:00Z")
    poller.drain()
    assert transcripts.newest_sessions(task["task_id"], 10) == []
    assert chunk_versions(handler_env, task["task_id"]) == []


def test_a_write_whose_task_was_deleted_meanwhile_leaves_nothing_behind(handler_env, transcripts) -> None:
    from tasklogs_core.adapters import clients
    from tasklogs_core.domain.models import AgentMessage
    from tasklogs_core.services.conversation_writer import keep_in_transcript

    task = put_task(handler_env, f"gone-{uuid.uuid4().hex[:6]}", RUNNING, extra={"deleted_at": "2026-11-25T12:00:00Z"})
    message = AgentMessage(id=0, content="late", role="agent", time="2026-11-25T10:00:00Z")
    assert (
        keep_in_transcript(
            task["task_id"], [message], "2026-11-25T12:00:01.000000Z", repository=clients.task_repository()
        )
        is None
    )
    assert transcripts.newest_sessions(task["task_id"], 10) == []
    assert chunk_versions(handler_env, task["task_id"]) == []


def test_an_acknowledged_write_the_upload_could_not_make_is_made_through_the_stream(
    handler_env, poller, fake_agentapi, transcripts, transcript, monkeypatch, function_log
) -> None:
    """§7 A 204 means stored: an upload whose transcript write fails names it on the task item, and the
    transcript retry makes it from the stored snapshot, then no longer names it. Meanwhile the newest
    page reports it as a gap of unknown size."""
    from tasklogs_core.adapters import clients

    first = conversation("Add a page")
    later = conversation("Add a page", "Added it.", "Now tests")
    name = f"transcript-{uuid.uuid4().hex[:6]}"
    task = put_task(handler_env, name, PAUSED)  # read from storage alone
    assert upload(task, first) == 204
    route = f"/api/v2/tasks/{ALICE.username}/{name}/transcript"
    stored = transcript(http_api_event("GET", route, claims=ALICE.claims)).headers["ETag"]
    log = function_log("LogSnapshotFunction")
    with monkeypatch.context() as broken:
        broken.setenv("TRANSCRIPTS_TABLE_NAME", "no-such-table")  # for this upload only
        clients.reset()
        assert upload(task, later) == 204
    clients.reset()
    assert '"transcript write deferred"' in log.getvalue()
    item = item_of(handler_env, task["task_id"])
    assert item["transcripts_due"] == [f"{item['snapshot_at']} {item['snapshot_version']}"]
    assert sessions(transcripts, task["task_id"]) == [as_session(first)]
    pending = transcript(http_api_event("GET", route, claims=ALICE.claims, headers={"if-none-match": stored}))
    assert pending.status == 200  # the page changed: it reports the pending write
    assert [e["id"] for e in pending.body["entries"]] == [0, 1]
    assert pending.body["gaps"] == [{"after_seq": 1, "before_seq": None, "missing": None, "reason": "not captured"}]

    poller.drain()
    assert sessions(transcripts, task["task_id"]) == [as_session(later)]
    item = item_of(handler_env, task["task_id"])
    assert "transcripts_due" not in item and item["transcript_revision"] == 2  # made once
    assert poller.delivered("TranscriptRetryFunction")
    made = transcript(
        http_api_event("GET", route, claims=ALICE.claims, headers={"if-none-match": pending.headers["ETag"]})
    )
    assert made.status == 200 and [e["id"] for e in made.body["entries"]] == [0, 1, 2, 3]
    assert made.body["gaps"] == []


def test_an_upload_that_can_neither_write_nor_defer_its_transcript_is_an_error(
    handler_env, fake_agentapi, transcripts, monkeypatch
) -> None:
    from tasklogs_core.adapters import clients
    from tasklogs_core.adapters.task_repository import TaskRepository
    from tasklogs_core.domain.errors import SnapshotStoreError

    def refused(*_args, **_kwargs) -> bool:
        raise SnapshotStoreError("UpdateItem failed: EndpointConnectionError")  # the table gone away

    messages = conversation("Add a page", "Added it.")
    task, _ = agent_task(handler_env, fake_agentapi, messages)
    monkeypatch.setattr(TaskRepository, "defer_transcript_write", refused)
    monkeypatch.setenv("TRANSCRIPTS_TABLE_NAME", "no-such-table")
    clients.reset()
    assert upload(task, messages) == 500  # told, never a silent 204
    monkeypatch.undo()
    clients.reset()


def test_a_deferred_write_whose_task_was_deleted_is_dropped_with_it(
    handler_env, poller, fake_agentapi, transcripts, monkeypatch
) -> None:
    from tasklogs_core.adapters import clients
    from tasklogs_core.use_cases.transcript_retry import make_deferred_write

    messages = conversation("Add a page", "Added it.")
    task, _ = agent_task(handler_env, fake_agentapi, messages)
    with monkeypatch.context() as broken:
        broken.setenv("TRANSCRIPTS_TABLE_NAME", "no-such-table")
        clients.reset()
        assert upload(task, messages) == 204
    clients.reset()
    [due] = item_of(handler_env, task["task_id"])["transcripts_due"]
    handler_env.client("dynamodb").delete_item(
        TableName=handler_env.table_name, Key={"task_id": {"S": task["task_id"]}}
    )
    handler_env.client("s3").delete_object(
        Bucket=handler_env.bucket_name,
        Key=snapshot_key(task["task_id"]),
        VersionId=due.split(" ")[1],
    )
    make_deferred_write(task["task_id"], due, repository=clients.task_repository(), snapshots=clients.snapshot_store())
    assert sessions(transcripts, task["task_id"]) == []


def test_a_session_item_this_code_did_not_write_is_a_storage_error_never_a_crash(
    handler_env, fake_agentapi, function_log
) -> None:
    messages = conversation("Add a page", "Added it.")
    task, _ = agent_task(handler_env, fake_agentapi, messages)
    handler_env.client("dynamodb").put_item(
        TableName=handler_env.transcripts_table_name, Item={"task_id": {"S": task["task_id"]}, "session": {"N": "1"}}
    )
    log = function_log("LogSnapshotFunction")
    assert upload(task, messages) == 204
    assert "Transcript header unreadable" in log.getvalue()


def test_deleting_a_task_deletes_even_a_session_item_this_code_cannot_read(handler_env, poller, transcripts) -> None:
    task = put_task(handler_env, f"foreign-{uuid.uuid4().hex[:6]}", RUNNING)
    dynamodb = handler_env.client("dynamodb")
    for session in ("1", "2"):
        dynamodb.put_item(
            TableName=handler_env.transcripts_table_name,
            Item={"task_id": {"S": task["task_id"]}, "session": {"N": session}},
        )
    update(handler_env, task["task_id"], deleted_at="2026-11-25T12:00:00Z")
    poller.drain()
    left = dynamodb.query(
        TableName=handler_env.transcripts_table_name,
        KeyConditionExpression="task_id = :t",
        ExpressionAttributeValues={":t": {"S": task["task_id"]}},
    )
    assert left["Items"] == []


def test_a_replaced_chunk_version_is_deleted_by_a_later_write_once_no_reader_can_hold_it(
    handler_env, transcripts, monkeypatch
) -> None:
    """Each write that rewrites a chunk lists the version it replaced in the header; a later write
    deletes the listed ones superseded longer than the grace (0 here), and never a version a header
    names: a checkpoint a minute rewrites its session's newest chunk, and would keep every version."""
    from tasklogs_core.adapters import clients
    from tasklogs_core.domain.models import AgentMessage
    from tasklogs_core.services import conversation_writer

    task = put_task(handler_env, f"prune-{uuid.uuid4().hex[:6]}", RUNNING)
    repository = clients.task_repository()

    def write(n: int) -> None:
        said = [AgentMessage(id=0, content="Hi", role="agent", time="2026-11-25T10:00:00Z")]
        said += [AgentMessage(id=1, content="Go on", role="user", time="2026-11-25T10:00:01Z")]
        said += [
            AgentMessage(
                id=2, content=f"working, step {n}" + " output" * 200, role="agent", time="2026-11-25T10:00:02Z"
            )
        ]
        at = f"2026-11-25T10:01:{n:02d}.000000Z"
        conversation_writer.write_transcript(task["task_id"], said, at, repository=repository, checkpoint=True)

    write(0)
    monkeypatch.setattr(conversation_writer, "SUPERSEDED_GRACE_SECONDS", 3600)
    write(1)  # replaces the first version: listed, not yet old enough
    [header] = transcripts.newest_sessions(task["task_id"], 10)
    assert len(header.superseded) == 1 and len(chunk_versions(handler_env, task["task_id"])) == 2
    monkeypatch.setattr(conversation_writer, "SUPERSEDED_GRACE_SECONDS", 0)
    for n in range(2, 6):
        write(n)
        [header] = transcripts.newest_sessions(task["task_id"], 10)
        versions = {v["VersionId"] for v in chunk_versions(handler_env, task["task_id"])}
        named = {ref.version for ref in header.chunks.values()}
        # What the header names, and the one version this write replaced (listed until the next).
        assert versions == named | {old.version for old in header.superseded} and len(versions) == 2
    assert sessions(transcripts, task["task_id"])[0][2][1].startswith("working, step 5")
