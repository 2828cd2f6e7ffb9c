"""Read-only checks of a deployed tasklogs stack, for a pipeline to gate on after each deploy:

    make smoke URL=https://<api id>.execute-api.<region>.amazonaws.com TOKEN=<a user's JWT> TASK=<their task>

(TOKEN and URL may come from TASKLOGS_TOKEN and TASKLOGS_URL instead, which keeps the token out of the
process list.) Each check is one request, bounded in time; nothing is written. Prints one line per
check and exits 0 when all pass, 1 when any fails, 2 on a usage error.
"""

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

import httpx

TIMEOUT_SECONDS = 10.0


class Failed(Exception):
    """A check's failure, in words for the report."""


@dataclass
class Smoke:
    http: httpx.Client
    token: str
    task: str
    status: str = ""  # the task's, once found
    etag: str = ""  # the transcript page's, once read

    def get(self, path: str, *, token: bool = True, etag: str | None = None, **params: object) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"} if token else {}
        if etag:
            headers["If-None-Match"] = etag
        try:
            return self.http.get(path, headers=headers, params=params or None)
        except httpx.HTTPError as error:
            raise Failed(f"cannot reach the service: {error or type(error).__name__}") from None

    @property
    def task_path(self) -> str:
        return f"/api/v2/tasks/me/{quote(self.task, safe='')}"

    # ---- the checks, in the order a reader's client makes its requests

    def refuses_no_token(self) -> str:
        answer = self.get("/api/v2/tasks", token=False)
        expect(answer, 401)
        return "401 without a token (the authorizer is in front)"

    def lists_tasks(self) -> str:
        body = expect(self.get("/api/v2/tasks"), 200)
        if not isinstance(body.get("tasks"), list) or body.get("count") != len(body["tasks"]):
            raise Failed(f"not a task list: {short(body)}")
        return f"the task list: {len(body['tasks'])} tasks"

    def finds_task(self) -> str:
        body = expect(self.get(self.task_path), 200)
        self.status = str(body.get("status"))
        return f"the task: {body.get('name')} ({body.get('id')}), {self.status}"

    def reads_logs(self) -> str:
        answer = self.get(f"{self.task_path}/logs")
        if self.status in ("error", "unknown"):  # §5: no logs in these states
            expect(answer, 409)
            return f"its logs: 409, as §5 answers for a task in state {self.status}"
        body = expect(answer, 200)
        if not isinstance(body.get("logs"), list):
            raise Failed(f"not a logs answer: {short(body)}")
        return f"its logs: {len(body['logs'])} entries{', a snapshot' if body.get('snapshot') else ', live'}"

    def reads_transcript(self) -> str:
        answer = self.get(f"{self.task_path}/transcript", limit=5)
        body = expect(answer, 200)
        if not isinstance(body.get("entries"), list) or not answer.headers.get("etag"):
            raise Failed(f"not a transcript page with an ETag: {short(body)}")
        self.etag = answer.headers["etag"]
        return f"a transcript page: {len(body['entries'])} entries, ETag {self.etag}"

    def answers_304(self) -> str:
        # An active task's ETag follows its agent's answer, which may move between two requests: once more.
        for _ in range(2):
            answer = self.get(f"{self.task_path}/transcript", etag=self.etag, limit=5)
            if answer.status_code == 304:
                return "the same request with If-None-Match: 304"
            self.etag = answer.headers.get("etag", self.etag)
        raise Failed(f"expected 304, got {answer.status_code}")

    def serves_viewer(self) -> str:
        answer = self.get("/viewer", token=False)
        if answer.status_code != 200 or "text/html" not in answer.headers.get("content-type", ""):
            raise Failed(f"expected the page, got {answer.status_code} {answer.headers.get('content-type')}")
        if "script-src 'self'" not in answer.headers.get("content-security-policy", ""):
            raise Failed("no Content-Security-Policy limiting scripts to the page's origin")
        return "the web viewer's page, with its Content-Security-Policy"


def expect(answer: httpx.Response, status: int) -> dict:
    try:
        body = answer.json()
    except ValueError:
        body = None
    if answer.status_code != status:
        said = f" {body.get('message')}" if isinstance(body, dict) and body.get("message") else ""
        raise Failed(f"expected {status}, got {answer.status_code}{said}")
    if not isinstance(body, dict):
        raise Failed(f"expected a JSON object, got {answer.headers.get('content-type')}")
    return body


def short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def run(url: str, token: str, task: str, out: Callable[[str], None] = print) -> int:
    out(f"tasklogs smoke test of {url} (task {task})")
    with httpx.Client(base_url=url.rstrip("/"), timeout=TIMEOUT_SECONDS) as http:
        smoke = Smoke(http, token, task)
        checks = [
            smoke.refuses_no_token,
            smoke.lists_tasks,
            smoke.finds_task,
            smoke.reads_logs,
            smoke.reads_transcript,
            smoke.answers_304,
            smoke.serves_viewer,
        ]
        passed = 0
        for check in checks:
            try:
                out(f"  ok    {check()}")
                passed += 1
            except Failed as failure:
                out(f"  FAIL  {check.__name__.replace('_', ' ')}: {failure}")
                if check in (smoke.finds_task, smoke.reads_transcript):  # the checks after it need it
                    break
    out(f"{passed} of {len(checks)} checks passed")
    return 0 if passed == len(checks) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Read-only checks of a deployed tasklogs stack.")
    parser.add_argument("--url", default=os.environ.get("TASKLOGS_URL"), help="the API's base URL (TASKLOGS_URL)")
    parser.add_argument("--token", default=os.environ.get("TASKLOGS_TOKEN"), help="a user's JWT (TASKLOGS_TOKEN)")
    parser.add_argument("--task", required=True, help="one of that user's tasks, by name or id")
    args = parser.parse_args(argv)
    if not args.url or not args.token:
        parser.error("--url and --token (or TASKLOGS_URL and TASKLOGS_TOKEN) are required")
    return run(args.url, args.token, args.task)


if __name__ == "__main__":
    sys.exit(main())
