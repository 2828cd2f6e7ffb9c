"""The generated tables of docs/api.md, the API reference in the project's own words: every route (from
the OpenAPI document, itself generated from the code) and every error answer (from the HTTP edge's
error table). Each table sits between markers; `make openapi` rewrites them, and a test fails when the
page has drifted from the code."""

import re
from pathlib import Path

from devstack.generators.openapi import document
from devstack.runtime.template_resources import ROOT

API_REFERENCE_PATH = ROOT / "docs" / "api.md"
_BLOCK = re.compile(r"(<!-- generated: (?P<name>[\w-]+) -->\n).*?(<!-- end of generated -->)", re.S)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def routes_table() -> str:
    rows = ["| Route | What it answers | Caller |", "|---|---|---|"]
    for path, operations in document()["paths"].items():
        for method, operation in operations.items():
            security = operation.get("security")
            caller = "anyone (no token)" if security == [] else _caller(security)
            rows.append(f"| `{method.upper()} {path}` | {_cell(operation['summary'])} | {caller} |")
    return "\n".join(rows) + "\n"


def _caller(security: list[dict] | None) -> str:
    schemes = {name for requirement in security or [] for name in requirement}
    return "the task's workspace agent (agent token)" if any("agent" in s for s in schemes) else "a user (JWT)"


def errors_table() -> str:
    from tasklogs_core.edge.http_errors import ERROR_TABLE

    rows = ["| Status | `message` | When | `detail` |", "|---|---|---|---|"]
    for error, (status, message, show_detail) in sorted(ERROR_TABLE.items(), key=lambda row: (row[1][0], row[1][1])):
        when = _cell((error.__doc__ or "").strip().split("\n\n")[0])
        rows.append(f"| {status} | `{message}` | {when} | {'says what' if show_detail else 'none'} |")
    return "\n".join(rows) + "\n"


def render(text: str) -> str:
    tables = {"routes": routes_table, "errors": errors_table}
    return _BLOCK.sub(lambda m: m.group(1) + tables[m.group("name")]() + m.group(3), text)


def write(path: Path = API_REFERENCE_PATH) -> Path:
    path.write_text(render(path.read_text()))
    return path
