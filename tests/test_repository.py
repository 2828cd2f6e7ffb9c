"""What the repository holds: sources, not what a build or an install leaves behind."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="needs the git checkout")
def test_no_committed_file_is_one_gitignore_names() -> None:
    tracked_but_ignored = subprocess.run(
        ["git", "ls-files", "--cached", "--ignored", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert tracked_but_ignored == []


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="needs the git checkout")
def test_what_the_editable_install_writes_is_ignored() -> None:
    # make venv installs the CLI editable (pip install -e cli), which writes its metadata into cli/.
    written = [p.relative_to(ROOT) for p in (ROOT / "cli").glob("*.egg-info")]
    assert written, "make venv has not run here"
    for path in written:
        check = subprocess.run(["git", "check-ignore", "-q", "--no-index", str(path)], cwd=ROOT)
        assert check.returncode == 0, f"{path} is not in .gitignore"
