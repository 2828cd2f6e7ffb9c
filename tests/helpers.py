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


def item_of(aws, task_id: str) -> dict:
    """A task item as plain values (strings, the service's transcript counter as an int, its deferred
    transcript writes as a sorted list); {} when there is none."""
    raw = aws.client("dynamodb").get_item(
        TableName=aws.table_name, Key={"task_id": {"S": task_id}}, ConsistentRead=True
    )

    def plain(value: dict) -> str | int | list[str]:
        return value["S"] if "S" in value else sorted(value["SS"]) if "SS" in value else int(value["N"])

    return {key: plain(value) for key, value in raw.get("Item", {}).items()}


def stored_snapshot(aws, task_id: str, version: str) -> bytes:
    """The bytes of one stored version of a task's snapshot object."""
    return (
        aws.client("s3").get_object(Bucket=aws.bucket_name, Key=snapshot_key(task_id), VersionId=version)["Body"].read()
    )


# ---- Coder's clients decode answers with Go's encoding/json into codersdk types: these check an answer
# the way that decode would, failing where Go's would (a wrong JSON type, a UUID or time Go cannot parse).

GO_TASK_STRINGS = (
    "owner_name", "name", "display_name", "template_name", "template_display_name", "template_icon",
    "workspace_name", "initial_prompt",
)  # fmt: skip
GO_TASK_UUIDS = ("id", "organization_id", "owner_id", "template_id", "template_version_id")
GO_TASK_NULL_UUIDS = ("workspace_id", "workspace_agent_id", "workspace_app_id")
GO_TASK_STATUSES = {"pending", "initializing", "active", "paused", "unknown", "error"}


def go_uuid(value: object) -> str:
    assert isinstance(value, str), f"Go's uuid.UUID wants a string, got {value!r}"
    return str(uuid.UUID(value))  # raises where Go's uuid.Parse would


def go_time(value: object) -> str:
    from tasklogs_core.domain.models import check_rfc3339

    assert isinstance(value, str), f"Go's time.Time wants a string, got {value!r}"
    return check_rfc3339(value)


def decode_go_task(task: dict) -> dict:
    """`task` as Go's codersdk.Task would hold it after decoding; fails where that decode fails. Every
    field the contract names must be there (Go would quietly take zero values for missing ones)."""
    for key in GO_TASK_STRINGS:
        assert isinstance(task[key], str), key
    for key in GO_TASK_UUIDS:
        go_uuid(task[key])
    for key in GO_TASK_NULL_UUIDS:
        assert task[key] is None or go_uuid(task[key]), key
    assert task["workspace_agent_lifecycle"] is None or isinstance(task["workspace_agent_lifecycle"], str)
    assert task["workspace_agent_health"] is None or isinstance(task["workspace_agent_health"], dict)
    assert task["current_state"] is None or isinstance(task["current_state"], dict)
    assert task["status"] in GO_TASK_STATUSES
    go_time(task["created_at"])
    go_time(task["updated_at"])
    assert "owner_avatar_url" not in task or isinstance(task["owner_avatar_url"], str)
    return task


def decode_go_task_logs(answer: dict) -> dict:
    """codersdk.TaskLogsResponse: `logs` entries with int ids, string content, input/output, RFC 3339 times."""
    assert isinstance(answer["logs"], list)
    for entry in answer["logs"]:
        assert isinstance(entry["id"], int) and -(2**63) <= entry["id"] < 2**63
        assert isinstance(entry["content"], str)
        assert entry["type"] in ("input", "output")
        go_time(entry["time"])
    assert isinstance(answer.get("snapshot", False), bool)
    if "snapshot_at" in answer:
        go_time(answer["snapshot_at"])
    return answer
