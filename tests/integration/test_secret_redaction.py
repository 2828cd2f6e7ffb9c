"""Secrets never stored (contract §12), end to end, as a property: any agent output with any planted
secret, through every writer (the checkpoint, the capture at pause, the agent's upload, the transcript
retry's import of an old snapshot) and every read (live and stored, /logs and /transcript), never shows
the secret in any byte the service stores (every S3 object version, every DynamoDB item), logs, or
answers; what is served says what was redacted; and redacting again changes nothing."""

import json
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devstack.demo.catalogue import ALICE, RUNNING, logs_path, transcript_path
from devstack.demo.fake_agentapi import Scenario, conversation
from devstack.generators.events import http_api_event
from tests.helpers import put_task
from tests.integration.test_checkpoints import checkpoint_now
from tests.integration.test_log_snapshot_upload import token_of, upload_event
from tests.integration.test_stream_functions import pause, update
from tests.secrets_corpus import PLANTERS, Planted

# Text around a secret, as agents print it: any characters, on lines of their own.
_AROUND = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=80)


@st.composite
def planted_output(draw: st.DrawFn) -> Planted:
    import random

    planted = draw(st.sampled_from(PLANTERS))(random.Random(draw(st.integers(0, 2**32))))
    text = f"{draw(_AROUND)}\n{planted.text}\n{draw(_AROUND)}"
    return Planted(planted.kind, text, planted.secrets)


def everything_stored(aws, task_id: str) -> bytes:
    """Every version of every object, and every item of both tables, that holds anything of the task."""
    s3 = aws.client("s3")
    held = []
    listing = s3.list_object_versions(Bucket=aws.bucket_name)
    for version in listing.get("Versions", []):
        if task_id in version["Key"]:
            body = s3.get_object(Bucket=aws.bucket_name, Key=version["Key"], VersionId=version["VersionId"])["Body"]
            held.append(body.read())
    dynamodb = aws.client("dynamodb")
    for table in (aws.table_name, aws.transcripts_table_name):
        for page in dynamodb.get_paginator("scan").paginate(TableName=table):
            held += [json.dumps(item).encode() for item in page["Items"] if task_id in json.dumps(item)]
    assert held, "nothing stored: the property would hold for nothing"
    return b"\n".join(held)


def shown(planted: Planted, *texts: bytes | str) -> list[str]:
    """The planted secrets that appear in any of `texts` (JSON answers unescaped too)."""
    whole = "\n".join(t.decode(errors="replace") if isinstance(t, bytes) else t for t in texts)
    whole += json.dumps(whole)  # a secret split by an escape in JSON still counts once unescaped
    return [secret for secret in planted.secrets if secret in whole or secret in whole.replace("\\n", "\n")]


@pytest.fixture
def watched(function_log):
    return function_log("TaskLogsFunction")  # the layer's one logger: every function's lines


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(live=planted_output(), uploaded=planted_output())
def test_no_planted_secret_is_stored_logged_or_answered_by_any_writer_or_read(
    handler_env, fake_agentapi, poller, invoke, transcript, upload, watched, capsys, live, uploaded
) -> None:
    name = f"secrets-{uuid.uuid4().hex[:6]}"
    scenario = Scenario(messages=conversation("Deploy the staging stack", live.text))
    task = put_task(handler_env, name, RUNNING, agent=fake_agentapi.agent(name, scenario))
    task_id = task["task_id"]
    answers: list[str] = []

    def read() -> None:
        for route, path in ((invoke, logs_path), (transcript, transcript_path)):
            answer = route(http_api_event("GET", path("alice", name), claims=ALICE.claims))
            assert answer.status == 200, answer.body
            answers.append(json.dumps(answer.body))

    read()  # live
    entries = json.loads(answers[-1])["entries"]
    assert live.kind in {r["kind"] for r in entries[-1]["redactions"]}
    assert checkpoint_now(task_id) == {"batchItemFailures": []}
    pause(handler_env, poller, task_id)  # the capture at pause
    read()  # stored
    body = json.dumps({"messages": [{"id": 9, "content": uploaded.text, "role": "agent", "time": entries[-1]["time"]}]})
    sent = upload(upload_event(task_id, token=token_of(task), body=body.encode()))
    assert sent.status == 204, sent.body
    read()  # the upload's
    out, err = capsys.readouterr()
    for planted in (live, uploaded):
        assert shown(planted, everything_stored(handler_env, task_id)) == [], "stored"
        assert shown(planted, *answers) == [], "answered"
        assert shown(planted, watched.getvalue(), out, err) == [], "logged"
    final = json.loads(answers[-1])["entries"][-1]
    assert uploaded.kind in {r["kind"] for r in final["redactions"]}
    assert "[REDACTED:" in final["content"]


