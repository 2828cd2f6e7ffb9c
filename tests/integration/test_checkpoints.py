"""Checkpoints while a task runs (contract §11), end to end: the real schedule and checkpoint
handlers on moto's table, queue and bucket, the fake AgentAPI over loopback, and the real transcript
and logs routes reading what they stored."""

import json
import time
import uuid

import pytest

from devstack.demo.catalogue import ALICE, PAUSED, RUNNING, logs_path, transcript_path
from devstack.demo.control import CRASHED
from devstack.demo.fake_agentapi import Mode, Scenario, conversation
from devstack.generators.events import http_api_event
from devstack.runtime import lambda_runtime
from devstack.runtime.schedules import LocalSchedules
from tasklogs_core.adapters.checkpoint_queue import CheckpointDue
from tests.helpers import item_of, put_task
from tests.integration.test_stream_functions import update

TASKS_AT_SCALE = 1000


def checkpoint_now(task_id: str, *, not_after: float | None = None) -> dict:
    """One message of the checkpoint queue, for this task alone, through the real function."""
    due = CheckpointDue(task_id, time.time() + 60 if not_after is None else not_after)
    record = {"messageId": str(uuid.uuid4()), "body": due.to_body(), "eventSource": "aws:sqs"}
    return lambda_runtime.invoke("TaskCheckpointFunction", {"Records": [record]})


def stored_state(aws, task_id: str) -> tuple:
    """Everything a write would change: the task item's counters and every object version it has."""
    item = item_of(aws, task_id)
    listing = aws.client("s3").list_object_versions(Bucket=aws.bucket_name, Prefix="")
    versions = sorted(v["VersionId"] for v in listing.get("Versions", []) if task_id in v["Key"])
    return item.get("transcript_revision"), item.get("snapshot_at"), item.get("checkpoint_at"), versions


def page(transcript, name: str) -> dict:
    answer = transcript(http_api_event("GET", transcript_path("alice", name), claims=ALICE.claims))
    assert answer.status == 200, answer.body
    return answer.body


@pytest.fixture
def running(handler_env, fake_agentapi):
    """A running task of its own, with an agent that has said two things."""
    name = f"checkpointed-{uuid.uuid4().hex[:6]}"
    scenario = Scenario(messages=conversation("Refactor the billing module", "Reading billing/"))
    task = put_task(handler_env, name, RUNNING, agent=fake_agentapi.agent(name, scenario))
    return name, task["task_id"], scenario


def test_a_checkpoint_stores_the_running_conversation_and_an_unchanged_one_writes_nothing(
    handler_env, running, transcript
) -> None:
    name, task_id, scenario = running
    assert checkpoint_now(task_id) == {"batchItemFailures": []}
    first = stored_state(handler_env, task_id)
    assert first[0] == 1 and first[2] is not None and first[3], "nothing was stored"
    body = page(transcript, name)
    assert body["checkpoint_at"] == first[2] and "snapshot_at" not in body
    assert checkpoint_now(task_id) == {"batchItemFailures": []}
    assert stored_state(handler_env, task_id) == first  # the same answer: no write at all
    scenario.messages.append({**conversation("x", "Moved the invoices.")[1], "id": 2})
    checkpoint_now(task_id)
    later = stored_state(handler_env, task_id)
    assert later[0] == 2 and later[2] > first[2]


def test_after_a_crash_the_transcript_keeps_every_checkpointed_entry_then_an_agent_lost_gap(
    handler_env, running, transcript, invoke, poller
) -> None:
    from tests.integration.test_stream_functions import pause

    name, task_id, scenario = running
    checkpoint_now(task_id)
    said = conversation("Refactor the billing module", "Reading billing/", "Split invoices out", "Tests pass")
    scenario.messages = said[:3]
    checkpoint_now(task_id)  # the last checkpoint before the crash
    scenario.messages = said  # said after it: lost with the workspace
    scenario.mode = Mode.GONE
    update(handler_env, task_id, **CRASHED)
    body = page(transcript, name)
    assert body["status"] == "error" and body["live"] is False
    assert [e["content"] for e in body["entries"]] == [m["content"] for m in said[:3]]
    assert [e["seq"] for e in body["entries"]] == [0, 1, 2]
    assert body["gaps"] == [{"after_seq": 2, "before_seq": None, "missing": None, "reason": "agent lost"}]
    assert "checkpoint_at" not in body
    # The control plane stops the dead workspace: the capture at pause finds no agent, and /logs
    # (Coder's route) shows the stored session, the last checkpoint's.
    pause(handler_env, poller, task_id)
    assert page(transcript, name)["gaps"] == body["gaps"]
    logs = invoke(http_api_event("GET", logs_path("alice", name), claims=ALICE.claims))
    assert logs.status == 200 and [e["content"] for e in logs.body["logs"]] == [m["content"] for m in said[:3]]
    assert logs.body["snapshot_at"] == item_of(handler_env, task_id)["checkpoint_at"]


