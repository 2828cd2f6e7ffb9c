"""What the functions read from an API Gateway HTTP API (payload v2) event: the path and its
parameters, the verified JWT claims, an agent's token from its headers, and the raw request body."""

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

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


def jwt_claims(event: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """`requestContext.authorizer.jwt.claims` of an HTTP API v2 event, if every level is there."""
    node: Any = event
    for key in ("requestContext", "authorizer", "jwt", "claims"):
        node = node.get(key) if isinstance(node, Mapping) else None
    return node if isinstance(node, Mapping) else None


def agent_token(headers: Mapping[str, str]) -> str | None:
    """`Coder-Session-Token`, else `Authorization: Bearer <token>` (API Gateway lowercases names)."""
    lowered = {key.lower(): value for key, value in headers.items()}
    token = well_formed(lowered.get("coder-session-token") or "").strip()
    if token:
        return token
    scheme, _, credentials = well_formed(lowered.get("authorization") or "").strip().partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None


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
    # A lone surrogate (from a \ud800 escape in the event) is kept as bytes; parse_upload replaces it.
    return body.encode("utf-8", "surrogatepass")
