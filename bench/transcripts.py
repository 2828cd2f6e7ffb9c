"""Transcripts (contract §7, §8): what a page, a conditional poll, a capture and a follower cost.

- Tail page: the newest 200 entries of a 20-session, 50 MB transcript vs the same page of a 64 KiB
  one, through the TaskTranscriptFunction handler (a paused task: no agent call). Target <= 1.5x: the
  cost follows the page, not the conversation.
- Tail page of many sessions: 1,000 entries, each a session of its own, vs the same 1,000 entries in
  one session, in a warm container. Target <= 1.5x: the reads of a page follow the page, not the
  number of sessions. Beside it, untargeted, the first read of each in a container that kept nothing.
- 304 poll: a paused task's transcript page answered 304 vs a full read of a 64 KiB snapshot through
  the logs handler. Target <= 0.3x.
- Capture of a 16 MiB session: the PauseCaptureFunction handler in a process of its own, the agent
  in another, moto server in a third; its time against the function's timeout and its peak memory
  against the session's size. Target: peak RSS growth <= 3x the session.
- Following: what a follower polling every 2 s costs per minute (requests, response bytes, AWS and
  agent calls) for a paused and for an active task, beside re-reading `/logs` every 2 s.

Run: .venv/bin/python bench/transcripts.py [--repeats N]   (part of make bench)
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench"), str(ROOT / "layers" / "core")]

from aws_in_process import TABLE, aws_in_process  # noqa: E402
from report import Figure, interleaved_medians_ms, show  # noqa: E402

from devstack.demo.catalogue import ALICE, PAUSED, RUNNING, DemoTask, logs_path, snapshot_envelope, task_item  # noqa: E402
from devstack.generators.events import http_api_event  # noqa: E402
from devstack.runtime.lambda_runtime import context_for, load_handler  # noqa: E402

ENTRY_BYTES = 327  # 200 of them make the 64 KiB transcript
PAGE = 200
SESSIONS = 20
MANY_SESSIONS = 1000
BIG_BYTES = 50_000_000
CAPTURE_BYTES = 16 * 1024 * 1024
WARM_UP_BYTES = 10_000
CAPTURE_TIMEOUT_S = 30  # template.yaml, PauseCaptureFunction
POLL_SECONDS = 2


def _messages(count: int, start_id: int = 0, tag: str = "") -> list[dict[str, Any]]:
    text = (tag + "terminal line │ ✻ résumé " * 20)[: ENTRY_BYTES - 20]
    return [
        {
            "id": start_id + i,
            "content": f"{start_id + i:08d} {text}",
            "role": "agent" if (start_id + i) % 2 == 0 else "user",
            "time": f"2026-11-25T10:{(i // 60) % 60:02d}:{i % 60:02d}.000000Z",
        }
        for i in range(count)
    ]


def _demo_task(name: str, n: int, state: dict[str, str]) -> DemoTask:
    return DemoTask(name, f"7a5c0000-0000-4000-8000-{900_000 + n:012d}", state, "bench")


def _store(aws, task: DemoTask, sessions: list[list[dict[str, Any]]]) -> None:
    """The sessions written as the writers write them; the task item as they leave it."""
    from tasklogs_core.adapters import clients
    from tasklogs_core.domain.models import AgentMessage
    from tasklogs_core.services.conversation_writer import record_messages

    aws.put_task(task_item(task, task.agent_url, None))
    for number, messages in enumerate(sessions):
        record_messages(
            task.task_id,
            [AgentMessage.model_validate(m) for m in messages],
            f"2026-11-25T10:00:{number:02d}.000000Z",
            clients.transcript_store(),
        )
        clients.task_repository().count_transcript_write(task.task_id)


def _invoke(function: str, event: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    handler = load_handler(function)

    def call() -> dict[str, Any]:
        with contextlib.redirect_stdout(io.StringIO()):
            return handler(event, context_for(function))

    return call


def _transcript_event(task: DemoTask, query: str = "", headers: dict[str, str] | None = None) -> dict[str, Any]:
    path = f"/api/v2/tasks/{ALICE.username}/{task.task_id}/transcript"
    return http_api_event("GET", path, claims=ALICE.claims, raw_query=query, headers=headers)


def page_figures(aws, repeats: int) -> list[Figure]:
    small = _demo_task("bench-small", 1, PAUSED)
    big = _demo_task("bench-big", 2, PAUSED)
    _store(aws, small, [_messages(PAGE)])
    per_session = BIG_BYTES // SESSIONS // ENTRY_BYTES
    _store(aws, big, [_messages(per_session, tag=f"s{n} ") for n in range(SESSIONS)])

    ours, base = (
        _invoke("TaskTranscriptFunction", _transcript_event(big)),
        _invoke("TaskTranscriptFunction", _transcript_event(small)),
    )
    big_page, small_page = json.loads(ours()["body"]), json.loads(base()["body"])
    assert len(big_page["entries"]) == len(small_page["entries"]) == PAGE, (len(big_page["entries"]),)
    assert big_page["entries"][-1]["session"] == SESSIONS and big_page["has_older"]
    mine, baseline = interleaved_medians_ms(ours, base, repeats)
    figures = [
        show(
            Figure(
                f"tail page, {SESSIONS} sessions {BIG_BYTES / 1e6:.0f} MB",
                mine,
                baseline,
                "ms",
                1.5,
                "same page, 64 KiB transcript",
            )
        )
    ]

    # A tail page of 1,000 entries, each its own session, vs the same page of one session (§7 Cost).
    one = _demo_task("bench-one-session", 4, PAUSED)
    many = _demo_task("bench-many-sessions", 5, PAUSED)
    _store(aws, one, [_messages(MANY_SESSIONS)])
    # A user message no other write agrees with opens a session of its own; each is a restarted
    # agent's first (id 0), so the page, like the baseline's, has no gap to note.
    _store(aws, many, [[{**m, "id": 0, "role": "user"}] for m in _messages(MANY_SESSIONS)])
    whole = f"limit={MANY_SESSIONS}"
    many_page = _invoke("TaskTranscriptFunction", _transcript_event(many, whole))
    one_page = _invoke("TaskTranscriptFunction", _transcript_event(one, whole))
    assert [e["session"] for e in json.loads(many_page()["body"])["entries"]] == list(range(1, MANY_SESSIONS + 1))
    assert len(json.loads(one_page()["body"])["entries"]) == MANY_SESSIONS
    mine, baseline = interleaved_medians_ms(many_page, one_page, repeats)
    figures.append(
        show(
            Figure(
                f"tail page, {MANY_SESSIONS:,} one-entry sessions",
                mine,
                baseline,
                "ms",
                1.5,
                "same page, 1 session",
            )
        )
    )

    # The same in a container that has kept nothing: every header and chunk is read (moto adds its
    # own cost per item returned; AWS would add S3's latency per chunk, ten read side by side).
    def fresh(call: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
        from tasklogs_core.adapters import clients

        def first_read() -> dict[str, Any]:
            clients.transcript_store.cache_clear()  # the same AWS clients, nothing kept
            return call()

        return first_read

    mine, baseline = interleaved_medians_ms(fresh(many_page), fresh(one_page), max(1, repeats // 8))
    figures.append(show(Figure("  first read, nothing kept", mine, baseline, "ms", None, "same page, 1 session")))

    # The 304 of a paused task's page vs the full read of a 64 KiB snapshot (the logs handler).
    legacy = _demo_task("bench-snapshot", 3, PAUSED)
    stored = snapshot_envelope(_messages(PAGE))
    task = DemoTask(legacy.name, legacy.task_id, PAUSED, "bench", snapshot_at="2026-11-25T10:00:00.000000Z")
    aws.put_task(task_item(task, None, aws.put_snapshot(task.task_id, stored)))
    full = _invoke("TaskLogsFunction", http_api_event("GET", logs_path("me", task.task_id), claims=ALICE.claims))
    assert len(json.loads(full()["body"])["logs"]) == PAGE
    etag = ours()["headers"]["ETag"]
    poll = _invoke("TaskTranscriptFunction", _transcript_event(big, headers={"if-none-match": etag}))
    assert poll()["statusCode"] == 304
    mine, baseline = interleaved_medians_ms(poll, full, repeats)
    figures.append(show(Figure("304 poll, paused task", mine, baseline, "ms", 0.3, "64 KiB snapshot read")))

    # Its floor: the one GetItem that finds the task, which any answer needs (moto's GetItem is slow
    # beside its GetObject, so this floor alone is most of the ratio here).
    def get_item() -> None:
        aws.dynamodb.get_item(TableName=TABLE, Key={"task_id": {"S": big.task_id}}, ConsistentRead=True)

    least, baseline = interleaved_medians_ms(get_item, full, repeats)
    figures.append(show(Figure("  floor: the GetItem alone", least, baseline, "ms", None, "64 KiB snapshot read")))
    mine, least = interleaved_medians_ms(poll, get_item, repeats)
    figures.append(show(Figure("  304 poll vs that floor", mine, least, "ms", None, "GetItem")))
    return figures


# ---------------------------------------------------------------- following: per follower-minute


class CallCounter:
    """AWS calls the handlers make, counted on botocore's event hooks."""

    def __init__(self) -> None:
        from tasklogs_core.adapters import clients

        self.calls = 0
        clients.task_repository()  # the clients exist; hook both
        for client in (clients._dynamodb(), clients._s3()):
            client.meta.events.register("before-call", self._count)

    def _count(self, **_: object) -> None:
        self.calls += 1


