"""Cold start (target 1 of the performance issue): import + init of the logs function in fresh
processes, median of N, vs an eager naive handler (bench/naive_handler.py) that creates the boto3
DynamoDB and S3 clients, an httpx client and the resolver at import. Target: <= 0.8x.

Both import from the layer as `make build` ships it: its requirements and tasklogs_core, with
bytecode. (The built layer itself is arm64, so it is staged again from this machine's venv.) A
second figure shows what that bytecode is worth: the same layer as plain `sam build` ships it,
sources only, which Lambda's read-only /opt makes Python compile at every cold start.

Also lists what app.py imports, slowest first (`python -X importtime`): where to look when the
figure moves.

Run: make bench   (or .venv/bin/python bench/cold_start.py --runs 15)
"""

from __future__ import annotations

import argparse
import compileall
import importlib.metadata as metadata
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


def layer_distributions() -> list[metadata.Distribution]:
    """The installed distributions layers/core/requirements.txt pulls in, extras and all."""
    wanted = [Requirement(line) for line in (ROOT / "layers" / "core" / "requirements.txt").read_text().splitlines()
              if line.strip() and not line.startswith("#")]
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


def stage(dest: Path, *, bytecode: bool) -> dict[str, Path]:
    """The layer and both handlers' code under dest, with unchecked-hash .pyc files or without."""
    layer = dest / "layer"
    for distribution in layer_distributions():
        for file in distribution.files or []:
            if file.parts[0] == ".." or "__pycache__" in file.parts:
                continue
            target = layer / file
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(distribution.locate_file(file), target)
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "layers" / "core" / "tasklogs_core", layer / "tasklogs_core", ignore=ignore)
    shutil.copytree(ROOT / "functions" / "task_logs", dest / "task_logs", ignore=ignore)
    (dest / "naive").mkdir()
    shutil.copy2(ROOT / "bench" / "naive_handler.py", dest / "naive")
    if bytecode:
        compileall.compile_dir(dest, quiet=2, workers=0, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    return {"layer": layer, "ours": dest / "task_logs", "naive": dest / "naive"}


def _env() -> dict[str, str]:
    # No bytecode written while measuring: the "sources only" layer must stay sources only.
    return {**os.environ, **ENVIRONMENT, "PYTHONDONTWRITEBYTECODE": "1"}


def cold_import_ms(code_dir: Path, module: str, layer: Path, extra_args: tuple[str, ...] = ()) -> tuple[float, str]:
    code = PROBE.format(paths=[str(code_dir), str(layer)], module=module)
    out = subprocess.run([sys.executable, *extra_args, "-c", code], env=_env(), capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1]) * 1000, out.stderr


def slowest_imports(paths: dict[str, Path], count: int = 8) -> list[tuple[float, str]]:
    """What the logs function's module imports directly, by cumulative import time (ms)."""
    _, stderr = cold_import_ms(paths["ours"], "app", paths["layer"], ("-X", "importtime"))
    found = []
    for line in stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|(\s+)(\S+)", line)
        if match and len(match.group(2)) == 3:  # imported by app.py itself (one level below it)
            found.append((int(match.group(1)) / 1000, match.group(3)))
    return sorted(found, reverse=True)[:count]


def run(runs: int) -> list[Figure]:
    print(f"cold start: import + init in fresh processes, median of {runs} (layer staged as make build ships it)")
    with tempfile.TemporaryDirectory() as compiled_dir, tempfile.TemporaryDirectory() as sources_dir:
        compiled = stage(Path(compiled_dir), bytecode=True)
        sources = stage(Path(sources_dir), bytecode=False)
        ours, naive, uncompiled = [], [], []
        for _ in range(runs):  # alternated, so load on the machine hits all three alike
            ours.append(cold_import_ms(compiled["ours"], "app", compiled["layer"])[0])
            naive.append(cold_import_ms(compiled["naive"], "naive_handler", compiled["layer"])[0])
            uncompiled.append(cold_import_ms(sources["ours"], "app", sources["layer"])[0])
        figures = [
            show(Figure("logs function, import + init", statistics.median(ours), statistics.median(naive), "ms", 0.8,
                        "eager naive handler")),
            show(Figure("  same, layer with bytecode vs sources only", statistics.median(ours),
                        statistics.median(uncompiled), "ms", None, "plain sam build")),
        ]
        print("  what app.py imports, slowest first (cumulative, one run; a package counts where first imported):")
        for millis, name in slowest_imports(compiled):
            print(f"    {millis:7.1f} ms  {name}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    run(parser.parse_args().runs)


if __name__ == "__main__":
    main()
