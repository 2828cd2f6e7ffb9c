"""A failure shows the end of what the test printed, not all of it."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_failing_test(tmp_path: Path, env: dict[str, str]) -> str:
    (tmp_path / "test_noisy.py").write_text(
        "def test_noisy():\n"
        "    for n in range(5000):\n"
        "        print(f'log line {n}')\n"
        "    assert False, 'the failure'\n"
    )
    inherited = {key: value for key, value in os.environ.items() if key != "TASKLOGS_CAPTURED_LINES"}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "tests.capture_tail",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            tmp_path,
            str(tmp_path / "test_noisy.py"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**inherited, "PYTHONPATH": str(ROOT), **env},
    )
    assert run.returncode == 1, run.stdout + run.stderr
    return run.stdout


def test_a_failure_shows_the_last_40_captured_lines_and_says_how_to_see_all(tmp_path: Path) -> None:
    out = run_failing_test(tmp_path, {})
    assert "the failure" in out and "log line 4999" in out and "log line 4960" in out
    assert "log line 4959" not in out and "[4960 earlier lines left out: TASKLOGS_CAPTURED_LINES=all" in out


def test_all_shows_every_line(tmp_path: Path) -> None:
    out = run_failing_test(tmp_path, {"TASKLOGS_CAPTURED_LINES": "all"})
    assert "log line 0\n" in out and "left out" not in out
