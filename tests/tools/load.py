"""A bounded load test of the local stack over loopback: N requests at concurrency C through the local
API Gateway front, mixed live (an active task's agent) and snapshot (a paused task), each thread on
its own keep-alive connection. Reports status counts and latency percentiles.

    python -m tests.tools.load --requests 5000 --concurrency 16   (make load)
"""

import argparse
import http.client
import os
import statistics
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

from devstack.demo.catalogue import ALICE, TASKS_BY_NAME, logs_path

PATHS = {
    "live": logs_path("me", TASKS_BY_NAME["refactor-auth"].name),
    "snapshot": logs_path("me", TASKS_BY_NAME["add-billing-page"].name),
}


@dataclass(frozen=True)
class LoadResult:
    requests: int
    concurrency: int
    seconds: float
    statuses: Counter
    latencies_ms: dict[str, list[float]]  # per kind

    @property
    def errors(self) -> int:
        return sum(count for status, count in self.statuses.items() if status != 200)

    def percentile(self, kind: str, q: float) -> float:
        values = sorted(self.latencies_ms[kind])
        return values[min(len(values) - 1, int(q * len(values)))]

    def summary(self) -> str:
        lines = [
            f"{self.requests} requests at concurrency {self.concurrency} in {self.seconds:.1f} s "
            f"({self.requests / self.seconds:.0f}/s); statuses {dict(self.statuses)}; errors {self.errors}"
        ]
        for kind in sorted(self.latencies_ms):
            values = self.latencies_ms[kind]
            lines.append(
                f"  {kind:9s} n={len(values):5d}  p50 {statistics.median(values):7.1f} ms  "
                f"p99 {self.percentile(kind, 0.99):7.1f} ms  max {max(values):7.1f} ms"
            )
        return "\n".join(lines)


def run_load(base_url: str, requests: int = 5000, concurrency: int = 16) -> LoadResult:
    parts = urlsplit(base_url)
    headers = {"Authorization": f"Bearer {ALICE.token}"}
    local = threading.local()
    lock = threading.Lock()
    statuses: Counter = Counter()
    latencies: dict[str, list[float]] = {kind: [] for kind in PATHS}

    def one(n: int) -> None:
        kind = "live" if n % 2 else "snapshot"
        if not hasattr(local, "connection"):
            local.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        started = time.perf_counter()
        try:
            local.connection.request("GET", PATHS[kind], headers=headers)
            response = local.connection.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            local.connection.close()
            del local.connection
            status = -1
        elapsed = (time.perf_counter() - started) * 1000
        with lock:
            statuses[status] += 1
            latencies[kind].append(elapsed)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(one, range(requests)))
    return LoadResult(requests, concurrency, time.perf_counter() - started, statuses, latencies)


def load_fresh_stack(requests: int, concurrency: int) -> None:
    """The local stack on a free port, then the load; its own process, so the figures are its own."""
    import contextlib
    import io
    import logging

    from devstack.demo.catalogue import seed
    from devstack.demo.fake_agentapi import FakeAgentAPI
    from devstack.runtime.aws import start_local_aws
    from devstack.runtime.front import LocalApiGateway
    from devstack.runtime.lambda_runtime import set_local_environment
    from devstack.runtime.template_resources import default_authorizer_function

    os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"  # one INFO line per request would be the bottleneck
    aws, fake = start_local_aws(), FakeAgentAPI().start()
    try:
        seed(aws, fake)
        set_local_environment(aws.environment())
        logging.getLogger("devstack").setLevel(logging.WARNING)
        front = LocalApiGateway(port=0).start()
        # Cold starts are not what this measures: as many warm containers as the load can use, for the
        # function and for the authorizer API Gateway asks first.
        for function in ("TaskLogsFunction", default_authorizer_function()):
            front.runtime.prewarm(function, concurrency)
        with contextlib.redirect_stdout(io.StringIO()):  # Powertools' buffered metric lines
            baseline = run_load(front.url, min(requests, 200), 1)
            result = run_load(front.url, requests, concurrency)
        containers = front.runtime.containers("TaskLogsFunction")
        print("baseline, one request at a time (the service time):\n" + baseline.summary())
        print(
            f"load ({containers} warm containers, at most {front.runtime.max_per_function}; "
            "TASKLOGS_LOCAL_CONCURRENCY sets the limit):"
        )
        print(result.summary(), flush=True)
        front.stop()
    finally:
        fake.stop()
        aws.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m tests.tools.load", description=__doc__)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    load_fresh_stack(args.requests, args.concurrency)
