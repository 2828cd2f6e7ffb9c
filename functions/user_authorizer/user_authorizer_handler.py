"""UserAuthorizerFunction: the API's Lambda authorizer (payload 2.0, simple responses) for every user
route (contract §2). Takes the request's tokens, calls one use case."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from tasklogs_core.edge.entry_points import authorizer_handler
from tasklogs_core.edge.requests import presented_tokens
from tasklogs_core.use_cases.user_authorizer import authorize_user


@authorizer_handler
def lambda_handler(event: dict[str, Any], _context: LambdaContext) -> dict[str, Any] | None:
    return authorize_user(presented_tokens(event.get("headers") or {}))
