"""POST /api/v2/workspaceagents/me/tasks/{task}/log-snapshot end to end (contract §6): the real
handler against moto server, one test per step, and the order the steps are checked in."""

import base64
import json
import uuid
from datetime import UTC
from urllib.parse import quote

import pytest

from devstack.demo.catalogue import PAUSED, RUNNING, TASKS_BY_NAME, UPLOAD_BODY, UPLOADED_CONVERSATION, upload_path
from devstack.generators.events import http_api_event, load_event
from tests.expected import EXPECTED_UPLOADS
from tests.helpers import as_logs, item_of, put_task, stored_snapshot

TIME = "2026-11-25T04:31:04.123456789Z"


def upload_event(
    task_id: str,
    *,
    token: str | None,
    query: str = "format=agentapi",
    body: bytes = UPLOAD_BODY,
    headers: dict | None = None,
    base64_body: bool = False,
) -> dict:
    sent = {"content-type": "application/json", **(headers or {})}
    if token is not None:
        sent["coder-session-token"] = token
    text = base64.b64encode(body).decode() if base64_body else body.decode()
    return http_api_event(
        "POST", upload_path(task_id), claims=None, headers=sent, raw_query=query, body=text, is_base64=base64_body
    )


def logs_event(task: dict) -> dict:
    from devstack.demo.catalogue import ALICE

    return http_api_event("GET", f"/api/v2/tasks/me/{task['task_id']}/logs", claims=ALICE.claims)


def versions_of(aws, task_id: str) -> list[dict]:
    key = f"task-snapshots/{task_id}.json"
    return [
        v
        for v in aws.client("s3").list_object_versions(Bucket=aws.bucket_name, Prefix=key).get("Versions", [])
        if v["Key"] == key
    ]


def stored_body(aws, task_id: str, version: str) -> dict:
    return json.loads(stored_snapshot(aws, task_id, version))


@pytest.fixture
def paused_task(demo) -> dict:
    name = f"paused-{uuid.uuid4().hex[:8]}"
    return put_task(demo, name, PAUSED)


def token_of(task: dict) -> str:
    return f"agent-token-{task['name']}"


# ---------------------------------------------------------------- every event in events/ per contract


@pytest.mark.parametrize("name", sorted(EXPECTED_UPLOADS))
def test_every_upload_event_answers_per_contract(upload, name: str) -> None:
    status, message = EXPECTED_UPLOADS[name]
    answer = upload(load_event(name))
    assert answer.status == status, answer.body
    if message is None:
        assert answer.body is None and "Content-Type" not in answer.headers
    else:
        assert answer.headers["Content-Type"] == "application/json"
        assert answer.body["message"] == message
        assert set(answer.body) <= {"message", "detail", "validations"}


# ---------------------------------------------------------------- step 6: storing


def test_success_stores_the_envelope_and_points_the_item_at_it(upload, invoke, demo, paused_task) -> None:
    answer = upload(upload_event(paused_task["task_id"], token=token_of(paused_task)))
    assert (answer.status, answer.body) == (204, None)
    item = item_of(demo, paused_task["task_id"])
    assert item["snapshot_version"] == versions_of(demo, paused_task["task_id"])[0]["VersionId"]
    # Only the four message fields are kept; AgentAPI's `$schema` is not.
    assert stored_body(demo, paused_task["task_id"], item["snapshot_version"]) == {
        "format": "agentapi",
        "data": {"messages": UPLOADED_CONVERSATION},
    }
    logs = invoke(logs_event(paused_task)).body
    assert logs == {"logs": as_logs(UPLOADED_CONVERSATION), "snapshot": True, "snapshot_at": item["snapshot_at"]}


