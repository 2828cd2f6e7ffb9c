"""A fake AgentAPI in its own process, serving conversations of given sizes from bytes encoded once.

Its own process, so its work never shares the measured process's CPU time or memory; pre-encoded,
so the figure is our handler's cost, not the fake's json.dumps (a real agent is a Go binary).

Run alone: python bench/agent_process.py 1000000 5000000   (prints the agents' URLs, serves until stdin closes)
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def agents_serving(sizes: list[int]) -> Iterator[dict[int, str]]:
    """AgentAPI base URL per conversation size, served by a child process for the block's duration."""
    child = subprocess.Popen(
        [sys.executable, str(Path(__file__)), *map(str, sizes)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        urls = json.loads(child.stdout.readline())
        yield {int(size): url for size, url in urls.items()}
    finally:
        child.stdin.close()
        child.wait(timeout=10)


def main() -> None:
    sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
    from conversations import answer, messages_of_size

    from devstack.demo.fake_agentapi import FakeAgentAPI, Mode, Scenario

    fake = FakeAgentAPI().start()
    urls = {}
    for size in map(int, sys.argv[1:]):
        body = answer(messages_of_size(size), f"{fake.url}/schemas/MessagesResponseBody.json")
        urls[size] = fake.agent(f"size-{size}", Scenario(mode=Mode.RAW, raw=body))
    print(json.dumps(urls), flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    fake.stop()


if __name__ == "__main__":
    main()
