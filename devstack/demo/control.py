"""Local-only control routes under /_devstack/ that play the control plane and the provisioner, so
the demo can pause, resume and delete a task and show what the stream functions did.

    POST /_devstack/tasks/<name>/pause   build turns to stop (the capture runs), then finishes
    POST /_devstack/tasks/<name>/resume  build starts again; agent ready, app healthy; a demo agent
                                         starts a new run, as one without AgentAPI's state file does
    POST /_devstack/tasks/<name>/delete  soft delete (deleted_at); the cleanup runs
    POST /_devstack/tasks/<name>/crash   the workspace dies: its agent stops answering and its app turns
                                         unhealthy (status error), with no pause and no upload
    POST /_devstack/checkpoints          one run of the checkpoint schedule now, waited for
    GET  /_devstack/tasks/<name>         the item's state, its snapshot object, and how often the
                                         service has read its agent
"""

import re
import time
from typing import Any

from botocore.exceptions import ClientError

from devstack.demo.catalogue import TASKS_BY_NAME
from devstack.demo.fake_agentapi import FakeAgentAPI, Mode, conversation
from devstack.runtime.aws import LocalAws
from devstack.runtime.schedules import LocalSchedules
from devstack.runtime.streams import StreamPoller

PREFIX = "/_devstack/"
_ROUTE = re.compile(r"^/_devstack/tasks/(?P<name>[\w-]+)(?:/(?P<action>pause|resume|delete|crash))?$")
CHECKPOINTS = "/_devstack/checkpoints"

# Attribute changes in the order the provisioner and the agent would make them.
PAUSE_START = {"build_transition": "stop", "build_job_status": "running", "agent_lifecycle": "shutting_down"}
PAUSE_DONE = {"build_job_status": "succeeded", "agent_lifecycle": "off"}
CRASHED = {"app_health": "unhealthy"}
RESUMED = {
    "build_transition": "start",
    "build_job_status": "succeeded",
    "agent_lifecycle": "ready",
    "app_health": "healthy",
}


class DemoControl:
    def __init__(
        self,
        aws: LocalAws,
        poller: StreamPoller,
        fake: FakeAgentAPI | None = None,
        schedules: LocalSchedules | None = None,
    ) -> None:
        self._aws = aws
        self._poller = poller
        self._fake = fake
        self._schedules = schedules
        self._runs: dict[str, int] = {}
        self._dynamodb = aws.client("dynamodb")
        self._s3 = aws.client("s3")

    def handle(self, method: str, path: str) -> tuple[int, dict[str, Any]]:
        if path == CHECKPOINTS and self._schedules is not None:
            if method != "POST":
                return 405, {"message": "Method Not Allowed"}
            self._schedules.run_once()
            return 200, {"checkpoint_runs": self._schedules.runs}
        match = _ROUTE.match(path)
        if not match or match.group("name") not in TASKS_BY_NAME:
            return 404, {
                "message": "Not Found",
                "detail": "try /_devstack/tasks/<demo task name>[/pause|/resume|/delete|/crash]",
            }
        name, action = match.group("name"), match.group("action")
        if (method == "GET") != (action is None):
            return 405, {"message": "Method Not Allowed"}
        task_id = TASKS_BY_NAME[name].task_id
        if action == "pause":
            self._update(task_id, PAUSE_START)
            self._poller.drain()  # the capture runs while the agent is still up
            self._update(task_id, PAUSE_DONE)
        elif action == "resume":
            self._restart_agent(name)
            self._update(task_id, RESUMED)
        elif action == "crash":
            if self._fake is not None and name in self._fake.scenarios:
                self._fake.scenarios[name].mode = Mode.GONE
            self._update(task_id, CRASHED)
        elif action == "delete":
            from tasklogs_core.domain.models import utc_now_rfc3339

            self._update(task_id, {"deleted_at": utc_now_rfc3339()})
        self._poller.drain()
        return 200, self.describe(name)

    def _restart_agent(self, name: str) -> None:
        """The agent starts over at message id 0 with a new prompt: its transcript gains a session."""
        if self._fake is None or name not in self._fake.scenarios:
            return
        run = self._runs[name] = self._runs.get(name, 1) + 1
        self._fake.scenarios[name].mode = Mode.NORMAL  # a crashed workspace comes back too
        turns = (f"Run {run}: carry on from the branch", f"Run {run}: picked up the branch; the tests pass.")
        # Said just now: a new run's messages come after the ones before it.
        self._fake.scenarios[name].messages = conversation(*turns, start_ns=time.time_ns() - 3 * 7_123_456_789)

    def _update(self, task_id: str, attributes: dict[str, str]) -> None:
        update_task(self._aws, task_id, attributes)

    def describe(self, name: str) -> dict[str, Any]:
        from tasklogs_core.adapters.snapshot_store import snapshot_key
        from tasklogs_core.adapters.task_repository import item_from_dynamodb
        from tasklogs_core.adapters.transcript_store import transcript_prefix
        from tasklogs_core.domain.status import derive_status

        task_id = TASKS_BY_NAME[name].task_id
        raw = self._dynamodb.get_item(
            TableName=self._aws.table_name, Key={"task_id": {"S": task_id}}, ConsistentRead=True
        )
        item = item_from_dynamodb(raw["Item"])
        key = snapshot_key(task_id)
        try:
            head = self._s3.head_object(Bucket=self._aws.bucket_name, Key=key)
            current: str | None = head.get("VersionId")
        except ClientError:
            current = None
        versions = self._s3.list_object_versions(Bucket=self._aws.bucket_name, Prefix=key).get("Versions", [])
        sessions = self._dynamodb.query(
            TableName=self._aws.transcripts_table_name,
            KeyConditionExpression="task_id = :task",
            ExpressionAttributeValues={":task": {"S": task_id}},
            Select="COUNT",
        )["Count"]
        chunks = self._s3.list_object_versions(Bucket=self._aws.bucket_name, Prefix=transcript_prefix(task_id))
        return {
            "task": name,
            "task_id": task_id,
            "status": "deleted" if item.is_deleted else derive_status(item).value,
            "snapshot_at": item.snapshot_at,
            "snapshot_version": item.snapshot_version,
            "checkpoint_at": item.checkpoint_at,
            "snapshot_object": {"key": key, "exists": current is not None, "versions_kept": len(versions)},
            "transcript": {"sessions": sessions, "object_versions_kept": len(chunks.get("Versions", []))},
            # How often the service has asked the task's agent for its conversation.
            "agent_reads": self._fake.reads_of(name) if self._fake else None,
        }


def update_task(aws: LocalAws, task_id: str, attributes: dict[str, str]) -> None:
    """SET string attributes of a task item, as the control plane or the provisioner would."""
    names = {f"#a{i}": key for i, key in enumerate(attributes)}
    values = {f":v{i}": {"S": value} for i, value in enumerate(attributes.values())}
    aws.client("dynamodb").update_item(
        TableName=aws.table_name,
        Key={"task_id": {"S": task_id}},
        UpdateExpression="SET " + ", ".join(f"#a{i} = :v{i}" for i in range(len(attributes))),
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values,
    )
