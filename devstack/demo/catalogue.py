"""Demo tasks in every state and every failure the read path must answer: one catalogue for the local
stack, events/ and the integration tests."""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from devstack.demo.fake_agentapi import FakeAgentAPI, Mode, Scenario, conversation, refused_url
from devstack.runtime.aws import LocalAws
from devstack.runtime.local_idp import mint

# Snapshot messages get fixed times so the documented bodies never change.
_SNAPSHOT_EPOCH_NS = 1_794_903_900_000_000_000  # 2026-11-17T08:25:00Z, before each snapshot_at below


@dataclass(frozen=True)
class DemoUser:
    user_id: str
    username: str

    @property
    def claims(self) -> dict[str, str]:
        return {"sub": self.user_id, "username": self.username}

    @property
    def token(self) -> str:
        return mint(self.claims)


ALICE = DemoUser("5f0c3e9e-2a7d-4d0c-9a56-1c2b7f3e8a01", "alice")
BOB = DemoUser("8d4b1f2a-6c3e-4f5a-b7d8-9e0a1b2c3d04", "bob")

WORKSPACE = {"workspace_id": "c0ffee00-0000-4000-8000-000000000001"}
RUNNING = {
    **WORKSPACE,
    "build_transition": "start",
    "build_job_status": "succeeded",
    "agent_lifecycle": "ready",
    "app_health": "healthy",
}
PAUSED = {**WORKSPACE, "build_transition": "stop", "build_job_status": "succeeded", "agent_lifecycle": "off"}
PENDING: dict[str, str] = {}
INITIALIZING = {**WORKSPACE, "build_transition": "start", "build_job_status": "running", "agent_lifecycle": "starting"}
FAILED = {**WORKSPACE, "build_transition": "start", "build_job_status": "failed"}
STOPPING = {**WORKSPACE, "build_transition": "stop", "build_job_status": "running", "agent_lifecycle": "shutting_down"}
# A workspace that died mid-run (contract §11): its app no longer healthy, no pause, no upload.
CRASHED = {**RUNNING, "app_health": "unhealthy"}


# A run whose workspace crashed: checkpoints stored it while it ran, the last a minute before the crash
# (contract §11), so its transcript ends in an `agent lost` gap.
CRASHED_RUN = conversation(
    "Migrate the nightly job to the new scheduler",
    "Read jobs/nightly.py: it runs four steps in one cron entry.",
    "Split the steps into their own schedules",
    "Split them: extract, transform, load and report each get a schedule.",
    start_ns=_SNAPSHOT_EPOCH_NS + 7_200_000_000_000,
)
CRASHED_AT = "2026-11-17T10:31:00.000000Z"

# An agent that prints credentials (contract §12): every read shows `[REDACTED:<kind>]` in their place.
# Made-up values of kinds no public scanner blocks a push for.
LEAKY_RUN = conversation(
    "Why does the staging deploy fail?",
    "$ cat .env\nNODE_ENV=staging\nDB_PASSWORD=vN3qLx8rTz2KpW7s\nDATABASE_URL="
    "postgres://app:Hq7ZmR2xWc9LtB4n@db.staging.internal:5432/orders\n\n"
    "The password in DATABASE_URL and DB_PASSWORD differ: the app connects with the first.",
)


def snapshot_envelope(messages: list[dict], fmt: str = "agentapi") -> bytes:
    return json.dumps({"format": fmt, "data": {"messages": messages}}).encode()


PAUSED_CONVERSATION = conversation(
    "Add a billing page", "Added /billing with a Stripe form.", start_ns=_SNAPSHOT_EPOCH_NS
)

# A task paused twice, by an agent without state persistence: each run is a session of its own
# (contract §7). Only the last 10 messages of the first run were uploaded (what Coder's shutdown
# script sends), so its first 3 show as a gap; the second run was captured whole at its pause.
_FIRST_RUN = conversation(
    "Port the rate limiter to Rust",
    "Read limiter.go: a token bucket per API key.",
    "Keep the same config format",
    "Kept it: limits.toml parses into LimiterConfig.",
    "Add a benchmark",
    "Added benches/bucket.rs: 41 ns per check.",
    "Now wire it into the gateway",
    "Wired: gateway/src/main.rs builds one Limiter per route.",
    "Run the tests",
    "All 112 tests pass.",
    "Open a draft PR",
    "Opened draft PR #482.",
    start_ns=_SNAPSHOT_EPOCH_NS - 86_400_000_000_000,
)
_SECOND_RUN = conversation(
    "Address the review on PR #482",
    "Renamed Bucket::take to try_acquire and documented the refill rate.",
    "Push it",
    "Pushed 3 commits to port-rate-limiter.",
    start_ns=_SNAPSHOT_EPOCH_NS - 3_600_000_000_000,
)
TWO_SESSIONS = (
    ("2026-11-17T11:08:30.000000Z", _FIRST_RUN[-10:]),
    ("2026-11-18T10:07:30.000000Z", _SECOND_RUN),
)


