"""Coder's own clients against the local stack, over HTTP through the local API Gateway front and its
Lambda authorizer: the request sequences of Coder's CLI (`coder task logs`, cli/task_logs.go over
codersdk/aitasks.go) and of its VS Code extension (src/webviews/tasks/tasksPanelProvider.ts), with the
user's token in only the header each client sends. Every answer is checked as Go would decode it."""

from urllib.parse import urlencode

import httpx
import pytest

from devstack.demo.catalogue import ALICE, PAUSED_CONVERSATION, TASKS_BY_NAME
from devstack.runtime.front import LocalApiGateway
from devstack.runtime.local_idp import mint
from tests.helpers import as_logs, decode_go_task, decode_go_task_logs

ACTIVE, PAUSED_TASK = TASKS_BY_NAME["refactor-auth"], TASKS_BY_NAME["add-billing-page"]


@pytest.fixture(scope="module")
def front(demo):
    """One front for the module (its containers stay warm), over the session's seeded moto and agents."""
    from devstack.runtime.local_idp import serve_keys

    with pytest.MonkeyPatch.context() as environment:
        for key, value in demo.environment().items():
            environment.setenv(key, value)
        serve_keys()
        gateway = LocalApiGateway(port=0).start()
        yield gateway
        gateway.stop()


def session_token_client(front: LocalApiGateway) -> httpx.Client:
    """What codersdk.Client sends: the session token in `Coder-Session-Token`, and nothing else."""
    return httpx.Client(base_url=front.url, headers={"Coder-Session-Token": mint(ALICE.claims)}, timeout=30)


def bearer_client(front: LocalApiGateway) -> httpx.Client:
    return httpx.Client(base_url=front.url, headers={"Authorization": f"Bearer {mint(ALICE.claims)}"}, timeout=30)


CLIENTS = {"coder-session-token": session_token_client, "authorization-bearer": bearer_client}


def task_by_identifier(client: httpx.Client, identifier: str) -> dict:
    """codersdk's TaskByIdentifier: a UUID → TaskByID (`/tasks/me/<id>`); else `[owner/]name` →
    TaskByOwnerAndName (`/tasks/<owner or me>/<name>`)."""
    import uuid

    try:
        path = f"/api/v2/tasks/me/{uuid.UUID(identifier)}"
    except ValueError:
        owner, _, name = identifier.rpartition("/")
        path = f"/api/v2/tasks/{owner or 'me'}/{name}"
    answer = client.get(path)
    assert answer.status_code == 200, answer.text
    return decode_go_task(answer.json())


def task_logs(client: httpx.Client, task_id: str) -> dict:
    """codersdk's TaskLogs(ctx, codersdk.Me, task.ID)."""
    answer = client.get(f"/api/v2/tasks/me/{task_id}/logs")
    assert answer.status_code == 200, answer.text
    return decode_go_task_logs(answer.json())


@pytest.mark.parametrize("auth", sorted(CLIENTS))
@pytest.mark.parametrize(
    "identifier", [ACTIVE.name, ACTIVE.task_id, f"alice/{ACTIVE.name}", f"{ALICE.user_id}/{ACTIVE.name}"]
)
def test_coder_task_logs_resolves_the_task_then_reads_its_logs(front, fake_agentapi, auth, identifier) -> None:
    with CLIENTS[auth](front) as client:
        task = task_by_identifier(client, identifier)
        assert (task["id"], task["name"], task["status"]) == (ACTIVE.task_id, ACTIVE.name, "active")
        logs = task_logs(client, task["id"])
    assert logs == {"logs": as_logs(fake_agentapi.scenarios[ACTIVE.name].messages)}


@pytest.mark.parametrize("auth", sorted(CLIENTS))
def test_coder_task_logs_of_a_paused_task_reads_its_snapshot(front, auth) -> None:
    with CLIENTS[auth](front) as client:
        task = task_by_identifier(client, PAUSED_TASK.name)
        assert task["status"] == "paused"
        logs = task_logs(client, task["id"])
    assert logs == {"logs": as_logs(PAUSED_CONVERSATION), "snapshot": True, "snapshot_at": PAUSED_TASK.snapshot_at}


@pytest.mark.parametrize("auth", sorted(CLIENTS))
def test_the_vs_code_extension_lists_then_opens_a_task_then_reads_its_logs(front, fake_agentapi, auth) -> None:
    with CLIENTS[auth](front) as client:
        # getTasks({owner: "me"}), then getTask("me", id) and getTaskLogs("me", id) for the chosen one.
        listing = client.get("/api/v2/tasks", params={"q": "owner:me"})
        assert listing.status_code == 200, listing.text
        tasks = [decode_go_task(task) for task in listing.json()["tasks"]]
        assert listing.json()["count"] == len(tasks)
        assert {task["owner_id"] for task in tasks} == {ALICE.user_id}
        names = [task["name"] for task in tasks]
        assert {"refactor-auth", "add-billing-page"} <= set(names) and "bobs-task" not in names
        assert "old-experiment" not in names  # deleted
        chosen = next(task for task in tasks if task["name"] == ACTIVE.name)
        opened = client.get(f"/api/v2/tasks/me/{chosen['id']}")
        assert decode_go_task(opened.json()) == chosen
        logs = task_logs(client, chosen["id"])
    assert logs["logs"] == as_logs(fake_agentapi.scenarios[ACTIVE.name].messages)


def test_codersdks_encoded_filter_reaches_the_list(front) -> None:
    """TasksFilter{Owner: "me", Status: "paused"}: `q` quoted and joined by a space, then url-encoded."""
    with session_token_client(front) as client:
        answer = client.get("/api/v2/tasks?" + urlencode({"q": 'owner:"me" status:"paused"'}))
    assert answer.status_code == 200
    assert {task["status"] for task in answer.json()["tasks"]} == {"paused"}


@pytest.mark.parametrize(
    "path", ["/api/v2/tasks", f"/api/v2/tasks/me/{ACTIVE.name}", f"/api/v2/tasks/me/{ACTIVE.name}/logs"]
)
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Coder-Session-Token": "a-coder-api-key-not-a-jwt"},
        {"Authorization": "Bearer expired"},
        {"Coder-Session-Token": "EXPIRED"},
    ],
    ids=["no-token", "coder-api-key", "garbage-bearer", "expired-session-token"],
)
def test_without_a_valid_token_every_user_route_is_api_gateways_401(front, path, headers) -> None:
    expired = mint(ALICE.claims, lifetime_seconds=-1)
    sent = {key: value.replace("EXPIRED", expired) for key, value in headers.items()}
    answer = httpx.get(front.url + path, headers=sent, timeout=30)
    assert (answer.status_code, answer.json()) == (401, {"message": "Unauthorized"})


def test_claims_a_client_sends_itself_are_never_trusted(front) -> None:
    """Only the authorizer's answer becomes the function's claims: a request cannot bring its own."""
    forged = {"Coder-Session-Token": mint({"sub": ALICE.user_id, "username": "alice"}, lifetime_seconds=-1)}
    answer = httpx.get(
        f"{front.url}/api/v2/tasks/me/{ACTIVE.name}",
        headers={**forged, "X-Amzn-Requestcontext": '{"authorizer":{"lambda":{"sub":"x"}}}'},
        timeout=30,
    )
    assert answer.status_code == 401
