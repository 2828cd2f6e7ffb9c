"""Who is calling: the JWT claims API Gateway already verified (contract §2)."""

import uuid
from collections.abc import Mapping
from typing import Any

from tasklogs_core.errors import Unauthenticated
from tasklogs_core.models import Caller


def well_formed(value: str) -> str:
    """`value` with lone surrogates (which no UTF-8 text can hold) replaced by U+FFFD, so that nothing
    a client sent can break JSON encoding, logging or an AWS call further on."""
    try:
        value.encode()
        return value
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def jwt_claims(event: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """`requestContext.authorizer.jwt.claims` of an HTTP API v2 event, if every level is there."""
    node: Any = event
    for key in ("requestContext", "authorizer", "jwt", "claims"):
        node = node.get(key) if isinstance(node, Mapping) else None
    return node if isinstance(node, Mapping) else None


def caller_from_claims(claims: Mapping[str, Any] | None, username_claim: str) -> Caller:
    if not claims:
        raise Unauthenticated("no verified JWT claims on the request")
    user_id = claims.get("sub")
    if not isinstance(user_id, str) or not user_id.strip() or well_formed(user_id) != user_id:
        raise Unauthenticated("the JWT has no usable subject")
    username = claims.get(username_claim)
    return Caller(user_id=user_id, username=well_formed(username) if isinstance(username, str) else "")


def as_uuid(value: str) -> str | None:
    """Canonical lowercase form of a UUID string, or None when it is not one."""
    try:
        return str(uuid.UUID(value))
    except (ValueError, TypeError, AttributeError):
        return None


def names_caller(caller: Caller, user_ref: str) -> bool:
    """True when the `{user}` path segment (`me`, a username or a user UUID) names the caller."""
    if user_ref == "me":
        return True
    ref_id = as_uuid(user_ref)
    if ref_id is not None and ref_id == as_uuid(caller.user_id):
        return True
    # Usernames are case-insensitive, as in Coder.
    return bool(caller.username) and user_ref.casefold() == caller.username.casefold()