@dataclass(frozen=True)
class DemoTask:
    name: str
    task_id: str
    state: dict[str, str]
    expect: str  # what GET .../logs answers, for people reading the printout
    owner: DemoUser = ALICE
    agent: Scenario | None = None  # a live agent on the fake AgentAPI
    agent_url: str | None = None  # "refused" or a literal URL instead of a fake agent
    snapshot: bytes | None = None  # stored object body
    snapshot_at: str | None = None  # set without `snapshot`: the item points at a missing object
    # Transcript writes (written_at, AgentAPI messages), stored as uploads store them (contract §7),
    # or as checkpoints store them (§11) when `checkpointed`
    transcript: tuple[tuple[str, list[dict]], ...] = ()
    checkpointed: bool = False
    deleted: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def agent_token(self) -> str:
        return f"agent-token-{self.name}"


def _task_id(n: int) -> str:
    return f"7a5c0000-0000-4000-8000-{n:012d}"


TASKS = [
    DemoTask(
        "refactor-auth",
        _task_id(1),
        RUNNING,
        "200 live logs from the agent",
        agent=Scenario(),
        # The optional attributes the task routes show (contract §9).
        extra={
            "display_name": "Refactor the auth middleware",
            "initial_prompt": "Move the auth middleware onto the new session store.",
            "organization_id": "0a1b2c3d-0000-4000-8000-00000000c0de",
            "workspace_name": "alice-refactor-auth",
            "updated_at": "2026-11-24T16:45:10.5Z",
        },
    ),
    DemoTask(
        "add-billing-page",
        _task_id(2),
        PAUSED,
        "200 logs from the snapshot, with snapshot_at",
        snapshot=snapshot_envelope(PAUSED_CONVERSATION),
        snapshot_at="2026-11-17T08:27:01.250000Z",
    ),
    DemoTask("write-docs", _task_id(3), PENDING, "200 empty logs, snapshot true (no snapshot yet)"),
    DemoTask(
        "upgrade-deps",
        _task_id(4),
        INITIALIZING,
        "200 logs from the snapshot taken at the last pause",
        snapshot=snapshot_envelope(PAUSED_CONVERSATION[:2]),
        snapshot_at="2026-11-17T08:25:30.001000Z",
    ),
    DemoTask("flaky-build", _task_id(5), FAILED, '409 task status is "error"'),
    DemoTask("stopping-task", _task_id(6), STOPPING, '409 task status is "unknown"'),
    DemoTask("agent-down", _task_id(7), RUNNING, "502 the agent refuses connections", agent_url="refused"),
    DemoTask(
        "agent-http-500", _task_id(8), RUNNING, "502 the agent answers HTTP 500", agent=Scenario(mode=Mode.HTTP_ERROR)
    ),
    DemoTask("agent-not-json", _task_id(9), RUNNING, "502 the agent answers HTML", agent=Scenario(mode=Mode.NOT_JSON)),
    DemoTask(
        "agent-wrong-schema",
        _task_id(10),
        RUNNING,
        "502 the agent's JSON is not AgentAPI's schema",
        agent=Scenario(mode=Mode.WRONG_SCHEMA),
    ),
    DemoTask(
        "agent-unknown-role",
        _task_id(11),
        RUNNING,
        "502 invalid task app response (role system)",
        agent=Scenario(mode=Mode.UNKNOWN_ROLE),
    ),
    DemoTask(
        "agent-slow",
        _task_id(12),
        RUNNING,
        "504 after the agent deadline (about 8 s)",
        agent=Scenario(mode=Mode.SLOW, delay=30),
    ),
    DemoTask(
        "no-app-url", _task_id(13), RUNNING, "502 task app URL is not configured", agent_url="ftp://10.0.4.17:3284"
    ),
    DemoTask(
        "snapshot-corrupt",
        _task_id(14),
        PAUSED,
        "500 the snapshot is not JSON",
        snapshot=b'{"format": "agentapi", "data": {"messages": [',
        snapshot_at="2026-11-17T08:00:00.000000Z",
    ),
    DemoTask(
        "snapshot-other-format",
        _task_id(15),
        PAUSED,
        "500 unsupported snapshot format",
        snapshot=snapshot_envelope([], fmt="asciinema"),
        snapshot_at="2026-11-17T08:00:00.000000Z",
    ),
    DemoTask(
        "snapshot-bad-message",
        _task_id(16),
        PAUSED,
        "500 invalid snapshot data (role system)",
        snapshot=snapshot_envelope([{**PAUSED_CONVERSATION[0], "role": "system"}]),
        snapshot_at="2026-11-17T08:30:00.000000Z",
    ),
    DemoTask(
        "snapshot-lost",
        _task_id(17),
        PAUSED,
        "500 the snapshot object cannot be read",
        snapshot_at="2026-11-17T08:00:00.000000Z",
    ),
    DemoTask(
        "old-experiment",
        _task_id(18),
        RUNNING,
        "404 deleted",
        agent=Scenario(),
        deleted=True,
        extra={"deleted_at": "2026-11-20T00:00:00Z"},
    ),
    DemoTask("bobs-task", _task_id(19), RUNNING, "404 for alice (someone else's task)", owner=BOB, agent=Scenario()),
    DemoTask("release-notes", _task_id(20), PAUSED, "200 the snapshot its agent uploaded (empty until one is)"),
    DemoTask(
        "port-rate-limiter",
        _task_id(22),
        PAUSED,
        "200 the newest of its two stored sessions, whole",
        snapshot=snapshot_envelope(TWO_SESSIONS[-1][1]),
        snapshot_at=TWO_SESSIONS[-1][0],
        transcript=TWO_SESSIONS,
    ),
    DemoTask(
        "nightly-migration",
        _task_id(23),
        CRASHED,
        '409 task status is "error" (its workspace crashed; the transcript keeps what checkpoints stored)',
        agent_url="refused",
        snapshot=snapshot_envelope(CRASHED_RUN),
        snapshot_at=CRASHED_AT,
        transcript=((CRASHED_AT, CRASHED_RUN),),
        checkpointed=True,
        extra={"checkpoint_at": CRASHED_AT},
    ),
    DemoTask(
        "leaky-env",
        _task_id(24),
        RUNNING,
        "200 live logs, the credentials the agent printed shown as [REDACTED:<kind>]",
        agent=Scenario(messages=LEAKY_RUN),
    ),
    DemoTask(
        "metadata-url",
        _task_id(21),
        RUNNING,
        "502 the AgentAPI URL points at instance metadata (SSRF guard)",
        agent_url="http://169.254.169.254/latest/meta-data",
    ),
]
TASKS_BY_NAME = {task.name: task for task in TASKS}


