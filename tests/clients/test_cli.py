"""The `tasklogs` command as installed into .venv by the two commands' set-up, run as a user runs it (its
own process, its environment, a pipe or a terminal) against the local stack over real HTTP."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from devstack.demo.catalogue import ALICE, TASKS_BY_NAME
from devstack.runtime.local_idp import mint

TASKLOGS = Path(sys.executable).parent / "tasklogs"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
TWO_SESSIONS = "port-rate-limiter"  # paused, two sessions, the first uploaded in part (a gap of 3)


def cli_env(stack, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TASKLOGS_", "CODER_", "FORCE_COLOR", "NO_COLOR"))}
    env.update(TASKLOGS_URL=stack.url, TASKLOGS_TOKEN=mint(ALICE.claims), TERM="xterm-256color", COLUMNS="100")
    env.update(extra)
    return env


def tasklogs(stack, *args: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(TASKLOGS), *args], capture_output=True, text=True, timeout=timeout, env=cli_env(stack, **env), check=False
    )


def whole_transcript(stack, name: str) -> list[dict]:
    entries, after = [], -1
    while True:
        body = stack.api(f"/api/v2/tasks/me/{name}/transcript", after=after, limit=1000).json()
        entries += body["entries"]
        if not body["has_newer"]:
            return entries
        after = entries[-1]["seq"]


def no_traceback(result: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout


# ---- set-up and configuration


def test_the_readme_set_up_installs_tasklogs_as_its_own_package() -> None:
    assert TASKLOGS.is_file(), "make venv installs the CLI's console script"
    shown = subprocess.run(
        [sys.executable, "-m", "pip", "show", "tasklogs-cli"], capture_output=True, text=True, check=True
    ).stdout
    requires = re.search(r"^Requires: (.*)$", shown, re.M).group(1)
    assert {r.strip() for r in requires.split(",")} == {"httpx", "rich", "typer"}
    layer = Path("layers/core/requirements.txt").read_text()
    assert not re.search(r"^(typer|rich|click)\b", layer, re.M), "the CLI's libraries stay out of the Lambda layer"


def test_url_and_token_fall_back_to_coder_s_variables(stack) -> None:
    env = {"CODER_URL": stack.url, "CODER_SESSION_TOKEN": mint(ALICE.claims)}
    result = tasklogs(stack, "tasks", "-o", "json", TASKLOGS_URL="", TASKLOGS_TOKEN="", **env)
    assert result.returncode == 0, result.stderr
    assert any(json.loads(line)["name"] == "refactor-auth" for line in result.stdout.splitlines())


def test_options_win_over_the_environment(stack) -> None:
    result = tasklogs(
        stack, "tasks", "--url", stack.url, "--token", mint(ALICE.claims), TASKLOGS_URL="http://127.0.0.1:9"
    )
    assert result.returncode == 0, result.stderr


def test_help_shows_follow_as_a_flag(stack) -> None:
    """`--follow` takes no value: its row in `tasklogs logs --help` names no type beside it."""
    result = tasklogs(stack, "logs", "--help", COLUMNS="100")
    assert result.returncode == 0, result.stderr
    [row] = [line for line in ANSI.sub("", result.stdout).splitlines() if "--follow" in line]
    assert "-f" in row and "Keep printing" in row and "<" not in row, row


@pytest.mark.parametrize(
    ("args", "env", "code", "said"),
    [
        (["tasks"], {"TASKLOGS_URL": ""}, 2, "No service URL."),
        (["tasks"], {"TASKLOGS_TOKEN": ""}, 3, "No token."),
        (["tasks"], {"TASKLOGS_TOKEN": "not-a-jwt"}, 3, "error: Unauthorized"),
        # ... and how to get a token the service takes.
        (["tasks"], {"TASKLOGS_TOKEN": "not-a-jwt"}, 3, "TASKLOGS_TOKEN=$(.venv/bin/python -m devstack token alice)"),
        (["logs", "no-such-task"], {}, 4, "error: Resource not found."),
        (["logs", "no-such-task"], {}, 4, "No task 'no-such-task' among yours: `tasklogs tasks` lists them."),
        (["logs", "bobs-task"], {}, 4, "error: Resource not found."),  # someone else's: 404, never 403
        (["logs", "bob/bobs-task"], {}, 4, "No task 'bobs-task' of bob that you may read"),
        (["logs", "refactor-auth", "--tail", "0"], {}, 2, "--tail"),
        (["logs", "refactor-auth", "-o", "yaml"], {}, 2, "--output"),
        (["tasks", "--status", "sleeping"], {}, 2, "--status"),
        (["logs"], {}, 2, "Missing argument"),
        (["logs", "refactor-auth"], {"TASKLOGS_URL": "http://127.0.0.1:9"}, 6, "Cannot reach the service."),
    ],
)
def test_errors_say_what_went_wrong_with_their_documented_exit_code(stack, args, env, code, said) -> None:
    result = tasklogs(stack, *args, **env)
    assert result.returncode == code, (result.stdout, result.stderr)
    assert said in ANSI.sub("", result.stderr)
    assert result.stdout == ""
    no_traceback(result)


# ---- tasklogs tasks


def test_tasks_lists_the_caller_s_tasks_with_their_status(stack) -> None:
    result = tasklogs(stack, "tasks")
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines()[1:]}
    listed = {t["name"]: t["status"] for t in stack.api("/api/v2/tasks").json()["tasks"]}
    assert rows == listed
    assert rows["refactor-auth"] == "active" and rows["add-billing-page"] == "paused" and "bobs-task" not in rows
    assert result.stdout.splitlines()[0].split() == ["NAME", "STATUS", "CREATED", "ID"]
    assert not ANSI.search(result.stdout), "no colour into a pipe"


def test_tasks_filters_by_status_and_prints_json_lines(stack) -> None:
    result = tasklogs(stack, "tasks", "--status", "paused", "-o", "json")
    assert result.returncode == 0, result.stderr
    printed = [json.loads(line) for line in result.stdout.splitlines()]
    assert printed == stack.api("/api/v2/tasks", q="status:paused").json()["tasks"]
    assert printed and {t["status"] for t in printed} == {"paused"}


def test_tasks_says_when_there_are_none(stack) -> None:
    result = tasklogs(stack, "tasks", "-s", "unknown", "--token", mint({"sub": ALICE.user_id, "username": "alice"}))
    assert result.returncode == 0
    wanted = {t["name"] for t in stack.api("/api/v2/tasks", q="status:unknown").json()["tasks"]}
    assert bool(result.stdout) == bool(wanted)
    none = tasklogs(stack, "tasks", "--token", mint({"sub": "00000000-0000-4000-8000-00000000abcd", "username": "zoe"}))
    assert (none.returncode, none.stdout, none.stderr.strip()) == (0, "", "No tasks.")


# ---- tasklogs logs


def test_logs_prints_every_session_in_order_with_its_gap_and_snapshot_time(stack) -> None:
    result = tasklogs(stack, "logs", TWO_SESSIONS, TZ="UTC")
    assert result.returncode == 0, result.stderr
    entries = whole_transcript(stack, TWO_SESSIONS)
    positions = [result.stdout.index(entry["content"]) for entry in entries]
    assert positions == sorted(positions), "every entry, in the transcript's order"
    assert "── session 2 ──" in result.stdout
    first_of_two = next(e for e in entries if e["session"] == 2)
    assert result.stdout.index("── session 2 ──") < result.stdout.index(first_of_two["content"])
    stderr = result.stderr.splitlines()
    assert "3 earlier messages were not captured" in stderr
    taken = stack.api(f"/api/v2/tasks/me/{TWO_SESSIONS}/logs").json()["snapshot_at"]
    when = datetime.fromisoformat(taken.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M:%S")
    assert any(re.fullmatch(rf"paused: a snapshot taken \d+ days? ago \({when}\)", line) for line in stderr), stderr


def test_a_crashed_task_s_logs_say_until_when_its_history_was_kept(stack) -> None:
    """nightly-migration's workspace crashed: checkpoints kept its run, then an `agent lost` gap (§11)."""
    result = tasklogs(stack, "logs", "nightly-migration", TZ="UTC")
    assert result.returncode == 5, result.stderr  # the task is in "error": its stored conversation, then this code
    entries = whole_transcript(stack, "nightly-migration")
    assert entries and all(entry["content"] in result.stdout for entry in entries)
    stored = stack.api("/api/v2/tasks/me/nightly-migration/transcript").json()["snapshot_at"]
    until = datetime.fromisoformat(stored.replace("Z", "+00:00")).strftime("%H:%M")
    assert f"history kept until {until}; the workspace stopped answering" in result.stderr.splitlines()


