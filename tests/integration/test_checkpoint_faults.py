"""Checkpoints under faults (contract §11, issue 25's Reliability): an agent killed for real at random
moments of its conversation, and checkpoints racing uploads, captures and reads."""

import json
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from devstack.demo.catalogue import ALICE, RUNNING, transcript_path
from devstack.demo.control import CRASHED
from devstack.demo.fake_agentapi import Scenario, rfc3339_nano
from devstack.generators.events import http_api_event
from tasklogs_core.adapters.transcript_store import transcript_prefix
from tasklogs_core.domain.transcript import seq_of
from tests.helpers import put_task
from tests.integration.test_stream_functions import update
from tests.integration.test_transcript_writes import sessions, upload
from tests.tools.talking_agent import message

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = 5


def _read_all(transcript, name: str) -> dict:
    answer = transcript(
        http_api_event("GET", transcript_path("alice", name), claims=ALICE.claims, raw_query="limit=1000")
    )
    assert answer.status == 200, answer.body
    return answer.body


def test_an_agent_killed_at_random_moments_keeps_exactly_what_the_last_checkpoint_stored(
    handler_env, transcript
) -> None:
    from tasklogs_core.adapters import clients
    from tasklogs_core.use_cases.task_checkpoint import Checkpoint, checkpoint_task

    rng = random.Random(25)
    for _ in range(ROUNDS):
        agent = subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "tools" / "talking_agent.py")], stdout=subprocess.PIPE, text=True
        )
        try:
            url = agent.stdout.readline().strip()
            name = f"killed-{uuid.uuid4().hex[:6]}"
            task = put_task(handler_env, name, RUNNING, agent=url)
            kill_after = rng.uniform(0.05, 1.5)  # a random moment: not a timing, the fault's place
            killer = threading.Timer(kill_after, agent.send_signal, args=(signal.SIGKILL,))
            killer.start()
            outcomes, last_stored = [], 0
            # Checkpoint after checkpoint, each the agent's next read (it says one more message before
            # each), until the agent is gone and two more find it so; bounded by count.
            for read in range(1, 2000):
                outcome = checkpoint_task(
                    clients.task_repository().get(task["task_id"]),
                    agent=clients.agentapi_client(),
                    repository=clients.task_repository(),
                    store=clients.snapshot_store(),
                    deadline=time.monotonic() + 5,
                )
                outcomes.append(outcome)
                if outcome is Checkpoint.STORED:
                    last_stored = read  # that read answered messages 0..read-1
                if outcomes[-2:] == [Checkpoint.AGENT_UNAVAILABLE] * 2:
                    break
            killer.join()
        finally:
            agent.kill()
            agent.wait(10)
        assert outcomes[-1] is Checkpoint.AGENT_UNAVAILABLE, "the agent was never killed"
        print(f"killed after {kill_after:.2f} s: {last_stored} messages checkpointed, {len(outcomes)} checkpoints")
        update(handler_env, task["task_id"], **CRASHED)
        body = _read_all(transcript, name)
        got = [(e["seq"], e["id"], e["content"]) for e in body["entries"]]
        assert got == [(seq_of(1, i), i, message(i)["content"]) for i in range(last_stored)]
        if last_stored:
            assert body["gaps"] == [
                {"after_seq": seq_of(1, last_stored - 1), "before_seq": None, "missing": None, "reason": "agent lost"}
            ]
        else:  # killed before its first checkpoint: nothing was ever stored
            assert body["entries"] == [] and body["gaps"] == []


def test_fifty_checkpoints_uploads_captures_and_reads_racing_lose_nothing_and_leave_no_half_state(
    handler_env, transcript, fake_agentapi
) -> None:
    from tasklogs_core.adapters import clients
    from tasklogs_core.use_cases.pause_capture import capture_at_pause
    from tasklogs_core.use_cases.task_checkpoint import Checkpoint, checkpoint_task

    said: list[dict] = []
    lock = threading.Lock()

    class Talking(Scenario):
        """One more message before each read; every message keeps its text."""

        @property  # type: ignore[override]
        def messages(self) -> list[dict]:
            with lock:
                i = len(said)
                said.append(
                    {
                        "id": i,
                        "content": f"said {i}",
                        "role": "agent" if i % 2 == 0 else "user",
                        "time": rfc3339_nano(time.time_ns()),
                    }
                )
                return list(said)

        @messages.setter
        def messages(self, _value: list[dict]) -> None:
            pass

    name = f"racing-{uuid.uuid4().hex[:6]}"
    task = put_task(handler_env, name, RUNNING, agent=fake_agentapi.agent(name, Talking()))
    errors: list[BaseException] = []
    reads: list[dict] = []

    def guarded(work):
        def run() -> None:
            try:
                work()
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        return run

    def checkpoint() -> None:
        item = clients.task_repository().get(task["task_id"])
        outcome = checkpoint_task(
            item,
            agent=clients.agentapi_client(),
            repository=clients.task_repository(),
            store=clients.snapshot_store(),
            deadline=time.monotonic() + 20,
        )
        assert outcome is Checkpoint.STORED, outcome

    def capture() -> None:
        capture_at_pause(
            clients.task_repository().get(task["task_id"]),
            agent=clients.agentapi_client(),
            repository=clients.task_repository(),
            store=clients.snapshot_store(),
            deadline=time.monotonic() + 20,
        )

    def shutdown_upload() -> None:
        with lock:
            last_ten = [dict(m) for m in said[-10:]]
        if len(last_ten) >= 2:  # an upload sharing ids with what is stored, as the agent's own would
            assert upload(task, last_ten) == 204

    def read() -> None:
        body = _read_all(transcript, name)
        reads.append(body)

    kinds = [checkpoint] * 20 + [capture] * 10 + [shutdown_upload] * 10 + [read] * 10
    random.Random(50).shuffle(kinds)
    checkpoint()  # the conversation's start is stored before the racers come
    threads = [threading.Thread(target=guarded(kind)) for kind in kinds]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    capture()  # the last word: everything the agent said
    with lock:
        everything = {m["id"]: (m["role"], m["content"]) for m in said}
    transcripts = clients.transcript_store()
    assert sessions(transcripts, task["task_id"]) == [everything]  # one session, nothing lost
    # No half state: what every header names is each chunk's current version, and every read saw a
    # whole prefix of the conversation with seqs that never moved.
    [header] = transcripts.newest_sessions(task["task_id"], 10)
    listing = handler_env.client("s3").list_object_versions(
        Bucket=handler_env.bucket_name, Prefix=transcript_prefix(task["task_id"])
    )
    current = {v["Key"]: v["VersionId"] for v in listing.get("Versions", []) if v["IsLatest"]}
    assert sorted(current.values()) == sorted(ref.version for ref in header.chunks.values())
    assert len(reads) == 10
    for body in reads:
        ids = [e["id"] for e in body["entries"]]
        assert ids == list(range(len(ids))) and [e["seq"] for e in body["entries"]] == [seq_of(1, i) for i in ids]
        assert all(e["content"] == everything[e["id"]][1] for e in body["entries"])
        assert json.dumps(body).count("agent lost") == 0  # the task is active: its session is open