def _created(task: DemoTask) -> dict[str, str]:
    """When the control plane created the task: an hour apart in catalogue order, so the task list's
    newest-first order is the catalogue's reversed. A pending task shows the default (no created_at)."""
    suffix = task.task_id.rsplit("-", 1)[-1]
    if task.state is PENDING or not suffix.isdigit():
        return {}
    n = int(suffix)
    return {"created_at": f"2026-11-{10 + n // 24:02d}T{n % 24:02d}:00:00Z"}


def task_item(task: DemoTask, agentapi_url: str | None, snapshot_version: str | None) -> dict[str, dict[str, str]]:
    """The DynamoDB item (low-level form) the control plane and this service would have written."""
    attributes = {
        "task_id": task.task_id,
        "name": task.name,
        "owner_id": task.owner.user_id,
        "owner_name": task.owner.username,
        "agent_token_sha256": hashlib.sha256(task.agent_token.encode()).hexdigest(),
        **_created(task),
        **task.state,
        **task.extra,
    }
    if agentapi_url:
        attributes["agentapi_url"] = agentapi_url
    if task.snapshot_at:
        attributes["snapshot_at"] = task.snapshot_at
    if snapshot_version:
        attributes["snapshot_version"] = snapshot_version
    return {key: {"S": value} for key, value in attributes.items()}