def test_logs_tells_input_from_output_in_colour_on_a_terminal_and_plainly_in_a_pipe(stack) -> None:
    piped = tasklogs(stack, "logs", "add-billing-page", "--tail", "2")
    coloured = tasklogs(stack, "logs", "add-billing-page", "--tail", "2", FORCE_COLOR="1")
    assert not ANSI.search(piped.stdout)
    lines = piped.stdout.splitlines()
    assert lines[0].startswith("you · ") and lines[3].startswith("agent · ")
    assert "\x1b[1;36myou" in coloured.stdout and "\x1b[1;32magent" in coloured.stdout
    assert ANSI.sub("", coloured.stdout) == piped.stdout


def test_logs_shows_times_in_local_time(stack) -> None:
    entry = whole_transcript(stack, "add-billing-page")[-1]
    utc = datetime.fromisoformat(entry["time"].replace("Z", "+00:00"))
    for zone in ("UTC", "Asia/Tokyo", "America/Los_Angeles"):
        result = tasklogs(stack, "logs", "add-billing-page", "--tail", "1", TZ=zone)
        local = utc.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M:%S")
        assert result.stdout.splitlines()[0] == f"agent · {local}"


def test_agent_output_is_kept_as_the_terminal_text_it_is(stack) -> None:
    box = "╭──────────────╮\n│ ✻ Welcome!   │\n╰──────────────╯"
    wide = "x" * 300
    hostile = "[bold red]not markup[/] <script>alert(1)</script> \\[escaped]"
    task = stack.new_task("Show the banner", box, "And the long line", f"{wide}\n{hostile}")
    stack.pause(task)  # stored, so every entry is final
    result = tasklogs(stack, "logs", task["name"], COLUMNS="40")
    assert result.returncode == 0, result.stderr
    assert "agent · " in result.stdout
    assert box in result.stdout, "box drawing intact"
    assert f"{wide}\n{hostile}\n" in result.stdout, "no re-wrapping at 40 columns and no markup"


