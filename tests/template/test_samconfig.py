"""samconfig.toml's environments, as SAM CLI reads them, and the check `make deploy` runs first."""

import tomllib
from pathlib import Path

import pytest

from scripts.deploy_ready import PLACEHOLDER, overrides, problems

ROOT = Path(__file__).resolve().parents[2]
CONFIG = tomllib.loads((ROOT / "samconfig.toml").read_text())


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_each_environment_deploys_unattended(env: str) -> None:
    deploy = CONFIG[env]["deploy"]["parameters"]
    assert deploy["stack_name"] == f"tasklogs-{env}"
    assert deploy["resolve_s3"] is True and deploy["region"]
    assert deploy["capabilities"] == "CAPABILITY_IAM"
    assert deploy["confirm_changeset"] is False and deploy["fail_on_empty_changeset"] is False


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_sam_reads_every_override_whole(env: str) -> None:
    from samcli.cli.types import CfnParameterOverridesType

    entries = CONFIG[env]["deploy"]["parameters"]["parameter_overrides"]
    assert CfnParameterOverridesType().convert(entries, None, None) == overrides(env)


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_make_deploy_refuses_placeholders_and_accepts_real_values(env: str, tmp_path: Path) -> None:
    left = problems(env)
    assert left and all(PLACEHOLDER in problem for problem in left)
    filled = tmp_path / "samconfig.toml"
    filled.write_text((ROOT / "samconfig.toml").read_text().replace(PLACEHOLDER, "x"))
    assert problems(env, filled) == []


def test_make_deploy_refuses_unknown_and_missing_parameters(tmp_path: Path) -> None:
    text = (ROOT / "samconfig.toml").read_text().replace(PLACEHOLDER, "x")
    text = text.replace('"JwtAudience=x_dev_app_client_id",', '"JwtAudiences=x",')
    broken = tmp_path / "samconfig.toml"
    broken.write_text(text)
    assert problems("dev", broken) == [
        "JwtAudiences: not a parameter of template.yaml",
        "JwtAudience: required (no default) but not given",
    ]
