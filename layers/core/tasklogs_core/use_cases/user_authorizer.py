"""The UserAuthorizerFunction's use case: API Gateway asks it, before any user route's function runs,
whether a request carries a valid user token (contract §2), in `Authorization: Bearer` or in
`Coder-Session-Token`. The answer's context carries the claims the functions read
(`requestContext.authorizer.lambda`): the subject and the username, nothing else."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tasklogs_core.adapters import clients
from tasklogs_core.adapters.observability import logger
from tasklogs_core.adapters.settings import get_auth_settings
from tasklogs_core.domain.errors import InvalidUserToken


def authorize_user(tokens: Sequence[str]) -> dict[str, Any] | None:
    """API Gateway's simple authorizer response for the first token that verifies; None when none does
    (the caller is then unauthorized). Tokens are never logged, only why they were refused."""
    if not tokens:
        logger.info("request refused", extra={"reason": "no token in Authorization or Coder-Session-Token"})
        return None
    refusals = []
    for token in tokens:
        try:
            claims = clients.token_verifier().verify(token)
        except InvalidUserToken as exc:
            refusals.append(exc.detail)
            continue
        context = {"sub": claims["sub"]}
        username_claim = get_auth_settings().username_claim
        if isinstance(claims.get(username_claim), str):
            context[username_claim] = claims[username_claim]
        return {"isAuthorized": True, "context": context}
    logger.info("request refused", extra={"reason": "; ".join(refusals)})
    return None