def test_a_snapshot_stored_before_redaction_is_redacted_when_read_and_when_imported(
    handler_env, poller, invoke, transcript, fake_agentapi
) -> None:
    """Stored versions from before this change are not rewritten, but are never served as stored; the
    transcript's import of such a snapshot (session 1) stores it redacted."""
    import random

    from devstack.demo.catalogue import snapshot_envelope
    from tasklogs_core.adapters.snapshot_store import snapshot_key
    from tests.secrets_corpus import PLANTERS

    planted = PLANTERS[7](random.Random(5))  # a private key
    name = f"old-secret-{uuid.uuid4().hex[:6]}"
    task = put_task(handler_env, name, RUNNING, agent=fake_agentapi.agent(name))
    task_id = task["task_id"]
    put = handler_env.client("s3").put_object(
        Bucket=handler_env.bucket_name, Key=snapshot_key(task_id), Body=snapshot_envelope(conversation(planted.text))
    )
    update(handler_env, task_id, snapshot_at="2026-11-25T00:00:00.000000Z", snapshot_version=put["VersionId"])
    update(handler_env, task_id, build_transition="stop", build_job_status="succeeded")
    logs = invoke(http_api_event("GET", logs_path("alice", name), claims=ALICE.claims))
    page = transcript(http_api_event("GET", transcript_path("alice", name), claims=ALICE.claims))
    assert logs.status == page.status == 200
    assert shown(planted, json.dumps(logs.body), json.dumps(page.body)) == []
    assert page.body["entries"][-1]["redactions"] == [{"kind": "private-key", "count": 1}]
    # A checkpoint's write imports the old snapshot as session 1: redacted on its way in.
    update(handler_env, task_id, **RUNNING)
    assert checkpoint_now(task_id) == {"batchItemFailures": []}
    listing = handler_env.client("s3").list_object_versions(Bucket=handler_env.bucket_name)
    chunks = [v for v in listing.get("Versions", []) if task_id in v["Key"] and "transcript" in v["Key"]]
    assert chunks
    for version in chunks:
        body = (
            handler_env.client("s3")
            .get_object(Bucket=handler_env.bucket_name, Key=version["Key"], VersionId=version["VersionId"])["Body"]
            .read()
        )
        assert shown(planted, body) == []


def test_a_session_stored_before_redaction_goes_on_as_one_session_and_its_next_write_is_redacted(
    handler_env, fake_agentapi, transcript
) -> None:
    """The next write compares what it brings (redacted) with what is stored (not yet): as readers do,
    it takes the stored text redacted, so the session goes on rather than starting again."""
    import random

    from tasklogs_core.adapters import clients
    from tasklogs_core.domain.transcript import Message
    from tasklogs_core.services.conversation_writer import write_transcript
    from tests.secrets_corpus import PLANTERS

    planted = PLANTERS[10](random.Random(9))  # a .env line
    said = conversation("Show me the env", planted.text, "Thanks", "Deployed.")
    name = f"upgraded-{uuid.uuid4().hex[:6]}"
    scenario = Scenario(messages=said[:4])
    task_id = put_task(handler_env, name, RUNNING, agent=fake_agentapi.agent(name, scenario))["task_id"]
    # As a version before redaction stored it: the writer alone, the secret in an agent message that
    # is no longer the newest (so nothing excuses a difference there).
    raw = [Message(m["id"], m["role"], m["content"], m["time"]) for m in said[:4]]
    write_transcript(task_id, raw, "2026-11-25T00:00:00.000000Z", repository=clients.task_repository(), checkpoint=True)
    scenario.messages = said  # the agent went on
    assert checkpoint_now(task_id) == {"batchItemFailures": []}
    body = transcript(http_api_event("GET", transcript_path("alice", name), claims=ALICE.claims)).body
    assert [(e["session"], e["id"]) for e in body["entries"]] == [(1, i) for i in range(5)]
    assert shown(planted, json.dumps(body)) == []
    chunk = handler_env.client("s3").get_object(
        Bucket=handler_env.bucket_name, Key=f"transcripts/{task_id}/000001/000000.json"
    )
    assert shown(planted, chunk["Body"].read()) == [], "the session's current chunk is stored redacted"


def test_the_transcript_retry_stores_a_deferred_write_of_an_old_snapshot_redacted(handler_env, poller) -> None:
    """A deferred upload write named before this change, of a snapshot stored unredacted: the retry
    makes it from that snapshot, redacted on its way into the transcript."""
    import random

    from devstack.demo.catalogue import PAUSED, snapshot_envelope
    from tasklogs_core.adapters.snapshot_store import snapshot_key
    from tasklogs_core.services.conversation_writer import due_write
    from tests.secrets_corpus import PLANTERS

    planted = PLANTERS[4](random.Random(11))  # a GitLab token
    task_id = put_task(handler_env, f"deferred-{uuid.uuid4().hex[:6]}", PAUSED)["task_id"]
    put = handler_env.client("s3").put_object(
        Bucket=handler_env.bucket_name, Key=snapshot_key(task_id), Body=snapshot_envelope(conversation(planted.text))
    )
    at = "2026-11-25T00:00:00.000000Z"
    handler_env.client("dynamodb").update_item(
        TableName=handler_env.table_name,
        Key={"task_id": {"S": task_id}},
        UpdateExpression="SET snapshot_at = :at, snapshot_version = :v, transcripts_due = :due",
        ExpressionAttributeValues={
            ":at": {"S": at},
            ":v": {"S": put["VersionId"]},
            ":due": {"SS": [due_write(at, put["VersionId"])]},
        },
    )
    poller.drain()
    assert poller.delivered("TranscriptRetryFunction")
    chunk = (
        handler_env.client("s3")
        .get_object(Bucket=handler_env.bucket_name, Key=f"transcripts/{task_id}/000001/000000.json")["Body"]
        .read()
    )
    assert b"[REDACTED:gitlab-token]" in chunk and shown(planted, chunk) == []
