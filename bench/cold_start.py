"""Cold start, as people feel it: time to first response, a fresh process importing the logs function
as Lambda does and serving its first request (clients and all), on the snapshot path and on the live
path, vs an eager naive handler doing the same (bench/naive_handler.py: boto3 DynamoDB and S3
clients, an httpx client, Powertools' Tracer and the resolver made at import). Target: <= 0.6x on
both paths. Import + init alone is shown too (target <= 0.8x), median of N fresh processes.

Both import from the layer as `make build` ships it: its requirements and tasklogs_core, with
bytecode. (The built layer itself is arm64, so it is staged again from this machine's venv.) A
second figure shows what that bytecode is worth: the same layer as plain `sam build` ships it,
sources only, which Lambda's read-only /opt makes Python compile at every cold start.

Also shows what task_logs_handler.py imports, slowest first (`python -X importtime`): where to look
when the figures move.

Run: make bench   (or .venv/bin/python bench/cold_start.py --runs 15)
"""

from __future__ import annotations

import argparse
import compileall
import importlib.metadata as metadata
import json
import os
import py_compile
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from aws_in_process import ENVIRONMENT  # noqa: E402
from report import Figure, show  # noqa: E402

# What the Lambda runtime does at init: the function's code and the layer on sys.path, then import.
PROBE = """
import sys, time
sys.path[:0] = {paths!r}
started = time.perf_counter()
import {module}
print(time.perf_counter() - started)
"""


# The logs function carries both layers: the core and the secret scanner (docs/redaction.md).
LAYER_REQUIREMENTS = [
    line
    for layer in ("core", "scanner")
    for line in (ROOT / "layers" / layer / "requirements.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#")
]


NAIVE_REQUIREMENTS = ["boto3", "aws-xray-sdk"]


def distributions(requirements: list[str]) -> list[metadata.Distribution]:
    """The installed distributions these requirements pull in, extras and all."""
    wanted = [Requirement(line) for line in requirements]
    found: dict[str, metadata.Distribution] = {}
    while wanted:
        requirement = wanted.pop()
        key = requirement.name.lower().replace("_", "-")
        if key in found:
            continue
        try:
            found[key] = distribution = metadata.distribution(requirement.name)
        except metadata.PackageNotFoundError:
            continue
        for line in distribution.requires or []:
            dependency = Requirement(line)
            extras = ["", *requirement.extras]
            if dependency.marker is None or any(dependency.marker.evaluate({"extra": e}) for e in extras):
                wanted.append(dependency)
    return list(found.values())


def _copy_distributions(requirements: list[str], dest: Path, already: tuple[str, ...] | list[str] = ()) -> Path:
    shipped = {d.metadata["Name"].lower() for d in distributions(list(already))}
    for distribution in distributions(requirements):
        if distribution.metadata["Name"].lower() in shipped:
            continue
        for file in distribution.files or []:
            if file.parts[0] == ".." or "__pycache__" in file.parts:
                continue
            target = dest / file
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(distribution.locate_file(file), target)
    return dest


def stage(dest: Path, *, bytecode: bool) -> dict[str, Path]:
    """What a Lambda container's sys.path holds, under dest: both handlers' code, the layer
    (its requirements, boto3 among them, and tasklogs_core), with unchecked-hash .pyc files
    or without. Nothing else of this machine's venv is visible to the probes (they run with -S):
    optional packages there (httpx imports rich and click when it finds them) are not in Lambda."""
    layer = _copy_distributions(LAYER_REQUIREMENTS, dest / "layer")
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "layers" / "core" / "tasklogs_core", layer / "tasklogs_core", ignore=ignore)
    shutil.copytree(ROOT / "functions" / "task_logs", dest / "task_logs", ignore=ignore)
    # The naive handler's own requirements: boto3, and Powertools' Tracer as a first version uses it.
    _copy_distributions(NAIVE_REQUIREMENTS, dest / "naive", already=LAYER_REQUIREMENTS)
    shutil.copy2(ROOT / "bench" / "naive_handler.py", dest / "naive")
    if bytecode:
        compileall.compile_dir(
            dest, quiet=2, workers=0, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH
        )
    return {"layer": layer, "ours": dest / "task_logs", "naive": dest / "naive"}


def _env() -> dict[str, str]:
    # No bytecode written while measuring: the "sources only" layer must stay sources only.
    return {**os.environ, **ENVIRONMENT, "PYTHONDONTWRITEBYTECODE": "1"}


def _lambda_init_env(code_dir: Path) -> dict[str, str]:
    """As in a Lambda container with `Tracing: Active`: the naive handler's Tracer then patches
    libraries at import, which is part of its cold start. (Nothing is traced: the probes only import.)
    And as in a Lambda container, no compiled secret rules from an earlier run: the scanner's disk
    cache where nothing can be written (Lambda's home is read-only), so its rules compile at import."""
    env = {**_env(), "LAMBDA_TASK_ROOT": str(code_dir), "KF_RULE_CACHE_DIR": "/proc/no-rule-cache"}
    env.pop("POWERTOOLS_TRACE_DISABLED", None)
    return env


def cold_import_ms(
    code_dir: Path, module: str, paths: dict[str, Path], extra_args: tuple[str, ...] = ()
) -> tuple[float, str]:
    code = PROBE.format(paths=[str(code_dir), str(paths["layer"])], module=module)
    out = subprocess.run(
        [sys.executable, "-S", *extra_args, "-c", code],
        env=_lambda_init_env(code_dir),
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1]) * 1000, out.stderr


