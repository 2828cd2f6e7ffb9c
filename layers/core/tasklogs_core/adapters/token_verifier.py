"""Verifies users' JWTs as API Gateway's JWT authorizer does (contract §2), with PyJWT: the signature
against the issuer's published keys (RSA, as API Gateway supports), then `iss`, the audience (`aud`,
or `client_id` for a token without `aud`, as Cognito's access tokens are), `exp`, `nbf` and `iat`.

The keys are fetched once per container and kept (PyJWT's PyJWKClient): a token signed with a key it
has not seen refreshes them, at most once per cooldown, so forged key ids cannot make it hammer the
issuer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import jwt

from tasklogs_core.adapters.observability import logger
from tasklogs_core.adapters.settings import AuthSettings
from tasklogs_core.adapters.timings import timed
from tasklogs_core.domain.errors import InvalidUserToken, SigningKeysUnavailable

ALGORITHMS = ("RS256", "RS384", "RS512")
# The keys are fetched again after this long, so a rotation at the issuer is picked up.
KEYS_LIFESPAN_SECONDS = 3600
# A token whose key id is unknown fetches the keys again at most this often.
UNKNOWN_KEY_COOLDOWN_SECONDS = 60


class TokenVerifier:
    def __init__(self, settings: AuthSettings) -> None:
        self._settings = settings
        self._keys: jwt.PyJWKClient | None = None

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims, if it verifies; else InvalidUserToken (SigningKeysUnavailable when the
        issuer's keys cannot be had)."""
        try:
            key = self._signing_keys().get_signing_key_from_jwt(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=list(ALGORITHMS),
                issuer=self._settings.jwt_issuer,
                options={"require": ["exp", "iss", "sub"], "verify_aud": False},
            )
        except jwt.PyJWKClientConnectionError as exc:
            raise SigningKeysUnavailable(f"the issuer's keys could not be fetched: {exc}") from None
        except (jwt.PyJWTError, ValueError) as exc:
            raise InvalidUserToken(f"{type(exc).__name__}: {exc}") from None
        if not self._audience_accepted(claims):
            raise InvalidUserToken("InvalidAudienceError: neither aud nor client_id is an accepted audience")
        if not isinstance(claims["sub"], str) or not claims["sub"]:
            raise InvalidUserToken("InvalidSubjectError: sub is not a non-empty string")
        return claims

    def _audience_accepted(self, claims: Mapping[str, Any]) -> bool:
        accepted = set(self._settings.jwt_audiences)
        audience = claims.get("aud")
        if audience is not None:
            values = audience if isinstance(audience, list) else [audience]
            return any(isinstance(value, str) and value in accepted for value in values)
        return isinstance(claims.get("client_id"), str) and claims["client_id"] in accepted

    def _signing_keys(self) -> jwt.PyJWKClient:
        if self._keys is None:
            self._keys = jwt.PyJWKClient(
                self._settings.jwks_uri or self._discover_jwks_uri(),
                cache_jwk_set=True,
                lifespan=KEYS_LIFESPAN_SECONDS,
                timeout=self._settings.key_fetch_timeout_seconds,
                cooldown_duration=UNKNOWN_KEY_COOLDOWN_SECONDS,
            )
        return self._keys

    def _discover_jwks_uri(self) -> str:
        """`jwks_uri` from the issuer's OpenID discovery document, as API Gateway's JWT authorizer finds it."""
        url = self._settings.jwt_issuer.rstrip("/") + "/.well-known/openid-configuration"
        try:
            with timed("issuer", "GET openid-configuration"):
                answer = httpx.get(url, timeout=self._settings.key_fetch_timeout_seconds)
                answer.raise_for_status()
                jwks_uri = answer.json()["jwks_uri"]
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise SigningKeysUnavailable(f"the issuer's discovery document could not be read: {exc}") from None
        if not isinstance(jwks_uri, str) or not jwks_uri.startswith(("https://", "http://")):
            raise SigningKeysUnavailable("the issuer's discovery document has no usable jwks_uri")
        logger.info("signing keys located", extra={"jwks_uri": jwks_uri})
        return jwks_uri
