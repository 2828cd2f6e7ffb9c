"""The local stack's identity provider: it signs users' JWTs (RS256, PyJWT) with a development key and
publishes that key as a JWKS on loopback, where the local stack's authorizer function fetches it, as a
deployed authorizer fetches your issuer's keys. For the web viewer it also plays the two OpenID Connect
endpoints the viewer's sign-in uses (`LocalSignIn`, served by the local front under /_devstack/idp/).

The key in local_idp_signing_key.pem is for local development only: a deployed stack trusts only the
keys its JwtIssuer publishes, never this one. Mint a local token with: python -m devstack token alice
"""

import base64
import hashlib
import json
import os
import secrets
import threading
import time
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import jwt
from cryptography.hazmat.primitives.serialization import load_pem_private_key

LOCAL_ISSUER = "http://127.0.0.1/tasklogs-local"
LOCAL_AUDIENCE = "tasklogs"
LOCAL_KEY_ID = "tasklogs-local-1"
# Local tokens last a working day: long enough for the local stack's curl examples, short enough to expire.
TOKEN_LIFETIME_SECONDS = 12 * 3600
# The viewer's refresh tokens last as long as Cognito's do by default.
REFRESH_TOKEN_LIFETIME_SECONDS = 30 * 24 * 3600
_KEY_FILE = Path(__file__).with_name("local_idp_signing_key.pem")


@cache
def signing_key() -> Any:
    return load_pem_private_key(_KEY_FILE.read_bytes(), password=None)


def mint(claims: dict[str, Any], *, lifetime_seconds: int = TOKEN_LIFETIME_SECONDS) -> str:
    """A token the local stack accepts: our issuer and audience, expiring after `lifetime_seconds`;
    `claims` may override any of them (a test's expired or foreign token)."""
    now = int(time.time())
    payload = {"iss": LOCAL_ISSUER, "aud": LOCAL_AUDIENCE, "iat": now, "exp": now + lifetime_seconds, **claims}
    return jwt.encode(payload, signing_key(), algorithm="RS256", headers={"kid": LOCAL_KEY_ID})


def jwks() -> dict[str, Any]:
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(signing_key().public_key()))
    return {"keys": [{**public, "kid": LOCAL_KEY_ID, "alg": "RS256", "use": "sig"}]}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path != "/jwks.json":
            self.send_error(404)
            return
        body = json.dumps(jwks()).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


_server: ThreadingHTTPServer | None = None
_lock = threading.Lock()


def serve_keys() -> str:
    """Publish the key on loopback (once per process) and point the authorizer at it; its URL."""
    global _server
    with _lock:
        if _server is None:
            _server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
            _server.daemon_threads = True
            threading.Thread(target=_server.serve_forever, name="local-idp", daemon=True).start()
        url = f"http://127.0.0.1:{_server.server_address[1]}/jwks.json"
    os.environ.update({"JWT_ISSUER": LOCAL_ISSUER, "JWT_AUDIENCE": LOCAL_AUDIENCE, "JWKS_URI": url})
    os.environ.update(VIEWER_ENVIRONMENT)
    return url


# The viewer's sign-in settings for the local stack: this provider's endpoints, on the front's own origin.
SIGN_IN_PREFIX = "/_devstack/idp/"
VIEWER_ENVIRONMENT = {
    "VIEWER_OIDC_CLIENT_ID": LOCAL_AUDIENCE,
    "VIEWER_OIDC_AUTHORIZATION_ENDPOINT": f"{SIGN_IN_PREFIX}authorize",
    "VIEWER_OIDC_TOKEN_ENDPOINT": f"{SIGN_IN_PREFIX}token",
    "VIEWER_OIDC_LOGOUT_ENDPOINT": "",
    "VIEWER_OIDC_REVOCATION_ENDPOINT": f"{SIGN_IN_PREFIX}revoke",
    "VIEWER_OIDC_TOKEN": "id_token",
}

Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