def seed(aws: LocalAws, fake: FakeAgentAPI, tasks: list[DemoTask] = TASKS) -> None:
    dynamodb, s3 = aws.client("dynamodb"), aws.client("s3")
    for task in tasks:
        if task.agent_url == "refused":
            url: str | None = refused_url()
        elif task.agent_url:
            url = task.agent_url
        elif task.agent is not None:
            url = fake.agent(task.name, task.agent)
        else:
            url = None
        version = None
        if task.snapshot is not None:
            from tasklogs_core.adapters.snapshot_store import snapshot_key

            put = s3.put_object(
                Bucket=aws.bucket_name,
                Key=snapshot_key(task.task_id),
                Body=task.snapshot,
                ContentType="application/json",
            )
            version = put.get("VersionId")
        dynamodb.put_item(TableName=aws.table_name, Item=task_item(task, url, version))
        if task.transcript:
            _store_transcript(aws, task)


def _store_transcript(aws: LocalAws, task: DemoTask) -> None:
    """The task's transcript writes, through the writers' own code (conversation_writer.record_messages)."""
    from tasklogs_core.adapters.task_repository import TaskRepository
    from tasklogs_core.adapters.transcript_store import TranscriptStore
    from tasklogs_core.domain.models import AgentMessage
    from tasklogs_core.services.conversation_writer import record_messages

    dynamodb = aws.client("dynamodb")
    store = TranscriptStore(dynamodb, aws.client("s3"), aws.transcripts_table_name, aws.bucket_name)
    repository = TaskRepository(dynamodb, aws.table_name)
    for written_at, messages in task.transcript:
        record_messages(
            task.task_id,
            [AgentMessage.model_validate(m) for m in messages],
            written_at,
            store,
            checkpoint=task.checkpointed,
        )
        repository.count_transcript_write(task.task_id)


def logs_path(user: str, task: str) -> str:
    return f"/api/v2/tasks/{user}/{task}/logs"


def demo_requests() -> dict[str, tuple[str, DemoUser | None, str]]:
    """Event name → (path, caller or None for no claims, what it answers), one per contract §5 row."""
    requests: dict[str, tuple[str, DemoUser | None, str]] = {
        f"logs_{task.name.replace('-', '_')}": (logs_path("me", task.name), ALICE, task.expect) for task in TASKS
    }
    active = TASKS_BY_NAME["refactor-auth"]
    requests |= {
        "logs_by_task_uuid": (logs_path("me", active.task_id), ALICE, "200 live logs, task named by UUID"),
        "logs_by_username": (logs_path("alice", active.name), ALICE, "200 live logs, user named by username"),
        "logs_by_user_uuid": (logs_path(ALICE.user_id, active.name), ALICE, "200 live logs, user named by UUID"),
        "logs_other_user_in_path": (logs_path("bob", "bobs-task"), ALICE, "404 {user} does not name the caller"),
        "logs_other_users_task_uuid": (
            logs_path("me", TASKS_BY_NAME["bobs-task"].task_id),
            ALICE,
            "404 someone else's task",
        ),
        "logs_missing_task": (logs_path("me", "no-such-task"), ALICE, "404 no such task"),
        "logs_no_claims": (logs_path("me", active.name), None, "401 no verified claims"),
    }
    return requests


def demo_events() -> dict[str, dict[str, Any]]:
    return {
        **logs_events(),
        **transcript_events(),
        **task_route_events(),
        **authorizer_events(),
        **upload_events(),
        **viewer_events(),
    }


# ---------------------------------------------------------------- transcripts (contract §7, §8)


def transcript_path(user: str, task: str) -> str:
    return f"/api/v2/tasks/{user}/{task}/transcript"


