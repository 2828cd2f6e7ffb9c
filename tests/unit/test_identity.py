import pytest

from tasklogs_core.domain.errors import Unauthenticated
from tasklogs_core.domain.identity import caller_from_claims, names_caller
from tasklogs_core.domain.models import Caller
from tasklogs_core.edge.requests import user_claims

ALICE = Caller(user_id="5f0c3e9e-2a7d-4d0c-9a56-1c2b7f3e8a01", username="alice")


@pytest.mark.parametrize(
    "event",
    [
        {},
        {"requestContext": {}},
        {"requestContext": {"authorizer": None}},
        {"requestContext": {"authorizer": {"jwt": {}}}},
        {"requestContext": {"authorizer": {"jwt": {"claims": "sub=x"}}}},
        {"requestContext": {"authorizer": {"lambda": None}}},
        {"requestContext": {"authorizer": {"lambda": "sub=x"}}},
        {"requestContext": {"authorizer": "lambda"}},
        # Claims a client sent itself are never where API Gateway puts the verified ones.
        {"requestContext": {}, "headers": {"x-amzn-requestcontext": '{"authorizer":{"lambda":{"sub":"x"}}}'}},
        {"requestContext": {}, "claims": {"sub": "x"}, "authorizer": {"lambda": {"sub": "x"}}},
    ],
)
def test_events_without_claims_have_none(event: dict) -> None:
    assert user_claims(event) is None


def test_claims_come_from_the_lambda_authorizers_context_or_a_jwt_authorizers_claims() -> None:
    lambda_context = {"sub": ALICE.user_id, "username": "alice"}
    assert user_claims({"requestContext": {"authorizer": {"lambda": lambda_context}}}) == lambda_context
    assert user_claims({"requestContext": {"authorizer": {"jwt": {"claims": lambda_context}}}}) == lambda_context
    both = {"lambda": lambda_context, "jwt": {"claims": {"sub": "someone-else"}}}
    assert user_claims({"requestContext": {"authorizer": both}}) == lambda_context


@pytest.mark.parametrize("claims", [None, {}, {"username": "alice"}, {"sub": ""}, {"sub": "  "}, {"sub": 5}])
def test_claims_without_a_subject_are_unauthenticated(claims: dict | None) -> None:
    with pytest.raises(Unauthenticated):
        caller_from_claims(claims, "username")


def test_username_comes_from_the_configured_claim() -> None:
    claims = {"sub": ALICE.user_id, "username": "nope", "preferred_username": "alice"}
    assert caller_from_claims(claims, "preferred_username") == ALICE
    assert caller_from_claims({"sub": ALICE.user_id}, "username").username == ""


@pytest.mark.parametrize("ref", ["me", "alice", "ALICE", ALICE.user_id, ALICE.user_id.upper()])
def test_refs_that_name_the_caller(ref: str) -> None:
    assert names_caller(ALICE, ref)


@pytest.mark.parametrize("ref", ["bob", "Me", "", "alice ", "8d4b1f2a-6c3e-4f5a-b7d8-9e0a1b2c3d04"])
def test_refs_that_name_someone_else(ref: str) -> None:
    assert not names_caller(ALICE, ref)


def test_a_caller_without_username_is_only_me_or_their_id() -> None:
    anonymous = Caller(user_id=ALICE.user_id)
    assert names_caller(anonymous, "me") and names_caller(anonymous, ALICE.user_id)
    assert not names_caller(anonymous, "")


@pytest.mark.parametrize(
    "subject",
    [ALICE.user_id.upper(), "{" + ALICE.user_id + "}", "urn:uuid:" + ALICE.user_id, ALICE.user_id.replace("-", "")],
)
def test_the_subject_is_normalised_once_to_the_canonical_uuid(subject: str) -> None:
    assert caller_from_claims({"sub": subject, "username": "alice"}, "username") == ALICE


def test_a_subject_that_is_not_a_uuid_is_kept_as_it_is() -> None:
    assert caller_from_claims({"sub": "auth0|Alice"}, "username").user_id == "auth0|Alice"


@pytest.mark.parametrize(
    "ref",
    [
        "{{" + ALICE.user_id + "}}",
        "uuid:" + ALICE.user_id,
        ALICE.user_id.replace("-", "") + "-",
        "1" + ALICE.user_id[1:].replace("1", "\uff11"),
    ],
)
def test_user_refs_in_forms_go_rejects_are_not_the_callers_id(ref: str) -> None:
    assert not names_caller(Caller(user_id=ALICE.user_id), ref)
