"""Peak memory of the live path (target 4 of the performance issue): the logs handler serving a
5 MB AgentAPI `/messages` answer, peak RSS above the warm container's idle RSS, against the payload
size. Target: <= 3x the payload.

Measured in a fresh child process (the parent only starts the agent): the child warms up with a
small conversation, resets the kernel's peak-RSS mark (/proc/self/clear_refs), serves the 5 MB
conversation once and reads the new peak (VmHWM). Linux only.

Run: make bench   (or .venv/bin/python bench/memory.py)
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench"), str(ROOT / "layers" / "core")]

from report import Figure, show  # noqa: E402

PAYLOAD_BYTES = 5_000_000
WARM_UP_BYTES = 10_000
MB = 1_000_000


def _status_kib(field: str) -> int:
    return int(re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M).group(1))


def _reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := current RSS


def child(urls: dict[str, str]) -> None:
    """Runs in the fresh process; prints one JSON line of figures in bytes."""
    import contextlib
    import io

    import httpx
    from aws_in_process import aws_in_process

    from devstack.demo.catalogue import TASKS_BY_NAME, logs_path, task_item
    from devstack.generators.events import http_api_event
    from devstack.runtime.lambda_runtime import context_for, load_handler
    from tasklogs_core.edge.response_size import OMITTED_HEADER

    task = TASKS_BY_NAME["refactor-auth"]
    with aws_in_process() as aws:
        handler = load_handler("TaskLogsFunction")
        event = http_api_event("GET", logs_path(task.owner.username, task.task_id), claims=task.owner.claims)

        def serve(url: str) -> dict:
            aws.put_task(task_item(task, url, None))
            with contextlib.redirect_stdout(io.StringIO()):
                result = handler(event, context_for("TaskLogsFunction"))
            assert result["statusCode"] == 200 and OMITTED_HEADER not in result["headers"], result["headers"]
            return result

        serve(urls["warm"])
        payload = len(httpx.get(f"{urls['big']}/messages").content)
        aws.put_task(task_item(task, urls["big"], None))
        figures = {"payload": payload}
        for run in ("first", "second"):
            idle = _status_kib("VmRSS")
            _reset_peak()
            result = serve(urls["big"])
            figures[f"{run}_handler"] = (_status_kib("VmHWM") - idle) * 1024
            # What the Lambda runtime does next, in the same process: serialise the result to send it.
            sent = json.dumps(result).encode()
            figures[f"{run}_with_runtime"] = (_status_kib("VmHWM") - idle) * 1024
            del result, sent
        print(json.dumps(figures), flush=True)


def run() -> list[Figure]:
    from agent_process import agents_serving

    print(
        f"peak RSS above idle, one warm container, {PAYLOAD_BYTES / MB:.0f} MB /messages (fresh process, Linux VmHWM)"
    )
    with agents_serving([WARM_UP_BYTES, PAYLOAD_BYTES]) as urls:
        arg = json.dumps({"warm": urls[WARM_UP_BYTES], "big": urls[PAYLOAD_BYTES]})
        out = subprocess.run([sys.executable, __file__, "--child", arg], capture_output=True, text=True, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    payload = got["payload"] / MB
    return [
        show(Figure("live path, first 5 MB request", got["first_handler"] / MB, payload, "MB", 3.0, "payload")),
        show(Figure("  same, second request", got["second_handler"] / MB, payload, "MB", None, "payload")),
        show(
            Figure(
                "  first, with the runtime's json.dumps", got["first_with_runtime"] / MB, payload, "MB", None, "payload"
            )
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(json.loads(args.child))
    else:
        run()


if __name__ == "__main__":
    main()
