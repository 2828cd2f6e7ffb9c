"""The user authorizer (contract §2) as API Gateway calls it: the real handler, real JWTs (PyJWT, RS256)
and the issuer's keys fetched over HTTP on loopback. A token is verified from `Authorization: Bearer`
or `Coder-Session-Token`; anything else is API Gateway's 401, and no token ever reaches a log line."""

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from devstack.demo.catalogue import ALICE, authorizer_requests, logs_path
from devstack.generators.events import authorizer_event, load_event
from devstack.runtime import lambda_runtime
from devstack.runtime.local_idp import LOCAL_AUDIENCE, LOCAL_ISSUER, LOCAL_KEY_ID, mint, signing_key
from tests.expected import EXPECTED_AUTHORIZER


def answer_to(event: dict) -> dict | None:
    """The authorizer's answer, or None where it raised API Gateway's "Unauthorized"."""
    from tasklogs_core.edge.entry_points import Unauthorized

    try:
        return lambda_runtime.invoke("UserAuthorizerFunction", event)
    except Unauthorized:
        return None


def authorize(headers: dict[str, str]) -> dict | None:
    return answer_to(authorizer_event("GET", logs_path("me", "refactor-auth"), headers=headers))


@pytest.fixture
def authorizer(handler_env):
    from tasklogs_core.adapters import clients

    clients.reset()
    yield authorize
    clients.reset()


@pytest.mark.parametrize("name", sorted(EXPECTED_AUTHORIZER))
def test_every_event_answers_as_expected(authorizer, name: str) -> None:
    username = EXPECTED_AUTHORIZER[name]
    answer = answer_to(load_event(name))
    if username is None:
        assert answer is None
    else:
        assert answer == {"isAuthorized": True, "context": {"sub": ALICE.user_id, "username": username}}
    assert set(authorizer_requests()) == set(EXPECTED_AUTHORIZER)


@pytest.mark.parametrize(
    "headers",
    [
        {"coder-session-token": "TOKEN"},
        {"authorization": "Bearer TOKEN"},
        {"authorization": "bearer   TOKEN  "},
        {"Coder-Session-Token": "TOKEN", "authorization": "Bearer not-a-jwt"},
        {"coder-session-token": "not-a-jwt", "authorization": "Bearer TOKEN"},
    ],
    ids=["session-token", "bearer", "bearer-lowercase-spaces", "both-session-good", "both-bearer-good"],
)
def test_a_valid_token_in_either_header_lets_the_request_through_with_its_claims(authorizer, headers) -> None:
    token = mint(ALICE.claims)
    answer = authorizer({key: value.replace("TOKEN", token) for key, value in headers.items()})
    assert answer == {"isAuthorized": True, "context": {"sub": ALICE.user_id, "username": "alice"}}