def follow_figures(aws) -> list[Figure]:
    from devstack.demo.fake_agentapi import FakeAgentAPI, Scenario, conversation

    polls = 60 // POLL_SECONDS
    counter = CallCounter()
    figures = []
    with FakeAgentAPI() as fake:
        for n, (state, name) in enumerate(((PAUSED, "paused"), (RUNNING, "active"))):
            live = conversation(*[f"turn {i} " + "x" * 300 for i in range(60)])
            plain = _demo_task(f"bench-follow-{name}", 10 + n, state)
            task = DemoTask(
                plain.name, plain.task_id, state, "bench", agent_url=fake.agent(plain.name, Scenario(messages=live))
            )
            _store(aws, task, [_messages(400, tag="old ")])  # an earlier session
            follower, rereader = Follower(task), _rereader(task)
            follower.step(), rereader()  # the first read of each: what any client pays once
            ours = {"bytes": 0, "aws": 0, "agent": 0}
            base = {"bytes": 0, "aws": 0, "agent": 0}
            for poll in range(polls):
                if state is RUNNING:  # the agent writes on: its last message grows, a new one every 10 s
                    live[-1] = {**live[-1], "content": live[-1]["content"] + " more output" * 20}
                    if poll % 5 == 4:
                        following = len(live)
                        role = "agent" if following % 2 == 0 else "user"
                        live.append({**live[-1], "id": following, "role": role, "content": "next"})
                    fake.scenarios[task.name].messages = live
                for tally, call in ((ours, follower.step), (base, rereader)):
                    aws_before, agent_before = counter.calls, len(fake.requests)
                    tally["bytes"] += call()
                    tally["aws"] += counter.calls - aws_before
                    tally["agent"] += len(fake.requests) - agent_before
            baseline = "/logs every 2 s"
            figures.append(
                show(
                    Figure(
                        f"following {'an' if name == 'active' else 'a'} {name} task: KiB/min",
                        ours["bytes"] / 1024,
                        base["bytes"] / 1024,
                        "KiB",
                        None,
                        baseline,
                    )
                )
            )
            figures.append(show(Figure(f"  {name}: AWS calls/min", ours["aws"], base["aws"], "", None, baseline)))
            print(f"  {name}: {polls} requests/min; agent calls/min {ours['agent']} (/logs every 2 s: {base['agent']})")
    return figures