def test_snapshot_at_is_the_servers_utc_clock(upload, demo, paused_task) -> None:
    from datetime import datetime, timedelta

    before = datetime.now(UTC)
    upload(upload_event(paused_task["task_id"], token=token_of(paused_task)))
    stored = datetime.strptime(item_of(demo, paused_task["task_id"])["snapshot_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
    assert before - timedelta(seconds=1) <= stored.replace(tzinfo=UTC) <= datetime.now(UTC)


def test_extra_message_fields_are_dropped(upload, demo, paused_task) -> None:
    message = {"id": 3, "content": "x", "role": "user", "time": TIME, "tokens": 12, "tool": {"name": "bash"}}
    upload(
        upload_event(
            paused_task["task_id"], token=token_of(paused_task), body=json.dumps({"messages": [message]}).encode()
        )
    )
    item = item_of(demo, paused_task["task_id"])
    stored = stored_body(demo, paused_task["task_id"], item["snapshot_version"])
    assert stored["data"]["messages"] == [{"id": 3, "content": "x", "role": "user", "time": TIME}]


def test_a_newer_upload_replaces_the_snapshot_and_keeps_the_old_version(upload, invoke, demo, paused_task) -> None:
    first = [{"id": 0, "content": "first", "role": "agent", "time": TIME}]
    second = [{"id": 0, "content": "second", "role": "agent", "time": TIME}]
    token = token_of(paused_task)
    upload(upload_event(paused_task["task_id"], token=token, body=json.dumps({"messages": first}).encode()))
    first_item = item_of(demo, paused_task["task_id"])
    upload(upload_event(paused_task["task_id"], token=token, body=json.dumps({"messages": second}).encode()))
    second_item = item_of(demo, paused_task["task_id"])
    assert second_item["snapshot_at"] > first_item["snapshot_at"]
    assert second_item["snapshot_version"] != first_item["snapshot_version"]
    assert invoke(logs_event(paused_task)).body["logs"] == as_logs(second)
    # The first upload is still retrievable as an older version.
    assert stored_body(demo, paused_task["task_id"], first_item["snapshot_version"])["data"]["messages"] == first
    assert len(versions_of(demo, paused_task["task_id"])) == 2


def test_an_active_task_accepts_uploads_and_still_serves_live_logs(upload, invoke, demo, fake_agentapi) -> None:
    task = put_task(demo, f"live-{uuid.uuid4().hex[:8]}", RUNNING, agent=fake_agentapi.agent("upload-live"))
    assert upload(upload_event(task["task_id"], token=token_of(task))).status == 204
    assert "snapshot" not in invoke(logs_event(task)).body


def test_base64_bodies_are_decoded(upload, demo, paused_task) -> None:
    answer = upload(upload_event(paused_task["task_id"], token=token_of(paused_task), base64_body=True))
    assert answer.status == 204
    item = item_of(demo, paused_task["task_id"])
    assert (
        stored_body(demo, paused_task["task_id"], item["snapshot_version"])["data"]["messages"] == UPLOADED_CONVERSATION
    )


def test_bearer_token_works_like_the_session_token_header(upload, paused_task) -> None:
    event = upload_event(
        paused_task["task_id"], token=None, headers={"authorization": f"Bearer {token_of(paused_task)}"}
    )
    assert upload(event).status == 204


# ---------------------------------------------------------------- steps 1-5, and their order


def test_no_token_is_401_before_anything_else(upload) -> None:
    answer = upload(upload_event("not-a-uuid", token=None, query="", body=b"{"))
    assert (answer.status, answer.body) == (401, {"message": "Unauthorized."})


def test_a_token_whose_only_task_is_deleted_is_401(upload, demo) -> None:
    task = put_task(demo, f"gone-{uuid.uuid4().hex[:8]}", PAUSED, extra={"deleted_at": "2026-11-24T00:00:00Z"})
    assert upload(upload_event(task["task_id"], token=token_of(task))).status == 401


def test_a_valid_token_on_a_deleted_task_is_404(upload, demo) -> None:
    """The token is still valid (another task of the same workspace has it), the task is not."""
    name = f"pair-{uuid.uuid4().hex[:8]}"
    deleted = put_task(demo, name, PAUSED, extra={"deleted_at": "2026-11-24T00:00:00Z"})
    put_task(demo, name, PAUSED)  # same name → same token, not deleted
    assert upload(upload_event(deleted["task_id"], token=token_of(deleted))).body == {"message": "Resource not found."}


def test_invalid_task_id_comes_before_the_query(upload, paused_task) -> None:
    answer = upload(upload_event("release-notes", token=token_of(paused_task), query=""))
    assert (answer.status, answer.body["message"]) == (400, "Invalid task ID format.")
    assert "release-notes" in answer.body["detail"]


def test_query_problems_come_before_the_task_check(upload, paused_task) -> None:
    answer = upload(upload_event(str(uuid.uuid4()), token=token_of(paused_task), query="format=agentapi&limit=10"))
    assert answer.body == {
        "message": "Invalid query parameters.",
        "validations": [{"field": "limit", "detail": 'Query param "limit" is not a valid query param'}],
    }
    missing = upload(upload_event(str(uuid.uuid4()), token=token_of(paused_task), query="")).body
    assert missing["validations"] == [
        {"field": "format", "detail": 'Query param "format" is required and cannot be empty'}
    ]


def test_invalid_format_names_it(upload, paused_task) -> None:
    answer = upload(upload_event(str(uuid.uuid4()), token=token_of(paused_task), query="format=asciinema"))
    assert answer.body == {
        "message": "Invalid format parameter.",
        "detail": 'Only "agentapi" format is currently supported, got "asciinema".',
    }


@pytest.mark.parametrize("body", [b"{not json", b"x" * 70_000, b'{"nothing": 1}'])
def test_the_body_is_not_read_before_the_task_check(upload, paused_task, body: bytes) -> None:
    other_task = str(uuid.uuid4())
    answer = upload(upload_event(other_task, token=token_of(paused_task), body=body))
    assert (answer.status, answer.body) == (404, {"message": "Resource not found."})


def test_another_workspaces_token_is_404_and_stores_nothing(upload, demo, paused_task) -> None:
    answer = upload(upload_event(paused_task["task_id"], token=TASKS_BY_NAME["refactor-auth"].agent_token))
    assert (answer.status, answer.body) == (404, {"message": "Resource not found."})
    assert versions_of(demo, paused_task["task_id"]) == []
    assert "snapshot_at" not in item_of(demo, paused_task["task_id"])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{invalid json", "Failed to decode request payload."),
        (b"x" * 65_537, "Failed to decode request payload."),
        (b'{"messages": "all of them"}', "Failed to decode request payload."),
        (b'{"truncated": false, "total_count": 0}', "Invalid agentapi payload structure."),
    ],
)
def test_bad_bodies_are_400_and_store_nothing(upload, demo, paused_task, body: bytes, message: str) -> None:
    answer = upload(upload_event(paused_task["task_id"], token=token_of(paused_task), body=body))
    assert (answer.status, answer.body["message"]) == (400, message)
    assert versions_of(demo, paused_task["task_id"]) == []


def test_missing_messages_detail_matches_coder(upload, paused_task) -> None:
    answer = upload(upload_event(paused_task["task_id"], token=token_of(paused_task), body=b"{}"))
    assert answer.body == {
        "message": "Invalid agentapi payload structure.",
        "detail": 'Missing required "messages" field.',
    }


def test_the_cap_applies_to_the_decoded_body(upload, paused_task) -> None:
    skeleton = json.dumps({"messages": [{"id": 0, "content": "", "role": "agent", "time": TIME}]})
    exact = json.dumps(
        {"messages": [{"id": 0, "content": "x" * (65_536 - len(skeleton)), "role": "agent", "time": TIME}]}
    )
    token = token_of(paused_task)
    assert (
        upload(upload_event(paused_task["task_id"], token=token, body=exact.encode(), base64_body=True)).status == 204
    )
    over = exact.replace('"x', '"xx', 1).encode()
    assert upload(upload_event(paused_task["task_id"], token=token, body=over, base64_body=True)).status == 400


def test_storage_failure_is_a_500_without_aws_details(upload, paused_task, monkeypatch) -> None:
    from tasklogs_core.adapters import clients

    monkeypatch.setenv("SNAPSHOTS_BUCKET_NAME", "no-such-bucket")
    clients.reset()
    answer = upload(upload_event(paused_task["task_id"], token=token_of(paused_task)))
    assert (answer.status, answer.body) == (500, {"message": "Internal error storing snapshot."})


# ---------------------------------------------------------------- hostile text (contract §6 step 5)


def message_json(id_: str = "0", content: str = '"hello"', role: str = '"agent"') -> bytes:
    """One message as raw JSON text, so a test can send what json.dumps would never write."""
    return f'{{"messages": [{{"id": {id_}, "content": {content}, "role": {role}, "time": "{TIME}"}}]}}'.encode()


def test_a_lone_surrogate_escape_in_content_is_stored_as_u_fffd(upload, invoke, demo, paused_task) -> None:
    answer = upload(
        upload_event(
            paused_task["task_id"], token=token_of(paused_task), body=message_json(content=r'"a\ud800b \udfff"')
        )
    )
    assert (answer.status, answer.body) == (204, None)
    [entry] = invoke(logs_event(paused_task)).body["logs"]
    assert entry["content"] == "a\ufffdb \ufffd"  # one U+FFFD per lone escape, as Go's decoder makes it


def test_a_surrogate_pair_escape_is_one_character(upload, invoke, paused_task) -> None:
    upload(
        upload_event(paused_task["task_id"], token=token_of(paused_task), body=message_json(content=r'"\ud83d\ude00"'))
    )
    assert invoke(logs_event(paused_task)).body["logs"][0]["content"] == "\U0001f600"


def test_a_lone_surrogate_in_a_role_is_a_400_with_a_writable_body_and_log_line(
    upload, paused_task, function_log
) -> None:
    log = function_log("LogSnapshotFunction")
    answer = upload(
        upload_event(paused_task["task_id"], token=token_of(paused_task), body=message_json(role=r'"\ud800"'))
    )
    assert answer.status == 400
    assert answer.body == {
        "message": "Failed to decode request payload.",
        "detail": 'messages[0].role: must be "user" or "agent", got "\ufffd".',
    }
    [line] = [json.loads(line) for line in log.getvalue().splitlines() if '"level":"WARNING"' in line]
    assert line["detail"] == answer.body["detail"]


@pytest.mark.parametrize(
    "body",
    [
        message_json(id_="NaN"),
        message_json(id_="Infinity"),
        message_json(id_="-Infinity"),
        b'{"messages": [], "extra": NaN}',
        message_json(id_=str(2**63)),
        message_json(id_=str(-(2**63) - 1)),
        message_json(id_="9" * 4300),
        message_json(id_="9" * 4301),
    ],
)
def test_not_strict_json_and_ids_beyond_int64_are_400_and_store_nothing(upload, demo, paused_task, body: bytes) -> None:
    answer = upload(upload_event(paused_task["task_id"], token=token_of(paused_task), body=body))
    assert (answer.status, answer.body["message"]) == (400, "Failed to decode request payload."), answer.body
    assert versions_of(demo, paused_task["task_id"]) == []


@pytest.mark.parametrize("id_", [2**63 - 1, -(2**63)])
def test_int64_ids_at_the_limits_are_kept(upload, invoke, paused_task, id_: int) -> None:
    assert (
        upload(
            upload_event(paused_task["task_id"], token=token_of(paused_task), body=message_json(id_=str(id_)))
        ).status
        == 204
    )
    assert invoke(logs_event(paused_task)).body["logs"][0]["id"] == id_


# ---------------------------------------------------------------- {task}: exactly Go's UUID forms (step 2)


def spelled_upload(task: dict, spelling: str) -> dict:
    from urllib.parse import quote

    event = upload_event(task["task_id"], token=token_of(task))
    event["rawPath"] = event["rawPath"].replace(task["task_id"], quote(spelling, safe=""))
    event["requestContext"]["http"]["path"] = event["rawPath"]
    event["pathParameters"] = {"task": spelling}
    return event


@pytest.mark.parametrize("form", ["{{%s}}", "uuid:%s", "urn:%s", "{%s", "%s}", "x%s", "%s\n", "urn:uuid:{%s}"])
def test_task_ids_in_forms_go_rejects_are_400(upload, demo, paused_task, form: str) -> None:
    answer = upload(spelled_upload(paused_task, form % paused_task["task_id"]))
    assert (answer.status, answer.body["message"]) == (400, "Invalid task ID format."), answer.body
    assert versions_of(demo, paused_task["task_id"]) == []


@pytest.mark.parametrize(
    "spelling",
    [
        lambda t: t.replace("-", "")[:7] + "-" + t.replace("-", "")[7:],  # a hyphen in the wrong place
        lambda t: t.replace("-", "--", 1)[:-1],  # hyphens doubled, length kept
        lambda t: t.translate(
            str.maketrans("0123456789", "\uff10\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19")
        ),
    ],
)
def test_misplaced_hyphens_and_other_digits_are_400(upload, paused_task, spelling) -> None:
    answer = upload(spelled_upload(paused_task, spelling(paused_task["task_id"])))
    assert (answer.status, answer.body["message"]) == (400, "Invalid task ID format.")


@pytest.mark.parametrize("form", ["{%s}", "urn:uuid:%s", "URN:UUID:%s", "%s"])
def test_task_ids_in_forms_go_accepts_are_the_task(upload, demo, paused_task, form: str) -> None:
    spelling = form % paused_task["task_id"].upper()
    assert upload(spelled_upload(paused_task, spelling)).status == 204
    assert (
        upload(
            spelled_upload(paused_task, (form % paused_task["task_id"]).replace("-", "") if form == "%s" else spelling)
        ).status
        == 204
    )


def test_an_id_written_as_a_float_is_refused_as_go_refuses_it(upload, invoke, paused_task) -> None:
    # Go's decoder refuses `7.0` and `7e0` for an int64 (AgentAPI's and Coder's ids), however whole.
    for written in ("7.0", "7e0", "7.5"):
        bad = upload(upload_event(paused_task["task_id"], token=token_of(paused_task), body=message_json(id_=written)))
        assert (bad.status, bad.body["message"]) == (400, "Failed to decode request payload."), written
        assert "messages[0].id" in bad.body["detail"]
    assert (
        upload(upload_event(paused_task["task_id"], token=token_of(paused_task), body=message_json(id_="7"))).status
        == 204
    )
    assert invoke(logs_event(paused_task)).body["logs"][0]["id"] == 7


# ---- `//api/...`: agents whose CODER_AGENT_URL ends in `/` (contract §6) -------------------------


def doubled_slash(event: dict) -> dict:
    """The same upload posted to `//api/...`, as API Gateway would send it through `$default`."""
    path = "/" + event["rawPath"]
    return http_api_event(
        "POST",
        path,
        claims=None,
        headers=event["headers"],
        raw_query=event["rawQueryString"],
        body=event.get("body"),
        is_base64=event["isBase64Encoded"],
    )


def test_an_upload_to_a_doubled_slash_path_is_stored_like_the_single_slash_one(upload, invoke, paused_task) -> None:
    event = doubled_slash(upload_event(paused_task["task_id"], token=f"agent-token-{paused_task['name']}"))
    assert (event["routeKey"], "pathParameters" in event) == ("$default", False)
    assert upload(event).status == 204
    logs = invoke(logs_event(paused_task)).body
    assert logs["snapshot"] is True and logs["logs"] == as_logs(json.loads(UPLOAD_BODY)["messages"])


def test_through_default_the_task_segment_is_decoded_once_as_api_gateway_decodes_it(upload, paused_task) -> None:
    # `{uuid}` is one of Go's UUID forms: encoded in the raw path, API Gateway would pass it decoded.
    token = f"agent-token-{paused_task['name']}"
    braced = quote("{" + paused_task["task_id"] + "}")
    single = upload_event(paused_task["task_id"], token=token)
    event = doubled_slash(single)
    event["rawPath"] = event["rawPath"].replace(paused_task["task_id"], braced)
    event["requestContext"]["http"]["path"] = event["rawPath"]
    assert upload(event).status == 204
    event["rawPath"] = event["rawPath"].replace(braced, quote("not/a-uuid", safe=""))
    answer = upload(event)
    assert (answer.status, answer.body["message"]) == (400, "Invalid task ID format.")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "//api/v2/tasks/me/refactor-auth/logs"),
        ("POST", "//api/v2/tasks/me/refactor-auth/logs"),
        ("GET", "//api/v2/workspaceagents/me/tasks/7a5c0000-0000-4000-8000-000000000020/log-snapshot"),
        ("POST", "/api//v2/workspaceagents/me/tasks/7a5c0000-0000-4000-8000-000000000020/log-snapshot"),
        ("POST", "/anything/else"),
    ],
)
def test_default_serves_the_upload_and_nothing_else(upload, method: str, path: str) -> None:
    event = http_api_event(method, path, claims=None, headers={"coder-session-token": "agent-token-refactor-auth"})
    assert event["routeKey"] == "$default"
    answer = upload(event)
    assert (answer.status, answer.body) == (404, {"message": "Resource not found."})
