"""Warm read path (targets 2 and 3 of the performance issue).

- Snapshot path: the logs handler serving a 64 KiB snapshot vs the raw boto3 GetItem + GetObject it
  must do anyway (moto in process). Target: <= 1.15x. A floor line adds what else any handler of
  this project does: read and write the 64 KiB of JSON, and Powertools (framework_floor.py).
- Live path: the logs handler serving AgentAPI `/messages` answers of 1 MB and 5 MB, fetched from a
  real server on loopback, vs `json.loads` of those bytes + `json.dumps` of the response we send.
  Target: <= 1.5x. The baseline does no fetch and no AWS call; ours does both, so a floor line
  shows the baseline plus just those two.

Run: make bench   (or .venv/bin/python bench/read_path.py --repeats 31)
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench"), str(ROOT / "layers" / "core")]

from agent_process import agents_serving  # noqa: E402
from aws_in_process import BUCKET, TABLE, aws_in_process  # noqa: E402
from conversations import envelope, messages_of_size  # noqa: E402
from framework_floor import handler_answering  # noqa: E402
from report import Figure, interleaved_medians_ms, show  # noqa: E402

from devstack.demo.catalogue import TASKS_BY_NAME, logs_path, task_item  # noqa: E402
from devstack.generators.events import http_api_event  # noqa: E402
from devstack.runtime.lambda_runtime import context_for, load_handler  # noqa: E402
from tasklogs_core.adapters.snapshot_store import snapshot_key  # noqa: E402

SNAPSHOT_BYTES = 64 * 1024
LIVE_SIZES = (1_000_000, 5_000_000)


def quiet(handler, event):
    """One invocation as the runtime makes it; Powertools' stdout lines are not part of the figure."""

    def call() -> dict:
        with contextlib.redirect_stdout(io.StringIO()):
            result = handler(event, context_for("TaskLogsFunction"))
        assert result["statusCode"] == 200, result
        return result

    return call


def snapshot_figures(aws, handler, repeats: int) -> list[Figure]:
    task = TASKS_BY_NAME["add-billing-page"]
    stored = envelope(messages_of_size(SNAPSHOT_BYTES - 40))
    version = aws.put_snapshot(task.task_id, stored)
    aws.put_task(task_item(task, None, version))
    event = http_api_event("GET", logs_path(task.owner.username, task.task_id), claims=task.owner.claims)
    ours = quiet(handler, event)
    response = json.loads(ours()["body"])
    assert response["snapshot"] is True
    powertools = quiet(handler_answering(json.dumps(response)), event)

    def raw() -> None:
        aws.dynamodb.get_item(TableName=TABLE, Key={"task_id": {"S": task.task_id}}, ConsistentRead=True)
        aws.s3.get_object(Bucket=BUCKET, Key=snapshot_key(task.task_id), VersionId=version)["Body"].read()

    def floor() -> None:
        # Besides the two calls: read and write 64 KiB of JSON (the live target's own baseline for that
        # work), and the house stack, Powertools, around a route that only answers (framework_floor).
        raw()
        json.loads(stored)
        json.dumps(response)
        powertools()

    mine, base = interleaved_medians_ms(ours, raw, repeats)
    figures = [
        show(
            Figure(
                f"snapshot path, {len(stored) / 1024:.0f} KiB snapshot", mine, base, "ms", 1.15, "GetItem + GetObject"
            )
        )
    ]
    least, base = interleaved_medians_ms(floor, raw, repeats)
    figures.append(
        show(Figure("  floor: + JSON in and out + Powertools", least, base, "ms", None, "GetItem + GetObject"))
    )
    mine, least = interleaved_medians_ms(ours, floor, repeats)
    figures.append(show(Figure("  snapshot path vs that floor", mine, least, "ms", None, "floor")))
    return figures


def live_figures(aws, handler, repeats: int) -> list[Figure]:
    import httpx

    task = TASKS_BY_NAME["refactor-auth"]
    http = httpx.Client()
    figures = []
    with agents_serving(list(LIVE_SIZES)) as urls:
        for size in LIVE_SIZES:
            aws.put_task(task_item(task, urls[size], None))
            ours = quiet(
                handler, http_api_event("GET", logs_path(task.owner.username, task.task_id), claims=task.owner.claims)
            )
            body = httpx.get(f"{urls[size]}/messages").content
            response = json.loads(ours()["body"])
            assert len(response["logs"]) == len(json.loads(body)["messages"])

            def raw(body: bytes = body, response: dict = response) -> None:
                json.loads(body)
                json.dumps(response)

            def floor(body: bytes = body, response: dict = response, url: str = urls[size]) -> None:
                # What any implementation does besides the baseline: read the task, fetch the answer.
                aws.dynamodb.get_item(TableName=TABLE, Key={"task_id": {"S": task.task_id}}, ConsistentRead=True)
                _ = http.get(f"{url}/messages").content
                raw(body, response)

            mine, base = interleaved_medians_ms(ours, raw, repeats)
            figures.append(
                show(
                    Figure(
                        f"live path, {len(body) / 1e6:.1f} MB /messages",
                        mine,
                        base,
                        "ms",
                        1.5,
                        "json.loads + json.dumps",
                    )
                )
            )
            least, base = interleaved_medians_ms(floor, raw, repeats)
            figures.append(
                show(
                    Figure(
                        "  floor: + GetItem + GET /messages (httpx)", least, base, "ms", None, "json.loads + json.dumps"
                    )
                )
            )
    return figures


# A snapshot request takes milliseconds: many more of them cost little and steady the median.
SNAPSHOT_REPEATS_PER_LIVE_REPEAT = 8


def run(repeats: int) -> list[Figure]:
    snapshot_repeats = repeats * SNAPSHOT_REPEATS_PER_LIVE_REPEAT
    print(
        f"warm read path, median of {snapshot_repeats} snapshot and {repeats} live requests each"
        " (moto in process, AgentAPI on loopback)"
    )
    with aws_in_process() as aws:
        handler = load_handler("TaskLogsFunction")
        return [*snapshot_figures(aws, handler, snapshot_repeats), *live_figures(aws, handler, repeats)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=31)
    run(parser.parse_args().repeats)


if __name__ == "__main__":
    main()
