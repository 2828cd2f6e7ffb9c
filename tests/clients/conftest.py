"""The service over real HTTP for its human clients (the tasklogs CLI, the web viewer): the local API
Gateway front with the template's authorizer and functions in warm local containers, the demo's
control routes, and the table's stream delivered to the stream functions on demand, over the session's
moto server and fake AgentAPI."""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from devstack.demo.catalogue import ALICE, RUNNING
from devstack.demo.control import PAUSE_DONE, PAUSE_START, RESUMED, update_task
from devstack.demo.fake_agentapi import FakeAgentAPI, Scenario, conversation
from devstack.runtime.aws import LocalAws
from devstack.runtime.front import LocalApiGateway
from devstack.runtime.local_idp import LocalSignIn, mint
from devstack.runtime.streams import StreamPoller
from tests.helpers import put_task


@dataclass
class Stack:
    front: LocalApiGateway
    aws: LocalAws
    fake: FakeAgentAPI
    poller: StreamPoller

    @property
    def url(self) -> str:
        return self.front.url

    def new_task(self, *turns: str, prefix: str = "cli") -> dict:
        """An active task of alice's with its own agent on the fake AgentAPI, saying `turns`."""
        name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        agent = self.fake.agent(name, Scenario(messages=conversation(*turns)))
        task = put_task(self.aws, name, RUNNING, agent=agent)
        self.poller.drain()
        return task

    def say(self, task: dict, text: str) -> None:
        """The user sends the agent a message (AgentAPI's POST /message); the fake answers at once."""
        answer = httpx.post(f"{self.fake.url}/agents/{task['name']}/message", json={"content": text, "type": "user"})
        assert answer.status_code == 200, answer.text

    def pause(self, task: dict) -> None:
        """The build turns to stop (the capture runs while the agent is up), then finishes."""
        update_task(self.aws, task["task_id"], PAUSE_START)
        self.poller.drain()
        update_task(self.aws, task["task_id"], PAUSE_DONE)
        self.poller.drain()

    def resume(self, task: dict, *turns: str) -> None:
        """The task starts again with an agent that begins anew (no AgentAPI state file)."""
        self.fake.scenarios[task["name"]].messages = conversation(*turns)
        update_task(self.aws, task["task_id"], RESUMED)
        self.poller.drain()

    def delete(self, task: dict) -> None:
        update_task(self.aws, task["task_id"], {"deleted_at": "2026-11-26T00:00:00Z"})
        self.poller.drain()

    def api(self, path: str, **params: object) -> httpx.Response:
        """alice's GET, for comparing a client's view with the service's own answer."""
        return httpx.get(
            f"{self.url}{path}", params=params, headers={"Authorization": f"Bearer {mint(ALICE.claims)}"}, timeout=30
        )


@pytest.fixture(scope="module")
def stack(demo: LocalAws, fake_agentapi: FakeAgentAPI) -> Iterator[Stack]:
    from devstack.demo.control import DemoControl
    from devstack.runtime.containers import LocalLambda
    from devstack.runtime.local_idp import serve_keys

    with pytest.MonkeyPatch.context() as environment:
        for key, value in demo.environment().items():
            environment.setenv(key, value)
        serve_keys()
        runtime = LocalLambda()
        poller = StreamPoller(demo, runtime.invoke, from_now=True)  # what earlier tests wrote is history
        front = LocalApiGateway(
            port=0, control=DemoControl(demo, poller, fake_agentapi), runtime=runtime, sign_in=LocalSignIn(ALICE.claims)
        ).start()
        try:
            yield Stack(front, demo, fake_agentapi, poller)
        finally:
            front.stop()
            runtime.stop()
