"""The package's folders are its layers: domain → adapters → services → use cases → HTTP edge, each
importing only its own layer or lower ones (lazy and type-only imports included), a use case never
another, and the handlers above them all, thin: each calls one use case."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "layers" / "core" / "tasklogs_core"
LAYERS = ("domain", "adapters", "services", "use_cases", "edge")  # lowest first
HANDLERS = sorted((ROOT / "functions").glob("*/*_handler.py"))
# The domain is rules over data: no AWS, HTTP or Lambda library reaches it.
DOMAIN_MAY_IMPORT = {"pydantic"}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in the file, wherever it is written."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # `from tasklogs_core.adapters import clients` imports the module tasklogs_core.adapters.clients
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "tasklogs_core" and len(parts) > 1 and parts[1] in LAYERS else None


def modules_of(layer: str) -> list[Path]:
    return sorted((PACKAGE / layer).glob("*.py"))


def test_every_module_lives_in_a_layer() -> None:
    assert sorted(path.name for path in PACKAGE.glob("*.py")) == ["__init__.py"]
    assert sorted(path.name for path in PACKAGE.iterdir() if path.is_dir() and path.name != "__pycache__") == sorted(
        LAYERS
    )
    assert all(modules_of(layer) for layer in LAYERS)


@pytest.mark.parametrize("layer", LAYERS)
def test_a_layer_imports_only_itself_and_lower_layers(layer: str) -> None:
    allowed = set(LAYERS[: LAYERS.index(layer) + 1])
    wrong = [
        f"{path.relative_to(PACKAGE)}:{line} imports {module}"
        for path in modules_of(layer)
        for line, module in imported_modules(path)
        if module.startswith("tasklogs_core") and layer_of(module) not in allowed
    ]
    assert wrong == []


def imports_of_other_use_cases(paths: list[Path]) -> list[str]:
    """Imports, in these use-case modules, of a use case other than the module's own."""
    return [
        f"{path.name}:{line} imports {module}"
        for path in paths
        for line, module in imported_modules(path)
        if layer_of(module) == "use_cases" and module.split(".")[2] != path.stem
    ]


def test_a_use_case_never_imports_another() -> None:
    """What two use cases share lives below them (services/): the conversation writer, the snapshot codec."""
    assert imports_of_other_use_cases(modules_of("use_cases")) == []


def test_the_edge_imports_no_use_case() -> None:
    """The edge makes HTTP of what a use case serves: those types live in the domain, so the handler is
    the one place a use case and the edge meet."""
    wrong = [
        f"{path.name}:{line} imports {module}"
        for path in modules_of("edge")
        for line, module in imported_modules(path)
        if layer_of(module) == "use_cases"
    ]
    assert wrong == []


def test_the_domain_imports_only_the_standard_library_and_pydantic() -> None:
    import sys

    wrong = [
        f"{path.name}:{line} imports {module}"
        for path in modules_of("domain")
        for line, module in imported_modules(path)
        if (top := module.split(".")[0]) not in sys.stdlib_module_names
        and top not in DOMAIN_MAY_IMPORT
        and top != "tasklogs_core"
    ]
    assert wrong == []


def test_the_checks_catch_an_upward_import(tmp_path: Path) -> None:
    module = tmp_path / "upward.py"
    module.write_text("def f():\n    from tasklogs_core.edge.http_errors import ERROR_TABLE\n")
    assert [layer_of(name) for _, name in imported_modules(module)] == ["edge"]


def test_the_checks_catch_a_use_case_importing_another_even_for_types(tmp_path: Path) -> None:
    module = tmp_path / "pause_capture.py"
    module.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    from tasklogs_core.use_cases.log_snapshot import store_snapshot\n"
    )
    assert imports_of_other_use_cases([module]) == [
        "pause_capture.py:3 imports tasklogs_core.use_cases.log_snapshot.store_snapshot"
    ]
    module.write_text("from tasklogs_core.use_cases.pause_capture import capture_on_pause\n")
    assert imports_of_other_use_cases([module]) == []


@pytest.mark.parametrize("handler", HANDLERS, ids=lambda path: path.name)
def test_a_handler_is_a_screenful_calling_one_use_case(handler: Path) -> None:
    code = [line for line in handler.read_text().splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert len(code) <= 30
    use_cases = {module.rsplit(".", 1)[0] for _, module in imported_modules(handler) if layer_of(module) == "use_cases"}
    assert use_cases == {f"tasklogs_core.use_cases.{handler.parent.name}"}


def test_handler_modules_have_names_unique_across_functions() -> None:
    assert [path.parent.name for path in HANDLERS] == sorted(
        p.name for p in (ROOT / "functions").iterdir() if p.is_dir()
    )
    assert len({path.stem for path in HANDLERS}) == len(HANDLERS)


@pytest.mark.parametrize("handler", HANDLERS, ids=lambda path: path.name)
def test_a_handler_reads_each_request_header_once(handler: Path) -> None:
    # Read twice, a header's value has two homes, which a later change can make disagree (the 304
    # decided on one, the body on the other).
    reads = re.findall(r"""headers(?:\.get\(|\[)\s*["']([\w-]+)["']""", handler.read_text().lower())
    assert len(reads) == len(set(reads)), reads
