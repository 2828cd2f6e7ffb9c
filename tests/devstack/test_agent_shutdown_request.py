"""Coder's AgentAPI module posts a log snapshot from its shutdown script: it fetches the agent's
GET /messages, keeps the last 10 messages with jq, and POSTs the result with curl, the agent token in
`Coder-Session-Token` and `?format=agentapi`. The same requests, made the same way, through the local
API Gateway front, must be stored unchanged (contract §6)."""

import shutil
import subprocess
import uuid

import pytest

from devstack.demo.catalogue import ALICE, PAUSED
from devstack.demo.fake_agentapi import FakeAgentAPI, Scenario, conversation
from devstack.generators.events import http_api_event
from devstack.runtime.front import LocalApiGateway
from tests.helpers import as_logs, put_task

# The module's sequence, in our own words: fetch, keep the last N messages, post as the agent.
SHUTDOWN_REQUESTS = r"""
set -euo pipefail
curl -fsSL --max-time 5 "$AGENT_URL/messages" > "$WORK/messages.json"
jq --argjson n 10 '.messages |= .[-$n:]' < "$WORK/messages.json" > "$WORK/payload.json"
curl -sS -w "%{http_code}" -o "$WORK/response.txt" --max-time 10 \
  -X POST "$API_URL/api/v2/workspaceagents/me/tasks/$TASK_ID/log-snapshot?format=agentapi" \
  -H "Coder-Session-Token: $AGENT_TOKEN" -H "Content-Type: application/json" \
  --data-binary "@$WORK/payload.json"
"""


@pytest.fixture
def front(handler_env):
    gateway = LocalApiGateway(port=0).start()
    yield gateway
    gateway.stop()


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq")), reason="needs curl and jq")
@pytest.mark.parametrize("url_end", ["", "/"], ids=["plain-url", "url-ending-in-slash"])
def test_the_modules_shutdown_requests_store_a_snapshot(
    front, handler_env, invoke, fake_agentapi: FakeAgentAPI, tmp_path, url_end: str
) -> None:
    """Coder sets CODER_AGENT_URL to its access URL, which ends in `/`: the script then posts to
    `//api/...`, which the local front (the stricter reading of API Gateway) sends to `$default`."""
    name = f"shutdown-{uuid.uuid4().hex[:6]}"
    messages = conversation(*[f"turn {n}" for n in range(14)])  # 15 messages: the script keeps 10
    agent_url = fake_agentapi.agent(name, Scenario(messages=messages))
    task = put_task(handler_env, name, PAUSED)
    env = {
        "AGENT_URL": agent_url,
        "API_URL": front.url + url_end,
        "TASK_ID": task["task_id"],
        "AGENT_TOKEN": f"agent-token-{name}",
        "WORK": str(tmp_path),
        "PATH": "/usr/bin:/bin",
    }
    run = subprocess.run(["bash", "-c", SHUTDOWN_REQUESTS], env=env, capture_output=True, text=True, timeout=30)
    assert (run.returncode, run.stdout) == (0, "204"), run.stderr + (tmp_path / "response.txt").read_text()
    assert (tmp_path / "response.txt").read_text() == ""  # 204: no body
    logs = invoke(http_api_event("GET", f"/api/v2/tasks/me/{name}/logs", claims=ALICE.claims)).body
    assert logs["logs"] == as_logs(messages[-10:]) and logs["snapshot"] is True and logs["snapshot_at"]


def test_the_front_lets_agent_requests_through_without_a_jwt(front, handler_env) -> None:
    import json
    import urllib.request
    from urllib.error import HTTPError

    task = put_task(handler_env, f"nojwt-{uuid.uuid4().hex[:6]}", PAUSED)
    request = urllib.request.Request(
        f"{front.url}/api/v2/workspaceagents/me/tasks/{task['task_id']}/log-snapshot?format=agentapi",
        data=b'{"messages": []}',
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(HTTPError) as caught:  # no agent token: the function's 401, not the authorizer's
        urllib.request.urlopen(request, timeout=10)
    assert caught.value.code == 401 and json.loads(caught.value.read()) == {"message": "Unauthorized."}


@pytest.mark.parametrize("claims", [None, ALICE.claims], ids=["no-token", "alices-token"])
def test_a_user_route_spelled_with_a_doubled_slash_reaches_no_logs(front, handler_env, claims) -> None:
    """`//api/v2/tasks/...` matches no route of its own: it reaches only the upload function behind
    `$default`, which answers 404, whatever token comes with it (contract §6)."""
    import json
    import urllib.request
    from urllib.error import HTTPError

    from devstack.runtime.local_idp import mint

    headers = {"Authorization": f"Bearer {mint(claims)}"} if claims else {}
    for method in ("GET", "POST"):
        request = urllib.request.Request(
            f"{front.url}//api/v2/tasks/{ALICE.username}/refactor-auth/logs", method=method, headers=headers
        )
        with pytest.raises(HTTPError) as caught:
            urllib.request.urlopen(request, timeout=10)
        assert caught.value.code == 404 and json.loads(caught.value.read()) == {"message": "Resource not found."}
