"""GET /api/v2/tasks/{user}/{task} and GET /api/v2/tasks (contract §9) end to end: the real handler and
moto server. Answers are checked as Go's encoding/json would decode them into codersdk types."""

import json
import uuid
from urllib.parse import urlencode

import pytest

from devstack.demo.catalogue import ALICE, BOB, FAILED, INITIALIZING, PAUSED, RUNNING, TASKS_BY_NAME, DemoUser
from devstack.generators.events import http_api_event, load_event
from tasklogs_core.domain.coder_task import ZERO_TIME, ZERO_UUID
from tests.expected import EXPECTED_TASK_ROUTES
from tests.helpers import decode_go_task, put_task


def get(tasks_api, path: str, query: str = "", caller: DemoUser | None = ALICE):
    return tasks_api(http_api_event("GET", path, claims=caller.claims if caller else None, raw_query=query))


def listed(tasks_api, caller: DemoUser, q: str | None = None):
    return get(tasks_api, "/api/v2/tasks", urlencode({"q": q}) if q is not None else "", caller)


@pytest.mark.parametrize("name", sorted(EXPECTED_TASK_ROUTES))
def test_every_event_answers_per_contract(tasks_api, name: str) -> None:
    status, message = EXPECTED_TASK_ROUTES[name]
    answer = tasks_api(load_event(name))
    assert answer.status == status, answer.body
    assert answer.headers["Content-Type"] == "application/json"
    if message is not None:
        assert answer.body["message"] == message
        assert set(answer.body) <= {"message", "detail", "validations"}


def test_a_task_decodes_as_codersdk_task_with_every_stored_attribute(tasks_api) -> None:
    task = TASKS_BY_NAME["refactor-auth"]
    answer = get(tasks_api, "/api/v2/tasks/me/refactor-auth")
    assert answer.status == 200
    assert decode_go_task(answer.body) == {
        "id": task.task_id,
        "organization_id": "0a1b2c3d-0000-4000-8000-00000000c0de",
        "owner_id": ALICE.user_id,
        "owner_name": "alice",
        "name": "refactor-auth",
        "display_name": "Refactor the auth middleware",
        "template_id": ZERO_UUID,
        "template_version_id": ZERO_UUID,
        "template_name": "",
        "template_display_name": "",
        "template_icon": "",
        "workspace_id": RUNNING["workspace_id"],
        "workspace_name": "alice-refactor-auth",
        "workspace_agent_id": None,
        "workspace_agent_lifecycle": "ready",
        "workspace_agent_health": None,
        "workspace_app_id": None,
        "initial_prompt": "Move the auth middleware onto the new session store.",
        "status": "active",
        "current_state": None,
        "created_at": "2026-11-10T01:00:00Z",
        "updated_at": "2026-11-24T16:45:10.5Z",
    }
    assert "owner_avatar_url" not in answer.body  # Go: omitempty


def test_a_task_with_only_the_required_attributes_gets_coders_defaults(tasks_api, handler_env) -> None:
    item = put_task(handler_env, f"bare-{uuid.uuid4().hex[:8]}", {})  # pending: no workspace yet
    answer = get(tasks_api, f"/api/v2/tasks/alice/{item['name']}")
    body = decode_go_task(answer.body)
    assert (body["display_name"], body["organization_id"], body["workspace_id"], body["status"]) == (
        item["name"],
        ZERO_UUID,
        None,
        "pending",
    )
    assert (body["created_at"], body["updated_at"], body["initial_prompt"], body["workspace_name"]) == (
        ZERO_TIME,
        ZERO_TIME,
        "",
        "",
    )
    assert body["workspace_agent_lifecycle"] is None


