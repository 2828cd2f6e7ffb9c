"""GET /api/v2/tasks/{user}/{task}/logs end to end: the real handler, moto server, the fake AgentAPI.
One test per row of contract §5, driven by the events in events/."""

import copy
import json
import os
import socket
import subprocess
import sys
import uuid

import pytest

from devstack.demo.catalogue import (
    ALICE,
    BOB,
    PAUSED,
    PAUSED_CONVERSATION,
    RUNNING,
    TASKS_BY_NAME,
    logs_path,
    snapshot_envelope,
)
from devstack.demo.fake_agentapi import FakeAgentAPI, Mode, Scenario, conversation
from devstack.generators.events import http_api_event, load_event
from devstack.runtime.template_resources import ROOT
from tasklogs_core.adapters.snapshot_store import snapshot_key
from tests.expected import EXPECTED
from tests.helpers import as_logs, put_task


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_event_answers_per_contract(invoke, name: str) -> None:
    status, message = EXPECTED[name]
    answer = invoke(load_event(name), timeout_seconds=4)  # slow agent: 504 within 4 s, not after 8
    assert answer.status == status, answer.body
    assert answer.headers["Content-Type"] == "application/json"
    if message is None:
        assert isinstance(answer.body["logs"], list)
    else:
        assert answer.body["message"] == message
        assert set(answer.body) <= {"message", "detail", "validations"}


@pytest.mark.parametrize("name", ["logs_refactor_auth", "logs_by_task_uuid", "logs_by_username", "logs_by_user_uuid"])
def test_active_task_returns_the_live_conversation(invoke, fake_agentapi: FakeAgentAPI, name: str) -> None:
    answer = invoke(load_event(name))
    live = fake_agentapi.scenarios["refactor-auth"].messages
    assert answer.body == {"logs": as_logs(live)}  # no snapshot, no snapshot_at


def test_paused_task_returns_the_snapshot_with_its_time(invoke) -> None:
    answer = invoke(load_event("logs_add_billing_page"))
    assert answer.body == {
        "logs": as_logs(PAUSED_CONVERSATION),
        "snapshot": True,
        "snapshot_at": TASKS_BY_NAME["add-billing-page"].snapshot_at,
    }


def test_initializing_task_returns_its_last_snapshot(invoke) -> None:
    answer = invoke(load_event("logs_upgrade_deps"))
    assert answer.body == {
        "logs": as_logs(PAUSED_CONVERSATION[:2]),
        "snapshot": True,
        "snapshot_at": "2026-11-17T08:25:30.001000Z",
    }


def test_pending_task_without_snapshot_is_empty(invoke) -> None:
    assert invoke(load_event("logs_write_docs")).body == {"logs": [], "snapshot": True}


@pytest.mark.parametrize(("name", "status"), [("logs_flaky_build", "error"), ("logs_stopping_task", "unknown")])
def test_conflicting_states_name_the_status(invoke, name: str, status: str) -> None:
    assert invoke(load_event(name)).body == {
        "message": "Cannot fetch logs for task in current state.",
        "detail": f'Task status is "{status}".',
    }


def test_not_found_never_says_more(invoke) -> None:
    for name in (
        "logs_old_experiment",
        "logs_bobs_task",
        "logs_other_user_in_path",
        "logs_other_users_task_uuid",
        "logs_missing_task",
    ):
        assert invoke(load_event(name)).body == {"message": "Resource not found."}, name


def test_no_claims_is_401(invoke) -> None:
    assert invoke(load_event("logs_no_claims")).body == {"message": "Unauthorized."}


def test_unknown_role_from_the_agent(invoke) -> None:
    body = invoke(load_event("logs_agent_unknown_role")).body
    assert body["message"] == "Invalid task app response." and '"system"' in body["detail"]


def test_slow_agent_ends_before_the_lambda_deadline(invoke) -> None:
    answer = invoke(load_event("logs_agent_slow"), timeout_seconds=3)
    assert answer.status == 504
    # The agent would take 30 s; the answer came with time to spare before Lambda's 3 s timeout.
    assert answer.remaining_ms > 0 and answer.elapsed < 3


