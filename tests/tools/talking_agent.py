"""A fake AgentAPI in a process of its own whose agent says one more message before each read: the
n-th GET /messages answers messages 0..n-1 (`message(i)`). Killed for real by the checkpoint fault
test, at random moments.

Run: python tests/tools/talking_agent.py   (prints the agent's URL, serves until killed)"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def message(i: int) -> dict:
    return {
        "id": i,
        "content": f"step {i}: " + "terminal output │ " * (i % 7 + 1),
        "role": "agent" if i % 2 == 0 else "user",
        "time": f"2026-12-04T10:{i // 60 % 60:02d}:{i % 60:02d}.000000000Z",
    }


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from devstack.demo.fake_agentapi import FakeAgentAPI, Scenario

    class Talking(Scenario):
        reads = 0

        @property  # type: ignore[override]
        def messages(self) -> list[dict]:
            self.reads += 1
            return [message(i) for i in range(self.reads)]

        @messages.setter
        def messages(self, _value: list[dict]) -> None:
            pass

    fake = FakeAgentAPI()
    print(fake.agent("talking", Talking()), flush=True)
    fake._server.serve_forever()


if __name__ == "__main__":
    main()
