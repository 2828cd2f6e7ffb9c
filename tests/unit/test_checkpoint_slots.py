"""Which run of the every-minute schedule a task is due on (use_cases/checkpoint_schedule.py): with an
interval of N minutes, each task on exactly one run in every N, the tasks spread over the runs."""

import uuid

from tasklogs_core.use_cases.checkpoint_schedule import slot_of, slots


def test_each_task_is_due_on_exactly_one_run_per_interval_and_the_runs_share_them() -> None:
    assert [slots(seconds) for seconds in (60, 119, 120, 180, 3600)] == [1, 1, 2, 3, 60]
    tasks = [str(uuid.UUID(int=n + 1)) for n in range(3000)]
    count = slots(180)
    by_run = [[t for t in tasks if slot_of(t, count) == run] for run in range(count)]
    assert sorted(t for run in by_run for t in run) == sorted(tasks)  # each once
    assert all(800 <= len(run) <= 1200 for run in by_run), [len(run) for run in by_run]
    assert all(slot_of(t, 1) == 0 for t in tasks)  # the default interval: every task every run
