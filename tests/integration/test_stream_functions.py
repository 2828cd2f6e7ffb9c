"""The stream-triggered functions end to end: real writes to moto's tasks table, its real stream read
by the local event source mapping (devstack.runtime.streams, with the template's filters), the real handlers,
the fake AgentAPI over loopback."""

import json
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from devstack.demo.catalogue import ALICE, PAUSED, RUNNING, snapshot_envelope
from devstack.demo.control import PAUSE_DONE, PAUSE_START, update_task
from devstack.demo.fake_agentapi import FakeAgentAPI, Scenario, conversation, refused_url
from devstack.generators.events import http_api_event
from devstack.runtime import lambda_runtime
from devstack.runtime.streams import StreamPoller
from tasklogs_core.adapters.snapshot_store import snapshot_key
from tests.helpers import as_logs, item_of, put_task, stored_snapshot


def update(aws, task_id: str, **attributes: str) -> None:
    update_task(aws, task_id, attributes)


def object_exists(aws, task_id: str) -> bool:
    try:
        aws.client("s3").head_object(Bucket=aws.bucket_name, Key=snapshot_key(task_id))
        return True
    except ClientError:
        return False


def stored_versions(aws, task_id: str) -> list[dict]:
    """Every version and delete marker of the task's snapshot object."""
    key = snapshot_key(task_id)
    listing = aws.client("s3").list_object_versions(Bucket=aws.bucket_name, Prefix=key)
    return [v for v in [*listing.get("Versions", []), *listing.get("DeleteMarkers", [])] if v["Key"] == key]


def with_snapshot(aws, name: str, state: dict = PAUSED) -> dict:
    task = put_task(aws, f"{name}-{uuid.uuid4().hex[:6]}", state)
    put = aws.client("s3").put_object(
        Bucket=aws.bucket_name, Key=snapshot_key(task["task_id"]), Body=snapshot_envelope(conversation("hi"))
    )
    update(aws, task["task_id"], snapshot_at="2026-11-25T00:00:00.000000Z", snapshot_version=put["VersionId"])
    return task


# ---------------------------------------------------------------- cleanup on delete


def add_upload(aws, task: dict, text: str) -> None:
    """Another snapshot version, as a later upload would leave it."""
    aws.client("s3").put_object(
        Bucket=aws.bucket_name, Key=snapshot_key(task["task_id"]), Body=snapshot_envelope(conversation(text))
    )


def test_soft_delete_removes_every_version_of_only_that_tasks_snapshot(handler_env, poller) -> None:
    doomed, bystander = with_snapshot(handler_env, "doomed"), with_snapshot(handler_env, "bystander")
    add_upload(handler_env, doomed, "second upload")
    add_upload(handler_env, bystander, "second upload")
    poller.drain()
    update(handler_env, doomed["task_id"], deleted_at="2026-11-25T10:00:00Z")
    poller.drain()
    assert stored_versions(handler_env, doomed["task_id"]) == []  # no noncurrent version, no delete marker
    assert len(stored_versions(handler_env, bystander["task_id"])) == 2


def test_a_soft_deleted_item_no_longer_names_its_snapshot(handler_env, poller) -> None:
    task = with_snapshot(handler_env, "forgotten")
    update(handler_env, task["task_id"], deleted_at="2026-11-25T10:00:00Z")
    poller.drain()
    item = item_of(handler_env, task["task_id"])
    assert item["deleted_at"] and "snapshot_at" not in item and "snapshot_version" not in item


def test_removing_the_item_removes_every_version(handler_env, poller) -> None:
    task = with_snapshot(handler_env, "removed")
    add_upload(handler_env, task, "second upload")
    handler_env.client("s3").delete_object(Bucket=handler_env.bucket_name, Key=snapshot_key(task["task_id"]))
    handler_env.client("dynamodb").delete_item(
        TableName=handler_env.table_name, Key={"task_id": {"S": task["task_id"]}}
    )
    poller.drain()
    assert stored_versions(handler_env, task["task_id"]) == []
    assert item_of(handler_env, task["task_id"]) == {}  # the cleanup never writes an item back


def test_later_changes_to_a_deleted_task_delete_nothing_more(handler_env, poller) -> None:
    task = with_snapshot(handler_env, "deleted-twice")
    update(handler_env, task["task_id"], deleted_at="2026-11-25T10:00:00Z")
    poller.drain()
    add_upload(handler_env, task, "written after the deletion by hand")
    update(handler_env, task["task_id"], name="renamed-after-delete")
    poller.drain()
    assert len(stored_versions(handler_env, task["task_id"])) == 1


