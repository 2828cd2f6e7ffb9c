"""A failing test's captured output, cut to its last lines: the functions log every request, so a
failure would otherwise print thousands of JSON lines above its assertion. TASKLOGS_CAPTURED_LINES sets
how many are kept (default 40; `all` keeps every line)."""

import os

import pytest

_SETTING = "TASKLOGS_CAPTURED_LINES"


def _kept() -> int | None:
    value = os.environ.get(_SETTING, "40")
    return None if value == "all" else max(0, int(value))


def tail(content: str, kept: int | None) -> str:
    lines = content.splitlines()
    if kept is None or len(lines) <= kept:
        return content
    left_out = f"[{len(lines) - kept} earlier lines left out: {_SETTING}=all shows them]"
    return "\n".join([left_out, *lines[len(lines) - kept :]]) + "\n"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        kept = _kept()
        report.sections = [(title, tail(content, kept)) for title, content in report.sections]
