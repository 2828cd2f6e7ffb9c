"""The SecretRulesCheckFunction's use case: CloudFormation's custom resource that checks the
deployment's secret rules (SecretPatterns, SecretAllowlist; docs/redaction.md) as the scanning
functions will read them, so a stack with a bad rule fails its deploy, naming each problem, before those
functions change. Deleting the resource checks nothing: a stack can always be deleted."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tasklogs_core.adapters.observability import logger
from tasklogs_core.adapters.settings import secret_rule_problems


def check_secret_rules(request_type: str, properties: Mapping[str, Any]) -> list[str]:
    """The problems of the rules a Create or Update request carries; none for a Delete."""
    if request_type == "Delete":
        return []
    problems = secret_rule_problems(properties)
    logger.info("secret rules checked", extra={"request_type": request_type, "problems": len(problems)})
    return problems
