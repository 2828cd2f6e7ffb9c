"""Compile every module of a `sam build` output to bytecode, for the python3.13 Lambda runtime.

Lambda's /var/task and /opt are read-only, so a package shipped without .pyc files is compiled from
source at every cold start (`sam build` ships none): about half of the logs function's import time
(docs/performance.md). Unchecked-hash .pyc files are used as they are, whatever mtimes the zip gives
the sources: the build output is not edited after this step.

Run by `make build` after `sam build`:  python scripts/precompile_build.py .aws-sam/build
"""

import compileall
import importlib.util
import py_compile
import sys
from pathlib import Path

LAMBDA_PYTHON = (3, 13)  # template.yaml's Runtime; bytecode is specific to the minor version


def precompile(build_dir: Path) -> list[Path]:
    """Compiles every .py under build_dir; returns the ones Python could not compile (left as source)."""
    if sys.version_info[:2] != LAMBDA_PYTHON:
        raise SystemExit(
            f"precompile needs Python {'.'.join(map(str, LAMBDA_PYTHON))} (the Lambda runtime), "
            f"not {sys.version.split()[0]}"
        )
    compileall.compile_dir(
        build_dir, quiet=2, workers=0, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH
    )
    return [path for path in build_dir.rglob("*.py") if not Path(importlib.util.cache_from_source(str(path))).is_file()]


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else ".aws-sam/build")
    if not target.is_dir():
        raise SystemExit(f"{target} is not a directory: run sam build first")
    for source in precompile(target):  # a package's file that no Python 3.13 import could load either
        print(f"precompile: left as source: {source.relative_to(target)}", file=sys.stderr)