def test_a_slow_dns_answer_ends_in_a_504_before_the_lambda_deadline(invoke, demo, fake_agentapi, monkeypatch) -> None:
    # The resolver is slowed for this one name (a slow DNS server cannot be set up without changing
    # the machine's resolver configuration); everything else is real.
    real = socket.getaddrinfo

    def slow_resolver(host, *args, **kwargs):
        if host == "slow-dns.agents.test":
            import time

            time.sleep(6)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", slow_resolver)
    url = fake_agentapi.agent("slow-dns-e2e").replace("127.0.0.1", "slow-dns.agents.test")
    task = put_task(demo, f"slow-dns-{uuid.uuid4().hex[:6]}", RUNNING, agent=url)
    answer = invoke(event_for(task), timeout_seconds=3)
    assert (answer.status, answer.body["message"]) == (504, "Timed out fetching messages from task app.")
    assert answer.remaining_ms > 0 and answer.elapsed < 3


def test_drip_agent_ends_before_the_lambda_deadline(invoke, demo, fake_agentapi: FakeAgentAPI) -> None:
    task = put_task(
        demo, "drip-agent", RUNNING, agent=fake_agentapi.agent("drip-agent", Scenario(mode=Mode.DRIP, delay=0.1))
    )
    # Warm first, as the container would be: the 2.5 s invocation is about the agent, not about making
    # clients (or collecting the garbage of the tests before it) on a loaded machine.
    import gc

    invoke(event_for(task, ref="no-such-task"))
    gc.collect()
    answer = invoke(event_for(task), timeout_seconds=2.5)
    assert answer.status == 504 and answer.remaining_ms > 0


def test_snapshot_errors_say_why(invoke) -> None:
    assert (
        invoke(load_event("logs_snapshot_other_format")).body["detail"]
        == 'Expected format "agentapi", got "asciinema".'
    )
    lost = invoke(load_event("logs_snapshot_lost")).body
    assert lost == {
        "message": "Internal error fetching task snapshot.",
        "detail": "The snapshot object could not be read.",
    }


# ---- cases beyond the demo catalogue, each with its own task ----------------------------------------


def event_for(task: dict, user: str = "me", ref: str | None = None, caller=ALICE) -> dict:
    path = f"/api/v2/tasks/{user}/{ref or task['name']}/logs"
    return http_api_event("GET", path, claims=caller.claims if caller else None)


def test_uppercase_task_uuid_finds_the_task(invoke) -> None:
    event = load_event("logs_by_task_uuid")
    event["pathParameters"]["task"] = event["pathParameters"]["task"].upper()
    assert invoke(event).status == 200


def test_username_matches_case_insensitively(invoke) -> None:
    event = load_event("logs_by_username")
    event["pathParameters"]["user"] = "Alice"
    assert invoke(event).status == 200


def test_a_deleted_task_does_not_hide_a_new_one_with_its_name(invoke, demo, fake_agentapi) -> None:
    put_task(
        demo,
        "reused-name",
        RUNNING,
        agent=fake_agentapi.agent("reused-old"),
        extra={"deleted_at": "2026-11-01T00:00:00Z"},
    )
    live = put_task(demo, "reused-name", PAUSED)
    answer = invoke(event_for(live))
    assert answer.body == {"logs": [], "snapshot": True}


def test_a_task_uuid_that_is_someone_elses_falls_back_to_a_name_lookup(invoke, demo) -> None:
    bobs = put_task(demo, "bobs-secret", PAUSED, owner=BOB)
    assert invoke(event_for(bobs, ref=bobs["task_id"])).body == {"message": "Resource not found."}


def test_bob_sees_his_own_task(invoke, fake_agentapi) -> None:
    event = http_api_event("GET", "/api/v2/tasks/bob/bobs-task/logs", claims=BOB.claims)
    assert invoke(event).body == {"logs": as_logs(fake_agentapi.scenarios["bobs-task"].messages)}


def test_the_item_pins_the_snapshot_version(invoke, demo) -> None:
    """A newer object the item does not point at yet is never served with the item's older time."""
    task_id = str(uuid.uuid4())
    s3, key = demo.client("s3"), f"task-snapshots/{task_id}.json"
    pinned = s3.put_object(Bucket=demo.bucket_name, Key=key, Body=snapshot_envelope(PAUSED_CONVERSATION[:1]))
    s3.put_object(Bucket=demo.bucket_name, Key=key, Body=snapshot_envelope(PAUSED_CONVERSATION))
    task = put_task(
        demo, "pinned", PAUSED, task_id=task_id, version=pinned["VersionId"], snapshot_at="2026-11-20T10:00:00Z"
    )
    answer = invoke(event_for(task))
    assert answer.body == {
        "logs": as_logs(PAUSED_CONVERSATION[:1]),
        "snapshot": True,
        "snapshot_at": "2026-11-20T10:00:00Z",
    }


