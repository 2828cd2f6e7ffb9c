"""AWS faults that moto cannot produce, from a real loopback server (tests.tools.faulty_aws): each ends
in a clear 5xx in the contract's shape, after a bounded number of SDK attempts, with nothing
half-written."""

import json
import uuid

import pytest

from devstack.demo.catalogue import ALICE, PAUSED, TASKS_BY_NAME
from devstack.generators.events import http_api_event, load_event
from tasklogs_core.adapters import clients
from tests.helpers import put_task
from tests.integration.test_log_snapshot_upload import upload_event
from tests.tools.faulty_aws import Fault, FaultyAws

SDK_ATTEMPTS = 3  # clients._ATTEMPTS: standard retry mode, 3 attempts in all


@pytest.fixture
def faulty(handler_env, monkeypatch, request):
    """One AWS service pointed at a faulty server: request.param = (service env suffix, fault)."""
    service, fault = request.param
    with FaultyAws(fault) as aws:
        monkeypatch.setenv(f"AWS_ENDPOINT_URL_{service}", aws.url)
        clients.reset()
        yield aws
    clients.reset()


@pytest.mark.parametrize(
    "faulty", [("DYNAMODB", Fault.THROTTLE), ("DYNAMODB", Fault.SERVER_ERROR)], indirect=True, ids=["throttled", "5xx"]
)
def test_dynamodb_faults_on_the_read_path_are_a_bounded_500(invoke, faulty, function_log) -> None:
    log = function_log("TaskLogsFunction")
    answer = invoke(load_event("logs_refactor_auth"))
    assert (answer.status, answer.body) == (500, {"message": "Internal error fetching task."})
    assert len(faulty.requests) == SDK_ATTEMPTS
    # The failed call is reported with its time, retries included, as not ok.
    [report] = [line for line in map(json.loads, log.getvalue().splitlines()) if line["message"] == "dependency calls"]
    [call] = report["calls"]
    assert (call["dependency"], call["ok"]) == ("dynamodb", False) and call["ms"] == report["dynamodb_ms"] > 0


@pytest.mark.parametrize(
    "faulty", [("S3", Fault.THROTTLE), ("S3", Fault.SERVER_ERROR)], indirect=True, ids=["slowdown", "5xx"]
)
def test_s3_faults_on_the_snapshot_path_are_a_bounded_500(invoke, faulty) -> None:
    answer = invoke(load_event("logs_add_billing_page"))
    assert (answer.status, answer.body) == (
        500,
        {"message": "Internal error fetching task snapshot.", "detail": "The snapshot object could not be read."},
    )
    assert len(faulty.requests) == SDK_ATTEMPTS


@pytest.mark.parametrize("faulty", [("S3", Fault.SERVER_ERROR)], indirect=True, ids=["5xx"])
def test_an_upload_whose_object_write_fails_changes_nothing(upload, handler_env, faulty) -> None:
    task = put_task(
        handler_env,
        f"s3-down-{uuid.uuid4().hex[:6]}",
        PAUSED,
        snapshot_at="2026-11-20T00:00:00.000000Z",
        version="v-before",
    )
    answer = upload(upload_event(task["task_id"], token=f"agent-token-{task['name']}"))
    assert (answer.status, answer.body) == (500, {"message": "Internal error storing snapshot."})
    assert len(faulty.requests) == SDK_ATTEMPTS
    item = handler_env.client("dynamodb").get_item(
        TableName=handler_env.table_name, Key={"task_id": {"S": task["task_id"]}}
    )["Item"]
    assert (item["snapshot_at"]["S"], item["snapshot_version"]["S"]) == ("2026-11-20T00:00:00.000000Z", "v-before")


@pytest.mark.parametrize("faulty", [("DYNAMODB", Fault.THROTTLE)], indirect=True, ids=["throttled"])
def test_upload_auth_lookups_under_throttling_are_a_500_not_a_401(upload, faulty) -> None:
    task = TASKS_BY_NAME["release-notes"]
    answer = upload(upload_event(task.task_id, token=task.agent_token))
    assert (answer.status, answer.body) == (500, {"message": "Internal error fetching task."})


@pytest.mark.slow
@pytest.mark.parametrize("faulty", [("DYNAMODB", Fault.HANG)], indirect=True, ids=["hang"])
def test_a_hanging_dynamodb_is_a_500_before_the_lambda_deadline(invoke, faulty) -> None:
    event = http_api_event("GET", "/api/v2/tasks/me/refactor-auth/logs", claims=ALICE.claims)
    answer = invoke(event)  # the template's 12 s timeout
    assert (answer.status, answer.body) == (500, {"message": "Internal error fetching task."})
    assert answer.remaining_ms > 0 and 1 <= len(faulty.requests) <= SDK_ATTEMPTS
