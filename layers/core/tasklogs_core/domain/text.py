"""Rules for text a client sent: what may pass on into storage, error bodies and log lines, and which
strings are task and user ids (contract §2, §6 steps 2 and 5)."""

import re

# What json.loads leaves of a `\ud800` escape that is not half of a pair (pairs become one character).
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")

# Go's uuid.Parse (what Coder uses): 36 characters with hyphens at 8, 13, 18 and 23, that form in `{}`
# or after `urn:uuid:` (any case), or 32 hex digits; ASCII hex only. Python's uuid.UUID takes far
# more (prefixes anywhere, hyphens anywhere, other scripts' digits), so it is never used for input.
_HEX = "[0-9a-fA-F]"
_HYPHENATED = f"{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}"
_GO_UUID = re.compile(rf"(?i:urn:uuid:)?(?P<a>{_HYPHENATED})|\{{(?P<b>{_HYPHENATED})\}}|(?P<c>{_HEX}{{32}})")


def well_formed(value: str) -> str:
    """`value` with each lone surrogate replaced by U+FFFD, as Go's JSON decoder does: no UTF-8 text
    can hold one, so it would break JSON encoding, a log line or an AWS call further on."""
    try:
        value.encode()
        return value
    except UnicodeEncodeError:
        return _LONE_SURROGATE.sub("\ufffd", value)


def without_nul(value: str) -> str:
    """NUL is valid JSON (\\u0000) but breaks C strings, terminals and many log stores downstream."""
    return value.replace("\x00", "\ufffd") if "\x00" in value else value


def clean_text(value: str) -> str:
    """Message text as it is stored and shown: no lone surrogates, no NUL."""
    return without_nul(well_formed(value))


def parse_uuid(value: object) -> str | None:
    """The canonical lowercase form of a UUID that Go's uuid.Parse accepts, or None."""
    if not isinstance(value, str) or not 32 <= len(value) <= 45:
        return None
    match = _GO_UUID.fullmatch(value)
    if match is None:
        return None
    digits = (match["a"] or match["b"] or match["c"]).replace("-", "").lower()
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"
