"""The `tasklogs` command: `logs` and `tasks`. Each command parses its options (Typer), makes one
client, and hands over to reading.py; every failure ends in a message and an exit code (exits.py)."""

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Annotated

import typer

from tasklogs_cli.api import TROUBLED_STATUSES, ApiError, Status, TasklogsApi, TaskRef
from tasklogs_cli.exits import Exit, exit_for
from tasklogs_cli.reading import Follower, read_tail, read_whole, tell_state
from tasklogs_cli.render import ConversationPrinter, Output, consoles, print_error, tasks_table

app = typer.Typer(
    name="tasklogs",
    help="Read and follow the conversations of AI coding-agent tasks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class TaskOutput(StrEnum):
    TABLE = "table"
    JSON = "json"


Url = Annotated[
    str | None,
    typer.Option("--url", envvar=["TASKLOGS_URL", "CODER_URL"], help="The service's base URL.", show_default=False),
]
Token = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar=["TASKLOGS_TOKEN", "CODER_SESSION_TOKEN"],
        help="Your token (a JWT the service's authorizer accepts).",
        show_default=False,
    ),
]


def _hint(error: ApiError, task: str | None) -> str | None:
    """What to do next, for the refusals a person meets first: a token the service does not take, a
    task it does not find (the service's own 404 names nothing, so a guess never tells whose it is)."""
    if error.status == 401:
        return (
            "The service refused the token: pass a JWT its authorizer accepts with --token or TASKLOGS_TOKEN "
            "(against the local stack: TASKLOGS_TOKEN=$(.venv/bin/python -m devstack token alice))."
        )
    if error.status == 404 and task is not None:
        ref = TaskRef.parse(task)
        if ref.owner == "me":
            return f"No task {ref.task!r} among yours: `tasklogs tasks` lists them."
        return f"No task {ref.task!r} of {ref.owner} that you may read: `tasklogs tasks` lists yours."
    return None


@contextmanager
def _service(url: str | None, token: str | None, *, task: str | None = None) -> Iterator[TasklogsApi]:
    """A client for the service, or a clear exit when the configuration is missing; any ApiError
    raised inside ends the command with the contract's message, a hint where one helps, and its exit
    code."""
    _, err = consoles()
    if not url:
        print_error(err, ApiError(None, "No service URL.", "Set TASKLOGS_URL (or CODER_URL), or pass --url."))
        raise typer.Exit(Exit.USAGE)
    if not token:
        print_error(err, ApiError(None, "No token.", "Set TASKLOGS_TOKEN (or CODER_SESSION_TOKEN), or pass --token."))
        raise typer.Exit(Exit.UNAUTHORIZED)
    try:
        with TasklogsApi(url, token) as api:
            yield api
    except ApiError as error:
        print_error(err, error, _hint(error, task))
        raise typer.Exit(exit_for(error)) from None


@app.command()
def logs(
    task: Annotated[str, typer.Argument(metavar="[OWNER/]TASK", help="A task's name or id; OWNER defaults to you.")],
    follow: Annotated[
        bool,
        typer.Option(
            "--follow",
            "-f",
            metavar="",  # a flag: no <bool> beside it in --help, as if it took a value
            help="Keep printing new messages until Ctrl-C or the task is deleted.",
        ),
    ] = False,
    tail: Annotated[
        int | None, typer.Option("--tail", "-n", min=1, help="Only the newest N messages.", show_default=False)
    ] = None,
    output: Annotated[Output, typer.Option("--output", "-o", help="text, table, or json (JSON lines).")] = Output.TEXT,
    interval: Annotated[float, typer.Option("--interval", min=0.5, help="Seconds between polls when following.")] = 2.0,
    url: Url = None,
    token: Token = None,
) -> None:
    """Print a task's conversation: every session, across pauses and resumes."""
    out, err = consoles()
    printer = ConversationPrinter(out, err, output, hold_provisional=follow)
    try:
        with _service(url, token, task=task) as api:
            ref = TaskRef.parse(task)
            ref = TaskRef(ref.owner, str(api.task(ref)["id"]))  # by id from here on, whatever is renamed
            progress = read_tail(api, ref, printer, tail) if tail else read_whole(api, ref, printer)
            tell_state(api, ref, progress, err)
            if follow:
                raise typer.Exit(Follower(api, ref, printer, err, interval).run(progress))
    except KeyboardInterrupt:
        raise typer.Exit(Exit.INTERRUPTED) from None
    finally:
        printer.close()
    if progress.status in TROUBLED_STATUSES:
        raise typer.Exit(Exit.TASK_STATE)
    if progress.live_error:
        raise typer.Exit(Exit.UNAVAILABLE)


@app.command()
def tasks(
    status: Annotated[Status | None, typer.Option("--status", "-s", help="Only tasks in this status.")] = None,
    output: Annotated[TaskOutput, typer.Option("--output", "-o", help="table, or json (JSON lines).")] = (
        TaskOutput.TABLE
    ),
    url: Url = None,
    token: Token = None,
) -> None:
    """List your tasks with their status, newest first."""
    out, err = consoles()
    with _service(url, token) as api:
        found = api.tasks(status.value if status else None)
    if output is TaskOutput.JSON:
        for task in found:
            out.print(json.dumps(task, ensure_ascii=False), markup=False, soft_wrap=True)
    elif found:
        out.print(tasks_table(found))
    else:
        err.print(f"No tasks{f' in status {status.value}' if status else ''}.", style="dim")


def run() -> None:
    """The console script: a bug in tasklogs is one line on stderr and exit 1, never a traceback
    (TASKLOGS_DEBUG=1 shows it)."""
    try:
        app()
    except Exception as error:
        if os.environ.get("TASKLOGS_DEBUG"):
            raise
        print(f"tasklogs: unexpected error: {type(error).__name__}: {error}", file=sys.stderr)  # noqa: T201
        sys.exit(Exit.FAILED)