def test_a_secret_the_agent_printed_shows_as_a_marker_and_the_entry_says_what_was_removed(stack) -> None:
    piped = tasklogs(stack, "logs", "leaky-env", "--tail", "1")
    coloured = tasklogs(stack, "logs", "leaky-env", "--tail", "1", FORCE_COLOR="1")
    assert piped.returncode == 0, piped.stderr
    header, *body = piped.stdout.splitlines()
    assert header.endswith(" · 2 secrets removed (env-secret, url-password)")
    assert "DB_PASSWORD=[REDACTED:env-secret]" in body and "vN3qLx8rTz2KpW7s" not in piped.stdout
    assert "postgres://app:[REDACTED:url-password]@db.staging.internal:5432/orders" in "\n".join(body)
    assert "\x1b[1;30;43m[REDACTED:env-secret]" in coloured.stdout, "the marker stands out on a terminal"


def test_json_output_is_the_transcript_s_entries_as_json_lines(stack) -> None:
    result = tasklogs(stack, "logs", TWO_SESSIONS, "-o", "json")
    assert result.returncode == 0, result.stderr
    assert [json.loads(line) for line in result.stdout.splitlines()] == whole_transcript(stack, TWO_SESSIONS)
    assert "3 earlier messages were not captured" in result.stderr, "notes stay on stderr"


def test_table_output_has_one_row_per_entry(stack) -> None:
    result = tasklogs(stack, "logs", TWO_SESSIONS, "-o", "table", "--tail", "4")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["SESSION", "TIME", "WHO", "CONTENT"]
    newest = whole_transcript(stack, TWO_SESSIONS)[-4:]
    assert [line.split()[3] for line in lines[1:]] == [("you" if e["type"] == "input" else "agent") for e in newest]
    assert all(e["content"] in line for e, line in zip(newest, lines[1:], strict=True))


def test_tail_reads_back_across_pages_and_the_whole_read_forward(stack) -> None:
    """1,200 entries: more than one page (§7's limit is 1,000) either way."""
    import httpx

    task = stack.new_task()
    messages = [
        {"id": i, "role": "agent" if i % 2 == 0 else "user", "content": f"m{i}", "time": "2026-11-25T10:00:00Z"}
        for i in range(1200)
    ]
    for window in (messages[:620], messages[600:]):  # two uploads sharing ids: one session
        answer = httpx.post(
            f"{stack.url}/api/v2/workspaceagents/me/tasks/{task['task_id']}/log-snapshot?format=agentapi",
            json={"messages": window},
            headers={"Coder-Session-Token": f"agent-token-{task['name']}"},
        )
        assert answer.status_code == 204, answer.text
    stack.fake.scenarios[task["name"]].messages = messages  # what the capture at pause reads
    stack.pause(task)
    tail = tasklogs(stack, "logs", task["name"], "--tail", "1100", "-o", "json")
    assert [json.loads(line)["content"] for line in tail.stdout.splitlines()] == [f"m{i}" for i in range(100, 1200)]
    whole = tasklogs(stack, "logs", task["name"], "-o", "json")
    assert [json.loads(line)["content"] for line in whole.stdout.splitlines()] == [f"m{i}" for i in range(1200)]


def test_a_task_in_error_shows_its_stored_conversation_and_exits_with_the_task_state_code(stack) -> None:
    result = tasklogs(stack, "logs", "flaky-build")
    assert result.returncode == 5
    assert 'The task is in state "error": this is its stored conversation.' in result.stderr
    no_traceback(result)


