"""What the functions read from an API Gateway HTTP API (payload v2) event: the path and its
parameters, the verified user claims, an agent's token from its headers, and the raw request body."""

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote

from tasklogs_core.domain.conversation import MAX_UPLOAD_BYTES
from tasklogs_core.domain.errors import PayloadDecodeError
from tasklogs_core.domain.text import well_formed

# Base64 of MAX_UPLOAD_BYTES, rounded up: a longer encoded body cannot decode to an allowed size.
_MAX_BASE64_CHARS = 4 * -(-MAX_UPLOAD_BYTES // 3)


# `//api/...` is the path `/api/...`: Coder's agents have a CODER_AGENT_URL ending in `/` (contract §6).
# A resolver strips this from the path before it matches routes.
DOUBLED_LEADING_SLASHES = re.compile(r"^/+(?=/)")


def path_parameter(event: Mapping[str, Any], name: str, matched: str) -> str:
    """A path parameter as API Gateway decoded it (once); on a route without parameters (`$default`),
    the segment the resolver matched in the raw path, decoded the same way."""
    value = (event.get("pathParameters") or {}).get(name)
    return value if isinstance(value, str) else unquote(matched)


def caller_and_task(event: Mapping[str, Any], user: str, task: str) -> tuple[Mapping[str, Any] | None, str, str]:
    """What every task route's use case starts from: the verified caller's claims, then the path's
    `{user}` and `{task}`."""
    return user_claims(event), path_parameter(event, "user", user), path_parameter(event, "task", task)


def raw_query(event: Mapping[str, Any]) -> str:
    """The query string as the client sent it (well-formed text; none: empty)."""
    raw = event.get("rawQueryString")
    return well_formed(raw) if isinstance(raw, str) else ""


def query_parameter(event: Mapping[str, Any], name: str) -> str | None:
    """A query parameter's first value, read from the raw query string with form decoding: Go's
    `url.Values.Encode` and browsers send a space as `+`, so it is a space here, whatever API Gateway's
    own parsed parameters make of it."""
    for key, value in parse_qsl(raw_query(event), keep_blank_values=True):
        if key == name:
            return value
    return None


def user_claims(event: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The verified user's claims (contract §2): what the Lambda authorizer put in
    `requestContext.authorizer.lambda`, else a JWT authorizer's `requestContext.authorizer.jwt.claims`.
    Only API Gateway writes either place; nothing a client sends reaches them."""
    authorizer = _at(event, "requestContext", "authorizer")
    if authorizer is None:
        return None
    return _at(authorizer, "lambda") or _at(authorizer, "jwt", "claims")


def _at(node: Any, *keys: str) -> Mapping[str, Any] | None:
    for key in keys:
        node = node.get(key) if isinstance(node, Mapping) else None
    return node if isinstance(node, Mapping) else None


def presented_tokens(headers: Mapping[str, str]) -> list[str]:
    """The tokens a request carries, in the order they are tried: `Coder-Session-Token`, then
    `Authorization: Bearer <token>` (contract §2; API Gateway lowercases header names)."""
    lowered = {key.lower(): value for key, value in headers.items()}
    tokens = []
    session_token = well_formed(lowered.get("coder-session-token") or "").strip()
    if session_token:
        tokens.append(session_token)
    scheme, _, credentials = well_formed(lowered.get("authorization") or "").strip().partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        tokens.append(credentials.strip())
    return tokens


def agent_token(headers: Mapping[str, str]) -> str | None:
    """The agent's token: the first one the request carries."""
    tokens = presented_tokens(headers)
    return tokens[0] if tokens else None


def request_body(event: Mapping[str, Any]) -> bytes:
    """The raw request body of an HTTP API event; API Gateway base64-encodes bodies it deems binary."""
    body = event.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):  # only a hand-made event has anything else
        raise PayloadDecodeError("The request body is not text.")
    if event.get("isBase64Encoded"):
        if len(body) > _MAX_BASE64_CHARS:
            raise PayloadDecodeError(f"The request body is larger than {MAX_UPLOAD_BYTES} bytes.")
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise PayloadDecodeError("The request body is not valid base64.") from None
    if len(body) > MAX_UPLOAD_BYTES:  # every character is at least one byte
        raise PayloadDecodeError(f"The request body is larger than {MAX_UPLOAD_BYTES} bytes.")
    # A lone surrogate (from a \ud800 escape in the event) is kept as bytes; upload_messages replaces it.
    return body.encode("utf-8", "surrogatepass")
