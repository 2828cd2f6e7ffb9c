"""The benchmarks keep working and measure what they say (their figures are never asserted: speed
targets live in `make bench`, not in tests)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from conversations import answer, envelope, messages_of_size  # noqa: E402

TARGETS = [
    "logs function, import + init",
    "time to first response, snapshot path",
    "time to first response, live path",
    "snapshot path, 64 KiB snapshot",
    "live path, 1.0 MB /messages",
    "live path, 5.0 MB /messages",
    "live path, first 5 MB request",
    "upload path, 64 KiB",
    "tail page, 20 sessions 50 MB",
    "tail page, 1,000 one-entry sessions",
    "304 poll, paused task",
    "capture of a 16 MiB session, peak RSS",
    "checkpoint, 1 MB unchanged",
    "checkpoint, 1 MB changed",
    "upload, 64 KiB, scanned",
    "live path, 1 MB /messages, scanned",
    "secrets missed per secret planted, corpus",
    "false finds per true find, corpus",
]


@pytest.mark.parametrize("size", [65_536, 1_000_000, 5_000_000])
def test_generated_conversations_have_the_size_they_are_named_for(size: int) -> None:
    messages = messages_of_size(size)
    body = answer(messages)
    assert 0.99 * size <= len(body) <= size + 200  # the `$schema` line is the only extra
    assert json.loads(body)["messages"] == messages
    assert {m["role"] for m in messages} == {"user", "agent"}
    # Mostly ASCII with some wider characters, as a terminal is: both kinds are exercised.
    text = "".join(m["content"] for m in messages)
    assert not text.isascii() and sum(c > "\x7f" for c in text) < 0.05 * len(text)


def test_envelope_is_the_stored_snapshot_shape() -> None:
    messages = messages_of_size(10_000)
    assert json.loads(envelope(messages)) == {"format": "agentapi", "data": {"messages": messages}}


@pytest.mark.slow
def test_make_bench_prints_every_figure_and_every_target() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run_all.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    ).stdout
    summary = out.split("\nTargets\n", 1)[1].splitlines()
    assert [line.split("] ", 1)[1].split(":")[0] for line in summary] == TARGETS
    assert all(line.lstrip().startswith(("[holds ]", "[MISSED]")) for line in summary)
    assert out.count("ratio") >= 9 and "baseline" in out
    assert "following a paused task" in out and "following an active task" in out
    assert "one interval (60 s) at concurrency 20 covers about" in out