class Follower:
    """A client following the transcript: `after` the highest final seq, with the last ETag."""

    def __init__(self, task: DemoTask) -> None:
        self.task, self.after, self.etag = task, None, None

    def step(self) -> int:
        query = f"after={self.after}" if self.after is not None else ""
        headers = {"if-none-match": self.etag} if self.etag else None
        result = _invoke("TaskTranscriptFunction", _transcript_event(self.task, query, headers))()
        self.etag = result["headers"].get("ETag", self.etag)
        if result["statusCode"] == 304:
            return _header_bytes(result)
        finals = [entry["seq"] for entry in json.loads(result["body"])["entries"] if entry["final"]]
        if finals:
            self.after = max(finals)
        return len(result["body"]) + _header_bytes(result)


def _rereader(task: DemoTask) -> Callable[[], int]:
    call = _invoke("TaskLogsFunction", http_api_event("GET", logs_path("me", task.task_id), claims=ALICE.claims))

    def read() -> int:
        result = call()
        return len(result["body"]) + _header_bytes(result)

    return read


def _header_bytes(result: dict[str, Any]) -> int:
    return sum(len(k) + len(v) + 4 for k, v in (result.get("headers") or {}).items()) + 17  # + the status line


# ---------------------------------------------------------------- the capture of a 16 MiB session


