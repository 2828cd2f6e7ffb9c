"""The transcript against the ground truth (issue 14, Reliability): random histories of a task, played
through the real writers on moto server and read back through the real route a few entries at a time.

A history is a series of runs of the task's agent. A fresh run (no AgentAPI state file) starts again at
id 0 with the same greeting and a prompt of its own: a new session. A resumed run (with the state
file) replays its session's messages first and goes on: the same session. During a run the agent
uploads a window of its newest messages (as Coder's shutdown script does), its newest agent message
sometimes caught mid-rewrite, and the service checkpoints it (contract §11: the whole conversation so
far, leaving the session open); at the pause the service captures the whole conversation, unless the
agent is already gone (or crashed). Writes may share a second with the one before.

Checked after every write: the transcript holds exactly what was written, each id with the text of
the newest write that held it, session by session; its gaps are exactly the ids never stored; and
every seq a reader has seen keeps its entry (session and id) from then on; a session whose newest
write that changed it was a checkpoint ends in an `agent lost` gap (the task is paused when read).
HISTORY_EXAMPLES sets how many histories (150 pass in about 20 s).

Not played: a write opening a session that §7 cannot tell from a continuation of a stored one
(`_opens_a_session_unmistakably`), and an upload that shares no id with what its session holds (a
resumed agent's last 10 messages far ahead of what is stored): §7 makes that a session of its own (docs/transcripts.md).
"""

import itertools
import os
import uuid
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devstack.demo.catalogue import ALICE, PAUSED
from devstack.generators.events import http_api_event
from tasklogs_core.domain.transcript import seq_of
from tests.helpers import put_task

GREETING = "Welcome to Claude Code!"


@dataclass
class Run:
    messages: list[dict]  # the agent's whole conversation at the end of the run
    resumed: bool


@dataclass
class Truth:
    """What the transcript must hold: per session, id → (role, content) of the newest write."""

    sessions: list[dict[int, tuple[str, str]]] = field(default_factory=list)
    # Per session: its newest write was a checkpoint that changed it (contract §11: its agent was lost).
    lost: list[bool] = field(default_factory=list)


def _message(i: int, text: str) -> dict:
    return {"id": i, "role": "agent" if i % 2 == 0 else "user", "content": text, "time": "2026-11-25T10:00:00Z"}


def _run_messages(r: int, earlier: list[dict], new: int) -> list[dict]:
    return earlier + [_message(len(earlier) + k, f"run {r} message {len(earlier) + k}") for k in range(new)]


def _window(data, run: Run, held: list[int], *, first_of_fresh_run: bool) -> tuple[int, int]:
    """Which ids a write holds. A session's first write may be any window of two messages or more (so
    gaps happen); any other write holds at least two ids its session holds already, as an agent's own
    next upload does. A write sharing one id, or none, with its session is ambiguous by §7's rule: a
    restarted agent looks the same (docs/transcripts.md, Known limits)."""
    last = len(run.messages) - 1
    if first_of_fresh_run or not held:
        # At least two messages, one of them its own: the greeting alone repeats any session, and one
        # message alone is all the next write could share with it (a lone id proves nothing, §7).
        end = data.draw(st.integers(1, last))
        return max(0, end - data.draw(st.integers(1, 9))), end
    if len(held) < 2:  # the whole of what is held, and on
        return 0, data.draw(st.integers(max(held, default=0), last))
    start = data.draw(st.integers(max(0, held[-1] - 9), held[-2]))
    return start, data.draw(st.integers(held[-1], last))


def _opens_a_session_unmistakably(window: list[dict], stored: list[dict[int, tuple[str, str]]]) -> bool:
    """Whether a write that opens a session can be told from every stored one by §7's rule: it shares no
    id with a session, or it disagrees on a user message below the newest id they share (a user message
    is never rewritten, nor excepted as the newest). Anything less is what a rewrite of the session's
    last agent message looks like (for instance the run's two newest ids, the older of them the agent
    message a capture stored last), so the test does not play it."""
    ids = {m["id"] for m in window}
    for session in stored:
        common = sorted(ids & session.keys())
        if common and not any(i % 2 == 1 and i < common[-1] for i in common):
            return False
    return True