def test_values_go_could_not_decode_become_its_zero_values(tasks_api, handler_env) -> None:
    item = put_task(
        handler_env,
        f"odd-{uuid.uuid4().hex[:8]}",
        {**PAUSED, "workspace_id": "not-a-uuid"},
        extra={"created_at": "yesterday", "organization_id": "acme", "updated_at": "2026-02-30T00:00:00Z"},
    )
    body = decode_go_task(get(tasks_api, f"/api/v2/tasks/me/{item['task_id'].upper()}").body)
    assert (body["workspace_id"], body["organization_id"], body["created_at"], body["updated_at"]) == (
        None,
        ZERO_UUID,
        ZERO_TIME,
        ZERO_TIME,
    )
    assert body["id"] == item["task_id"]  # the UUID in its canonical form, whatever the path's spelling


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/api/v2/tasks/bob/bobs-task", "{user} names someone else"),
        (f"/api/v2/tasks/me/{TASKS_BY_NAME['bobs-task'].task_id}", "someone else's task by UUID"),
        ("/api/v2/tasks/me/old-experiment", "deleted"),
        ("/api/v2/tasks/me/no-such-task", "missing"),
        ("/api/v2/tasks/me/%F0%9F%92%A9", "a name no task has"),
    ],
)
def test_lookups_are_the_logs_routes_404_never_403(tasks_api, path: str, reason: str) -> None:
    answer = get(tasks_api, path)
    assert (answer.status, answer.body) == (404, {"message": "Resource not found."}), reason


def test_the_list_holds_the_callers_tasks_newest_first_and_never_deleted_ones(tasks_api, handler_env) -> None:
    owner = DemoUser(str(uuid.uuid4()), f"carol-{uuid.uuid4().hex[:6]}")
    made = {
        name: put_task(handler_env, name, state, owner=owner, extra=extra)
        for name, state, extra in [
            ("oldest", PAUSED, {"created_at": "2026-11-01T10:00:00Z"}),
            ("newest", RUNNING, {"created_at": "2026-11-03T10:00:00.000000001Z"}),
            # Later than "oldest" although its string sorts before it: compared as instants.
            ("offset", INITIALIZING, {"created_at": "2026-11-01T09:30:00-01:00"}),
            ("undated", {}, {}),
            ("gone", RUNNING, {"created_at": "2026-11-04T00:00:00Z", "deleted_at": "2026-11-05T00:00:00Z"}),
        ]
    }
    put_task(handler_env, "not-carols", RUNNING, owner=BOB)
    answer = listed(tasks_api, owner, q='owner:"me"')
    assert answer.status == 200
    assert [decode_go_task(task)["name"] for task in answer.body["tasks"]] == ["newest", "offset", "oldest", "undated"]
    assert answer.body["count"] == 4
    assert {task["id"] for task in answer.body["tasks"]} == {
        made[n]["task_id"] for n in ("newest", "offset", "oldest", "undated")
    }
    assert "X-Tasklogs-Omitted-Tasks" not in answer.headers


@pytest.mark.parametrize(
    ("q", "names"),
    [
        ("status:paused", ["p"]),
        ('status:"active"', ["a"]),
        ("STATUS:Error", ["e"]),  # Coder's queries are case-insensitive
        ("owner:me status:pending", []),
        ("", ["e", "a", "p"]),
        ('owner:"me"', ["e", "a", "p"]),
    ],
)
def test_the_list_filters_by_status(tasks_api, handler_env, q: str, names: list[str]) -> None:
    owner = DemoUser(str(uuid.uuid4()), f"dave-{uuid.uuid4().hex[:6]}")
    for n, (name, state) in enumerate([("p", PAUSED), ("a", RUNNING), ("e", FAILED)]):
        put_task(handler_env, name, state, owner=owner, extra={"created_at": f"2026-11-0{n + 1}T00:00:00Z"})
    answer = listed(tasks_api, owner, q)
    assert [task["name"] for task in answer.body["tasks"]] == names


def test_the_owner_may_be_named_as_coder_allows_and_anyone_else_gets_an_empty_list(tasks_api, handler_env) -> None:
    owner = DemoUser(str(uuid.uuid4()), f"Erin-{uuid.uuid4().hex[:6]}")
    put_task(handler_env, "hers", RUNNING, owner=owner)
    for q in ("owner:me", f"owner:{owner.username.lower()}", f"owner:{owner.user_id.upper()}", owner.username):
        assert [t["name"] for t in listed(tasks_api, owner, q).body["tasks"]] == ["hers"], q
    for q in ("owner:bob", f"owner:{uuid.uuid4()}", "owner:nobody status:active"):
        answer = listed(tasks_api, owner, q)
        assert (answer.status, answer.body) == (200, {"tasks": [], "count": 0}), q