def test_more_versions_than_one_listing_page_all_go(handler_env) -> None:
    from tasklogs_core.adapters.snapshot_store import SnapshotStore

    task = with_snapshot(handler_env, "many-versions")
    for n in range(24):
        add_upload(handler_env, task, f"upload {n}")
    handler_env.client("s3").delete_object(Bucket=handler_env.bucket_name, Key=snapshot_key(task["task_id"]))
    store = SnapshotStore(handler_env.client("s3"), handler_env.bucket_name)
    assert store.delete_every_version(task["task_id"], page_size=10) == 26  # 25 versions and a delete marker
    assert stored_versions(handler_env, task["task_id"]) == []


def test_ordinary_changes_never_reach_the_cleanup(handler_env, poller) -> None:
    task = with_snapshot(handler_env, "kept", RUNNING)
    before = len(poller.delivered("SnapshotCleanupFunction"))
    update(handler_env, task["task_id"], **PAUSE_START)
    update(handler_env, task["task_id"], **PAUSE_DONE)
    poller.drain()
    assert len(poller.delivered("SnapshotCleanupFunction")) == before
    assert object_exists(handler_env, task["task_id"])


# ---------------------------------------------------------------- capture at pause


def pause(aws, poller: StreamPoller, task_id: str) -> None:
    update(aws, task_id, **PAUSE_START)
    poller.drain()
    update(aws, task_id, **PAUSE_DONE)
    poller.drain()


def test_pause_captures_the_agents_conversation(handler_env, poller, invoke, fake_agentapi: FakeAgentAPI) -> None:
    name = f"capture-{uuid.uuid4().hex[:6]}"
    task = put_task(handler_env, name, RUNNING, agent=fake_agentapi.agent(name))
    pause(handler_env, poller, task["task_id"])
    item = item_of(handler_env, task["task_id"])
    assert item["snapshot_version"] and item["snapshot_at"]
    logs = invoke(http_api_event("GET", f"/api/v2/tasks/me/{name}/logs", claims=ALICE.claims)).body
    assert logs == {
        "logs": as_logs(fake_agentapi.scenarios[name].messages),
        "snapshot": True,
        "snapshot_at": item["snapshot_at"],
    }


def test_capture_runs_once_per_pause(handler_env, poller, fake_agentapi) -> None:
    name = f"once-{uuid.uuid4().hex[:6]}"
    task = put_task(handler_env, name, RUNNING, agent=fake_agentapi.agent(name))
    update(handler_env, task["task_id"], build_transition="stop", build_job_status="pending")
    update(handler_env, task["task_id"], build_job_status="running")  # same pause, job picked up
    poller.drain()
    paths = [r for r in fake_agentapi.requests if r[1].startswith(f"/agents/{name}/")]
    assert len(paths) == 1


def test_an_agent_already_gone_is_logged_and_counted_not_retried(handler_env, poller, capfd, function_log) -> None:
    log = function_log("PauseCaptureFunction")
    task = put_task(handler_env, f"gone-{uuid.uuid4().hex[:6]}", RUNNING, agent=refused_url())
    delivered = len(poller.delivered("PauseCaptureFunction"))
    pause(handler_env, poller, task["task_id"])
    assert "snapshot_at" not in item_of(handler_env, task["task_id"])
    assert len(poller.delivered("PauseCaptureFunction")) == delivered + 1  # one delivery, no retries
    lines = [json.loads(line) for line in log.getvalue().splitlines()]
    [line] = [line for line in lines if line["level"] == "WARNING"]
    assert line["message"] == "agent unreachable at pause; no snapshot captured"
    agent_calls = [
        c for r in lines if r["message"] == "dependency calls" for c in r["calls"] if c["dependency"] == "agent"
    ]
    assert [(c["operation"], c["ok"]) for c in agent_calls] == [("GET /messages", False)]
    assert (line["level"], line["task_id"], line["error"]) == ("WARNING", task["task_id"], "TaskAppUnavailable")
    assert "PauseCaptureAgentUnavailable" in capfd.readouterr().out  # the EMF metric line


def test_an_upload_that_began_after_the_capture_is_kept(handler_env, stores_for_capture, fake_agentapi) -> None:
    """The agent's own shutdown upload began after the capture did: the capture must not replace it."""
    from tasklogs_core.adapters.task_repository import PointerUpdate
    from tasklogs_core.use_cases.pause_capture import capture_at_pause

    repository, store, agent = stores_for_capture
    name = f"agent-won-{uuid.uuid4().hex[:6]}"
    task = with_snapshot(handler_env, name, RUNNING)
    update(
        handler_env, task["task_id"], agentapi_url=fake_agentapi.agent(name), snapshot_at="2026-11-25T10:00:00.000001Z"
    )
    result = capture_at_pause(
        repository.get(task["task_id"]),
        agent=agent,
        repository=repository,
        store=store,
        deadline=time.monotonic() + 5,
        clock=lambda: "2026-11-25T10:00:00.000000Z",
    )
    assert result.stored.outcome is PointerUpdate.SUPERSEDED
    assert item_of(handler_env, task["task_id"])["snapshot_at"] == "2026-11-25T10:00:00.000001Z"