def test_an_unreachable_agent_is_said_and_exits_with_the_failure_code(stack) -> None:
    result = tasklogs(stack, "logs", "agent-down")
    assert result.returncode == 6
    assert "The agent did not answer: Failed to get messages from task app." in result.stderr


def test_a_task_by_owner_and_name_or_by_id(stack) -> None:
    task = TASKS_BY_NAME["add-billing-page"]
    outputs = {
        tasklogs(stack, "logs", ref, "-o", "json").stdout for ref in (task.name, f"alice/{task.name}", task.task_id)
    }
    assert len(outputs) == 1 and outputs.pop()


# ---- tasklogs logs --follow


class Following:
    """`tasklogs logs --follow` in its own process, its stdout and stderr read as they come."""

    def __init__(self, stack, name: str, *args: str, **env: str) -> None:
        import tempfile

        self.out = tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed by stop()
        self.err = tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed by stop()
        self.process = subprocess.Popen(
            [str(TASKLOGS), "logs", name, "--follow", "--interval", "0.5", *args],
            stdout=self.out,
            stderr=self.err,
            text=True,
            env=cli_env(stack, **env),
            # Ctrl-C as in a terminal: a suite run in the background (`make test &`, nohup, some CI
            # shells) has SIGINT ignored, a child inherits that, and Python then installs no
            # KeyboardInterrupt handler at all.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )

    def _read(self, stream) -> str:
        if stream.closed:
            return self._final[stream is self.err]
        stream.seek(0)
        return stream.read()

    @property
    def stdout(self) -> str:
        return self._read(self.out)

    @property
    def stderr(self) -> str:
        return self._read(self.err)

    def wait_for(self, text: str, where: str = "stdout", seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if text in getattr(self, where):
                return
            assert self.process.poll() is None, (self.process.returncode, self.stdout, self.stderr)
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never came on {where}:\n{getattr(self, where)}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self._final = (self.stdout, self.stderr)  # what it printed, kept once the files are closed
        self.out.close()
        self.err.close()


def test_follow_sees_new_messages_a_pause_a_resume_and_the_deletion(stack) -> None:
    task = stack.new_task("Fix the flaky test", "Looking at it.")
    follow = Following(stack, task["name"])
    try:
        follow.wait_for("Fix the flaky test")
        assert "Looking at it." not in follow.stdout, "the agent's newest message is printed once final"
        stack.say(task, "Also bump the version")
        follow.wait_for("Also bump the version")  # its reply is the newest agent message now: still held
        assert "Looking at it." in follow.stdout
        stack.pause(task)
        follow.wait_for("The task paused", "stderr")
        follow.wait_for("Working on: Also bump the version")  # final once stored
        assert re.search(r"paused: a snapshot taken (just now|\d+ seconds? ago)", follow.stderr)
        stack.resume(task, "Carry on", "Carrying on.")
        follow.wait_for("The task is active again", "stderr")
        follow.wait_for("Carry on")
        assert "── session 2 ──" in follow.stdout
        assert "Carrying on." not in follow.stdout, "held while the agent may still be writing it"
        stack.delete(task)
        assert follow.process.wait(timeout=30) == 0
        assert "The task was deleted." in follow.stderr
    finally:
        follow.stop()
    lines = follow.stdout.splitlines()
    texts = ("Fix the flaky test", "Looking at it.", "Also bump the version", "Working on: Also bump the version")
    for text in (*texts, "Carry on", "Carrying on."):
        assert lines.count(text) == 1, f"{text!r} printed once"
    # The message the agent was writing when the task went is printed as last seen, and says so.
    assert lines.index("Carrying on.") > lines.index("Carry on")
    assert lines[lines.index("Carrying on.") - 1].endswith("(still writing)")
    assert "Traceback" not in follow.stderr


def test_follow_ends_cleanly_on_ctrl_c(stack) -> None:
    follow = Following(stack, "refactor-auth")
    try:
        follow.wait_for("Add a /healthz endpoint")
        follow.process.send_signal(signal.SIGINT)
        # A bound against a hang, not a timing: a loaded CI machine can starve the process for seconds.
        assert follow.process.wait(timeout=60) == 130
    finally:
        follow.stop()
    assert "Traceback" not in follow.stderr and "Aborted" not in follow.stderr


def test_follow_prints_json_lines_of_final_entries_only(stack) -> None:
    task = stack.new_task("Count to three", "1, 2")
    follow = Following(stack, task["name"], "-o", "json")
    try:
        follow.wait_for('"Count to three"')
        stack.pause(task)
        follow.wait_for('"1, 2"')
    finally:
        follow.stop()
    printed = [json.loads(line) for line in follow.stdout.splitlines()]
    assert [e["content"] for e in printed][1:] == ["Count to three", "1, 2"]
    assert all(e["final"] for e in printed)
