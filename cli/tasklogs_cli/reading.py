"""Reading a task's conversation once (`tasklogs logs`) and following it (`--follow`), over the
transcript route (§7) with conditional requests (§8)."""

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from rich.console import Console

from tasklogs_cli.api import (
    PAGE_LIMIT,
    SNAPSHOT_STATUSES,
    TROUBLED_STATUSES,
    ApiError,
    Page,
    Status,
    TasklogsApi,
    TaskRef,
)
from tasklogs_cli.exits import Exit, exit_for
from tasklogs_cli.render import ConversationPrinter, ago, local_time, note, print_error

# Where following backs off to when the service keeps failing: at most one request a minute.
MAX_BACKOFF_SECONDS = 60.0


@dataclass
class Progress:
    """Where a reader stands: the highest seq of a final entry shown (the next `after`), and what the
    newest page said."""

    cursor: int = -1  # `after=-1` is the first page (the service's extension to §7)
    status: str = ""
    live_error: dict[str, str] | None = None
    shown: int = 0

    def advance(self, page: Page) -> None:
        self.status, self.live_error = page.status, page.live_error
        for entry in page.entries:
            if entry.get("final", True):
                self.cursor = max(self.cursor, entry["seq"])


def read_whole(api: TasklogsApi, ref: TaskRef, printer: ConversationPrinter) -> Progress:
    """Every entry from the oldest, a page of 1,000 at a time."""
    progress = Progress()
    while True:
        page = api.page(ref, after=progress.cursor, limit=PAGE_LIMIT)
        assert page is not None  # noqa: S101 - no ETag was sent, so never a 304
        printer.show(page.entries, page.gaps, stored_until=page.snapshot_at)
        progress.advance(page)
        progress.shown += len(page.entries)
        if not page.has_newer or not page.entries or all(not e.get("final", True) for e in page.entries):
            return progress


def read_tail(api: TasklogsApi, ref: TaskRef, printer: ConversationPrinter, count: int) -> Progress:
    """The newest `count` entries, paging back from the newest end, then shown oldest first."""
    pages: list[Page] = []
    before: int | None = None
    wanted = count
    while wanted > 0:
        page = api.page(ref, before=before, limit=min(wanted, PAGE_LIMIT))
        assert page is not None  # noqa: S101 - no ETag was sent, so never a 304
        pages.insert(0, page)
        wanted -= len(page.entries)
        if not page.has_older or not page.entries:
            break
        before = page.entries[0]["seq"]
    entries = [entry for page in pages for entry in page.entries]
    gaps = [gap for page in pages for gap in page.gaps]
    printer.show(entries, gaps, stored_until=pages[-1].snapshot_at if pages else None)
    progress = Progress(shown=len(entries))
    for page in pages:  # oldest first: the newest page says the task's status now
        progress.advance(page)
    return progress


def tell_state(api: TasklogsApi, ref: TaskRef, progress: Progress, err: Console) -> None:
    """What a reader must know about what they see: nothing at all, a snapshot rather than a live
    agent, a task in trouble, an agent that did not answer."""
    if progress.shown == 0:
        note(err, "No messages yet.", style="dim")
    status = progress.status
    if status in SNAPSHOT_STATUSES:
        tell_snapshot(api, ref, status, err)
    elif status in TROUBLED_STATUSES:
        note(err, f'The task is in state "{status}": this is its stored conversation.', style="bold red")
    if progress.live_error:
        tell_live_error(err, progress.live_error)


def tell_snapshot(api: TasklogsApi, ref: TaskRef, status: str, err: Console) -> None:
    """'paused: a snapshot taken 3 hours ago (2026-11-25 11:02:11)': §5's snapshot_at, from /logs."""
    try:
        taken = api.snapshot_at(ref)
    except ApiError:
        words = "a stored snapshot"
    else:
        words = f"a snapshot taken {ago(taken)} ({local_time(taken)})" if taken else "no conversation was stored"
    note(err, f"{status}: {words}")


def tell_live_error(err: Console, live_error: dict[str, str]) -> None:
    detail = f" ({live_error['detail']})" if live_error.get("detail") else ""
    note(err, f"The agent did not answer: {live_error.get('message', '')}{detail} Showing what is stored.")


@dataclass
class Follower:
    """Polls `after=<cursor>` with the last ETag every `interval` seconds; 304s cost the service one
    GetItem for a task that is not active (§8). Failures back off, doubling up to a minute."""

    api: TasklogsApi
    ref: TaskRef
    printer: ConversationPrinter
    err: Console
    interval: float = 2.0
    sleep: Callable[[float], None] = time.sleep
    _etag: str | None = field(default=None, init=False)
    _failures: int = field(default=0, init=False)

    def run(self, progress: Progress) -> Exit:
        delay = self.interval
        while True:
            self.sleep(delay)
            try:
                page = self.api.page(self.ref, after=progress.cursor, limit=PAGE_LIMIT, etag=self._etag)
            except ApiError as error:
                if error.status == 404:
                    note(self.err, "The task was deleted.", style="bold")
                    return Exit.OK
                if error.status is not None and error.status < 500 and error.status != 429:
                    print_error(self.err, error)
                    return exit_for(error)
                delay = self._back_off(error)
                continue
            if self._failures:
                note(self.err, "Reconnected.", style="green")
                self._failures = 0
            delay = self.interval
            if page is None:
                continue
            self._etag = page.etag
            self._tell_changes(progress, page)
            before = progress.cursor
            self.printer.show(page.entries, page.gaps, stored_until=page.snapshot_at)
            progress.advance(page)
            progress.shown += len(page.entries)
            if page.has_newer and progress.cursor > before:
                delay = 0  # more is waiting: fetch it now

    def _back_off(self, error: ApiError) -> float:
        self._failures += 1
        delay = min(self.interval * 2.0**self._failures, MAX_BACKOFF_SECONDS)
        if self._failures == 1 or delay == MAX_BACKOFF_SECONDS:
            detail = f" ({error.detail})" if error.detail else ""
            note(self.err, f"{error.message}{detail} Retrying in {delay:.0f} s.")
        return delay

    def _tell_changes(self, progress: Progress, page: Page) -> None:
        if page.status != progress.status:
            note(self.err, _status_change(page.status), style="bold")
            if page.status in SNAPSHOT_STATUSES:
                tell_snapshot(self.api, self.ref, page.status, self.err)
        if page.live_error and page.live_error != progress.live_error:
            tell_live_error(self.err, page.live_error)
        elif progress.live_error and not page.live_error and page.live:
            note(self.err, "The agent answers again.", style="green")


def _status_change(status: str) -> str:
    words: dict[str, str] = {
        Status.ACTIVE: "The task is active again: following its agent live.",
        Status.PAUSED: "The task paused: its conversation was stored; waiting for it to resume.",
    }
    return words.get(status, f'The task is now "{status}".')
