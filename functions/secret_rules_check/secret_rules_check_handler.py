"""SecretRulesCheckFunction: the stack's custom resource that checks its secret rules while it deploys
(docs/redaction.md). Decorates only."""

from tasklogs_core.edge.entry_points import custom_resource_handler
from tasklogs_core.use_cases.secret_rules_check import check_secret_rules

lambda_handler = custom_resource_handler(check_secret_rules)