def test_gos_query_encoding_is_read_with_spaces_as_plus(tasks_api) -> None:
    """codersdk's TasksFilter: `q` built from quoted terms, url.Values.Encode writes the space as `+`."""
    answer = get(tasks_api, "/api/v2/tasks", "q=owner%3A%22me%22+status%3A%22paused%22")
    assert answer.status == 200
    assert {task["status"] for task in answer.body["tasks"]} == {"paused"}
    assert {"add-billing-page", "release-notes"} <= {task["name"] for task in answer.body["tasks"]}


@pytest.mark.parametrize(
    ("q", "field", "detail"),
    [
        ("template:go", "template", 'Query param "template" is not a valid query param.'),
        ("organization:acme", "organization", 'Query param "organization" is not a valid query param.'),
        ("status:running", "status", 'Query param "status" has invalid value "running"'),
        ("status:active status:paused", "status", 'Query param "status" provided more than once, found 2 times.'),
        ("owner:a:b", "q", "can only contain 1 ':'"),
        (":me", "q", "cannot start or end with ':'"),
        ("owner:", "q", "cannot start or end with ':'"),
    ],
)
def test_a_bad_filter_is_a_400_naming_what_is_wrong(tasks_api, q: str, field: str, detail: str) -> None:
    answer = listed(tasks_api, ALICE, q)
    assert answer.status == 400
    assert answer.body["message"] == "Invalid query parameters."
    [validation] = answer.body["validations"]
    assert validation["field"] == field
    assert detail in validation["detail"]


def test_a_list_too_large_for_one_lambda_response_leaves_out_the_oldest_and_says_so(
    tasks_api, handler_env, monkeypatch
) -> None:
    from tasklogs_core.use_cases import tasks

    owner = DemoUser(str(uuid.uuid4()), f"fay-{uuid.uuid4().hex[:6]}")
    for day in range(1, 6):
        put_task(handler_env, f"t{day}", RUNNING, owner=owner, extra={"created_at": f"2026-11-0{day}T00:00:00Z"})
    one_task = len(json.dumps(listed(tasks_api, owner).body["tasks"][0], separators=(",", ":"))) + 1
    monkeypatch.setattr(tasks, "MAX_LIST_BODY_BYTES", 3 * one_task + 2)
    answer = listed(tasks_api, owner)
    assert [task["name"] for task in answer.body["tasks"]] == ["t5", "t4", "t3"]
    assert answer.body["count"] == 3
    assert answer.headers["X-Tasklogs-Omitted-Tasks"] == "2"


def test_an_owner_with_more_task_items_than_one_list_reads_gets_a_clear_error(
    tasks_api, handler_env, monkeypatch
) -> None:
    from tasklogs_core.adapters import task_repository

    owner = DemoUser(str(uuid.uuid4()), f"gus-{uuid.uuid4().hex[:6]}")
    for n in range(4):  # about 1.2 MB of items: DynamoDB answers the query in two pages
        put_task(handler_env, f"big-{n}", RUNNING, owner=owner, extra={"initial_prompt": "x" * 300_000})
    assert len(listed(tasks_api, owner).body["tasks"]) == 4
    monkeypatch.setattr(task_repository, "MAX_LIST_PAGES", 1)
    answer = listed(tasks_api, owner)
    assert answer.status == 500
    assert answer.body["message"] == "Too many tasks to list."


def test_the_list_reads_through_the_owner_index_never_a_scan(tasks_api, handler_env, function_log) -> None:
    log = function_log("TasksFunction")
    listed(tasks_api, ALICE, "status:active")
    calls = [json.loads(line) for line in log.getvalue().splitlines() if '"dependency calls"' in line]
    assert calls, log.getvalue()
    operations = {(call["dependency"], call["operation"]) for line in calls for call in line["calls"]}
    assert operations == {("dynamodb", "Query")}, operations
