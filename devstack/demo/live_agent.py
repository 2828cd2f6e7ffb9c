"""The demo's active task keeps working while `make run` runs: every few seconds its fake agent adds a
message, so `tasklogs logs refactor-auth --follow` and the viewer show a conversation growing."""

import itertools
import threading

from devstack.demo.fake_agentapi import FakeAgentAPI

LIVE_TASK = "refactor-auth"
# Bounded, so a stack left running for days does not grow the conversation past what a read carries.
MAX_MESSAGES = 10_000

_STEPS = [
    "Reading middleware/auth.py and the session store's interface.",
    "The middleware reads the session cookie itself; the store should own that. Moving it.",
    "Running the auth tests: 38 of 41 pass.",
    "Three failures: the tests build sessions by hand. Switching them to the store's factory.",
    "Running the auth tests: 41 of 41 pass.",
    "Checking the other callers of get_session: billing and admin still use the old helper.",
    "Updated billing and admin to the store. Running the whole suite.",
    "The whole suite passes. Writing the summary for the pull request.",
]


class LiveAgent:
    """Adds the next step of the demo agent's work to LIVE_TASK's conversation every `interval` seconds."""

    def __init__(self, fake: FakeAgentAPI, interval: float, task: str = LIVE_TASK) -> None:
        self._fake = fake
        self._interval = interval
        self._task = task
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-live-agent", daemon=True)

    def start(self) -> "LiveAgent":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        for step in itertools.cycle(_STEPS):
            if self._stop.wait(self._interval):
                return
            if len(self._fake.scenarios[self._task].messages) >= MAX_MESSAGES:
                return
            self._fake.say(self._task, step)
