"""Local stand-in for API Gateway's JWT authorizer: HS256 tokens signed with a fixed dev key.

Deployed, API Gateway verifies your identity provider's tokens instead; the function only ever sees
the verified claims. Mint a local token with: python -m devstack token alice
"""

import base64
import hashlib
import hmac
import json
import time
from typing import Any

# Local development only: this key signs tokens that only the local front accepts.
LOCAL_SIGNING_KEY = b"tasklogs-local-development-only"
LOCAL_ISSUER = "http://127.0.0.1/tasklogs-local"
LOCAL_AUDIENCE = "tasklogs"


class InvalidToken(Exception):
    pass


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def mint(claims: dict[str, Any]) -> str:
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64(json.dumps({"iss": LOCAL_ISSUER, "aud": LOCAL_AUDIENCE, **claims}, separators=(",", ":")).encode())
    signature = hmac.new(LOCAL_SIGNING_KEY, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def verify(token: str) -> dict[str, Any]:
    """The token's claims, if it is one of ours and still valid; else InvalidToken."""
    try:
        header, payload, signature = token.split(".")
        expected = hmac.new(LOCAL_SIGNING_KEY, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(signature)):
            raise InvalidToken("bad signature")
        if json.loads(_unb64(header)).get("alg") != "HS256":
            raise InvalidToken("unexpected algorithm")
        claims = json.loads(_unb64(payload))
    except (ValueError, TypeError, AttributeError) as exc:
        raise InvalidToken(str(exc)) from None
    if not isinstance(claims, dict) or claims.get("iss") != LOCAL_ISSUER:
        raise InvalidToken("wrong issuer")
    audience = claims.get("aud")
    if LOCAL_AUDIENCE not in (audience if isinstance(audience, list) else [audience]):
        raise InvalidToken("wrong audience")
    if "exp" in claims and not (isinstance(claims["exp"], int | float) and claims["exp"] > time.time()):
        raise InvalidToken("expired")
    return claims