class LocalSignIn:
    """An OpenID Connect provider's authorization code flow with PKCE, as far as the viewer uses it:
    `authorize` signs the one local user in without asking and sends the browser back with a code;
    `token` trades that code, once, for the user's token and a refresh token, after checking the
    client, the redirect URI and the PKCE verifier as a real provider does, and trades a refresh token
    for a new token, as Cognito does (without rotating it); `revoke` forgets a refresh token.
    `token_lifetime_seconds` is how long a token lasts."""

    def __init__(self, claims: dict[str, Any], *, token_lifetime_seconds: int = TOKEN_LIFETIME_SECONDS) -> None:
        self._claims = claims
        self.token_lifetime_seconds = token_lifetime_seconds
        self._codes: dict[str, tuple[str, str, float]] = {}  # code → (challenge, redirect_uri, expiry)
        self._refresh_tokens: dict[str, float] = {}  # refresh token → expiry
        self._lock = threading.Lock()

    def answer(self, method: str, path: str, query: str, body: bytes) -> Answer:
        if method == "GET" and path == f"{SIGN_IN_PREFIX}authorize":
            return self._authorize(dict(parse_qsl(query)))
        if method == "POST" and path == f"{SIGN_IN_PREFIX}token":
            return self._token(dict(parse_qsl(body.decode("utf-8", "replace"))))
        if method == "POST" and path == f"{SIGN_IN_PREFIX}revoke":
            return self._revoke(dict(parse_qsl(body.decode("utf-8", "replace"))))
        return _json(404, {"error": "not_found"})

    def _authorize(self, asked: dict[str, str]) -> Answer:
        redirect = asked.get("redirect_uri", "")
        if (
            asked.get("response_type") != "code"
            or asked.get("client_id") != LOCAL_AUDIENCE
            or asked.get("code_challenge_method") != "S256"
            or not asked.get("code_challenge")
            or not redirect.startswith(("http://127.0.0.1:", "http://localhost:"))
        ):
            return _json(400, {"error": "invalid_request"})
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = (asked["code_challenge"], redirect, time.monotonic() + 60)
        location = f"{redirect}?{urlencode({'code': code, 'state': asked.get('state', '')})}"
        return 302, [(b"location", location.encode()), (b"cache-control", b"no-store")], b""

    def _token(self, form: dict[str, str]) -> Answer:
        if form.get("grant_type") == "refresh_token":
            return self._refresh(form)
        with self._lock:
            challenge, redirect, expiry = self._codes.pop(form.get("code", ""), ("", "", 0.0))
        verifier = form.get("code_verifier", "")
        computed = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if (
            form.get("grant_type") != "authorization_code"
            or form.get("client_id") != LOCAL_AUDIENCE
            or time.monotonic() > expiry
            or form.get("redirect_uri") != redirect
            or not secrets.compare_digest(computed, challenge)
        ):
            return _json(400, {"error": "invalid_grant"})
        refresh = secrets.token_urlsafe(32)
        with self._lock:
            self._refresh_tokens[refresh] = time.monotonic() + REFRESH_TOKEN_LIFETIME_SECONDS
        return _json(200, {**self._tokens(), "refresh_token": refresh})

    def _refresh(self, form: dict[str, str]) -> Answer:
        with self._lock:
            expiry = self._refresh_tokens.get(form.get("refresh_token", ""), 0.0)
        if form.get("client_id") != LOCAL_AUDIENCE or time.monotonic() > expiry:
            return _json(400, {"error": "invalid_grant"})
        return _json(200, self._tokens())

    def _revoke(self, form: dict[str, str]) -> Answer:
        """RFC 7009, as Cognito's /oauth2/revoke: 200 whether or not the token was known."""
        if form.get("client_id") != LOCAL_AUDIENCE:
            return _json(400, {"error": "invalid_client"})
        with self._lock:
            self._refresh_tokens.pop(form.get("token", ""), None)
        return 200, [(b"cache-control", b"no-store")], b""

    def _tokens(self) -> dict[str, Any]:
        lifetime = self.token_lifetime_seconds
        token = mint(self._claims, lifetime_seconds=lifetime)
        return {"id_token": token, "access_token": token, "token_type": "Bearer", "expires_in": lifetime}


def _json(status: int, body: dict[str, Any]) -> Answer:
    return status, [(b"content-type", b"application/json"), (b"cache-control", b"no-store")], json.dumps(body).encode()
