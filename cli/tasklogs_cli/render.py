"""What the reader sees. The conversation goes to stdout as text, a table or JSON lines; what the reader
must know about it (paused, gaps, the task's state, errors) goes to stderr, so a pipe gets only the
conversation. Rich decides colour: on a terminal, none when piped or when NO_COLOR is set."""

import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from tasklogs_cli.api import ApiError


class Output(StrEnum):
    TEXT = "text"
    TABLE = "table"
    JSON = "json"


STATUS_STYLES = {
    "active": "bold green",
    "paused": "bold yellow",
    "pending": "blue",
    "initializing": "blue",
    "error": "bold red",
    "unknown": "magenta",
}
_UNBOUNDED = 100_000
WHO = {"input": ("you", "bold cyan", "cyan"), "output": ("agent", "bold green", "")}
# Where the service removed a secret, the text says `[REDACTED:<kind>]`: shown so it cannot pass for
# the agent's own words.
REDACTED_MARKER = r"\[REDACTED:[a-z0-9]+(?:-[a-z0-9]+)*\]"
REDACTED_STYLE = "bold black on yellow"


def _content(text: str, style: str, end: str = "") -> Text:
    content = Text(text, style=style, end=end)
    content.highlight_regex(REDACTED_MARKER, style=REDACTED_STYLE)
    return content


def redacted_note(redactions: list[dict[str, Any]]) -> str:
    """`2 secrets removed (github-token, jwt)`."""
    count = sum(r.get("count", 0) for r in redactions)
    kinds = ", ".join(r.get("kind", "?") for r in redactions)
    return f"{count} secret{'' if count == 1 else 's'} removed ({kinds})"


def consoles() -> tuple[Console, Console]:
    """stdout for the conversation, stderr for notes. No highlighting (content is shown as it is), and
    soft wrap: the terminal wraps long lines itself, so box drawing in agent output keeps its shape."""
    out = Console(highlight=False, soft_wrap=True)
    if not out.is_terminal:  # piped: tables as wide as their content, never cut at 80 columns
        out = Console(highlight=False, soft_wrap=True, width=_UNBOUNDED)
    return out, Console(stderr=True, highlight=False, soft_wrap=True)


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def local_time(value: str) -> str:
    """An RFC 3339 time in the reader's local time zone."""
    try:
        return parse_time(value).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return value


