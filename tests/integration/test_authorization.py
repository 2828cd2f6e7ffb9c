"""Authorization matrix: every way alice can name bob's task is a 404 that says nothing more; agent
tokens write only their own task; no credentials is 401; and no token ever reaches the logs."""

import json

import pytest

from devstack.demo.catalogue import ALICE, BOB, TASKS_BY_NAME
from devstack.generators.events import http_api_event, load_event
from tests.integration.test_log_snapshot_upload import upload_event

BOBS = TASKS_BY_NAME["bobs-task"]
ALICES = TASKS_BY_NAME["refactor-auth"]
NOT_FOUND = {"message": "Resource not found."}

# (user segment, task segment) alice might try
WAYS_TO_NAME_BOBS_TASK = [
    ("me", BOBS.task_id),
    ("me", BOBS.task_id.upper()),
    ("me", BOBS.name),
    ("bob", BOBS.name),
    ("bob", BOBS.task_id),
    ("BOB", BOBS.name),
    (BOB.user_id, BOBS.name),
    (BOB.user_id, BOBS.task_id),
    (BOB.user_id.upper(), BOBS.task_id),
    ("alice", BOBS.task_id),
    (ALICE.user_id, BOBS.task_id),
    ("alice", BOBS.name),
]


@pytest.mark.parametrize(("user", "task"), WAYS_TO_NAME_BOBS_TASK)
def test_alice_can_never_reach_bobs_task(invoke, user: str, task: str) -> None:
    answer = invoke(http_api_event("GET", f"/api/v2/tasks/{user}/{task}/logs", claims=ALICE.claims))
    assert (answer.status, answer.body) == (404, NOT_FOUND)


@pytest.mark.parametrize(("user", "task"), [("me", BOBS.name), ("bob", BOBS.task_id), (BOB.user_id, BOBS.name)])
def test_bob_reaches_it_the_same_ways(invoke, user: str, task: str) -> None:
    assert invoke(http_api_event("GET", f"/api/v2/tasks/{user}/{task}/logs", claims=BOB.claims)).status == 200


@pytest.mark.parametrize("claims", [None, {}, {"username": "alice"}, {"sub": ""}, {"sub": "   "}])
def test_missing_or_empty_identity_is_401(invoke, claims: dict | None) -> None:
    event = http_api_event("GET", f"/api/v2/tasks/me/{ALICES.name}/logs", claims=claims)
    assert (invoke(event).status, invoke(event).body) == (401, {"message": "Unauthorized."})


def test_a_username_claim_alone_cannot_impersonate(invoke) -> None:
    """The id comes from `sub`; a token for another sub with alice's username is not alice."""
    claims = {"sub": "00000000-0000-4000-8000-0000000000ff", "username": "alice"}
    answer = invoke(http_api_event("GET", f"/api/v2/tasks/alice/{ALICES.name}/logs", claims=claims))
    assert (answer.status, answer.body) == (404, NOT_FOUND)


def test_an_agent_token_writes_only_its_own_task(upload) -> None:
    bobs_agent = BOBS.agent_token
    assert upload(upload_event(ALICES.task_id, token=bobs_agent)).body == NOT_FOUND
    assert upload(upload_event(BOBS.task_id, token=ALICES.agent_token)).body == NOT_FOUND


def test_a_users_jwt_is_not_an_agent_token(upload) -> None:
    event = upload_event(ALICES.task_id, token=None, headers={"authorization": f"Bearer {ALICE.token}"})
    assert upload(event).status == 401


def test_no_token_ever_reaches_the_logs(invoke, upload, function_log) -> None:
    logs = [function_log("TaskLogsFunction"), function_log("LogSnapshotFunction")]
    secrets = [ALICE.token, ALICES.agent_token, BOBS.agent_token, "not-an-agent-token"]
    # Successes and every kind of refusal, with the tokens in the headers they travel in.
    for name in ("logs_refactor_auth", "logs_bobs_task", "logs_no_claims"):
        event = load_event(name)
        event["headers"]["authorization"] = f"Bearer {ALICE.token}"
        invoke(event)
    for token in secrets[1:]:
        upload(upload_event(ALICES.task_id, token=token))
        upload(upload_event(ALICES.task_id, token=None, headers={"authorization": f"Bearer {token}"}))
        upload(upload_event("not-a-uuid", token=token, query="", body=b"{"))
    text = "".join(log.getvalue() for log in logs)
    lines = [json.loads(line) for line in text.splitlines()]
    assert len(lines) >= 10  # the functions did log these requests
    for secret in secrets:
        assert secret not in text