def capture_figures() -> list[Figure]:
    """The capture in a fresh process of its own (its memory is the figure), with moto server in this
    one and the agent in another."""
    from agent_process import agents_serving

    from devstack.runtime.aws import start_local_aws

    aws = start_local_aws()
    try:
        big = CAPTURE_BYTES + CAPTURE_BYTES // 16  # its JSON: a little more than the content kept
        with agents_serving([WARM_UP_BYTES, big]) as urls:
            arg = json.dumps({"warm": urls[WARM_UP_BYTES], "agent": urls[big], "env": aws.environment()})
            out = subprocess.run(
                [sys.executable, str(Path(__file__)), "--capture-child", arg],
                capture_output=True,
                text=True,
                timeout=600,
                check=True,
            ).stdout
    finally:
        aws.stop()
    got = json.loads(out.strip().splitlines()[-1])
    session_mb = got["session_bytes"] / 1e6
    return [
        show(Figure("capture of a 16 MiB session, time", got["seconds"], CAPTURE_TIMEOUT_S, "s", None, "the timeout")),
        show(
            Figure("capture of a 16 MiB session, peak RSS", got["growth"] / 1e6, session_mb, "MB", 3.0, "the session")
        ),
        show(Figure("  the process's peak RSS", got["peak"] / 1e6, session_mb, "MB", None, "the session")),
    ]


def _status_bytes(field: str) -> int:
    import re

    return int(re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M).group(1)) * 1024


def _capture_child(arg: dict[str, Any]) -> None:
    """Runs in the fresh process: one warm capture, then the measured one; prints one JSON line."""
    os.environ.update(arg["env"])
    from tasklogs_core.adapters import clients

    clients.reset()
    handler = load_handler("PauseCaptureFunction")
    aws = clients._dynamodb()

    def pause(task: DemoTask, agent: str) -> float:
        from tasklogs_core.adapters.settings import get_settings

        running = task_item(task, agent, None)
        aws.put_item(TableName=get_settings().tasks_table_name, Item=running)
        stopping = {**running, "build_transition": {"S": "stop"}, "build_job_status": {"S": "running"}}
        record = {
            "eventID": task.task_id,
            "eventName": "MODIFY",
            "eventSource": "aws:dynamodb",
            "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/tasks/stream/2026",
            "dynamodb": {
                "Keys": {"task_id": running["task_id"]},
                "OldImage": running,
                "NewImage": stopping,
                "ApproximateCreationDateTime": int(time.time()),
                "StreamViewType": "NEW_AND_OLD_IMAGES",
            },
        }
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            result = handler({"Records": [record]}, context_for("PauseCaptureFunction"))
        assert not (result or {}).get("batchItemFailures"), result
        return time.perf_counter() - started

    pause(_demo_task("bench-capture-warm", 30, RUNNING), arg["warm"])  # a warm container, as after one small pause
    idle = _status_bytes("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := current RSS
    task = _demo_task("bench-capture", 31, RUNNING)
    seconds = pause(task, arg["agent"])
    peak = _status_bytes("VmHWM")
    [header] = clients.transcript_store().newest_sessions(task.task_id, 1)
    print(
        json.dumps({"seconds": seconds, "growth": peak - idle, "peak": peak, "session_bytes": header.content_bytes}),
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=31)
    parser.add_argument("--capture-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.capture_child:
        _capture_child(json.loads(args.capture_child))
        return
    run(args.repeats)


def run(repeats: int) -> list[Figure]:
    print(f"transcripts, median of {repeats} requests each (moto in process)")
    with aws_in_process() as aws:
        figures = page_figures(aws, repeats)
        figures += follow_figures(aws)
    figures += capture_figures()
    return figures


if __name__ == "__main__":
    main()