def test_without_a_version_the_current_object_is_read(invoke, demo) -> None:
    task = put_task(demo, "unversioned", PAUSED, snapshot_at="2026-11-21T10:00:00Z")
    demo.client("s3").put_object(
        Bucket=demo.bucket_name,
        Key=f"task-snapshots/{task['task_id']}.json",
        Body=snapshot_envelope(PAUSED_CONVERSATION[:2]),
    )
    assert invoke(event_for(task)).body["logs"] == as_logs(PAUSED_CONVERSATION[:2])


def test_a_missing_table_is_a_500_without_aws_details(invoke, monkeypatch) -> None:
    from tasklogs_core.adapters import clients

    monkeypatch.setenv("TASKS_TABLE_NAME", "no-such-table")
    clients.reset()
    answer = invoke(load_event("logs_refactor_auth"))
    assert (answer.status, answer.body) == (500, {"message": "Internal error fetching task."})


def test_unknown_routes_answer_in_the_contract_shape(invoke) -> None:
    event = copy.deepcopy(load_event("logs_refactor_auth"))
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/api/v2/tasks/me/refactor-auth/other"
    answer = invoke(event)
    assert (answer.status, answer.body) == (404, {"message": "Resource not found."})


def test_the_snapshot_path_never_builds_the_http_client(invoke) -> None:
    from tasklogs_core.adapters import clients

    invoke(load_event("logs_add_billing_page"))
    assert clients.agentapi_client.cache_info().currsize == 0
    assert clients.snapshot_store.cache_info().currsize == 1


def test_the_live_path_never_builds_the_s3_client(invoke) -> None:
    from tasklogs_core.adapters import clients

    invoke(load_event("logs_refactor_auth"))
    assert clients.snapshot_store.cache_info().currsize == 0
    assert clients.agentapi_client.cache_info().currsize == 1


LAMBDA_TRACING_ENV = {  # what Lambda sets with Tracing: Active
    "LAMBDA_TASK_ROOT": str(ROOT / "functions" / "task_logs"),
    "_X_AMZN_TRACE_ID": "Root=1-6744c9a0-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1",
}


def in_a_fresh_function_process(code: str, **env: str) -> str:
    """What `code` prints, run in a new process as the logs function's container would import it."""
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT / "functions" / "task_logs",
        capture_output=True,
        text=True,
        env={**os.environ, **env, "PYTHONPATH": str(ROOT / "layers" / "core")},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip()


def test_the_cold_start_imports_no_client_library(handler_env) -> None:
    # Init is import only: botocore's clients and httpx (and the modules wrapping them) load on the
    # first request of the path that needs them. (botocore's exceptions come with the deadline's hook.)
    probe = (
        "import sys, task_logs_handler as app; print(sorted(m for m in ('botocore.client', 'httpx', "
        "'tasklogs_core.adapters.agentapi_client', 'tasklogs_core.adapters.snapshot_store', "
        "'tasklogs_core.adapters.task_repository') if m in sys.modules))"
    )
    assert in_a_fresh_function_process(probe) == "[]"


def test_no_tracing_library_nor_boto3_loads_even_with_lambda_tracing_on(handler_env) -> None:
    # docs/tracing.md: the X-Ray SDK is gone, and nothing took its place on the cold path; the clients
    # are botocore's own (the layer ships no boto3).
    probe = (
        "import sys, task_logs_handler as app; from tasklogs_core.adapters import clients; "
        "clients.task_repository(), clients.snapshot_store(), clients.agentapi_client(); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'aws_xray_sdk', 'opentelemetry', 'wrapt', 'boto3', 's3transfer'}))"
    )
    assert in_a_fresh_function_process(probe, **LAMBDA_TRACING_ENV) == "[]"


