"""A fake AgentAPI in its own process, serving conversations of given sizes from bytes encoded once.

Its own process, so its work never shares the measured process's CPU time or memory; pre-encoded,
so the figure is our handler's cost, not the fake's json.dumps (a real agent is a Go binary).

A size with `:changing:<name>` (`1000000:changing:a`) is a conversation whose last agent message the agent is
still writing: each read gets the other of two versions of it, so every read differs from the last.

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
def agents_serving(sizes: list[int | str]) -> Iterator[dict]:
    """AgentAPI base URL per conversation size (an int, or "<size>:changing"), served by a child process
    for the block's duration."""
    child = subprocess.Popen(
        [sys.executable, str(Path(__file__)), *map(str, sizes)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        urls = json.loads(child.stdout.readline())
        yield {int(size) if size.isdigit() else size: url for size, url in urls.items()}
    finally:
        child.stdin.close()
        child.wait(timeout=10)


def main() -> None:
    sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
    from conversations import answer, messages_of_size

    from devstack.demo.fake_agentapi import FakeAgentAPI, Mode, Scenario

    class Changing(Scenario):
        """Each read answers the other of `bodies`."""

        bodies: tuple[bytes, bytes] = (b"", b"")
        reads = 0

        @property  # type: ignore[override]
        def raw(self) -> bytes:
            self.reads += 1
            return self.bodies[self.reads % 2]

        @raw.setter
        def raw(self, _value: bytes) -> None:
            pass

    fake = FakeAgentAPI().start()
    schema = f"{fake.url}/schemas/MessagesResponseBody.json"
    urls = {}
    for arg in sys.argv[1:]:
        size, _, kind = arg.partition(":")
        messages = messages_of_size(int(size))
        if kind.startswith("changing"):  # "changing:<n>": one agent each
            if messages[-1]["role"] != "agent":
                messages[-1] = {**messages[-1], "role": "agent"}
            last = messages[-1]
            changing = Changing(mode=Mode.RAW)
            changing.bodies = tuple(  # type: ignore[assignment]
                answer([*messages[:-1], {**last, "content": last["content"] + mark}], schema) for mark in (" ·", " ··")
            )
            urls[arg] = fake.agent(f"size-{arg}", changing)
        else:
            urls[arg] = fake.agent(f"size-{arg}", Scenario(mode=Mode.RAW, raw=answer(messages, schema)))
    print(json.dumps(urls), flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    fake.stop()


if __name__ == "__main__":
    main()