def transcript_requests() -> dict[str, tuple[str, str, DemoUser | None, str]]:
    """Event name → (path, raw query, caller or None for no claims, what it answers)."""
    two = "port-rate-limiter"
    return {
        "transcript_two_sessions": (transcript_path("me", two), "", ALICE, "200 both sessions, a gap before the first"),
        "transcript_older_page": (transcript_path("me", two), "before=1048576&limit=5", ALICE, "200 five entries"),
        "transcript_newer_page": (transcript_path("me", two), "after=12&limit=2", ALICE, "200 session 2 begins"),
        "transcript_live": (transcript_path("me", "refactor-auth"), "", ALICE, "200 live from the agent"),
        "transcript_agent_down": (
            transcript_path("me", "agent-down"),
            "",
            ALICE,
            "200 no entries, live_error: the agent refuses connections",
        ),
        "transcript_from_old_snapshot": (
            transcript_path("me", "add-billing-page"),
            "",
            ALICE,
            "200 a snapshot stored before transcripts, as session 1",
        ),
        "transcript_failed_task": (transcript_path("me", "flaky-build"), "", ALICE, '200 status "error", no entries'),
        "transcript_crashed_task": (
            transcript_path("me", "nightly-migration"),
            "",
            ALICE,
            '200 status "error": what the checkpoints stored, then an "agent lost" gap',
        ),
        "transcript_redacted": (
            transcript_path("me", "leaky-env"),
            "",
            ALICE,
            "200 live, the secrets replaced by markers and each entry's redactions",
        ),
        "transcript_bad_query": (
            transcript_path("me", two),
            "after=1&before=9&limit=0",
            ALICE,
            "400 naming after, before and limit",
        ),
        "transcript_someone_elses": (transcript_path("bob", "bobs-task"), "", ALICE, "404 someone else's task"),
        "transcript_no_claims": (transcript_path("me", two), "", None, "401 no verified claims"),
        # One entry whole (§7 Large entries): what a page cut to fit, read in full.
        "transcript_entry_whole": (
            f"{transcript_path('me', two)}/entries/3",
            "",
            ALICE,
            "200 one entry's whole content, as text",
        ),
        "transcript_entry_missing": (f"{transcript_path('me', two)}/entries/999", "", ALICE, "404 no entry has it"),
        "transcript_entry_bad_seq": (f"{transcript_path('me', two)}/entries/first", "", ALICE, "400 naming seq"),
    }


def transcript_events() -> dict[str, dict[str, Any]]:
    requests = {name: (path, query, caller) for name, (path, query, caller, _) in transcript_requests().items()}
    return _user_events(
        requests, ("coder-session-token", "<verified by the authorizer>"), "tasklogs", "local-transcript"
    )


# ---------------------------------------------------------------- task routes (contract §9)


def task_route_requests() -> dict[str, tuple[str, str, DemoUser | None, str]]:
    """Event name → (path, raw query, caller or None for no claims, what it answers)."""
    active = TASKS_BY_NAME["refactor-auth"]
    return {
        "task_by_name": (f"/api/v2/tasks/me/{active.name}", "", ALICE, "200 the task, as codersdk.Task"),
        "task_by_uuid": (f"/api/v2/tasks/me/{active.task_id}", "", ALICE, "200 the task named by UUID"),
        "task_by_owner_and_name": ("/api/v2/tasks/alice/add-billing-page", "", ALICE, "200 owner/name"),
        "task_deleted": ("/api/v2/tasks/me/old-experiment", "", ALICE, "404 deleted"),
        "task_of_someone_else": ("/api/v2/tasks/bob/bobs-task", "", ALICE, "404 someone else's task"),
        "task_no_claims": (f"/api/v2/tasks/me/{active.name}", "", None, "401 no verified claims"),
        "tasks_list": ("/api/v2/tasks", "q=owner%3A%22me%22", ALICE, "200 alice's tasks, newest first"),
        "tasks_list_no_filter": ("/api/v2/tasks", "", ALICE, "200 alice's tasks, newest first"),
        "tasks_list_paused": ("/api/v2/tasks", "q=owner%3Ame+status%3Apaused", ALICE, "200 only the paused ones"),
        "tasks_list_other_owner": ("/api/v2/tasks", "q=owner%3Abob", ALICE, "200 an empty list (bob's are not hers)"),
        "tasks_list_unknown_key": ("/api/v2/tasks", "q=template%3Ago", ALICE, "400 an unknown filter key"),
        "tasks_list_bad_status": ("/api/v2/tasks", "q=status%3Arunning", ALICE, "400 not a task status"),
    }


def task_route_events() -> dict[str, dict[str, Any]]:
    requests = {name: (path, query, caller) for name, (path, query, caller, _) in task_route_requests().items()}
    return _user_events(requests, ("coder-session-token", "<verified by the authorizer>"), "coder-cli", "local-task")


# ---------------------------------------------------------------- the web viewer (no authorizer, no task data)


def viewer_requests() -> dict[str, tuple[str, str]]:
    """Event name → (path, what it answers)."""
    return {
        "viewer_page": ("/viewer", "200 the page (text/html) with its Content-Security-Policy"),
        "viewer_script": ("/viewer/app.js", "200 the script"),
        "viewer_sign_in": ("/viewer/config.json", "200 the OIDC public client's settings"),
        "viewer_unknown_file": ("/viewer/secrets.txt", "404 no such file"),
        "viewer_task_name": ("/viewer/refactor-auth", "302 to the viewer's page of that task"),
    }


