"""Conditional requests (contract §8): weak ETags, and whether `If-None-Match` names the current one.

An ETag either comes from what decides the body (for a task that is not active: its item's snapshot
and transcript counters, its status and the query), so that a 304 is decided before anything is read,
or from the body itself (a live answer, which only the agent's reply decides)."""

from __future__ import annotations

import hashlib
import re

CACHE_CONTROL = "private, no-cache"
# Part of every decided ETag: change it when a body's format changes, so no client keeps an old one.
BODY_FORMAT = "1"

# One entity tag of an If-None-Match list (RFC 9110 §8.8.3): optionally weak, a quoted opaque string.
_ENTITY_TAG = re.compile(r'\s*(?:W/)?"([\x21\x23-\x7e\x80-\xff]*)"\s*(?:,|$)')
# Empty elements of a list, which RFC 9110 §5.6.1 has a recipient ignore: `a,,b` and `, a`.
_EMPTY_ELEMENTS = re.compile(r"\s*,")


def weak_etag(*parts: object) -> str:
    """A weak ETag over what decides a body: equal parts, equal tag."""
    digest = hashlib.sha256("\x1f".join(str(part) for part in (BODY_FORMAT, *parts)).encode()).hexdigest()
    return f'W/"{digest[:32]}"'


def body_etag(body: bytes) -> str:
    """A weak ETag of a body already made."""
    return weak_etag("body", hashlib.sha256(body).hexdigest())


def names_current(if_none_match: str | None, etag: str) -> bool:
    """Whether `If-None-Match` names `etag` by weak comparison (or is `*`): then the answer is 304.
    A header that is not a list of entity tags names nothing."""
    if not if_none_match:
        return False
    value = if_none_match.strip()
    if value == "*":
        return True
    wanted = etag.removeprefix("W/").strip('"')
    position = 0
    while position < len(value):
        while (empty := _EMPTY_ELEMENTS.match(value, position)) is not None:
            position = empty.end()
        if position == len(value):
            break
        match = _ENTITY_TAG.match(value, position)
        if match is None:
            return False
        if match.group(1) == wanted:
            return True
        position = match.end()
    return False
