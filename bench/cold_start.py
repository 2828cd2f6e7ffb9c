"""Cold start (target 1 of the performance issue): import + init of the logs function in fresh
processes, median of N, vs an eager naive handler (bench/naive_handler.py) that creates the boto3
DynamoDB and S3 clients, an httpx client and the resolver at import. Target: <= 0.8x.

Also lists the slowest imports of the logs function (`python -X importtime`), the first place to
look when this figure moves.

Run: make bench   (or .venv/bin/python bench/cold_start.py --runs 9)
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from aws_in_process import ENVIRONMENT  # noqa: E402
from report import Figure, show  # noqa: E402

# What the Lambda runtime does at init: put the layer and the function's code on sys.path, import.
PROBE = """
import sys, time
sys.path[:0] = {paths!r}
started = time.perf_counter()
import {module}
print(time.perf_counter() - started)
"""


def _env() -> dict[str, str]:
    return {**os.environ, **ENVIRONMENT, "PYTHONDONTWRITEBYTECODE": "1"}


def _cold_import_ms(code_dir: Path, module: str, extra_args: tuple[str, ...] = ()) -> tuple[float, str]:
    code = PROBE.format(paths=[str(code_dir), str(ROOT / "layers" / "core")], module=module)
    out = subprocess.run([sys.executable, *extra_args, "-c", code], env=_env(), capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1]) * 1000, out.stderr


def slowest_imports(count: int = 8) -> list[tuple[float, str]]:
    """What the logs function's module imports directly, by cumulative import time (ms)."""
    _, stderr = _cold_import_ms(ROOT / "functions" / "task_logs", "app", ("-X", "importtime"))
    found = []
    for line in stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|(\s+)(\S+)", line)
        if match and len(match.group(2)) == 3:  # imported by app.py itself (one level below it)
            found.append((int(match.group(1)) / 1000, match.group(3)))
    return sorted(found, reverse=True)[:count]


def run(runs: int) -> list[Figure]:
    print(f"cold start: import + init in fresh processes, median of {runs}")
    ours, naive = [], []
    for _ in range(runs):  # alternated, so load on the machine hits both alike
        ours.append(_cold_import_ms(ROOT / "functions" / "task_logs", "app")[0])
        naive.append(_cold_import_ms(ROOT / "bench", "naive_handler")[0])
    figure = show(Figure("logs function, import + init", statistics.median(ours), statistics.median(naive), "ms", 0.8,
                         "eager naive handler"))
    print("  what app.py imports, slowest first (cumulative, one run; a package is counted where first imported):")
    for millis, name in slowest_imports():
        print(f"    {millis:7.1f} ms  {name}")
    return [figure]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    run(parser.parse_args().runs)


if __name__ == "__main__":
    main()