def _written(run: Run, start: int, end: int, cut: bool) -> list[dict]:
    window = [dict(m) for m in run.messages[start : end + 1]]
    if cut and window[-1]["role"] == "agent":  # caught while the agent rewrote it
        window[-1]["content"] = window[-1]["content"][: len(window[-1]["content"]) // 2] + "…"
    return window


def _expected_session(truth: Truth, run_sessions: dict[int, int], run: int, runs: list[Run]) -> int:
    """The ground truth's session of a run: a resumed run continues its predecessor's, written or not."""
    if run not in run_sessions:
        if runs[run].resumed:
            run_sessions[run] = _expected_session(truth, run_sessions, run - 1, runs)
        else:
            truth.sessions.append({})
            truth.lost.append(False)
            run_sessions[run] = len(truth.sessions) - 1
    return run_sessions[run]


def _read_everything(transcript, name: str) -> list[dict]:
    """The whole transcript, a few entries at a time from the oldest, as a follower would page it."""
    entries, cursor, gaps = [], -1, []
    for _ in range(200):
        answer = transcript(
            http_api_event(
                "GET", f"/api/v2/tasks/me/{name}/transcript", claims=ALICE.claims, raw_query=f"limit=20&after={cursor}"
            )
        )
        assert answer.status == 200, answer.body
        assert answer.body["has_older"] == (cursor >= 0)
        entries += answer.body["entries"]
        gaps += [g for g in answer.body["gaps"] if g not in gaps]
        if not answer.body["has_newer"]:
            return entries, gaps
        cursor = entries[-1]["seq"]
    raise AssertionError("the pages never ended")


@pytest.mark.slow
@settings(
    max_examples=int(os.environ.get("HISTORY_EXAMPLES", "40")),
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(data=st.data())
def test_random_histories_match_the_ground_truth(handler_env, transcript, monkeypatch, data) -> None:
    from tasklogs_core.adapters import clients
    from tasklogs_core.domain.models import AgentMessage
    from tasklogs_core.services import conversation_writer
    from tasklogs_core.services.conversation_writer import keep_in_transcript, write_transcript

    # Replaced chunk versions deleted by the very next write: every read below must still find every
    # version its header names.
    monkeypatch.setattr(conversation_writer, "SUPERSEDED_GRACE_SECONDS", 0)

    name = f"history-{uuid.uuid4().hex[:8]}"
    task = put_task(handler_env, name, PAUSED)
    truth, run_sessions, seen, runs = Truth(), {}, {}, []
    clock = itertools.count()

    def write(run: int, window: list[dict], *, checkpoint: bool = False) -> None:
        tick = next(clock)
        # Writes a second apart, or within the same second (the server clock's microseconds differ).
        written_at = f"2026-11-25T10:{tick // 60:02d}:{tick % 60:02d}.{tick:06d}Z"
        writer = write_transcript if checkpoint else keep_in_transcript  # as the checkpoint and the capture call them
        writer(
            task["task_id"],
            [AgentMessage.model_validate(m) for m in window],
            written_at,
            repository=clients.task_repository(),
            checkpoint=checkpoint,
        )
        number = _expected_session(truth, run_sessions, run, runs)
        session = truth.sessions[number]
        said = {m["id"]: (m["role"], m["content"]) for m in window}
        changed = any(session.get(i) != text for i, text in said.items())
        if not checkpoint:
            truth.lost[number] = False  # a closing write, changed or not
        elif changed:
            truth.lost[number] = True  # an unchanged checkpoint writes nothing
        session.update(said)
        check(_read_everything(transcript, name))

    def check(read: tuple[list[dict], list[dict]]) -> None:
        entries, gaps = read
        got = [(e["session"], e["id"], "agent" if e["type"] == "output" else "user", e["content"]) for e in entries]
        stored = [s for s in truth.sessions if s]
        lost = [truth.lost[n] for n, s in enumerate(truth.sessions) if s]
        assert got == [(n + 1, i, *s[i]) for n, s in enumerate(stored) for i in sorted(s)]
        assert [e["seq"] for e in entries] == [seq_of(e["session"], e["id"]) for e in entries]
        # Gaps: every id below a session's highest that was never written, and nothing else.
        want_gaps, previous = [], None
        for n, s in enumerate(stored):
            for i in sorted(s):
                same = previous is not None and previous[0] == n + 1
                if not same and previous is not None and lost[previous[0] - 1]:
                    want_gaps.append((seq_of(*previous), seq_of(n + 1, i), None, "agent lost"))
                missing = i - (previous[1] + 1 if same else 0)
                if missing > 0:
                    want_gaps.append((seq_of(*previous) if previous else -1, seq_of(n + 1, i), missing, "not captured"))
                previous = (n + 1, i)
        if previous is not None and lost[previous[0] - 1]:
            want_gaps.append((seq_of(*previous), None, None, "agent lost"))
        got_gaps = [
            (g["after_seq"] if g["after_seq"] is not None else -1, g["before_seq"], g["missing"], g["reason"])
            for g in gaps
        ]
        assert sorted(got_gaps, key=repr) == sorted(want_gaps, key=repr)
        for entry in entries:  # a seq once seen keeps its entry
            assert seen.setdefault(entry["seq"], (entry["session"], entry["id"])) == (entry["session"], entry["id"])

    for r in range(data.draw(st.integers(1, 4), label="runs")):
        resumed = bool(runs) and data.draw(st.booleans(), label="resumed")
        earlier = runs[-1].messages if resumed else [_message(0, GREETING)]
        runs.append(Run(_run_messages(r, earlier, data.draw(st.integers(1, 14))), resumed))
        first, said_so_far = True, len(earlier) - 1  # a resumed agent has replayed its session
        for _ in range(data.draw(st.integers(0, 3), label="writes during the run")):
            held = sorted(truth.sessions[_expected_session(truth, run_sessions, r, runs)])
            if data.draw(st.booleans(), label="a checkpoint"):  # everything the agent has said so far
                said_so_far = data.draw(st.integers(said_so_far, len(runs[r].messages) - 1), label="said")
                window = _written(runs[r], 0, said_so_far, False)
                checkpoint = True
            else:
                start, end = _window(data, runs[r], held, first_of_fresh_run=first and not resumed)
                cut = end > start and data.draw(st.booleans(), label="caught mid-rewrite")
                window = _written(runs[r], start, end, cut)
                checkpoint = False
                said_so_far = max(said_so_far, end)  # the agent had said that much by then
            if held or _opens_a_session_unmistakably(window, truth.sessions):
                write(r, window, checkpoint=checkpoint)
                first = False
        capture = _written(runs[r], 0, len(runs[r].messages) - 1, False)  # the capture: everything
        held = truth.sessions[_expected_session(truth, run_sessions, r, runs)]
        if not data.draw(st.booleans(), label="agent gone (or crashed) at pause") and (
            held or _opens_a_session_unmistakably(capture, truth.sessions)
        ):
            write(r, capture)
