"""samconfig.toml's environments, as SAM CLI reads them, and the check `make deploy` runs first."""

import tomllib
from pathlib import Path

import pytest

from devstack.runtime.template_resources import load_template
from scripts.deploy_ready import PLACEHOLDER, constraint_problems, overrides, problems

ROOT = Path(__file__).resolve().parents[2]
CONFIG = tomllib.loads((ROOT / "samconfig.toml").read_text())
PARAMETERS = load_template()["Parameters"]


def filled(tmp_path: Path, text: str | None = None) -> Path:
    """samconfig.toml with its placeholders replaced as a platform engineer would: real-looking values."""
    text = (text or (ROOT / "samconfig.toml").read_text()).replace("REPLACE_ME_agent_cidrs", "10.20.0.0/16")
    path = tmp_path / "samconfig.toml"
    path.write_text(text.replace(PLACEHOLDER, "x"))
    return path


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
    assert problems(env, filled(tmp_path)) == []


@pytest.mark.parametrize("name", sorted(k for k, p in PARAMETERS.items() if "Default" in p))
def test_every_parameter_default_meets_its_own_constraints(name: str) -> None:
    parameter = PARAMETERS[name]
    default = parameter["Default"]
    assert constraint_problems(name, parameter, str(default)) == []


def test_make_deploy_refuses_values_cloudformation_would_refuse(tmp_path: Path) -> None:
    text = (ROOT / "samconfig.toml").read_text()
    text = text.replace('"LogRetentionInDays=14"', '"LogRetentionInDays=15"')
    text = text.replace('"DeploymentType=AllAtOnce"', '"DeploymentType=AllAtOnce", "AgentApiTimeoutSeconds=30"')
    text = text.replace("REPLACE_ME_agent_cidrs", "10.0.0.0/8,example.com")
    retention_days = ", ".join(str(d) for d in PARAMETERS["LogRetentionInDays"]["AllowedValues"])
    assert problems("dev", filled(tmp_path, text)) == [
        "AgentApiAllowedNetworks: '10.0.0.0/8,example.com' does not match ^[0-9a-fA-F.:/, ]*$",
        f"LogRetentionInDays: '15' is not one of {retention_days}",
        "AgentApiTimeoutSeconds: 30 is above its MaxValue 20",
    ]


def test_make_deploy_refuses_unknown_and_missing_parameters(tmp_path: Path) -> None:
    text = (ROOT / "samconfig.toml").read_text()
    text = text.replace('"JwtAudience=REPLACE_ME_dev_app_client_id",', '"JwtAudiences=x",')
    assert problems("dev", filled(tmp_path, text)) == [
        "JwtAudiences: not a parameter of template.yaml",
        "JwtAudience: required (no default) but not given",
    ]


def test_make_deploy_refuses_secret_rules_the_scanning_functions_would_refuse(tmp_path: Path) -> None:
    """CloudFormation checks only their outline; the rest as the functions' settings read them."""
    text = (ROOT / "samconfig.toml").read_text()
    # Kinds first (a pattern is compiled only once every kind is one), then each pattern, by the scanner.
    kinds = [r'"SecretPatterns={\"Bad_Kind\":\"x+\"}"', r'"SecretAllowlist=[\"ok\",{\"regex\":\"x\"}]"']
    found = problems(
        "dev",
        filled(tmp_path, text.replace('"DeploymentType=AllAtOnce"', '"DeploymentType=AllAtOnce", ' + ", ".join(kinds))),
    )
    assert [f.split(":")[0] for f in found] == ["SecretPatterns", "SecretAllowlist", "SecretAllowlist"]
    assert found[0].startswith("SecretPatterns: Bad_Kind: [key]: String should match pattern")
    assert "SecretAllowlist: 1: pattern: regex: Extra inputs are not permitted" in found
    bad = r'"SecretPatterns={\"acme-token\":\"acme_[a-z\",\"empty\":\"a*\",\"behind\":\"(?<=x)y\"}"'
    text = text.replace('"DeploymentType=AllAtOnce"', '"DeploymentType=AllAtOnce", ' + bad + ", " + kinds[1])
    [patterns, *_] = problems("dev", filled(tmp_path, text))
    assert patterns.split("; ") == [
        "SecretPatterns: acme-token: not a regular expression the scanner takes"
        " (Unterminated character class starting at index 5)",
        "empty: matches empty text, so it would find a secret everywhere",
        "behind: not a regular expression the scanner takes (no look-around or back-references)",
    ]
    good = text.replace("acme_[a-z", "acme_[a-z]{8}").replace("a*", "a+").replace("(?<=x)y", "x(?P<secret>y+)")
    good = good.replace(r"{\"regex\":\"x\"}", r"{\"pattern\":\"x\"}")
    assert problems("dev", filled(tmp_path, good)) == []
    outline = problems("dev", filled(tmp_path, text.replace(r'"SecretAllowlist=[', r'"SecretAllowlist=(')))
    assert 'SecretAllowlist: \'("ok",{"regex":"x"}]\' does not match ^\\[.*\\]$' in outline
    assert "SecretAllowlist: not JSON: Expecting value: line 1 column 1 (char 0)" in outline
