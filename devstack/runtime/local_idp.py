"""The local stack's identity provider: it signs users' JWTs (RS256, PyJWT) with a development key and
publishes that key as a JWKS on loopback, where the local stack's authorizer function fetches it, as a
deployed authorizer fetches your issuer's keys.

The key in local_idp_signing_key.pem is for local development only: a deployed stack trusts only the
keys its JwtIssuer publishes, never this one. Mint a local token with: python -m devstack token alice
"""

import json
import os
import threading
import time
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.serialization import load_pem_private_key

LOCAL_ISSUER = "http://127.0.0.1/tasklogs-local"
LOCAL_AUDIENCE = "tasklogs"
LOCAL_KEY_ID = "tasklogs-local-1"
# Local tokens last a working day: long enough for the README's curl examples, short enough to expire.
TOKEN_LIFETIME_SECONDS = 12 * 3600
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
    return url
