"""Every figure of the performance issue, each beside a baseline measured in this run, then one line
per target. Figures come from this machine: compare ratios, not milliseconds, across machines.

Run: make bench   (or .venv/bin/python bench/run_all.py [--quick] [--strict])
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import sys
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent)]

import checkpoints  # noqa: E402
import cold_start  # noqa: E402
import memory  # noqa: E402
import read_path  # noqa: E402
import redaction  # noqa: E402
import transcripts  # noqa: E402
import write_path  # noqa: E402
from report import summary  # noqa: E402


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    system = f"{platform.system()} {platform.machine()}"
    return f"Python {platform.python_version()} on {system}, {os.cpu_count()} cores ({cpu})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer repetitions: a smoke run, not figures to quote")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    print(machine(), "\n")
    figures = cold_start.run(5 if args.quick else 15)
    print()
    figures += read_path.run(5 if args.quick else 31)
    print()
    figures += memory.run()
    print()
    figures += write_path.run(11 if args.quick else 101)
    print()
    figures += transcripts.run(5 if args.quick else 31)
    print()
    figures += checkpoints.run(5 if args.quick else 31)
    print()
    figures += redaction.run(5 if args.quick else 31)
    all_hold = summary(figures)
    sys.exit(1 if args.strict and not all_hold else 0)


if __name__ == "__main__":
    main()