def viewer_events() -> dict[str, dict[str, Any]]:
    requests = {name: (path, "", None) for name, (path, _) in viewer_requests().items()}
    return _user_events(requests, ("", ""), "Mozilla/5.0 (X11; Linux aarch64)", "local-viewer")


# ---------------------------------------------------------------- the user authorizer (contract §2)

# Tokens in events/ must not change from one generation to the next, nor expire while the repository
# is in use: fixed times, ten years long. They are signed with the local key, which no deployed stack
# trusts.
_EVENT_TOKEN_TIMES = {"iat": 1_795_608_000, "exp": 1_795_608_000 + 10 * 365 * 86_400}


def authorizer_requests() -> dict[str, tuple[dict[str, str], str]]:
    """Event name → (the request's headers, what the authorizer answers)."""
    alice = mint({**ALICE.claims, **_EVENT_TOKEN_TIMES})
    return {
        "authorizer_session_token": ({"coder-session-token": alice}, "allow: alice, token in Coder-Session-Token"),
        "authorizer_bearer": ({"authorization": f"Bearer {alice}"}, "allow: alice, token in Authorization"),
        "authorizer_no_token": ({}, "401 Unauthorized: no token"),
        "authorizer_expired": (
            {"coder-session-token": mint({**ALICE.claims, "iat": 1_795_000_000, "exp": 1_795_000_600})},
            "401 Unauthorized: expired",
        ),
        "authorizer_wrong_audience": (
            {"authorization": f"Bearer {mint({**ALICE.claims, **_EVENT_TOKEN_TIMES, 'aud': 'another-app'})}"},
            "401 Unauthorized: another audience",
        ),
    }


def authorizer_events() -> dict[str, dict[str, Any]]:
    from devstack.generators.events import authorizer_event

    events = {}
    for n, (name, (token_headers, _)) in enumerate(sorted(authorizer_requests().items())):
        headers = {"accept": "application/json", "user-agent": "coder-cli", **token_headers}
        event = authorizer_event("GET", logs_path("me", "refactor-auth"), headers=headers)
        event["requestContext"] |= {"requestId": f"local-auth-{n:04d}", "time": "25/Nov/2026:12:00:00 +0000"}
        event["requestContext"]["timeEpoch"] = 1_795_608_000_000
        events[name] = event
    return events


def logs_events() -> dict[str, dict[str, Any]]:
    requests = {name: (path, "", caller) for name, (path, caller, _) in demo_requests().items()}
    return _user_events(requests, ("authorization", "Bearer <verified by API Gateway>"), "curl/8.5.0", "local")


def _user_events(
    requests: dict[str, tuple[str, str, DemoUser | None]], token: tuple[str, str], user_agent: str, id_prefix: str
) -> dict[str, dict[str, Any]]:
    """GET events of users' requests (name → path, raw query, caller), as API Gateway sends them once
    the authorizer let the caller's token through (`token`: the header it came in)."""
    from datetime import datetime

    from devstack.generators.events import http_api_event

    fixed = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    events = {}
    for n, (name, (path, query, caller)) in enumerate(sorted(requests.items())):
        headers = {"accept": "application/json", "user-agent": user_agent}
        if caller is not None:
            headers[token[0]] = token[1]
        events[name] = http_api_event(
            "GET",
            path,
            claims=caller.claims if caller else None,
            headers=headers,
            raw_query=query,
            request_id=f"{id_prefix}-{n:04d}",
            now=fixed,
        )
    return events


# ---------------------------------------------------------------- snapshot uploads (contract §6)

UPLOAD_TASK = TASKS_BY_NAME["release-notes"]
UNKNOWN_TASK_ID = "7a5c0000-0000-4000-8000-999999999999"
# What the Coder AgentAPI module's shutdown script posts: AgentAPI's own GET /messages answer.
UPLOADED_CONVERSATION = conversation(
    "Draft the 2.4 release notes", "Drafted RELEASE_NOTES.md for 2.4.", start_ns=_SNAPSHOT_EPOCH_NS + 3_600_000_000_000
)
UPLOAD_BODY = json.dumps(
    {"$schema": "http://localhost:3284/schemas/MessagesResponseBody.json", "messages": UPLOADED_CONVERSATION}
).encode()


def upload_path(task_id: str) -> str:
    return f"/api/v2/workspaceagents/me/tasks/{task_id}/log-snapshot"


