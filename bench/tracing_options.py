"""How much each way of showing a request's DynamoDB, S3 and agent calls costs (docs/tracing.md):

- xray-sdk: the X-Ray SDK (what Powertools' Tracer uses) patching botocore and httpx, each call a
  subsegment streamed over UDP to the daemon, as in Lambda with `Tracing: Active`;
- otel: the OpenTelemetry SDK with the botocore and httpx instrumentations, spans batched and exported
  as OTLP/HTTP to a collector on loopback (the ADOT layer's), flushed at the end of each invocation
  as the ADOT Lambda wrapper does;
- timings: ours, botocore's call events and a timer around the agent call, reported per invocation
  as one log line and EMF metrics (tasklogs_core.adapters.timings);
- none: the same calls with nothing recording them, the baseline.

Each sample is a fresh process: it imports boto3, httpx and Powertools (which every option has), sets
its option up (init), makes its clients and serves a first request (the calls of the live and the snapshot path:
GetItem, GetObject, GET /messages), then serves 200 warm requests. AWS is a moto server and the agent
the fake AgentAPI, both on loopback.

Run: make bench-tracing   (installs bench/requirements-tracing.txt into .bench/tracing first)
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import sysconfig
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "core")]

OPTIONS = ("none", "timings", "xray-sdk", "otel")
WARM_REQUESTS = 200

PROBE = r"""
import io, json, os, sys, time
config = json.loads(sys.argv[1])
sys.path[:0] = config["paths"]
started = time.perf_counter()
import boto3, httpx
from aws_lambda_powertools import Logger, Metrics  # every handler has these already
from aws_lambda_powertools.metrics import MetricUnit
option = config["option"]
imported = time.perf_counter()
if option == "timings":
    from tasklogs_core.adapters import timings
    metrics = Metrics(namespace="Bench")
elif option == "xray-sdk":
    from aws_xray_sdk.core import patch, xray_recorder
    xray_recorder.configure(daemon_address=config["daemon"], context_missing="IGNORE_ERROR")
    patch(["botocore", "httpx"])
elif option == "otel":
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.botocore import BotocoreInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    provider = TracerProvider(resource=Resource.create({"service.name": "tasklogs"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=config["collector"])))
    trace.set_tracer_provider(provider)
    BotocoreInstrumentor().instrument()
    HTTPXClientInstrumentor().instrument()
    tracer = trace.get_tracer("tasklogs")
init_done = time.perf_counter()

before = time.perf_counter()  # the first request makes its clients, as in the handler
session = boto3.session.Session()
if option == "timings":
    timings.register_on(session.events)
dynamodb = session.client("dynamodb", endpoint_url=config["aws"])
s3 = session.client("s3", endpoint_url=config["aws"])
http = httpx.Client()
key = {"task_id": {"S": config["task_id"]}}

def calls():
    dynamodb.get_item(TableName=config["table"], Key=key, ConsistentRead=True)
    s3.get_object(Bucket=config["bucket"], Key=config["object"])["Body"].read()
    if option == "timings":
        with timings.timed("agent", "GET /messages"):
            http.get(config["agent"]).content
    else:
        http.get(config["agent"]).content

sink = io.StringIO()
def request():
    if option == "timings":
        with timings.collecting() as made:
            calls()
            sink.write(json.dumps({"message": "dependency calls", **timings.summary(made)}))
            for call in made:
                metrics.add_metric(name=f"{call.dependency}Ms", unit=MetricUnit.Milliseconds, value=call.ms)
            metrics.flush_metrics()
    elif option == "xray-sdk":
        xray_recorder.begin_segment("tasklogs", sampling=1)
        try:
            with xray_recorder.in_subsegment("## handler"):
                calls()
        finally:
            xray_recorder.end_segment()
    elif option == "otel":
        with tracer.start_as_current_span("handler"):
            calls()
        provider.force_flush()
    else:
        calls()

import contextlib
with contextlib.redirect_stdout(sink):
    request()
    first = time.perf_counter()
    warm = []
    for _ in range(config["warm"]):
        t = time.perf_counter()
        request()
        warm.append(time.perf_counter() - t)
warm.sort()
print(json.dumps({"init_ms": (init_done - imported) * 1000, "first_ms": (first - before) * 1000,
                  "warm_ms": warm[len(warm) // 2] * 1000}))
"""


class _Collector(BaseHTTPRequestHandler):
    """An OTLP/HTTP endpoint that takes every export (the ADOT layer's collector, on loopback)."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


def run(samples: int, site: Path) -> dict[str, dict[str, float]]:
    from devstack.demo.catalogue import TASKS_BY_NAME, seed
    from devstack.demo.fake_agentapi import FakeAgentAPI
    from devstack.runtime.aws import start_local_aws
    from tasklogs_core.adapters.snapshot_store import snapshot_key

    aws, fake = start_local_aws(), FakeAgentAPI().start()
    daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    daemon.bind(("127.0.0.1", 0))
    collector = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    threading.Thread(target=collector.serve_forever, daemon=True).start()
    try:
        seed(aws, fake)
        snapshot, live = TASKS_BY_NAME["add-billing-page"], TASKS_BY_NAME["refactor-auth"]
        config = {
            "paths": [str(site), str(ROOT / "layers" / "core"), sysconfig.get_paths()["purelib"]],
            "aws": aws.endpoint_url,
            "table": aws.table_name,
            "bucket": aws.bucket_name,
            "task_id": snapshot.task_id,
            "object": snapshot_key(snapshot.task_id),
            "agent": f"{fake.url}/agents/{live.name}/messages",
            "daemon": f"127.0.0.1:{daemon.getsockname()[1]}",
            "collector": f"http://127.0.0.1:{collector.server_address[1]}/v1/traces",
            "warm": WARM_REQUESTS,
        }
        env = {**aws.environment(), "PATH": "/usr/bin:/bin", "AWS_XRAY_SDK_ENABLED": "true"}
        results: dict[str, list[dict[str, float]]] = {option: [] for option in OPTIONS}
        for _ in range(samples):  # alternated, so load on the machine hits every option alike
            for option in OPTIONS:
                out = subprocess.run(
                    [sys.executable, "-S", "-c", PROBE, json.dumps({**config, "option": option})],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=False,
                    timeout=120,
                )
                if out.returncode != 0:
                    raise SystemExit(f"{option} probe failed:\n{out.stderr[-3000:]}")
                results[option].append(json.loads(out.stdout.strip().splitlines()[-1]))
        return {
            option: {field: statistics.median(r[field] for r in runs) for field in ("init_ms", "first_ms", "warm_ms")}
            for option, runs in results.items()
        }
    finally:
        collector.shutdown()
        daemon.close()
        fake.stop()
        aws.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=9)
    parser.add_argument("--site", type=Path, default=ROOT / ".bench" / "tracing")
    args = parser.parse_args()
    figures = run(args.samples, args.site)
    base = figures["none"]
    print(f"tracing options, median of {args.samples} fresh processes ({WARM_REQUESTS} warm requests each):")
    print(f"  {'option':<10} {'init ms':>8} {'first request ms':>17} {'warm request ms':>16} {'warm overhead':>14}")
    for option, row in figures.items():
        overhead = row["warm_ms"] - base["warm_ms"]
        print(
            f"  {option:<10} {row['init_ms']:8.1f} {row['first_ms']:17.1f} {row['warm_ms']:16.2f} {overhead:+13.2f} ms"
        )


if __name__ == "__main__":
    main()
