"""Contract §7, "A 204 means stored", under the race that lost acknowledged uploads: agents uploading
to one task at once, each upload a session of its own, through the local front into Lambda containers
with their AWS deadlines, the table's stream read into the transcript retry. Every 204 ends in the
transcript: written by the upload, or deferred and made by the retry."""

import json
import threading
import time
import uuid

import httpx
import pytest

from devstack.demo.catalogue import RUNNING, upload_path
from devstack.runtime.front import LocalApiGateway
from devstack.runtime.streams import StreamPoller
from tests.helpers import item_of, put_task

UPLOADS = 80
# How long the transcript may take to hold every acknowledged upload: a bound against a hang, not a
# timing (the retries usually finish within seconds of the last upload).
SETTLE_BOUND_SECONDS = 180


@pytest.fixture
def stack(handler_env, monkeypatch):
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "WARNING")
    front = LocalApiGateway(port=0).start()
    poller = StreamPoller(handler_env, front.runtime.invoke, from_now=True).start()
    yield front, poller
    poller.stop()
    front.stop()


def stored_contents(transcripts, task_id: str) -> set[str]:
    headers = transcripts.newest_sessions(task_id, 10_000)
    return {
        kept.message.content
        for header in headers
        for kept in transcripts.read_chunks(task_id, header, header.chunks).values()
    }


@pytest.mark.slow
@pytest.mark.parametrize("writers", [8, 16])
def test_every_acknowledged_upload_of_racing_agents_ends_in_the_transcript(handler_env, stack, writers: int) -> None:
    from tasklogs_core.adapters import clients

    front, _poller = stack
    name = f"race-{uuid.uuid4().hex[:6]}"
    task = put_task(handler_env, name, RUNNING)
    front.runtime.prewarm("LogSnapshotFunction", writers)
    headers = {"coder-session-token": f"agent-token-{name}", "content-type": "application/json"}
    url = front.url + upload_path(task["task_id"]) + "?format=agentapi"
    answers: dict[str, int] = {}
    lock = threading.Lock()

    def agent(writer: int) -> None:
        with httpx.Client(timeout=60) as client:
            for n in range(writer, UPLOADS, writers):
                # Agreeing with no other upload on its user message (never rewritten): a session of its own.
                text = f"agent {writer}, upload {n}"
                body = {
                    "messages": [
                        {"id": 0, "content": "Welcome", "role": "agent", "time": "2026-12-03T10:00:00Z"},
                        {"id": 1, "content": text, "role": "user", "time": "2026-12-03T10:00:01Z"},
                    ]
                }
                status = client.post(url, headers=headers, content=json.dumps(body)).status_code
                with lock:
                    answers[text] = status

    threads = [threading.Thread(target=agent, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(set(answers.values())) == [204] and len(answers) == UPLOADS

    transcripts = clients.transcript_store()
    bound = time.monotonic() + SETTLE_BOUND_SECONDS
    while (missing := set(answers) - stored_contents(transcripts, task["task_id"])) and time.monotonic() < bound:
        time.sleep(0.5)
    assert missing == set()
    while "transcripts_due" in item_of(handler_env, task["task_id"]) and time.monotonic() < bound:
        time.sleep(0.5)
    assert "transcripts_due" not in item_of(handler_env, task["task_id"])
    assert len(transcripts.newest_sessions(task["task_id"], 10_000)) == UPLOADS