def ago(value: str, now: datetime | None = None) -> str:
    """'3 hours ago' for an RFC 3339 time."""
    seconds = int(((now or datetime.now(UTC)) - parse_time(value)).total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "just now"


def clock_time(value: str) -> str:
    """'14:05' for an RFC 3339 time, in the reader's local time zone."""
    try:
        return parse_time(value).astimezone().strftime("%H:%M")
    except ValueError:
        return value


def gap_note(gap: dict[str, Any], kept_until: str | None = None) -> str:
    """'12 earlier messages were not captured' for a §7 gap; for a crash (`agent lost`), until when the
    history was kept: `kept_until`, when the session was last stored (or its last entry's time)."""
    if gap.get("reason") == "agent lost":
        until = f" until {clock_time(kept_until)}" if kept_until else ""
        return f"history kept{until}; the workspace stopped answering"
    missing = gap.get("missing")
    where = "earlier " if gap.get("after_seq") is None else "later " if gap.get("before_seq") is None else ""
    if isinstance(missing, int):
        count = f"{missing} {where}message{'s' if missing != 1 else ''}"
    else:
        count = f"Some {where}messages"
    if gap.get("reason") == "over size limit":
        return f"{count} left out: over the session size limit"
    return f"{count} {'was' if missing == 1 else 'were'} not captured"


def print_error(err: Console, error: ApiError, hint: str | None = None) -> None:
    """The service's message and detail, each validation, and what to do next: never a traceback."""
    line = Text("error: ", style="bold red")
    line.append(error.message)
    err.print(line)
    if error.detail:
        err.print(Text(f"  {error.detail}"))
    for name, detail in error.validations:
        err.print(Text(f"  {name}: {detail}"))
    if hint:
        err.print(Text(f"  {hint}", style="dim"))


def note(err: Console, text: str, style: str = "yellow") -> None:
    err.print(Text(text, style=style))


class ConversationPrinter:
    """Prints transcript entries (§7) in order, with gap notes and session breaks where they fall. On a
    terminal a still-changing last message (`final: false`) is drawn in place below the rest and
    redrawn until it is final; elsewhere only final entries are printed when `hold_provisional`. On
    close, a message still held is printed as last seen: what a reader saw never vanishes, and a task
    deleted mid-message still shows its end."""

    def __init__(self, out: Console, err: Console, output: Output, *, hold_provisional: bool) -> None:
        self._out, self._err, self._output = out, err, output
        self._hold = hold_provisional
        self._session: int | None = None
        self._gaps_told: set[tuple[int | None, int | None]] = set()
        self._table_header_shown = False
        self._live: Live | None = None
        self._shown_provisional: str | None = None
        self._held: dict[str, Any] | None = None
        self._last_time: tuple[int, str] | None = None  # the newest entry shown: its seq and time
        self._stored_until: str | None = None

    # ---- entries
    def show(self, entries: list[dict[str, Any]], gaps: list[dict[str, Any]], stored_until: str | None = None) -> None:
        """Prints final entries (and non-final ones unless held), the gaps among them, and redraws the
        provisional one. `stored_until`: the page's snapshot_at, when the newest stored session was last
        written (a crash's note says so; without it, the time of the entry before the gap)."""
        self._stored_until = stored_until
        provisional = None
        printable = []
        for entry in entries:
            if self._hold and not entry.get("final", True):
                provisional = entry
            else:
                printable.append(entry)
        if printable:
            self._clear_provisional()
        rows: list[dict[str, Any]] = []
        for entry in printable:
            before = [g for g in gaps if g.get("before_seq") == entry["seq"]]
            if before or (self._session is not None and entry["session"] != self._session):
                self._flush_rows(rows)
            self._tell_gaps(before)
            if entry["session"] != self._session and (self._session is not None or entry["session"] > 1):
                self._session_break(entry["session"])
            self._session = entry["session"]
            self._last_time = (entry["seq"], entry["time"])
            rows.append(entry)
        self._flush_rows(rows)
        if printable:  # a gap after the newest entry
            self._tell_gaps([g for g in gaps if g.get("before_seq") is None])
        if self._hold:
            self._held = provisional
            self._draw_provisional(provisional)

    def close(self) -> None:
        held, self._held = self._held, None
        self._clear_provisional()
        if held is not None:
            self._hold = False
            self.show([held], [])

    def _flush_rows(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        if self._output is Output.JSON:
            for entry in rows:
                self._out.print(json.dumps(entry, ensure_ascii=False), markup=False, soft_wrap=True)
        elif self._output is Output.TABLE:
            self._out.print(self._table(rows))
        else:
            for entry in rows:
                self._out.print(self._text(entry))
        rows.clear()

    def _text(self, entry: dict[str, Any]) -> RenderableType:
        who, header_style, body_style = WHO.get(entry["type"], WHO["output"])
        header = Text(f"{who} · {local_time(entry['time'])}", style=header_style)
        if not entry.get("final", True):
            header.append(" (still writing)", style="dim")
        if redactions := entry.get("redactions"):
            header.append(f" · {redacted_note(redactions)}", style=REDACTED_STYLE)
        # The content exactly as the agent's terminal had it: no markup, no re-wrapping.
        return Group(header, _content(entry["content"], body_style, end="\n"), Text(""))

    def _table(self, rows: list[dict[str, Any]]) -> Table:
        table = Table(show_header=not self._table_header_shown, show_lines=False, box=None, pad_edge=False)
        table.add_column("SESSION", justify="right", no_wrap=True, width=7)
        table.add_column("TIME", no_wrap=True, width=19)
        table.add_column("WHO", no_wrap=True, width=5)
        table.add_column("CONTENT", overflow="fold")
        for entry in rows:
            who, header_style, body_style = WHO.get(entry["type"], WHO["output"])
            table.add_row(
                str(entry["session"]),
                local_time(entry["time"]),
                Text(who, style=header_style),
                _content(entry["content"], body_style),
            )
        self._table_header_shown = True
        return table

    def _session_break(self, session: int) -> None:
        if self._output is Output.TEXT:
            self._out.print(Text(f"── session {session} ──", style="dim"))
            self._out.print()

    def _tell_gaps(self, gaps: list[dict[str, Any]]) -> None:
        for gap in gaps:
            key = (gap.get("after_seq"), gap.get("before_seq"))
            if key not in self._gaps_told:
                self._gaps_told.add(key)
                last = self._last_time
                kept_until = last[1] if last is not None and last[0] == gap.get("after_seq") else None
                if gap.get("before_seq") is None and self._stored_until:  # the newest session's last write
                    kept_until = self._stored_until
                note(self._err, gap_note(gap, kept_until), style="dim yellow")

    # ---- the message still being written
    def _draw_provisional(self, entry: dict[str, Any] | None) -> None:
        if entry is None:
            self._clear_provisional()
            return
        if not self._out.is_terminal or self._output is Output.JSON:
            return  # printed once it is final
        if self._live is None:
            self._live = Live(console=self._out, auto_refresh=False, transient=True, vertical_overflow="crop")
            self._live.start()
        key = f"{entry['seq']}:{entry['content']}"
        if key != self._shown_provisional:
            self._live.update(self._text(entry), refresh=True)
            self._shown_provisional = key

    def _clear_provisional(self) -> None:
        if self._live is not None:
            self._live.update(Text(""), refresh=True)
            self._live.stop()
            self._live = None
        self._shown_provisional = None


def tasks_table(tasks: list[dict[str, Any]]) -> Table:
    table = Table(box=None, pad_edge=False)
    table.add_column("NAME", no_wrap=True, overflow="ellipsis")
    table.add_column("STATUS", no_wrap=True, min_width=12)
    table.add_column("CREATED", no_wrap=True, min_width=19)
    table.add_column("ID", no_wrap=True, min_width=36)
    for task in tasks:
        status = str(task.get("status", ""))
        created = str(task.get("created_at") or "")
        table.add_row(
            Text(str(task.get("name", ""))),
            Text(status, style=STATUS_STYLES.get(status, "")),
            local_time(created) if created and not created.startswith("0001-") else "",
            str(task.get("id", "")),
        )
    return table
