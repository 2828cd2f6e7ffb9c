"""The README is a front door: short, and every page of docs/ one link away; no link in the README or
docs/ leads outside the repository or to a file it does not have (a clone is all a reader has)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")
README_MAX_BYTES = 10 * 1024


def links(page: Path) -> list[str]:
    return LINK.findall(page.read_text(encoding="utf-8"))


def test_the_readme_is_short_and_links_every_page_of_docs() -> None:
    readme = ROOT / "README.md"
    assert len(readme.read_bytes()) <= README_MAX_BYTES
    linked = {(ROOT / target.split("#")[0]).resolve() for target in links(readme)}
    documents = {*sorted((ROOT / "docs").glob("*.md")), ROOT / "docs" / "openapi.json"}
    assert sorted(str(p.relative_to(ROOT)) for p in documents - linked) == []


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_resolves_inside_the_repository(page: Path) -> None:
    broken = []
    for target in links(page):
        path = target.split("#")[0]
        if path.startswith(("https://", "http://", "mailto:")) or not path:
            continue
        resolved = (page.parent / path).resolve()
        if ROOT not in resolved.parents or not resolved.exists():
            broken.append(target)
    assert broken == []


def test_the_api_reference_speaks_for_itself() -> None:
    """docs/openapi.json is what an API user reads: it cites no document outside the repository."""
    reference = (ROOT / "docs" / "openapi.json").read_text(encoding="utf-8")
    assert "shared/spec" not in reference and "contract" not in reference.lower() and "§" not in reference


def test_every_section_cited_is_a_section_of_the_api_page() -> None:
    """The pages cite the API by section (§5); each citation links docs/api.md's section of that number."""
    api = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    anchors = set(re.findall(r'<a id="(s\d+)"></a>\n## §(\d+) ', api))
    assert {anchor for anchor, number in anchors if anchor == f"s{number}"} == {f"s{n}" for n in range(1, 13)}
    unlinked = []
    for page in PAGES:
        fenced = False
        for line in page.read_text(encoding="utf-8").splitlines():
            fenced ^= line.startswith("```")
            if fenced or line.startswith(("#", "```")) or "<!--" in line:
                continue
            for target in re.findall(r"\[§\d+\]\(([^)]*)\)", line):
                assert target.split("#")[-1] in {anchor for anchor, _ in anchors}, (page.name, target)
            bare = re.sub(r"\[§\d+\]\([^)]*\)", "", line)
            unlinked += [(page.name, line) for _ in re.findall(r"§\d+", bare) if page.name != "api.md"]
    assert unlinked == []