@dataclass(frozen=True)
class UploadRequest:
    task_id: str
    token: str | None  # sent as Coder-Session-Token unless `bearer`
    expect: str
    query: str = "format=agentapi"
    body: bytes = UPLOAD_BODY
    bearer: bool = False
    base64_body: bool = False

    @property
    def headers(self) -> dict[str, str]:
        headers = {"content-type": "application/json", "user-agent": "curl/8.5.0"}
        if self.token and self.bearer:
            headers["authorization"] = f"Bearer {self.token}"
        elif self.token:
            headers["coder-session-token"] = self.token
        if self.base64_body:
            headers["content-type"] = "application/octet-stream"
        return headers


def upload_requests() -> dict[str, UploadRequest]:
    """Event name → request, one per step of contract §6 (and the ways agents send their token)."""
    own = UPLOAD_TASK.agent_token
    return {
        "upload_success": UploadRequest(UPLOAD_TASK.task_id, own, "204 stored"),
        "upload_bearer_token": UploadRequest(
            UPLOAD_TASK.task_id, own, "204 token as Authorization: Bearer", bearer=True
        ),
        "upload_base64_body": UploadRequest(
            UPLOAD_TASK.task_id, own, "204 body base64-encoded by API Gateway", base64_body=True
        ),
        "upload_empty_messages": UploadRequest(
            UPLOAD_TASK.task_id, own, "204 an empty conversation is a snapshot too", body=b'{"messages": []}'
        ),
        "upload_no_token": UploadRequest(UPLOAD_TASK.task_id, None, "401 no agent token"),
        "upload_unknown_token": UploadRequest(UPLOAD_TASK.task_id, "not-an-agent-token", "401 unknown agent token"),
        "upload_deleted_task": UploadRequest(
            TASKS_BY_NAME["old-experiment"].task_id,
            TASKS_BY_NAME["old-experiment"].agent_token,
            "401 the token's only task is deleted",
        ),
        "upload_invalid_task_id": UploadRequest("release-notes", own, "400 invalid task ID format"),
        "upload_missing_format": UploadRequest(UPLOAD_TASK.task_id, own, "400 invalid query parameters", query=""),
        "upload_extra_query_param": UploadRequest(
            UPLOAD_TASK.task_id, own, "400 invalid query parameters", query="format=agentapi&limit=10"
        ),
        "upload_invalid_format": UploadRequest(
            UPLOAD_TASK.task_id, own, "400 invalid format parameter", query="format=asciinema"
        ),
        "upload_unknown_task": UploadRequest(UNKNOWN_TASK_ID, own, "404 no such task"),
        "upload_other_workspace_token": UploadRequest(
            UPLOAD_TASK.task_id, TASKS_BY_NAME["refactor-auth"].agent_token, "404 another workspace's task"
        ),
        "upload_too_large": UploadRequest(
            UPLOAD_TASK.task_id,
            own,
            "400 body over 64 KiB",
            body=json.dumps({"messages": [{**UPLOADED_CONVERSATION[0], "content": "x" * 65_536}]}).encode(),
        ),
        "upload_malformed_json": UploadRequest(
            UPLOAD_TASK.task_id, own, "400 not JSON", body=b'{"messages": [{"id": 0,'
        ),
        "upload_missing_messages": UploadRequest(
            UPLOAD_TASK.task_id, own, "400 no messages field", body=b'{"truncated": false, "total_count": 0}'
        ),
        "upload_non_go_task_id": UploadRequest(
            "{{" + UPLOAD_TASK.task_id + "}}", own, "400 a task ID form Go's uuid.Parse refuses"
        ),
        "upload_nan": UploadRequest(UPLOAD_TASK.task_id, own, "400 NaN is not JSON", body=_message_json(id_="NaN")),
        "upload_id_beyond_int64": UploadRequest(
            UPLOAD_TASK.task_id, own, "400 a message id beyond int64", body=_message_json(id_=str(2**63))
        ),
        "upload_lone_surrogate_role": UploadRequest(
            UPLOAD_TASK.task_id, own, "400 a role that is a lone surrogate escape", body=_message_json(role=r'"\ud800"')
        ),
    }


def _message_json(id_: str = "0", role: str = '"agent"') -> bytes:
    """One message as raw JSON text: what json.dumps would never write (NaN, lone escapes) stays as sent."""
    message = f'{{"id": {id_}, "content": "Ready.", "role": {role}, "time": "2026-11-25T10:00:00Z"}}'
    return f'{{"messages": [{message}]}}'.encode()