def test_a_clean_pause_after_checkpoints_closes_the_session_without_a_gap(
    handler_env, running, transcript, poller
) -> None:
    from tests.integration.test_stream_functions import pause

    name, task_id, _scenario = running
    checkpoint_now(task_id)
    pause(handler_env, poller, task_id)  # the capture at pause finds the agent up
    body = page(transcript, name)
    assert body["status"] == "paused" and body["gaps"] == []
    assert body["snapshot_at"] == item_of(handler_env, task_id)["snapshot_at"]


def test_a_dead_agent_is_counted_and_left_for_the_next_interval_and_a_stale_message_is_dropped(
    handler_env, running
) -> None:
    _name, task_id, scenario = running
    scenario.mode = Mode.GONE
    assert checkpoint_now(task_id) == {"batchItemFailures": []}  # not retried by the queue
    assert "checkpoint_at" not in item_of(handler_env, task_id)
    scenario.mode = Mode.NORMAL
    assert checkpoint_now(task_id, not_after=time.time() - 1) == {"batchItemFailures": []}
    assert "checkpoint_at" not in item_of(handler_env, task_id)  # stale: a later message has it
    checkpoint_now(task_id)
    assert "checkpoint_at" in item_of(handler_env, task_id)


def test_the_schedule_sends_active_tasks_only_and_the_local_mapping_checkpoints_them(
    handler_env, running, fake_agentapi
) -> None:
    name, task_id, _scenario = running
    paused = put_task(handler_env, f"paused-{uuid.uuid4().hex[:6]}", PAUSED, agent=fake_agentapi.agent(name))
    sqs = handler_env.client("sqs")
    url = handler_env.queue_urls["CheckpointQueue"]
    lambda_runtime.invoke("CheckpointScheduleFunction", {})
    sent = set()
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        sent |= {json.loads(m["Body"])["task_id"] for m in messages}
        for m in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    assert task_id in sent and paused["task_id"] not in sent
    assert "checkpoint_at" not in item_of(handler_env, task_id)
    # The same through the local stack's schedule and queue mapping, as `make run` runs them.
    LocalSchedules(handler_env, lambda_runtime.invoke, every_seconds=60, batches_at_once=1).run_once()
    assert "checkpoint_at" in item_of(handler_env, task_id)


def test_a_message_the_service_did_not_send_is_dropped_not_retried(handler_env) -> None:
    record = {"messageId": "m-1", "body": "not json", "eventSource": "aws:sqs"}
    assert lambda_runtime.invoke("TaskCheckpointFunction", {"Records": [record]}) == {"batchItemFailures": []}
    from tasklogs_core.use_cases.task_checkpoint import Checkpoint, checkpoint_message

    assert checkpoint_message('{"task_id": 7}', remaining_ms=5000) is Checkpoint.NOT_UNDERSTOOD


def test_one_run_of_the_schedule_sends_every_active_task_once_across_many_index_pages(handler_env, monkeypatch) -> None:
    """1,000 started tasks, a tenth of them not active, read from the index 150 a page (moto's pages,
    smaller than DynamoDB's 1 MB, so that a run spans seven): one run sends each active one exactly
    once. A table and a queue of the test's own, so no other test's schedule meets them."""
    from devstack.runtime.template_resources import create_table_request
    from tasklogs_core.adapters import clients

    dynamodb, sqs = handler_env.client("dynamodb"), handler_env.client("sqs")
    table = f"tasks-{uuid.uuid4().hex[:6]}"
    dynamodb.create_table(**create_table_request("TasksTable", table))
    url = sqs.create_queue(QueueName=f"checkpoints-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    monkeypatch.setenv("TASKS_TABLE_NAME", table)
    monkeypatch.setenv("CHECKPOINT_QUEUE_URL", url)
    clients.reset()
    active, items = set(), []
    for n in range(TASKS_AT_SCALE):
        task_id = str(uuid.UUID(int=n + 1))
        state = {**RUNNING, "agent_lifecycle": "starting"} if n % 10 == 0 else RUNNING  # initializing
        if n % 10:
            active.add(task_id)
        item = {"task_id": task_id, "name": f"task-{n}", "owner_id": ALICE.user_id, **state}
        items.append({"PutRequest": {"Item": {k: {"S": v} for k, v in item.items()}}})
    for start in range(0, len(items), 25):
        dynamodb.batch_write_item(RequestItems={table: items[start : start + 25]})
    repository = clients.task_repository()
    real_query, pages = repository._client.query, []

    def small_pages(**request):
        pages.append(request.get("ExclusiveStartKey"))
        return real_query(**request, Limit=150)

    monkeypatch.setattr(repository._client, "query", small_pages)
    lambda_runtime.invoke("CheckpointScheduleFunction", {})
    assert len(pages) == 7
    sent: list[str] = []
    for _ in range(TASKS_AT_SCALE):  # bounded: the messages come ten at a time
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            break
        sent += [json.loads(m["Body"])["task_id"] for m in messages]
        sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
        )
    assert len(sent) == len(active) and set(sent) == active
    clients.reset()