def start_of_a_fresh_second() -> None:
    """Wait until a second has just begun, so what follows happens within one second."""
    fraction = time.time() % 1
    if fraction > 0.2:
        time.sleep(1 - fraction + 0.01)


def test_an_upload_earlier_in_the_same_second_as_the_pause_is_replaced_by_the_capture(
    handler_env, poller, upload, fake_agentapi
) -> None:
    from devstack.demo.catalogue import upload_path

    name = f"same-second-{uuid.uuid4().hex[:6]}"
    scenario = Scenario(messages=conversation("old question", "old answer", "newest question"))
    task = put_task(handler_env, name, RUNNING, agent=fake_agentapi.agent(name, scenario))
    older = {"messages": conversation("old question")}
    start_of_a_fresh_second()
    sent = upload(
        http_api_event(
            "POST",
            upload_path(task["task_id"]),
            claims=None,
            raw_query="format=agentapi",
            headers={"coder-session-token": f"agent-token-{name}"},
            body=json.dumps(older),
        )
    )
    assert sent.status == 204
    uploaded_at = item_of(handler_env, task["task_id"])["snapshot_at"]
    pause(handler_env, poller, task["task_id"])
    item = item_of(handler_env, task["task_id"])
    assert item["snapshot_at"][:19] == uploaded_at[:19], "the pause did not come in the same second"
    assert item["snapshot_at"] > uploaded_at
    body = stored_snapshot(handler_env, task["task_id"], item["snapshot_version"])
    assert [m["content"] for m in json.loads(body)["data"]["messages"]][-1] == "newest question"


def test_pause_resume_pause_within_a_second_keeps_the_second_capture(handler_env, poller, fake_agentapi) -> None:
    from devstack.demo.control import RESUMED

    name = f"quick-pauses-{uuid.uuid4().hex[:6]}"
    task = put_task(
        handler_env, name, RUNNING, agent=fake_agentapi.agent(name, Scenario(messages=conversation("first")))
    )
    start_of_a_fresh_second()
    pause(handler_env, poller, task["task_id"])
    first = item_of(handler_env, task["task_id"])["snapshot_at"]
    fake_agentapi.agent(name, Scenario(messages=conversation("first", "reply", "second")))
    update(handler_env, task["task_id"], **RESUMED)
    pause(handler_env, poller, task["task_id"])
    item = item_of(handler_env, task["task_id"])
    assert item["snapshot_at"][:19] == first[:19], "the two pauses did not come in one second"
    assert item["snapshot_at"] > first
    logs = lambda_runtime.invoke(
        "TaskLogsFunction", http_api_event("GET", f"/api/v2/tasks/me/{name}/logs", claims=ALICE.claims)
    )
    assert [entry["content"] for entry in json.loads(logs["body"])["logs"]][-1] == "second"


def test_a_long_conversation_is_cut_to_the_newest_64_kib(handler_env, poller, fake_agentapi) -> None:
    name = f"long-{uuid.uuid4().hex[:6]}"
    turns = [f"turn {n}: " + "words " * 2_000 for n in range(30)]  # ~360 KB
    task = put_task(
        handler_env, name, RUNNING, agent=fake_agentapi.agent(name, Scenario(messages=conversation(*turns)))
    )
    pause(handler_env, poller, task["task_id"])
    item = item_of(handler_env, task["task_id"])
    body = stored_snapshot(handler_env, task["task_id"], item["snapshot_version"])
    assert len(body) <= 65_536
    kept = json.loads(body)["data"]["messages"]
    assert kept[-1]["content"].startswith("turn 29:") and 1 < len(kept) < 31
    assert [m["id"] for m in kept] == list(range(31 - len(kept), 31))


@pytest.fixture
def stores_for_capture(handler_env):
    from tasklogs_core.adapters.address_policy import AddressPolicy, parse_networks
    from tasklogs_core.adapters.agentapi_client import AgentApiClient

    loopback_allowed = AddressPolicy(parse_networks("127.0.0.0/8"))
    from tasklogs_core.adapters.snapshot_store import SnapshotStore
    from tasklogs_core.adapters.task_repository import TaskRepository

    return (
        TaskRepository(handler_env.client("dynamodb"), handler_env.table_name),
        SnapshotStore(handler_env.client("s3"), handler_env.bucket_name),
        AgentApiClient(loopback_allowed),
    )
