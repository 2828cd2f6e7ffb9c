"""Secret redaction (contract §12; docs/redaction.md): what scanning costs where content enters and leaves.

- Upload: the log-snapshot handler storing a 64 KiB upload, with the scanner vs with a scanner that
  finds nothing at no cost (everything else the same). Target: <= 1.3x.
- Live path: the logs handler serving a 1 MB AgentAPI `/messages` answer from a real server on
  loopback, with vs without scanning. Target: <= 1.3x.
- The scanner alone: MB/s over 1 MB of terminal-like agent output, with secrets and look-alikes
  planted; recall and precision on the test corpus (tests/secrets_corpus.py; recall 100%, precision
  >= 99%); the rule set's compile time, cold and from the SDK's disk cache.

Run: make bench   (or .venv/bin/python bench/redaction.py --repeats 31)
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench"), str(ROOT / "layers" / "core")]

from agent_process import agents_serving  # noqa: E402
from aws_in_process import aws_in_process  # noqa: E402
from conversations import answer, messages_of_size  # noqa: E402
from report import Figure, interleaved_medians_ms, show  # noqa: E402

from devstack.demo.catalogue import TASKS_BY_NAME, UPLOAD_TASK, logs_path, task_item, upload_path  # noqa: E402
from devstack.generators.events import http_api_event  # noqa: E402
from devstack.runtime.lambda_runtime import context_for, load_handler  # noqa: E402
from tasklogs_core.domain.secrets import SecretSpan, redacted, redactions_in  # noqa: E402
from tests.secrets_corpus import Planted, corpus  # noqa: E402

UPLOAD_BYTES = 64 * 1024
LIVE_BYTES = 1_000_000


class FindsNothing:
    """The baseline: everything the handler does, but no scan."""

    def find(self, _text: bytes) -> list[SecretSpan]:
        return []


@contextlib.contextmanager
def without_scanning() -> Iterator[None]:
    from tasklogs_core.adapters import clients

    real = clients.secret_scanner
    clients.secret_scanner = FindsNothing  # type: ignore[assignment]
    try:
        yield
    finally:
        clients.secret_scanner = real


def invocation(handler, event, function: str, status: int):
    def call() -> None:
        with contextlib.redirect_stdout(io.StringIO()):
            result = handler(event, context_for(function))
        assert result["statusCode"] == status, result

    def unscanned() -> None:
        with without_scanning():
            call()

    return call, unscanned


def handler_figures(repeats: int) -> list[Figure]:
    figures = []
    with aws_in_process() as aws:
        aws.put_task(task_item(UPLOAD_TASK, None, None))
        body = answer(messages_of_size(UPLOAD_BYTES))
        event = http_api_event(
            "POST",
            upload_path(UPLOAD_TASK.task_id),
            claims=None,
            raw_query="format=agentapi",
            headers={"coder-session-token": UPLOAD_TASK.agent_token, "content-type": "application/json"},
            body=body.decode(),
        )
        scanned, unscanned = invocation(load_handler("LogSnapshotFunction"), event, "LogSnapshotFunction", 204)
        mine, base = interleaved_medians_ms(scanned, unscanned, repeats)
        figures.append(show(Figure("upload, 64 KiB, scanned", mine, base, "ms", 1.3, "the same upload unscanned")))

        task = TASKS_BY_NAME["refactor-auth"]
        with agents_serving([LIVE_BYTES]) as urls:
            aws.put_task(task_item(task, urls[LIVE_BYTES], None))
            event = http_api_event("GET", logs_path(task.owner.username, task.task_id), claims=task.owner.claims)
            scanned, unscanned = invocation(load_handler("TaskLogsFunction"), event, "TaskLogsFunction", 200)
            mine, base = interleaved_medians_ms(scanned, unscanned, repeats)
            figures.append(
                show(Figure("live path, 1 MB /messages, scanned", mine, base, "ms", 1.3, "the same read unscanned"))
            )
    return figures


def terminal_output(size: int) -> bytes:
    """Agent output as terminals print it, with the corpus's secrets and look-alikes among it."""
    items = [item.text if isinstance(item, Planted) else item for item in corpus(seed=7, per_kind=3)]
    text = "".join(message["content"] + "\n" for message in messages_of_size(size))
    mixed, at = [], 0
    step = max(1, len(text) // len(items))
    for item in items:
        mixed += [text[at : at + step], item]
        at += step
    return "".join(mixed).encode()[:size]


def scanner_figures(repeats: int) -> list[Figure]:
    from tasklogs_core.adapters.secret_scanner import RuleSetScanner

    scanner = RuleSetScanner()
    plain = "\n\n".join(message["content"] for message in messages_of_size(LIVE_BYTES)).encode()
    for label, text in (
        ("an agent conversation", plain),
        ("terminal output dense with secrets", terminal_output(LIVE_BYTES)),
    ):
        samples = []
        for _ in range(repeats):
            started = time.perf_counter()
            scanner.find(text)
            samples.append(time.perf_counter() - started)
        seconds = sorted(samples)[len(samples) // 2]
        size = len(text) / 1e6
        print(f"scanner: {size / seconds:.0f} MB/s over {size:.2f} MB of {label} ({seconds * 1000:.2f} ms)")

    found = missed = false = 0
    for item in corpus():
        if isinstance(item, Planted):
            out = redacted(item.text.encode(), scanner).decode()
            missed += any(secret in out for secret in item.secrets)
            found += not any(secret in out for secret in item.secrets)
        else:
            false += sum(r.count for r in redactions_in(redacted(item.encode(), scanner)))
    recall, precision = found / (found + missed), found / (found + false)
    print(f"corpus: recall {recall:.1%} ({found}/{found + missed}), precision {precision:.1%} ({false} false)")
    figures = [
        # Shown as ratios to 1 so the summary judges them with the others: missed / planted, false / found.
        show(Figure("secrets missed per secret planted, corpus", 1 - recall, 1.0, "", 0.0, "all planted")),
        show(Figure("false finds per true find, corpus", 1 / precision - 1, 1.0, "", 1 / 0.99 - 1, "all found")),
    ]
    cold, cached = compile_seconds()
    print(f"rule set compile: {cold:.2f} s cold, {cached:.2f} s from the disk cache (once a container)")
    return figures


def compile_seconds() -> tuple[float, float]:
    probe = (
        "import time, kingfisher_sdk as k; t = time.perf_counter(); k.Rules(cache_dir=sys.argv[1]);"
        " print(time.perf_counter() - t)"
    )
    with tempfile.TemporaryDirectory() as cache:
        times = [
            float(
                subprocess.run(
                    [sys.executable, "-c", f"import sys; {probe}", cache], capture_output=True, text=True, check=True
                ).stdout
            )
            for _ in range(2)
        ]
    return times[0], times[1]


def run(repeats: int) -> list[Figure]:
    print(f"secret redaction, median of {repeats} (moto in process, AgentAPI on loopback)")
    return [*handler_figures(repeats), *scanner_figures(repeats)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=31)
    figures = run(parser.parse_args().repeats)
    print(json.dumps({f.name: round(f.ratio, 3) for f in figures}))


if __name__ == "__main__":
    main()
