"""Helpers shared by the integration tests: task items written the way the control plane would."""

import uuid
from dataclasses import replace

from devstack.demo.catalogue import ALICE, TASKS_BY_NAME, task_item
from tasklogs_core.adapters.snapshot_store import snapshot_key

LOG_TYPE = {"user": "input", "agent": "output"}


def as_logs(messages: list[dict]) -> list[dict]:
    return [{"id": m["id"], "content": m["content"], "type": LOG_TYPE[m["role"]], "time": m["time"]} for m in messages]


def put_task(
    aws,
    name: str,
    state: dict,
    *,
    owner=ALICE,
    agent: str | None = None,
    version: str | None = None,
    snapshot_at: str | None = None,
    extra: dict | None = None,
    task_id: str | None = None,
) -> dict:
    task = replace(
        TASKS_BY_NAME["refactor-auth"],
        name=name,
        task_id=task_id or str(uuid.uuid4()),
        state=state,
        owner=owner,
        snapshot_at=snapshot_at,
        extra=extra or {},
    )
    item = task_item(task, agent, version)
    aws.client("dynamodb").put_item(TableName=aws.table_name, Item=item)
    return {key: value["S"] for key, value in item.items()}


def stored_snapshot(aws, task_id: str, version: str) -> bytes:
    """The bytes of one stored version of a task's snapshot object."""
    return (
        aws.client("s3").get_object(Bucket=aws.bucket_name, Key=snapshot_key(task_id), VersionId=version)["Body"].read()
    )
