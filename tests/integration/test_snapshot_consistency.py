"""Contract §4 and §6 step 6 under concurrency, against moto server: racing uploads end on one whole
upload with every version kept, a late finisher never replaces a newer snapshot, readers never see a
mix, and a task deleted mid-upload never gets a snapshot back."""

import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from devstack.demo.catalogue import PAUSED
from tasklogs_core.adapters.snapshot_store import SnapshotStore, snapshot_key
from tasklogs_core.adapters.task_repository import PointerUpdate, TaskRepository
from tasklogs_core.domain.models import AgentMessage
from tasklogs_core.services.conversation_writer import store_snapshot
from tasklogs_core.use_cases.task_logs import snapshot_logs
from tests.helpers import put_task

UPLOADS = 50
TIME = "2026-11-25T04:31:04.123456789Z"


def messages(marker: str) -> list[AgentMessage]:
    return [
        AgentMessage(id=0, content=f"upload {marker}", role="agent", time=TIME),
        AgentMessage(id=1, content=f"still {marker}", role="user", time=TIME),
    ]


@pytest.fixture
def stores(handler_env):
    aws = handler_env
    return TaskRepository(aws.client("dynamodb"), aws.table_name), SnapshotStore(aws.client("s3"), aws.bucket_name)


def versions(aws, task_id: str) -> list[str]:
    key = snapshot_key(task_id)
    listing = aws.client("s3").list_object_versions(Bucket=aws.bucket_name, Prefix=key)
    return [v["VersionId"] for v in listing.get("Versions", []) if v["Key"] == key]


@pytest.mark.parametrize("round_", range(3))
def test_racing_uploads_end_on_one_whole_upload(handler_env, stores, round_: int) -> None:
    aws = handler_env
    repository, store = stores
    task = put_task(aws, f"race-{round_}-{uuid.uuid4().hex[:6]}", PAUSED)
    task_id, token = task["task_id"], task["agent_token_sha256"]
    start = threading.Barrier(UPLOADS)
    seen: list[tuple[str, str | None]] = []  # (content, snapshot_at) as concurrent readers got them
    done = threading.Event()

    def upload(n: int):
        start.wait()
        return str(n), store_snapshot(
            task_id, messages(str(n)), repository=repository, store=store, agent_token_sha256=token
        )

    def read() -> None:
        while not done.is_set():
            item = repository.get(task_id)
            if item and item.snapshot_at:
                logs = snapshot_logs(item, store).logs
                seen.append((logs[0].content.decode().removeprefix("upload "), item.snapshot_at))

    reader = threading.Thread(target=read)
    reader.start()
    with ThreadPoolExecutor(max_workers=UPLOADS) as pool:
        results = dict(pool.map(upload, range(UPLOADS)))
    done.set()
    reader.join()

    newest_marker = max(results, key=lambda marker: results[marker].snapshot_at)
    newest = results[newest_marker]
    item = repository.get(task_id)
    # The item points at exactly the newest upload: its time and its version, whose body is whole.
    assert (item.snapshot_at, item.snapshot_version) == (newest.snapshot_at, newest.version_id)
    assert [entry.content.decode() for entry in snapshot_logs(item, store).logs] == [
        f"upload {newest_marker}",
        f"still {newest_marker}",
    ]
    assert newest.outcome is PointerUpdate.STORED
    assert {r.outcome for r in results.values()} <= {PointerUpdate.STORED, PointerUpdate.SUPERSEDED}
    # Every upload is kept as a version.
    assert sorted(versions(aws, task_id)) == sorted(r.version_id for r in results.values())
    # Readers only ever saw a content together with its own upload's time.
    by_marker = {marker: r.snapshot_at for marker, r in results.items()}
    assert all(by_marker[marker] == snapshot_at for marker, snapshot_at in seen)


class PausedBeforePointing(TaskRepository):
    """Holds one upload between its S3 write and its item update, to order a race deterministically."""

    def __init__(self, inner: TaskRepository, before: callable) -> None:
        self.__dict__.update(inner.__dict__)
        self._before = before

    def point_at_snapshot(self, task_id: str, **kwargs) -> PointerUpdate:
        self._before()
        return super().point_at_snapshot(task_id, **kwargs)


def test_an_older_upload_finishing_late_never_replaces_a_newer_one(handler_env, stores) -> None:
    repository, store = stores
    task = put_task(handler_env, f"late-{uuid.uuid4().hex[:6]}", PAUSED)
    task_id, token = task["task_id"], task["agent_token_sha256"]
    newer_done = threading.Event()
    slow = PausedBeforePointing(repository, lambda: newer_done.wait(10))

    with ThreadPoolExecutor(max_workers=1) as pool:
        older = pool.submit(
            store_snapshot,
            task_id,
            messages("older"),
            repository=slow,
            store=store,
            agent_token_sha256=token,
            clock=lambda: "2026-11-25T10:00:00.000000Z",
        )
        newer = store_snapshot(
            task_id,
            messages("newer"),
            repository=repository,
            store=store,
            agent_token_sha256=token,
            clock=lambda: "2026-11-25T10:00:01.000000Z",
        )
        newer_done.set()
        older = older.result()
    assert (newer.outcome, older.outcome) == (PointerUpdate.STORED, PointerUpdate.SUPERSEDED)
    item = repository.get(task_id)
    assert (item.snapshot_at, item.snapshot_version) == ("2026-11-25T10:00:01.000000Z", newer.version_id)
    assert older.version_id in versions(handler_env, task_id)  # still retrievable


