"""Contract §3: status derivation, one row per branch of the table."""

import pytest

from tasklogs_core.domain.models import TaskItem
from tasklogs_core.domain.status import TaskStatus, derive_status

WS = {"workspace_id": "c0ffee00-0000-4000-8000-000000000001"}
STARTED = {**WS, "build_transition": "start", "build_job_status": "succeeded"}
READY = {**STARTED, "agent_lifecycle": "ready"}

ROWS = [
    # 1. no workspace
    ({}, TaskStatus.PENDING),
    ({"build_transition": "start", "build_job_status": "succeeded", "agent_lifecycle": "ready"}, TaskStatus.PENDING),
    # 2. build
    ({**WS}, TaskStatus.PENDING),
    ({**WS, "build_transition": "start"}, TaskStatus.PENDING),
    ({**WS, "build_transition": "start", "build_job_status": "failed"}, TaskStatus.ERROR),
    ({**WS, "build_transition": "stop", "build_job_status": "canceling"}, TaskStatus.ERROR),
    ({**WS, "build_transition": "delete", "build_job_status": "canceled"}, TaskStatus.ERROR),
    ({**WS, "build_transition": "stop", "build_job_status": "succeeded"}, TaskStatus.PAUSED),
    ({**WS, "build_transition": "delete", "build_job_status": "succeeded"}, TaskStatus.PAUSED),
    ({**WS, "build_transition": "start", "build_job_status": "pending"}, TaskStatus.PENDING),
    ({**WS, "build_transition": "stop", "build_job_status": "running"}, TaskStatus.UNKNOWN),
    ({**WS, "build_transition": "stop", "build_job_status": "pending"}, TaskStatus.UNKNOWN),
    ({**WS, "build_job_status": "succeeded"}, TaskStatus.UNKNOWN),
    ({**WS, "build_transition": "start", "build_job_status": "exploded"}, TaskStatus.UNKNOWN),
    # 3. agent
    ({**WS, "build_transition": "start", "build_job_status": "running"}, TaskStatus.INITIALIZING),
    ({**STARTED, "agent_lifecycle": "created"}, TaskStatus.INITIALIZING),
    ({**STARTED, "agent_lifecycle": "starting"}, TaskStatus.INITIALIZING),
    ({**STARTED, "agent_lifecycle": "shutting_down"}, TaskStatus.UNKNOWN),
    ({**STARTED, "agent_lifecycle": "off"}, TaskStatus.UNKNOWN),
    ({**STARTED, "agent_lifecycle": "shutdown_error"}, TaskStatus.UNKNOWN),
    # 4. app
    ({**READY, "app_health": "initializing"}, TaskStatus.INITIALIZING),
    ({**READY, "app_health": "unhealthy"}, TaskStatus.ERROR),
    ({**READY, "app_health": "healthy"}, TaskStatus.ACTIVE),
    ({**READY, "app_health": "disabled"}, TaskStatus.ACTIVE),
    ({**READY}, TaskStatus.ACTIVE),
    ({**STARTED, "agent_lifecycle": "start_timeout", "app_health": "healthy"}, TaskStatus.ACTIVE),
    ({**STARTED, "agent_lifecycle": "start_error"}, TaskStatus.ACTIVE),
    ({**WS, "build_transition": "start", "build_job_status": "running", "agent_lifecycle": "ready"}, TaskStatus.ACTIVE),
    ({**READY, "app_health": "sick"}, TaskStatus.UNKNOWN),
]


@pytest.mark.parametrize(("signals", "expected"), ROWS, ids=[f"{i}-{row[1]}" for i, row in enumerate(ROWS)])
def test_derive_status(signals: dict, expected: TaskStatus) -> None:
    assert derive_status(TaskItem(task_id="t", **signals)) is expected