def upload_events() -> dict[str, dict[str, Any]]:
    import base64
    from datetime import datetime
    from urllib.parse import quote

    from devstack.generators.events import http_api_event

    fixed = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    events = {}
    for n, (name, request) in enumerate(sorted(upload_requests().items())):
        body = base64.b64encode(request.body).decode() if request.base64_body else request.body.decode()
        events[name] = http_api_event(
            "POST",
            upload_path(quote(request.task_id, safe="")),
            claims=None,
            headers=request.headers,
            raw_query=request.query,
            body=body,
            is_base64=request.base64_body,
            request_id=f"local-upload-{n:04d}",
            now=fixed,
        )
    return events


# ---------------------------------------------------------------- the pause/resume story (docs/local-stack.md)

# The printed examples name alice's token by this shell variable, set by their first line.
TOKEN_VARIABLE = "$TOKEN"  # noqa: S105 - a shell variable's name, not a secret


def story_requests(base_url: str, token: str = TOKEN_VARIABLE) -> dict[str, tuple[str, str]]:
    """Step name → (curl command, what it shows), in the order to run them; alice's token as `token`
    (by default the shell variable the printed examples set)."""
    active = TASKS_BY_NAME["refactor-auth"]
    alice = f'-H "Authorization: Bearer {token}"'
    logs = f"curl -s {alice} {base_url}{logs_path('me', active.name)}"
    transcript_url = f"{base_url}{transcript_path('me', active.name)}"
    transcript = f"curl -s {alice} {transcript_url}"
    # The ETag of the page, then the same request naming it: 304, with nothing read but the task item.
    etag = f"$(curl -s -o /dev/null -D - {alice} {transcript_url} | tr -d '\\r' | sed -n 's/^[Ee][Tt][Aa][Gg]: //p')"
    not_modified = f'curl -s -o /dev/null -w "%{{http_code}}\\n" {alice} -H "If-None-Match: {etag}" {transcript_url}'
    control = f"curl -s -X POST {base_url}/_devstack/tasks/{active.name}"
    upload = (
        f'curl -s -o /dev/null -w "%{{http_code}}\\n" -X POST '
        f'"{base_url}{upload_path(UPLOAD_TASK.task_id)}?format=agentapi" '
        f'-H "Coder-Session-Token: {UPLOAD_TASK.agent_token}" -H "Content-Type: application/json" '
        f"--data-binary '{UPLOAD_BODY.decode()}'"
    )
    upload_logs = f"curl -s {alice} {base_url}{logs_path('me', UPLOAD_TASK.name)}"
    return {
        "pause": (f"{control}/pause", "the build stops; the capture stores the agent's conversation"),
        "logs_paused": (logs, "200 logs from the stored session, with snapshot_at"),
        "transcript_paused": (transcript, "200 the transcript: session 1, stored"),
        "transcript_not_modified": (not_modified, "304: the page has not changed (one GetItem, no S3 read)"),
        "resume": (f"{control}/resume", "the build starts again; the agent starts a new run (no state file)"),
        "logs_resumed": (logs, "200 live logs of the new run, no snapshot fields"),
        "transcript_resumed": (transcript, "200 session 1 stored, then session 2 live from the agent"),
        "pause_again": (f"{control}/pause", "the second pause captures session 2"),
        "transcript_two_pauses": (transcript, "200 both sessions, stored: nothing of the first run was lost"),
        "resume_again": (f"{control}/resume", "a third run: while it works, checkpoints store it every 10 s"),
        "checkpoint": (
            f"curl -s -X POST {base_url}/_devstack/checkpoints",
            "a checkpoint run now, rather than waiting for the next (each active task's agent read, changes stored)",
        ),
        "crash": (f"{control}/crash", "the workspace dies: no pause, no upload, its agent stops answering"),
        "transcript_crashed": (
            transcript,
            "200 session 3 as the last checkpoint stored it, then an 'agent lost' gap: at most 10 s of it lost",
        ),
        "agent_upload": (
            upload,
            "204: the agent of release-notes uploads its snapshot, as Coder's shutdown script does",
        ),
        "logs_uploaded": (upload_logs, "200 release-notes' logs from that upload"),
        "delete": (f"{control}/delete", "soft delete; the cleanup removes every version of the snapshot"),
        "logs_deleted": (logs, "404 the task is gone"),
    }
