"""What the user authorizer (contract §2; docs/authorization.md) costs per request, beside the request it
guards, measured in the same run. Figures from this machine: compare ratios, not milliseconds.

- Warm: one authorizer invocation (a valid token in Coder-Session-Token, the issuer's keys already
  fetched) vs one warm logs request of a paused task's 64 KiB snapshot (moto in process), the read a
  user most often makes. Target: <= 0.25x, so authorizing never costs more than a quarter of a read.
- Cold: a fresh interpreter importing the authorizer and answering its first request, keys fetched
  from an issuer on loopback, vs a fresh interpreter importing the logs function. Shown for
  information: Lambda keeps an authorizer warm as it keeps the functions warm.
- Cost: Lambda's price for the warm invocation at the template's memory size, per million requests.

Run: make bench-auth   (or .venv/bin/python bench/authorizer.py --repeats 201)
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench"), str(ROOT / "layers" / "core")]

from aws_in_process import aws_in_process  # noqa: E402
from conversations import envelope, messages_of_size  # noqa: E402
from report import Figure, interleaved_medians_ms, show, summary  # noqa: E402

from devstack.demo.catalogue import ALICE, TASKS_BY_NAME, logs_path, task_item  # noqa: E402
from devstack.generators.events import authorizer_event, http_api_event  # noqa: E402
from devstack.runtime.lambda_runtime import context_for, load_handler  # noqa: E402
from devstack.runtime.local_idp import mint, serve_keys  # noqa: E402
from devstack.runtime.template_resources import function_memory_mb  # noqa: E402

# Lambda's arm64 prices (us-east-1, 2026): per GB-second and per request; billed per started ms.
ARM_PRICE_PER_GB_SECOND = 0.0000133334
PRICE_PER_REQUEST = 0.20 / 1_000_000

COLD_PROBE = """
import time
started = time.perf_counter()
import sys
sys.path[:0] = {paths!r}
import {module}
{first_call}
print(time.perf_counter() - started)
"""
FIRST_AUTHORIZATION = """
from devstack.generators.events import authorizer_event
class Context:
    function_name = "UserAuthorizerFunction"; memory_limit_in_mb = 1024; aws_request_id = "cold"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:UserAuthorizerFunction"
    def get_remaining_time_in_millis(self): return 5000
event = authorizer_event("GET", "/api/v2/tasks/me/refactor-auth/logs", headers={{"coder-session-token": {token!r}}})
assert user_authorizer_handler.lambda_handler(event, Context())["isAuthorized"]
"""


def quietly(call):
    def run() -> object:
        with contextlib.redirect_stdout(io.StringIO()):
            return call()

    return run


def warm_figures(repeats: int) -> list[Figure]:
    authorizer = load_handler("UserAuthorizerFunction")
    logs = load_handler("TaskLogsFunction")
    token = mint(ALICE.claims)
    guarded = authorizer_event("GET", logs_path("me", "add-billing-page"), headers={"coder-session-token": token})
    task = TASKS_BY_NAME["add-billing-page"]
    with aws_in_process() as aws:
        version = aws.put_snapshot(task.task_id, envelope(messages_of_size(64 * 1024 - 40)))
        aws.put_task(task_item(task, None, version))
        read = http_api_event("GET", logs_path("me", task.task_id), claims=ALICE.claims)

        def authorize() -> None:
            assert authorizer(guarded, context_for("UserAuthorizerFunction"))["isAuthorized"]

        def read_logs() -> None:
            assert logs(read, context_for("TaskLogsFunction"))["statusCode"] == 200

        mine, base = interleaved_medians_ms(quietly(authorize), quietly(read_logs), repeats)
    figures = [show(Figure("authorizer, warm request", mine, base, "ms", 0.25, "warm 64 KiB snapshot read"))]
    # Lambda gives CPU in proportion to memory (one vCPU at 1,769 MB): this machine's core is the upper bound.
    memory_mb = function_memory_mb("UserAuthorizerFunction")
    lambda_ms = mine * max(1.0, 1769 / memory_mb)
    billed_ms = math.ceil(lambda_ms)
    per_million = 1_000_000 * (PRICE_PER_REQUEST + memory_mb / 1024 * billed_ms / 1000 * ARM_PRICE_PER_GB_SECOND)
    print(
        f"  cost: about {lambda_ms:.2f} ms at the template's {memory_mb} MB (CPU in proportion), billed {billed_ms} ms"
        f" on arm64 = ${per_million:.3f} per million requests (${PRICE_PER_REQUEST * 1e6:.2f} of it the request fee)",
        flush=True,
    )
    return figures


def cold_ms(module: str, code_dir: Path, first_call: str, runs: int) -> float:
    paths = [str(ROOT), str(code_dir), str(ROOT / "layers" / "core")]
    code = COLD_PROBE.format(paths=paths, module=module, first_call=first_call)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "POWERTOOLS_METRICS_DISABLED": "true"}
    samples = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        samples.append(float(out.stdout.strip().splitlines()[-1]) * 1000)
    return statistics.median(samples)


def cold_figures(runs: int) -> list[Figure]:
    first = FIRST_AUTHORIZATION.format(token=mint(ALICE.claims))
    ours = cold_ms("user_authorizer_handler", ROOT / "functions" / "user_authorizer", first, runs)
    base = cold_ms("task_logs_handler", ROOT / "functions" / "task_logs", "", runs)
    return [show(Figure("authorizer, cold: import + first answer", ours, base, "ms", None, "logs function import"))]


def run(repeats: int, cold_runs: int) -> list[Figure]:
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")  # the logger writes to the stdout it saw at import
    serve_keys()
    return warm_figures(repeats) + cold_figures(cold_runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=201)
    parser.add_argument("--cold-runs", type=int, default=9)
    args = parser.parse_args()
    summary(run(args.repeats, args.cold_runs))


if __name__ == "__main__":
    main()
