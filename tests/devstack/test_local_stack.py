"""The first of the two commands end to end: `python -m devstack run` starts and prints one screen
whose commands work as printed; every example `python -m devstack examples` prints works as printed
and answers per contract, the pause/resume story runs as printed, and Ctrl-C stops everything."""

import functools
import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from devstack.runtime.template_resources import ROOT
from tests.expected import EXPECTED, EXPECTED_TASK_ROUTES, EXPECTED_TRANSCRIPT_ENTRIES, EXPECTED_TRANSCRIPTS


@pytest.fixture(scope="module")
def function_log(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("devstack") / "functions.log"  # not the developer's own


@pytest.fixture(scope="module")
def stack(function_log):
    # As `make run` starts it: from the repository's root, nothing added to the path.
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "TASKLOGS_VERBOSE")}
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack", "run", "--port", "0", "--log-file", str(function_log)],
        cwd=ROOT,
        env=env | {"PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("Ctrl-C stops everything."):
            break
    assert lines and lines[-1].startswith("Ctrl-C"), "".join(lines)
    # Keep reading what the stack logs, as a terminal would: a full pipe would block its writes (and
    # with them the front and the containers) once 64 KiB of log lines were left unread.

    process.later_output = []  # what the stack prints after it is up: read by test_ctrl_c_stops_everything
    process.reader = threading.Thread(target=lambda: process.later_output.extend(process.stdout), daemon=True)
    process.reader.start()
    yield process, lines
    if process.poll() is None:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def examples(stack) -> list[str]:
    """What `python -m devstack examples --url <the stack's>` prints, as its welcome screen says."""
    _, lines = stack
    url = re.search(r"API (http://\S+)", "".join(lines)).group(1)
    run = subprocess.run(
        [sys.executable, "-m", "devstack", "examples", "--url", url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0 and run.stderr == "", run.stderr
    return run.stdout.splitlines(keepends=True)


@functools.cache
def alice_token() -> str:
    from devstack.demo.catalogue import ALICE
    from devstack.runtime.local_idp import mint

    return mint(ALICE.claims)


def printed_curls(lines: list[str], tag: str = "events") -> dict[str, str]:
    """name → the curl command printed under its `# ... [events/<name>.json]` (or `[story/<name>]`) comment,
    in printed order."""
    curls = {}
    for comment, command in itertools.pairwise(lines):
        match = re.search(rf"\[{tag}/(\w+)(?:\.json)?\]", comment)
        if match and command.startswith("curl "):
            curls[match.group(1)] = command.strip()
    return curls


def in_shell(command: str, timeout: float = 30) -> subprocess.CompletedProcess:
    """A printed command, run as a shell that set $TOKEN as the printout's first line says."""
    env = {**os.environ, "TOKEN": alice_token()}
    return subprocess.run(["bash", "-c", command], env=env, capture_output=True, text=True, timeout=timeout)


def run_printed(command: str) -> str:
    run = in_shell(command)
    assert run.returncode == 0, (command, run.stderr)
    return run.stdout


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_the_welcome_is_one_screen_and_its_commands_work_as_printed(stack) -> None:
    """`make run` prints where everything is, three curls and a CLI command that run as printed (from
    the repository's root, as `make run` leaves you), and how to print every other example: no
    token inline, nothing a reader must scroll back for."""
    _, lines = stack
    start = next(i for i, line in enumerate(lines) if line.startswith("tasklogs local stack is up"))
    screen = lines[start:]
    assert len(screen) <= 24 and max(len(line.rstrip()) for line in screen) <= 160, "".join(screen)
    assert "eyJ" not in "".join(screen)  # no JWT: the token is in a variable
    commands = [line.strip() for line in screen if line.startswith(("TOKEN=", "curl ", "TASKLOGS_URL="))]
    assert [c.split()[0].split("=")[0] for c in commands] == ["TOKEN", "curl", "curl", "curl", "TASKLOGS_URL"]
    for command in commands[1:]:
        run = subprocess.run(
            ["bash", "-c", f"{commands[0]}; {command}"], cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        assert run.returncode == 0 and run.stdout.strip() and "Traceback" not in run.stderr, (command, run.stderr)
        if command.startswith("curl"):
            assert "message" not in json.loads(run.stdout), (command, run.stdout)  # an answer, not an error
    assert any("-m devstack examples" in line for line in screen)


def stack_url(lines: list[str]) -> str:
    return re.search(r"API (http://\S+)", "".join(lines)).group(1)


def wait_for(condition, bound_seconds: float = 60) -> bool:
    """Whether `condition()` came true within the bound (a bound against a hang, not a timing)."""
    bound = time.monotonic() + bound_seconds
    while not (met := condition()) and time.monotonic() < bound:
        time.sleep(0.1)
    return bool(met)


@pytest.mark.slow
def test_following_the_live_demo_task_shows_its_agent_at_work(stack) -> None:
    """refactor-auth's agent adds a message every few seconds: `tasklogs logs refactor-auth --follow`,
    left open, shows one it did not show at first."""
    from devstack.demo.live_agent import _STEPS

    _, lines = stack
    tasklogs = Path(sys.executable).parent / "tasklogs"
    env = {**os.environ, "TASKLOGS_URL": stack_url(lines), "TASKLOGS_TOKEN": alice_token(), "NO_COLOR": "1"}
    follow = subprocess.Popen(
        [str(tasklogs), "logs", "refactor-auth", "--follow", "-o", "json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    shown: list[str] = []
    reader = threading.Thread(target=lambda: shown.extend(follow.stdout), daemon=True)
    reader.start()

    def a_step_among(lines: list[str]) -> bool:
        return any(json.loads(line).get("content") in _STEPS for line in lines if line.startswith("{"))

    try:
        assert wait_for(lambda: shown), "following printed nothing"
        first = len(shown)
        assert wait_for(lambda: a_step_among(shown[first:])), shown
    finally:
        # Ended with SIGTERM: under a shell that started the suite in the background, SIGINT is ignored
        # (Ctrl-C is tested with the printed commands).
        follow.terminate()
        follow.wait(timeout=30)


@pytest.mark.slow
def test_the_console_shows_errors_and_the_log_file_every_line(stack, function_log) -> None:
    """Function log lines go to the log file; on the console only errors (and no Powertools warning
    that an invocation published no metrics)."""
    process, lines = stack
    for task in ("add-billing-page", "agent-down"):  # served, then the agent's failure: an error
        run_printed(f'curl -s -H "Authorization: Bearer $TOKEN" {stack_url(lines)}/api/v2/tasks/me/{task}/logs')
    assert wait_for(lambda: any('"level":"ERROR"' in line for line in process.later_output))
    assert wait_for(lambda: '"message":"task logs served"' in function_log.read_text())
    console = "".join(process.later_output)
    assert '"level":"INFO"' not in console and "No application metrics to publish" not in console
    assert '"level":"ERROR"' in function_log.read_text()  # the file has everything, errors too


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_printed_curl_commands_work_as_printed(examples) -> None:
    curls = printed_curls(examples)
    expected = EXPECTED | EXPECTED_TASK_ROUTES | EXPECTED_TRANSCRIPTS | EXPECTED_TRANSCRIPT_ENTRIES
    assert set(curls) == set(expected)
    assert examples[0].startswith("TOKEN=$(") and "eyJ" not in "".join(examples)  # the token in a variable
    for name, command in sorted(curls.items()):
        run = in_shell(command)
        assert run.returncode == 0, (name, run.stderr)
        status, message = expected[name]
        if name in EXPECTED_TRANSCRIPT_ENTRIES and message is None:  # an entry's content, as text
            assert run.stdout.strip() and not run.stdout.startswith("{"), (name, run.stdout)
            continue
        body = json.loads(run.stdout)
        if message is None:
            answer = body.get("logs", body.get("tasks", body.get("entries", body.get("id"))))
            assert isinstance(answer, list | str), (name, body)
        elif status == 401:  # API Gateway's own authorizer answer: no token was sent
            assert body == {"message": "Unauthorized"}, (name, body)
        else:
            assert body["message"] == message, (name, body)


@pytest.mark.slow
def test_printed_tasklogs_commands_work_as_printed(examples) -> None:
    """The CLI block: its `export` line, then each command (the --follow one is run and ended with Ctrl-C)."""
    lines = examples
    start = next(i for i, line in enumerate(lines) if line.startswith("export TASKLOGS_URL="))
    commands = list(itertools.takewhile(lambda line: line.strip(), lines[start + 1 :]))
    assert [c.split()[1] for c in commands] == ["tasks", "logs", "logs", "logs"]
    export = lines[start].strip()
    for command in commands:
        follow = command.strip().endswith(" -f")
        interrupted = "timeout --preserve-status -s INT 3 " if follow else ""
        script = f"{export}; {interrupted}{command.strip()}"
        run = in_shell(script, timeout=60)
        assert run.returncode == (130 if follow else 0), (command, run.stderr)
        assert run.stdout.strip(), command
        assert "Traceback" not in run.stderr


@pytest.mark.slow
@pytest.mark.parametrize("header", ["Coder-Session-Token", "Authorization"])
def test_coder_clients_request_sequences_work_against_make_run(stack, header) -> None:
    """`coder task logs <name>` (task by identifier, then logs by id) and the VS Code extension (list,
    task, logs), with the user's token in only one header: tests/devstack/test_coder_clients.py's
    sequences, against the `make run` process."""
    import httpx

    from devstack.demo.catalogue import ALICE
    from devstack.runtime.local_idp import mint
    from tests.devstack.test_coder_clients import task_by_identifier, task_logs

    _, lines = stack
    url = re.search(r"API (http://\S+)", "".join(lines)).group(1)
    token = mint(ALICE.claims)
    value = token if header == "Coder-Session-Token" else f"Bearer {token}"
    with httpx.Client(base_url=url, headers={header: value}, timeout=30) as client:
        for identifier in ("refactor-auth", "alice/add-billing-page"):
            task = task_by_identifier(client, identifier)
            assert task_logs(client, task["id"])["logs"]
        listing = client.get("/api/v2/tasks", params={"q": "owner:me"}).json()
        chosen = next(task for task in listing["tasks"] if task["name"] == "refactor-auth")
        assert task_by_identifier(client, chosen["id"]) == chosen
        assert task_logs(client, chosen["id"])["logs"]


@pytest.mark.slow
def test_make_smoke_passes_against_make_run_and_its_viewer_page(stack) -> None:
    """The check a pipeline gates a deploy on, against the `make run` process (the token from the
    environment, as README's Deploying says)."""
    from devstack.demo.catalogue import ALICE
    from devstack.runtime.local_idp import mint

    _, lines = stack
    url = re.search(r"API (http://\S+)", "".join(lines)).group(1)
    env = {**os.environ, "TASKLOGS_URL": url, "TASKLOGS_TOKEN": mint(ALICE.claims)}
    run = subprocess.run(
        ["make", "-s", "smoke", "TASK=add-billing-page"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines()[-1] == "7 of 7 checks passed"


@pytest.mark.slow
def test_an_agent_upload_to_a_doubled_slash_is_stored_and_readable_through_make_run(stack) -> None:
    """A CODER_AGENT_URL ending in `/` makes the shutdown script post to `//api/...` (contract §6)."""
    import httpx

    from devstack.demo.catalogue import ALICE, UPLOAD_TASK, upload_path
    from devstack.runtime.local_idp import mint

    _, lines = stack
    url = re.search(r"API (http://\S+)", "".join(lines)).group(1)
    body = {"messages": [{"id": 0, "content": "Stored via //api.", "role": "agent", "time": "2026-11-25T10:00:00Z"}]}
    answer = httpx.post(
        f"{url}/{upload_path(UPLOAD_TASK.task_id)}?format=agentapi",
        headers={"Coder-Session-Token": UPLOAD_TASK.agent_token},
        json=body,
        timeout=30,
    )
    assert answer.status_code == 204, answer.text
    logs = httpx.get(
        f"{url}/api/v2/tasks/me/{UPLOAD_TASK.name}/logs",
        headers={"Coder-Session-Token": mint(ALICE.claims)},
        timeout=30,
    ).json()
    assert logs["snapshot"] is True and [entry["content"] for entry in logs["logs"]] == ["Stored via //api."]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_the_pause_resume_story_works_as_printed(examples) -> None:
    story = printed_curls(examples, "story")
    assert list(story) == [
        "pause",
        "logs_paused",
        "transcript_paused",
        "transcript_not_modified",
        "resume",
        "logs_resumed",
        "transcript_resumed",
        "pause_again",
        "transcript_two_pauses",
        "resume_again",
        "checkpoint",
        "crash",
        "transcript_crashed",
        "agent_upload",
        "logs_uploaded",
        "delete",
        "logs_deleted",
    ]
    live = json.loads(run_printed(story["logs_resumed"]))  # before the pause: live
    assert "snapshot" not in live and live["logs"]

    paused = json.loads(run_printed(story["pause"]))
    assert paused["status"] == "paused" and paused["snapshot_object"]["exists"] and paused["snapshot_at"]
    from_snapshot = json.loads(run_printed(story["logs_paused"]))
    # The capture holds what the live read showed, and what the demo agent said since (it keeps working).
    captured = from_snapshot.pop("logs")
    assert captured[: len(live["logs"])] == live["logs"]
    assert from_snapshot == {"snapshot": True, "snapshot_at": paused["snapshot_at"]}
    first = json.loads(run_printed(story["transcript_paused"]))
    assert first["status"] == "paused" and not first["live"]
    assert [e["content"] for e in first["entries"]] == [e["content"] for e in captured]
    assert {e["session"] for e in first["entries"]} == {1}
    assert run_printed(story["transcript_not_modified"]).strip() == "304"

    assert json.loads(run_printed(story["resume"]))["status"] == "active"
    second_run = json.loads(run_printed(story["logs_resumed"]))["logs"]
    assert second_run != live["logs"] and second_run[1]["content"].startswith("Run 2:")
    resumed = json.loads(run_printed(story["transcript_resumed"]))
    assert resumed["live"] and resumed["entries"] == first["entries"] + resumed["entries"][len(first["entries"]) :]
    assert [e["content"] for e in resumed["entries"] if e["session"] == 2] == [e["content"] for e in second_run]

    assert json.loads(run_printed(story["pause_again"]))["transcript"]["sessions"] == 2
    both = json.loads(run_printed(story["transcript_two_pauses"]))
    assert both["status"] == "paused" and not both["live"]
    assert [(e["seq"], e["content"]) for e in both["entries"]] == [(e["seq"], e["content"]) for e in resumed["entries"]]

    # A crash mid-run loses at most what was said since the last checkpoint (contract §11).
    assert json.loads(run_printed(story["resume_again"]))["status"] == "active"
    third_run = json.loads(run_printed(story["logs_resumed"]))["logs"]
    assert third_run[1]["content"].startswith("Run 3:")
    assert json.loads(run_printed(story["checkpoint"]))["checkpoint_runs"] >= 1
    crashed = json.loads(run_printed(story["crash"]))
    assert crashed["status"] == "error" and crashed["checkpoint_at"]
    kept = json.loads(run_printed(story["transcript_crashed"]))
    session = [e for e in kept["entries"] if e["session"] == 3]
    assert [e["content"] for e in session][: len(third_run)] == [e["content"] for e in third_run]
    assert kept["entries"][: len(both["entries"])] == both["entries"]  # the earlier runs, untouched
    assert kept["gaps"][-1] == {
        "after_seq": session[-1]["seq"],
        "before_seq": None,
        "missing": None,
        "reason": "agent lost",
    }

    assert run_printed(story["agent_upload"]).strip() == "204"
    uploaded = json.loads(run_printed(story["logs_uploaded"]))
    assert uploaded["snapshot"] is True and uploaded["snapshot_at"] and len(uploaded["logs"]) == 3

    deleted = json.loads(run_printed(story["delete"]))
    assert deleted["status"] == "deleted" and deleted["snapshot_object"] == {
        "key": deleted["snapshot_object"]["key"],
        "exists": False,
        "versions_kept": 0,
    }  # every version gone (§10)
    assert deleted["snapshot_at"] is None and deleted["snapshot_version"] is None and deleted["checkpoint_at"] is None
    assert deleted["transcript"] == {"sessions": 0, "object_versions_kept": 0}
    assert json.loads(run_printed(story["logs_deleted"])) == {"message": "Resource not found."}


@pytest.mark.slow
def test_the_stack_answers_hostile_http_in_the_contract_shape_and_keeps_serving(stack) -> None:
    from urllib.parse import urlsplit

    from tests.devstack.test_front import parse_responses

    _, lines = stack
    api = urlsplit(re.search(r"API (http://\S+)", "".join(lines)).group(1))
    token = alice_token()

    def exchange(raw: bytes) -> bytes:
        with socket.create_connection((api.hostname, api.port), timeout=10) as sock:
            sock.sendall(raw)
            received = b""
            while chunk := sock.recv(65536):
                received += chunk
        return received

    logs = (
        f"GET /api/v2/tasks/me/add-billing-page/logs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n".encode()
    )
    head, _, after_head = exchange(b"HEAD" + logs[3:] + b"Connection: close\r\n\r\n").partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 404") and after_head == b""  # no body bytes after a HEAD's headers
    probes = [
        b"POST /api/v2/workspaceagents/me/tasks/x/log-snapshot HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}",
        b"POST /api/v2/workspaceagents/me/tasks/x/log-snapshot HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n{}",
        b"GARBAGE\r\n\r\n",
    ]
    for probe in probes:
        [(status, headers, body)] = parse_responses(exchange(probe))
        assert status == 400 and headers["content-type"] == "application/json"
        assert set(json.loads(body)) <= {"message", "detail"}
    [(status, _, body)] = parse_responses(exchange(logs + b"Connection: close\r\n\r\n"))  # still serving
    assert status == 200 and json.loads(body)["snapshot"] is True


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_make_run_serves_slow_requests_side_by_side(examples) -> None:

    curls = printed_curls(examples)
    finished: dict[str, float] = {}

    def run(label: str, command: str) -> None:
        run_printed(command)
        finished[label] = time.monotonic()

    # The demo's slow agent takes 30 s: each read ends in a 504 after about 8 s (contract §5).
    slow = [threading.Thread(target=run, args=(f"slow-{n}", curls["logs_agent_slow"])) for n in range(2)]
    api = re.match(r"curl .*?'?(http://127\.0\.0\.1:\d+)", curls["logs_agent_slow"]).group(1)

    def agent_reads() -> int:
        return json.loads(run_printed(f"curl -s {api}/_devstack/tasks/agent-slow"))["agent_reads"]

    before = agent_reads()
    for thread in slow:
        thread.start()
    bound = time.monotonic() + 20  # against a hang: both reads usually reach the agent at once
    while agent_reads() < before + 2 and time.monotonic() < bound:
        time.sleep(0.05)
    assert agent_reads() >= before + 2, "the slow reads never reached the agent"
    run("snapshot", curls["logs_add_billing_page"])
    assert all(thread.is_alive() for thread in slow)  # answered while both slow reads were still waiting
    for thread in slow:
        thread.join(30)
    # Side by side, the two slow reads end together; one after the other, 8 s apart.
    assert abs(finished["slow-0"] - finished["slow-1"]) < 4


@pytest.mark.slow
def test_ctrl_c_stops_everything(stack) -> None:
    process, _ = stack
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGUSR1)  # every thread's stack, for the failure message
        time.sleep(1)
        process.kill()
        process.reader.join(5)
        pytest.fail("the stack did not stop within 30 s after Ctrl-C:\n" + "".join(process.later_output)[-6000:])
    process.reader.join(5)
    out = "".join(process.later_output)
    assert process.returncode == 0, out
    assert "stopped" in out