def slowest_imports(paths: dict[str, Path], count: int = 8) -> list[tuple[float, str]]:
    """What the logs function's module imports directly, by cumulative import time (ms)."""
    _, stderr = cold_import_ms(paths["ours"], "task_logs_handler", paths, ("-X", "importtime"))
    found = []
    for line in stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|(\s+)(\S+)", line)
        if match and len(match.group(2)) == 3:  # imported by task_logs_handler.py itself (one level below it)
            found.append((int(match.group(1)) / 1000, match.group(3)))
    return sorted(found, reverse=True)[:count]


FIRST_RESPONSE_PROBE = """
import contextlib, io, json, sys, time
sys.path[:0] = {paths!r}
started = time.perf_counter()
import {module} as handler
imported = time.perf_counter()
class Context:  # what the handlers read of Lambda's context
    function_name, function_version, memory_limit_in_mb = "TaskLogsFunction", "$LATEST", 1024
    invoked_function_arn, aws_request_id = "arn:aws:lambda:us-east-1:123456789012:function:TaskLogsFunction", "first"
    deadline = time.monotonic() + 12
    def get_remaining_time_in_millis(self):
        return int((self.deadline - time.monotonic()) * 1000)
event = json.loads({event!r})
with contextlib.redirect_stdout(io.StringIO()):
    result = handler.lambda_handler(event, Context())
answered = time.perf_counter()
assert result["statusCode"] == 200, result
print(json.dumps({{"import_ms": (imported - started) * 1000, "first_response_ms": (answered - started) * 1000}}))
"""
HANDLERS = {"ours": "task_logs_handler", "naive": "naive_handler"}
PATHS = {"snapshot": "add-billing-page", "live": "refactor-auth"}


def time_to_first_response(paths: dict[str, Path], runs: int) -> dict[tuple[str, str], list[dict[str, float]]]:
    """Per (handler, path): samples of a fresh process importing the handler as Lambda does and serving
    its first request, clients and all, as Lambda with `Tracing: Active` would run it. AWS is a moto
    server and the agent the fake AgentAPI, in this process, so the probes import nothing early."""
    import socket

    from devstack.demo.catalogue import TASKS_BY_NAME, logs_path, seed
    from devstack.demo.fake_agentapi import FakeAgentAPI
    from devstack.generators.events import http_api_event
    from devstack.runtime.aws import start_local_aws

    aws, fake = start_local_aws(), FakeAgentAPI().start()
    daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # takes the naive handler's segments
    daemon.bind(("127.0.0.1", 0))
    samples: dict[tuple[str, str], list[dict[str, float]]] = {(h, p): [] for h in HANDLERS for p in PATHS}
    try:
        seed(aws, fake)
        events = {}
        for path, name in PATHS.items():
            task = TASKS_BY_NAME[name]
            events[path] = http_api_event("GET", logs_path(task.owner.username, task.task_id), claims=task.owner.claims)
        for _ in range(runs):  # alternated, so load on the machine hits every pair alike
            for (handler, path), found in samples.items():
                code_dir = paths["ours" if handler == "ours" else "naive"]
                env = {
                    **_lambda_init_env(code_dir),
                    **aws.environment(),
                    "_X_AMZN_TRACE_ID": "Root=1-6744c9a0-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1",
                    "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{daemon.getsockname()[1]}",
                }
                code = FIRST_RESPONSE_PROBE.format(
                    paths=[str(code_dir), str(paths["layer"])], module=HANDLERS[handler], event=json.dumps(events[path])
                )
                out = subprocess.run([sys.executable, "-S", "-c", code], env=env, capture_output=True, text=True)
                if out.returncode != 0:
                    raise SystemExit(f"{handler} {path} probe failed:\n{out.stderr[-3000:]}")
                found.append(json.loads(out.stdout.strip().splitlines()[-1]))
        return samples
    finally:
        daemon.close()
        fake.stop()
        aws.stop()


def run(runs: int) -> list[Figure]:
    print(f"cold start: import + init in fresh processes, median of {runs} (layer staged as make build ships it)")
    with tempfile.TemporaryDirectory() as compiled_dir, tempfile.TemporaryDirectory() as sources_dir:
        compiled = stage(Path(compiled_dir), bytecode=True)
        sources = stage(Path(sources_dir), bytecode=False)
        ours, naive, uncompiled = [], [], []
        for _ in range(runs):  # alternated, so load on the machine hits all three alike
            ours.append(cold_import_ms(compiled["ours"], "task_logs_handler", compiled)[0])
            naive.append(cold_import_ms(compiled["naive"], "naive_handler", compiled)[0])
            uncompiled.append(cold_import_ms(sources["ours"], "task_logs_handler", sources)[0])
        figures = [
            show(
                Figure(
                    "logs function, import + init",
                    statistics.median(ours),
                    statistics.median(naive),
                    "ms",
                    0.8,
                    "eager naive handler",
                )
            ),
            show(
                Figure(
                    "  same, layer with bytecode vs sources only",
                    statistics.median(ours),
                    statistics.median(uncompiled),
                    "ms",
                    None,
                    "plain sam build",
                )
            ),
        ]
        ttfr_runs = max(3, runs // 2)
        first = time_to_first_response(compiled, ttfr_runs)
        print(f"  time to first response: import, clients and the first request (median of {ttfr_runs}):")
        for path in PATHS:
            ours_ms = statistics.median(r["first_response_ms"] for r in first["ours", path])
            naive_ms = statistics.median(r["first_response_ms"] for r in first["naive", path])
            figures.append(
                show(
                    Figure(f"time to first response, {path} path", ours_ms, naive_ms, "ms", 0.6, "eager naive handler")
                )
            )
        print(
            "  what task_logs_handler.py imports, slowest first"
            " (cumulative, one run; a package counts where first imported):"
        )
        for millis, name in slowest_imports(compiled):
            print(f"    {millis:7.1f} ms  {name}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    run(parser.parse_args().runs)


if __name__ == "__main__":
    main()
