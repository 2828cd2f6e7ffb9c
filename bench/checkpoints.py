"""Checkpoints (contract §11): what one costs, unchanged and changed, against the capture at pause.

- Unchanged: a checkpoint of a 1 MB conversation that has not changed since the last one (its
  digest matches: one GetItem, one agent read, nothing written) vs a checkpoint of the same
  conversation changed (its last agent message rewritten: the transcript and snapshot written).
  Target <= 0.2x.
- Changed vs capture: that changed checkpoint vs the capture at pause of the same changing
  conversation (the same writer, the same reads). Target <= 1.3x.
- A batch: ten changed checkpoints side by side, as one invocation of the checkpoint function takes
  them, vs one alone; and from it, how many tasks one interval covers at the template's default
  concurrency (docs/performance.md prices both).

The agents run in a process of their own (bench/agent_process.py), moto in process.

Run: .venv/bin/python bench/checkpoints.py [--repeats N]   (part of make bench)
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench"), str(ROOT / "layers" / "core")]

from agent_process import agents_serving  # noqa: E402
from aws_in_process import aws_in_process  # noqa: E402
from report import Figure, interleaved_medians_ms, show  # noqa: E402

from devstack.demo.catalogue import RUNNING, DemoTask, task_item  # noqa: E402

SIZE = 1_000_000
BATCH = 10  # template.yaml, TaskCheckpointQueueMapping's BatchSize
CONCURRENCY = 20  # template.yaml, CheckpointConcurrency's default
INTERVAL_S = 60  # template.yaml, CheckpointIntervalSeconds's default


def _task(aws, agent_url: str) -> DemoTask:
    task = DemoTask(f"bench-{uuid.uuid4().hex[:6]}", str(uuid.uuid4()), RUNNING, "bench", agent_url=agent_url)
    aws.put_task(task_item(task, agent_url, None))
    return task


def run(repeats: int) -> list[Figure]:
    print(f"checkpoints, median of {repeats} each (1 MB conversations; agents in their own process, moto in process)")
    # One changing agent per task: each read of it answers the other version of its last message.
    changing_agents = [f"{SIZE}:changing:{i}" for i in range(2 + BATCH)]
    with aws_in_process() as aws, agents_serving([SIZE, *changing_agents]) as agents:
        from tasklogs_core.adapters import clients
        from tasklogs_core.adapters.checkpoint_queue import CheckpointDue
        from tasklogs_core.adapters.deadlines import agent_deadline
        from tasklogs_core.use_cases.pause_capture import capture_at_pause
        from tasklogs_core.use_cases.task_checkpoint import Checkpoint, checkpoint_batch, checkpoint_message

        still = _task(aws, agents[SIZE])
        changing = _task(aws, agents[changing_agents[0]])
        captured = _task(aws, agents[changing_agents[1]])
        batch = [_task(aws, agents[name]) for name in changing_agents[2:]]

        def checkpoint(task: DemoTask, wanted: Checkpoint):
            body = CheckpointDue(task.task_id, time.time() + 3600).to_body()

            def call() -> None:
                with contextlib.redirect_stdout(io.StringIO()):
                    got = checkpoint_message(body, remaining_ms=30_000)
                assert got is wanted, got

            return call

        def capture() -> None:
            with contextlib.redirect_stdout(io.StringIO()):
                task = clients.task_repository().get(captured.task_id)
                capture_at_pause(
                    task,
                    agent=clients.agentapi_client(),
                    repository=clients.task_repository(),
                    store=clients.snapshot_store(),
                    deadline=agent_deadline(30_000),
                )

        records = [
            {"messageId": str(i), "body": CheckpointDue(t.task_id, time.time() + 3600).to_body()}
            for i, t in enumerate(batch)
        ]

        def ten_side_by_side() -> None:
            with contextlib.redirect_stdout(io.StringIO()):
                assert checkpoint_batch(records, remaining_ms=30_000) == []

        checkpoint(still, Checkpoint.STORED)()  # the first stores it; every later one finds it unchanged
        figures = []
        unchanged, changed = interleaved_medians_ms(
            checkpoint(still, Checkpoint.UNCHANGED), checkpoint(changing, Checkpoint.STORED), repeats
        )
        figures.append(show(Figure("checkpoint, 1 MB unchanged", unchanged, changed, "ms", 0.2, "1 MB changed")))
        changed, captured_ms = interleaved_medians_ms(checkpoint(changing, Checkpoint.STORED), capture, repeats)
        figures.append(show(Figure("checkpoint, 1 MB changed", changed, captured_ms, "ms", 1.3, "capture at pause")))
        many, one = interleaved_medians_ms(
            ten_side_by_side, checkpoint(changing, Checkpoint.STORED), max(5, repeats // 3)
        )
        figures.append(show(Figure(f"  {BATCH} changed, side by side", many, one, "ms", None, "one alone")))
        per_interval = CONCURRENCY * BATCH * INTERVAL_S * 1000 / many
        print(
            f"  one interval ({INTERVAL_S} s) at concurrency {CONCURRENCY} covers about {per_interval:,.0f} tasks"
            f" whose conversations all changed (batches of {BATCH} at {many:.0f} ms, on moto in process)",
            flush=True,
        )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=31)
    run(parser.parse_args().repeats)


if __name__ == "__main__":
    main()