def test_a_task_deleted_mid_upload_gets_no_snapshot_back(handler_env, stores) -> None:
    aws = handler_env
    repository, store = stores
    task = put_task(aws, f"vanish-{uuid.uuid4().hex[:6]}", PAUSED)
    task_id = task["task_id"]

    def delete_task() -> None:
        aws.client("dynamodb").update_item(
            TableName=aws.table_name,
            Key={"task_id": {"S": task_id}},
            UpdateExpression="SET deleted_at = :d",
            ExpressionAttributeValues={":d": {"S": "2026-11-25T10:00:00Z"}},
        )

    result = store_snapshot(
        task_id,
        messages("x"),
        repository=PausedBeforePointing(repository, delete_task),
        store=store,
        agent_token_sha256=task["agent_token_sha256"],
    )
    assert result.outcome is PointerUpdate.TASK_GONE
    assert versions(aws, task_id) == []  # the written version was removed again
    assert repository.get(task_id).snapshot_at is None


def test_a_token_taken_away_mid_upload_is_task_gone(handler_env, stores) -> None:
    aws = handler_env
    repository, store = stores
    task = put_task(aws, f"rotated-{uuid.uuid4().hex[:6]}", PAUSED)

    def rotate_token() -> None:
        aws.client("dynamodb").update_item(
            TableName=aws.table_name,
            Key={"task_id": {"S": task["task_id"]}},
            UpdateExpression="SET agent_token_sha256 = :t",
            ExpressionAttributeValues={":t": {"S": "0" * 64}},
        )

    result = store_snapshot(
        task["task_id"],
        messages("x"),
        repository=PausedBeforePointing(repository, rotate_token),
        store=store,
        agent_token_sha256=task["agent_token_sha256"],
    )
    assert result.outcome is PointerUpdate.TASK_GONE and versions(aws, task["task_id"]) == []


def test_the_upload_handler_answers_404_when_the_task_vanished_mid_upload(upload, handler_env, monkeypatch) -> None:
    from tests.integration.test_log_snapshot_upload import upload_event

    aws = handler_env
    task = put_task(aws, f"vanish-http-{uuid.uuid4().hex[:6]}", PAUSED)
    point = TaskRepository.point_at_snapshot

    def delete_first(self, task_id: str, **kwargs) -> PointerUpdate:
        aws.client("dynamodb").delete_item(TableName=aws.table_name, Key={"task_id": {"S": task["task_id"]}})
        return point(self, task_id, **kwargs)

    monkeypatch.setattr(TaskRepository, "point_at_snapshot", delete_first)
    answer = upload(upload_event(task["task_id"], token=f"agent-token-{task['name']}"))
    assert (answer.status, answer.body) == (404, {"message": "Resource not found."})
    assert versions(aws, task["task_id"]) == []


def test_stored_envelope_is_exactly_the_contract_shape(handler_env, stores) -> None:
    repository, store = stores
    task = put_task(handler_env, f"shape-{uuid.uuid4().hex[:6]}", PAUSED)
    result = store_snapshot(task["task_id"], messages("s"), repository=repository, store=store)
    body = json.loads(store.read(task["task_id"], result.version_id))
    assert body == {
        "format": "agentapi",
        "data": {
            "messages": [
                {"id": 0, "content": "upload s", "role": "agent", "time": TIME},
                {"id": 1, "content": "still s", "role": "user", "time": TIME},
            ]
        },
    }


def test_a_failed_pointer_update_is_a_500_and_leaves_the_old_snapshot_served(upload, handler_env, monkeypatch) -> None:
    """DynamoDB throttles the UpdateItem (a fault moto cannot produce, so it is injected): the client
    gets the contract's 500 and the item still names the previous upload, whole."""
    from botocore.exceptions import ClientError

    from tests.integration.test_log_snapshot_upload import upload_event

    aws = handler_env
    task = put_task(aws, f"throttled-{uuid.uuid4().hex[:6]}", PAUSED)
    token = f"agent-token-{task['name']}"
    assert upload(upload_event(task["task_id"], token=token)).status == 204
    before = TaskRepository(aws.client("dynamodb"), aws.table_name).get(task["task_id"])

    def throttled(self, task_id: str, **kwargs) -> PointerUpdate:
        original = self._client.update_item

        def refuse(**request):
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, "UpdateItem"
            )

        self._client.update_item = refuse
        try:
            return point(self, task_id, **kwargs)
        finally:
            self._client.update_item = original

    point = TaskRepository.point_at_snapshot
    monkeypatch.setattr(TaskRepository, "point_at_snapshot", throttled)
    answer = upload(upload_event(task["task_id"], token=token))
    assert (answer.status, answer.body) == (500, {"message": "Internal error storing snapshot."})
    after = TaskRepository(aws.client("dynamodb"), aws.table_name).get(task["task_id"])
    assert (after.snapshot_at, after.snapshot_version) == (before.snapshot_at, before.snapshot_version)