def _hs256_with_the_public_key() -> str:
    """The algorithm-confusion attack: HS256 keyed with the RSA public key's bytes."""
    public_pem = (
        signing_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    header = {"alg": "HS256", "kid": LOCAL_KEY_ID}
    claims = {**ALICE.claims, "iss": LOCAL_ISSUER, "aud": LOCAL_AUDIENCE, "exp": int(time.time()) + 600}
    signing_input = b".".join(
        base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=") for part in (header, claims)
    )
    import hashlib
    import hmac

    signature = base64.urlsafe_b64encode(hmac.new(public_pem, signing_input, hashlib.sha256).digest()).rstrip(b"=")
    return (signing_input + b"." + signature).decode()


def _unsigned() -> str:
    return jwt.encode({**ALICE.claims, "iss": LOCAL_ISSUER, "aud": LOCAL_AUDIENCE, "exp": 2_000_000_000}, None, "none")


def _foreign_key() -> str:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = {**ALICE.claims, "iss": LOCAL_ISSUER, "aud": LOCAL_AUDIENCE, "exp": int(time.time()) + 600}
    return jwt.encode(claims, other, algorithm="RS256", headers={"kid": LOCAL_KEY_ID})


def _elliptic() -> str:
    other = ec.generate_private_key(ec.SECP256R1())
    claims = {**ALICE.claims, "iss": LOCAL_ISSUER, "aud": LOCAL_AUDIENCE, "exp": int(time.time()) + 600}
    return jwt.encode(claims, other, algorithm="ES256", headers={"kid": LOCAL_KEY_ID})


def _tampered() -> str:
    header, payload, signature = mint(ALICE.claims).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = "8d4b1f2a-6c3e-4f5a-b7d8-9e0a1b2c3d04"  # bob
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


REFUSED = {
    "expired": lambda: mint(ALICE.claims, lifetime_seconds=-1),
    "not-yet-valid": lambda: mint({**ALICE.claims, "nbf": int(time.time()) + 600}),
    "issued-in-the-future": lambda: mint({**ALICE.claims, "iat": int(time.time()) + 600}),
    "no-expiry": lambda: jwt.encode(
        {**ALICE.claims, "iss": LOCAL_ISSUER, "aud": LOCAL_AUDIENCE},
        signing_key(),
        algorithm="RS256",
        headers={"kid": LOCAL_KEY_ID},
    ),
    "another-issuer": lambda: mint({**ALICE.claims, "iss": "https://evil.example"}),
    "another-audience": lambda: mint({**ALICE.claims, "aud": "another-app"}),
    "no-audience-nor-client-id": lambda: mint({**ALICE.claims, "aud": None}),
    "client-id-not-ours": lambda: mint({**ALICE.claims, "aud": None, "client_id": "another-app"}),
    "no-subject": lambda: mint({"username": "alice"}),
    "empty-subject": lambda: mint({"sub": "", "username": "alice"}),
    "number-subject": lambda: mint({"sub": 42, "username": "alice"}),
    "signed-by-another-key": _foreign_key,
    "elliptic-curve": _elliptic,
    "tampered-claims": _tampered,
    "alg-none": _unsigned,
    "hs256-with-the-public-key": _hs256_with_the_public_key,
    "garbage": lambda: "not.a.jwt",
    "two-parts": lambda: "eyJhbGciOiJSUzI1NiJ9.e30",
    "unicode": lambda: "\ud800.\u2028.\x00",
    "huge": lambda: "a" * 20_000,
}


@pytest.mark.parametrize("header", ["coder-session-token", "authorization"])
@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_token_that_does_not_verify_is_api_gateways_401(authorizer, case: str, header: str) -> None:
    token = REFUSED[case]()
    value = f"Bearer {token}" if header == "authorization" else token
    assert authorizer({header: value}) is None


@pytest.mark.parametrize(
    "headers",
    [{}, {"authorization": "Basic YWxpY2U6c2VjcmV0"}, {"authorization": "Bearer "}, {"coder-session-token": "  "}],
    ids=["none", "basic", "empty-bearer", "blank-session-token"],
)
def test_a_request_without_a_token_is_api_gateways_401(authorizer, headers) -> None:
    assert authorizer(headers) is None


def test_a_cognito_access_token_is_accepted_by_its_client_id(authorizer) -> None:
    """Cognito's access tokens carry no `aud`: API Gateway's JWT authorizer matches `client_id` instead."""
    token = mint({**ALICE.claims, "aud": None, "client_id": LOCAL_AUDIENCE, "token_use": "access"})
    answer = authorizer({"authorization": f"Bearer {token}"})
    assert answer["context"] == {"sub": ALICE.user_id, "username": "alice"}


def test_the_context_carries_the_subject_and_username_only(authorizer) -> None:
    token = mint({**ALICE.claims, "email": "alice@example.com", "groups": ["admin"], "username": "alice"})
    assert authorizer({"coder-session-token": token})["context"] == {"sub": ALICE.user_id, "username": "alice"}
    no_name = mint({"sub": ALICE.user_id, "username": ["not", "a", "string"]})
    assert authorizer({"coder-session-token": no_name})["context"] == {"sub": ALICE.user_id}


def test_tokens_never_reach_the_log(authorizer, function_log) -> None:
    log = function_log("UserAuthorizerFunction")
    good, bad = mint(ALICE.claims), mint(ALICE.claims, lifetime_seconds=-1)
    authorizer({"coder-session-token": good})
    authorizer({"authorization": f"Bearer {bad}"})
    authorizer({"coder-session-token": "garbage-token-value"})
    text = log.getvalue()
    assert "request refused" in text  # the refusals are logged, with their reasons
    assert "ExpiredSignatureError" in text
    for secret in (good, bad, "garbage-token-value", good.split(".")[2], bad.split(".")[1]):
        assert secret not in text


class _Issuer:
    """An identity provider on loopback: its discovery document and keys, counting each fetch."""

    def __init__(self, *, discovery: bool = True) -> None:
        from devstack.runtime.local_idp import jwks

        issuer = self
        self.fetches = {"discovery": 0, "jwks": 0}

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration" and discovery:
                    issuer.fetches["discovery"] += 1
                    body = {"issuer": issuer.url, "jwks_uri": f"{issuer.url}/keys"}
                elif self.path == "/keys":
                    issuer.fetches["jwks"] += 1
                    body = jwks()
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def issuer(authorizer, monkeypatch):
    from tasklogs_core.adapters import clients

    server = _Issuer()
    monkeypatch.setenv("JWT_ISSUER", server.url)
    monkeypatch.delenv("JWKS_URI")
    clients.reset()
    yield server
    server.stop()


def test_the_keys_are_found_through_the_issuers_discovery_document_once(issuer) -> None:
    for _ in range(3):
        assert authorize({"coder-session-token": mint({**ALICE.claims, "iss": issuer.url})}) is not None
    assert issuer.fetches == {"discovery": 1, "jwks": 1}


def test_tokens_with_unknown_key_ids_refresh_the_keys_at_most_once_per_cooldown(issuer) -> None:
    assert authorize({"coder-session-token": mint({**ALICE.claims, "iss": issuer.url})}) is not None
    for n in range(5):
        claims = {**ALICE.claims, "iss": issuer.url, "aud": LOCAL_AUDIENCE, "exp": int(time.time()) + 60}
        forged = jwt.encode(claims, signing_key(), algorithm="RS256", headers={"kid": f"unknown-{n}"})
        assert authorize({"coder-session-token": forged}) is None
    assert issuer.fetches["jwks"] <= 2  # the first fetch, and at most one refresh in the cooldown


def test_an_unreachable_issuer_is_a_failure_not_a_refusal(authorizer, monkeypatch) -> None:
    """No keys, no verdict: API Gateway answers 500 (an authorizer error), never 401 for a valid token
    or 200 for any token; the next request tries again."""
    from tasklogs_core.adapters import clients

    dead = _Issuer()
    dead.stop()
    monkeypatch.setenv("JWT_ISSUER", dead.url)
    monkeypatch.delenv("JWKS_URI")
    clients.reset()
    with pytest.raises(Exception, match="discovery document could not be read") as raised:
        authorize({"coder-session-token": mint({**ALICE.claims, "iss": dead.url})})
    assert str(raised.value) != "Unauthorized"
