"""Who is calling, from the JWT claims API Gateway already verified (contract §2), and whom a request's
`{user}` names."""

from collections.abc import Mapping
from typing import Any

from tasklogs_core.domain.errors import Unauthenticated
from tasklogs_core.domain.models import Caller
from tasklogs_core.domain.text import parse_uuid, well_formed


def caller_from_claims(claims: Mapping[str, Any] | None, username_claim: str) -> Caller:
    if not claims:
        raise Unauthenticated("no verified JWT claims on the request")
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.strip() or well_formed(subject) != subject:
        raise Unauthenticated("the JWT has no usable subject")
    username = claims.get(username_claim)
    return Caller(
        user_id=normalised_subject(subject), username=well_formed(username) if isinstance(username, str) else ""
    )


def normalised_subject(subject: str) -> str:
    """The one spelling of a caller's id used for every lookup (contract §2): a UUID in its canonical
    lowercase form, as the control plane writes `owner_id`. A subject that is not a UUID (an identity
    provider with other ids) is kept as it is."""
    return parse_uuid(subject) or subject


def names_caller(caller: Caller, user_ref: str) -> bool:
    """True when the `{user}` path segment (`me`, a username or a user UUID) names the caller."""
    if user_ref == "me":
        return True
    ref_id = parse_uuid(user_ref)
    if ref_id is not None and ref_id == caller.user_id:
        return True
    # Usernames are case-insensitive, as in Coder.
    return bool(caller.username) and user_ref.casefold() == caller.username.casefold()
