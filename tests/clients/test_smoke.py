"""`make smoke`, the check a pipeline gates a deploy on: it passes against the local stack (the real
front, authorizer and functions over HTTP) and fails, saying what failed, against a dead URL or a
wrong token or task."""

import subprocess
import time

from devstack.demo.catalogue import ALICE
from devstack.runtime.local_idp import mint


def smoke(**make_vars: str) -> subprocess.CompletedProcess:
    args = [f"{key}={value}" for key, value in make_vars.items()]
    return subprocess.run(["make", "-s", "smoke", *args], capture_output=True, text=True, timeout=120, check=False)


def test_it_passes_against_the_local_stack_for_a_paused_and_an_active_task(stack) -> None:
    for task, logs in (("add-billing-page", "a snapshot"), ("refactor-auth", "live")):
        result = smoke(URL=stack.url, TOKEN=mint(ALICE.claims), TASK=task)
        assert result.returncode == 0, result.stdout + result.stderr
        lines = result.stdout.splitlines()
        assert lines[-1] == "7 of 7 checks passed"
        assert all(line.startswith("  ok    ") for line in lines[1:-1]), result.stdout
        assert "401 without a token" in result.stdout and logs in result.stdout
        assert "304" in result.stdout


def test_a_task_in_error_passes_with_its_409(stack) -> None:
    result = smoke(URL=stack.url, TOKEN=mint(ALICE.claims), TASK="flaky-build")
    assert result.returncode == 0, result.stdout
    assert "409, as §5 answers for a task in state error" in result.stdout


def test_it_fails_against_a_dead_url_quickly_and_says_why() -> None:
    started = time.monotonic()
    result = smoke(URL="http://127.0.0.1:9", TOKEN="x", TASK="t")
    assert result.returncode != 0  # make's 2 for the script's 1: any non-zero fails a pipeline's step
    assert "  FAIL  refuses no token: cannot reach the service" in result.stdout
    assert result.stdout.splitlines()[-1] == "0 of 7 checks passed"
    assert time.monotonic() - started < 60


def test_it_fails_for_a_wrong_token_or_someone_else_s_task(stack) -> None:
    refused = smoke(URL=stack.url, TOKEN="not-a-jwt", TASK="add-billing-page")
    assert refused.returncode != 0 and "FAIL  lists tasks: expected 200, got 401 Unauthorized" in refused.stdout
    missing = smoke(URL=stack.url, TOKEN=mint(ALICE.claims), TASK="bobs-task")
    assert missing.returncode != 0 and "FAIL  finds task: expected 200, got 404 Resource not found." in missing.stdout


def test_it_takes_the_url_and_token_from_the_environment_and_needs_a_task(stack) -> None:
    import os

    env = {**os.environ, "TASKLOGS_URL": stack.url, "TASKLOGS_TOKEN": mint(ALICE.claims)}
    result = subprocess.run(
        ["make", "-s", "smoke", "TASK=add-billing-page"], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "eyJ" not in result.stdout, "the token is never printed"
    usage = subprocess.run(["make", "-s", "smoke"], capture_output=True, text=True, env=env, timeout=120)
    assert usage.returncode != 0 and "--task" in usage.stderr
