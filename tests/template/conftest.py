"""The template as SAM itself translates it, for the tests that read SAM's own output."""

import pytest

from devstack.runtime.template_resources import TEMPLATE


@pytest.fixture(scope="session")
def translated() -> dict:
    """The template as SAM itself translates it to CloudFormation."""
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse

    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
        template = yaml_parse(TEMPLATE.read_text())
        for res in template["Resources"].values():  # the translator wants S3 locations, not folders
            for key in ("CodeUri", "ContentUri"):
                if key in res.get("Properties", {}):
                    res["Properties"][key] = "s3://bucket/key"

        class PolicyLoader:
            def load(self) -> dict:
                return {}

        return transform(template, {"JwtIssuer": "https://issuer", "JwtAudience": "aud"}, PolicyLoader())