def test_each_request_reports_its_calls_and_no_conversation_reaches_logs_metrics_or_a_daemon(handler_env) -> None:
    """What X-Ray subsegments showed, every request now logs and counts: each DynamoDB, S3 and agent call
    with its duration. Logs and metrics are read by more people than the conversation's owner: no
    message text reaches them, however big the answer. A real UDP socket on loopback plays the X-Ray
    daemon, as in Lambda with Tracing: Active: nothing is sent to it."""
    big = "Compiled 12 modules, 0 warnings. " * 3_000  # ~100 KB
    task_id = str(uuid.uuid4())
    version = handler_env.client("s3").put_object(
        Bucket=handler_env.bucket_name,
        Key=snapshot_key(task_id),
        Body=snapshot_envelope(conversation("Summarise the build log", big, start_ns=0)),
    )["VersionId"]
    put_task(
        handler_env, "big-snapshot", PAUSED, version=version, snapshot_at="2026-11-17T08:00:00.000000Z", task_id=task_id
    )
    names = ("refactor-auth", "add-billing-page", "big-snapshot")
    events = [http_api_event("GET", logs_path(ALICE.username, name), claims=ALICE.claims) for name in names]

    daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    daemon.bind(("127.0.0.1", 0))
    env = {
        **os.environ,
        **LAMBDA_TRACING_ENV,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "layers" / "core")]),
        "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{daemon.getsockname()[1]}",
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }
    env.pop("POWERTOOLS_METRICS_DISABLED", None)
    run = (
        "import json, sys, task_logs_handler as app; from devstack.runtime.lambda_runtime import context_for; "
        "codes = [app.lambda_handler(e, context_for('TaskLogsFunction'))['statusCode'] for e in json.load(sys.stdin)]; "
        "print(json.dumps({'codes': codes}))"
    )
    with daemon:
        out = subprocess.run(
            [sys.executable, "-c", run],
            cwd=ROOT / "functions" / "task_logs",
            input=json.dumps(events),
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        lines = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
        assert lines[-1] == {"codes": [200, 200, 200]}, out.stderr[-2000:]
        daemon.setblocking(False)  # the run is over: anything sent is in the socket's buffer
        with pytest.raises(BlockingIOError):
            daemon.recv(65_536)

    reports = [line for line in lines if line.get("message") == "dependency calls"]
    assert len(reports) == 3
    live, snapshot, big_snapshot = reports
    # Named by name, so the task is found with a Query.
    assert [(c["dependency"], c["operation"], c["ok"]) for c in live["calls"]] == [
        ("dynamodb", "Query", True),
        ("agent", "GET /messages", True),
    ]
    for report in (snapshot, big_snapshot):
        calls = [(c["dependency"], c["operation"]) for c in report["calls"]]
        assert calls == [("dynamodb", "Query"), ("s3", "GetObject")]
        assert report["s3_ms"] == report["calls"][1]["ms"] > 0
    assert live["agent_ms"] > 0 and live["dynamodb_ms"] > 0
    emf = [d for line in lines for d in line.get("_aws", {}).get("CloudWatchMetrics", [])]
    metric_names = {m["Name"] for d in emf for m in d["Metrics"]}
    assert {"DynamoDBCallTime", "S3CallTime", "AgentCallTime"} <= metric_names
    for content in ("Add a /healthz endpoint", "Added /billing with a Stripe form.", "Compiled 12 modules"):
        assert content not in out.stdout and content not in out.stderr


def test_an_agentapi_url_at_instance_metadata_is_refused(invoke) -> None:
    body = invoke(load_event("logs_metadata_url")).body
    assert body["message"] == "Task app URL is not configured."
    assert "169.254.169.254 is a link-local, metadata or otherwise reserved address" in body["detail"]


def test_a_client_error_logs_one_warning_and_no_stack_trace(invoke, caplog, function_log) -> None:
    """Deployed, library loggers reach CloudWatch through the runtime's root handler: a 404 must not
    put a traceback there, and the function logs it once, as a warning (beside its calls' report)."""
    import json
    import logging

    log = function_log("TaskLogsFunction")
    with caplog.at_level(logging.DEBUG):
        assert invoke(load_event("logs_missing_task")).status == 404
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    lines = [json.loads(line) for line in log.getvalue().splitlines()]
    [line] = [line for line in lines if line["message"] != "dependency calls"]
    assert (line["level"], line["message"], line["status_code"]) == ("WARNING", "Resource not found.", 404)


# ---- {task} and `sub` spellings (contract §2, §6 step 2) ---------------------------------------------


def go_rejected_spellings(task_id: str) -> list[str]:
    """Spellings of a real task's UUID that Python's uuid.UUID accepts and Go's uuid.Parse does not."""
    digits = task_id.replace("-", "")
    return [
        "{{" + task_id + "}}",
        "uuid:" + task_id,
        "urn:" + task_id,
        digits[:5] + "-" + digits[5:],
        task_id.replace("0", "\uff10"),
        "{" + digits + "}",
        "urn:uuid:" + digits,
    ]


@pytest.mark.parametrize("spelling", go_rejected_spellings(TASKS_BY_NAME["add-billing-page"].task_id))
def test_a_task_uuid_in_a_form_go_rejects_is_only_tried_as_a_name(invoke, spelling: str) -> None:
    task = {"name": "unused"}
    answer = invoke(event_for(task, ref=quote_segment(spelling)))
    assert (answer.status, answer.body) == (404, {"message": "Resource not found."})


@pytest.mark.parametrize("spelling", ["{%s}", "urn:uuid:%s", "URN:UUID:%s"])
def test_a_task_uuid_in_a_form_go_accepts_finds_the_task(invoke, spelling: str) -> None:
    answer = invoke(
        event_for({"name": "unused"}, ref=quote_segment(spelling % TASKS_BY_NAME["add-billing-page"].task_id))
    )
    assert answer.status == 200 and answer.body["snapshot"] is True


def quote_segment(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


@pytest.mark.parametrize("subject", [ALICE.user_id.upper(), "{" + ALICE.user_id + "}", ALICE.user_id.replace("-", "")])
@pytest.mark.parametrize("user", ["me", "alice", ALICE.user_id])
@pytest.mark.parametrize("task", ["add-billing-page", TASKS_BY_NAME["add-billing-page"].task_id])
def test_every_lookup_finds_the_task_however_sub_is_spelled(invoke, subject: str, user: str, task: str) -> None:
    claims = {**ALICE.claims, "sub": subject}
    answer = invoke(http_api_event("GET", f"/api/v2/tasks/{user}/{task}/logs", claims=claims))
    assert answer.status == 200 and answer.body["snapshot"] is True


# ---- names beyond DynamoDB's key sizes never reach a query -----------------------------------------


@pytest.fixture
def queries(invoke):
    """The key values of every Query the logs function sends, recorded from its real DynamoDB client."""
    from tasklogs_core.adapters import clients

    sent: list[dict] = []
    client = clients.task_repository()._client
    client.meta.events.register("before-parameter-build.dynamodb.Query", lambda params, **_: sent.append(params))
    return sent


@pytest.mark.parametrize("name", ["n" * 1025, "\u00e9" * 513, "\U0001f600" * 257])
def test_a_task_name_beyond_the_sort_key_limit_is_404_without_a_query(invoke, queries, name: str) -> None:
    answer = invoke(event_for({"name": quote_segment(name)}))
    assert (answer.status, answer.body) == (404, {"message": "Resource not found."})
    assert not queries


@pytest.mark.parametrize("name", ["n" * 1024, "\u00e9" * 512, "\U0001f600" * 256])
def test_a_task_name_at_the_limit_is_still_looked_up(invoke, queries, name: str) -> None:
    assert invoke(event_for({"name": quote_segment(name)})).status == 404
    assert len(queries) == 1 and queries[0]["ExpressionAttributeValues"][":name"]["S"] == name


def test_a_subject_beyond_the_partition_key_limit_is_404_without_a_query(invoke, queries) -> None:
    claims = {**ALICE.claims, "sub": "x" * 2049}
    answer = invoke(http_api_event("GET", "/api/v2/tasks/me/add-billing-page/logs", claims=claims))
    assert (answer.status, answer.body) == (404, {"message": "Resource not found."})
    assert not queries


@pytest.mark.parametrize("user", ["u" * 3000, "\U0001f600" * 600])
def test_a_username_beyond_the_key_limits_is_404_without_a_query(invoke, queries, user: str) -> None:
    answer = invoke(
        http_api_event("GET", f"/api/v2/tasks/{quote_segment(user)}/add-billing-page/logs", claims=ALICE.claims)
    )
    assert (answer.status, answer.body) == (404, {"message": "Resource not found."})
    assert not queries
