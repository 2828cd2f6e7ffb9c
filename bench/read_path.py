"""Read path figures: cold import+init of the logs function, warm latency of the live and snapshot paths.

Each figure is printed next to a baseline measured in the same run, as a ratio:
- cold: import of functions/task_logs/app.py vs bench/naive_handler.py, fresh processes, median of N
- warm snapshot: the handler vs the raw boto3 GetItem + GetObject it must do anyway (moto server)
- warm live: the handler vs a raw GetItem + httpx GET /messages + json.loads/json.dumps of the same bytes
Run: make bench   (or .venv/bin/python bench/read_path.py --runs 9 --requests 200)
"""

import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "core")]

from devstack.aws import start_local_aws  # noqa: E402
from devstack.demo import TASKS_BY_NAME, seed  # noqa: E402
from devstack.events import load_event  # noqa: E402
from devstack.fake_agentapi import FakeAgentAPI  # noqa: E402
from devstack.lambda_runtime import context_for, load_handler  # noqa: E402

IMPORT_PROBE = """
import sys, time
sys.path[:0] = {paths!r}
t = time.perf_counter()
import {module}
print(time.perf_counter() - t)
"""


def cold_import_seconds(module_dir: Path, module: str, env: dict[str, str]) -> float:
    code = IMPORT_PROBE.format(paths=[str(module_dir), str(ROOT / "layers" / "core")], module=module)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def timed(fn, n: int) -> list[float]:
    fn()  # warm
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return samples


def p(samples: list[float], q: float) -> float:
    return sorted(samples)[min(len(samples) - 1, int(q * len(samples)))] * 1000


def line(label: str, ours: float, base: float, unit: str = "ms") -> None:
    print(f"  {label:<34} {ours:9.2f} {unit}   baseline {base:9.2f} {unit}   ratio {ours / base:5.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9, help="fresh processes per cold-start figure")
    parser.add_argument("--requests", type=int, default=200, help="warm requests per path")
    args = parser.parse_args()

    aws = start_local_aws()
    fake = FakeAgentAPI().start()
    seed(aws, fake)
    env = {**os.environ, **aws.environment(), "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_DISABLED": "true",
           "POWERTOOLS_LOG_LEVEL": "WARNING"}
    os.environ.update(env)
    print(f"python {sys.version.split()[0]} on {os.uname().machine}, {os.cpu_count()} cores")

    ours = [cold_import_seconds(ROOT / "functions" / "task_logs", "app", env) for _ in range(args.runs)]
    naive = [cold_import_seconds(ROOT / "bench", "naive_handler", env) for _ in range(args.runs)]
    print(f"cold import+init, median of {args.runs} fresh processes")
    line("logs function vs eager naive", statistics.median(ours) * 1000, statistics.median(naive) * 1000)

    handler = load_handler("TaskLogsFunction")
    snapshot_event, live_event = load_event("logs_add_billing_page"), load_event("logs_refactor_auth")
    for event in (snapshot_event, live_event):
        assert handler(event, context_for("TaskLogsFunction"))["statusCode"] == 200

    import boto3
    import httpx

    dynamodb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    paused = TASKS_BY_NAME["add-billing-page"]
    item = dynamodb.get_item(TableName=aws.table_name, Key={"task_id": {"S": paused.task_id}})["Item"]

    def raw_snapshot() -> None:
        dynamodb.get_item(TableName=aws.table_name, Key={"task_id": {"S": paused.task_id}}, ConsistentRead=True)
        s3.get_object(Bucket=aws.bucket_name, Key=f"task-snapshots/{paused.task_id}.json",
                      VersionId=item["snapshot_version"]["S"])["Body"].read()

    http = httpx.Client()
    active = TASKS_BY_NAME["refactor-auth"]
    live_url = f"{fake.url}/agents/{active.name}/messages"

    def raw_live() -> None:
        dynamodb.get_item(TableName=aws.table_name, Key={"task_id": {"S": active.task_id}}, ConsistentRead=True)
        json.dumps(json.loads(http.get(live_url).content))

    def ours_for(event):  # noqa: ANN001, ANN202
        def call() -> None:
            with contextlib.redirect_stdout(io.StringIO()):  # Powertools' EMF lines are not the figure
                handler(event, context_for("TaskLogsFunction"))

        return call

    n = args.requests
    print(f"warm latency, {n} requests each (p50 / p99), moto server + fake AgentAPI on loopback")
    snap, raw_snap = timed(ours_for(snapshot_event), n), timed(raw_snapshot, n)
    line("snapshot path p50", p(snap, 0.5), p(raw_snap, 0.5))
    line("snapshot path p99", p(snap, 0.99), p(raw_snap, 0.99))
    live, raw_l = timed(ours_for(live_event), n), timed(raw_live, n)
    line("live path p50", p(live, 0.5), p(raw_l, 0.5))
    line("live path p99", p(live, 0.99), p(raw_l, 0.99))

    fake.stop()
    aws.stop()


if __name__ == "__main__":
    main()
