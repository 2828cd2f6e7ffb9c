"""What a secret becomes in the text this service stores and serves (contract §12): the marker that
replaces it, the kind a marker names, the deployment's own rules (extra patterns and an allowlist), and
how found secrets are cut out of UTF-8 text so that cutting again changes nothing."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Protocol

from pydantic import AfterValidator, BaseModel, ConfigDict, Discriminator, Field, RootModel, StringConstraints, Tag

# A kind names a rule: lowercase words joined by hyphens (`aws-access-key-id`, `private-key`).
KIND_PATTERN = r"[a-z0-9]+(?:-[a-z0-9]+)*"
_MARKER = re.compile(rb"\[REDACTED:(" + KIND_PATTERN.encode() + rb")\]")
_MARKER_START = b"[REDACTED:"


def marker(kind: str) -> bytes:
    return _MARKER_START + kind.encode() + b"]"


@dataclass(frozen=True, order=True)
class SecretSpan:
    """A secret found in UTF-8 text: its bytes [start, end) and the kind of rule that found it."""

    start: int
    end: int
    kind: str


class SecretScanner(Protocol):
    """Finds the secrets in UTF-8 text (adapters/secret_scanner.py); never returns their text."""

    def find(self, text: bytes) -> list[SecretSpan]: ...


# ---------------------------------------------------------------- cutting secrets out


def _is_continuation(byte: int) -> bool:
    return byte & 0xC0 == 0x80


def _markers(text: bytes) -> list[tuple[int, int]]:
    return [m.span() for m in _MARKER.finditer(text)] if _MARKER_START in text else []


def merged_spans(text: bytes, spans: Iterable[SecretSpan]) -> list[SecretSpan]:
    """The spans to cut: widened to whole UTF-8 characters, overlapping ones joined (the first one's
    kind), and none that touches a marker already there, so that redacting twice changes nothing."""
    markers = _markers(text)
    merged: list[SecretSpan] = []
    for span in sorted(spans):
        start, end = max(0, span.start), min(len(text), span.end)
        while start > 0 and _is_continuation(text[start]):
            start -= 1
        while end < len(text) and _is_continuation(text[end]):
            end += 1
        if start >= end or any(start < m_end and m_start < end for m_start, m_end in markers):
            continue
        if merged and start < merged[-1].end:
            last = merged[-1]
            merged[-1] = SecretSpan(last.start, max(last.end, end), last.kind)
        else:
            merged.append(SecretSpan(start, end, span.kind))
    return merged


def cut_out(text: bytes, spans: Sequence[SecretSpan]) -> bytes:
    """`text` with each of `spans` (as merged_spans left them) replaced by its marker."""
    if not spans:
        return text
    parts = []
    at = 0
    for span in spans:
        parts += [text[at : span.start], marker(span.kind)]
        at = span.end
    parts.append(text[at:])
    return b"".join(parts)


def redacted(text: bytes, scanner: SecretScanner) -> bytes:
    return cut_out(text, merged_spans(text, scanner.find(text)))


# Between texts scanned as one: a scan costs a fixed few microseconds besides its bytes, and a
# conversation has thousands of messages. Rules match within a line, or across lines of one text.
_JOIN = b"\n\n"
# Texts are scanned a batch of about this many bytes at a time: a 16 MiB capture is never copied whole.
_BATCH_BYTES = 1024 * 1024


def redacted_each(texts: Sequence[bytes], scanner: SecretScanner) -> tuple[list[bytes], Counter[str]]:
    """Each of `texts` redacted (a scan per batch of them), and the kinds of secret removed, counted."""
    out: list[bytes] = []
    kinds: Counter[str] = Counter()
    start = size = 0
    for end, text in enumerate(texts):
        if size and size + len(text) > _BATCH_BYTES:
            out += _redacted_batch(texts[start:end], scanner, kinds)
            start, size = end, 0
        size += len(text) + len(_JOIN)
    out += _redacted_batch(texts[start:], scanner, kinds)
    return out, kinds


def _redacted_batch(texts: Sequence[bytes], scanner: SecretScanner, kinds: Counter[str]) -> list[bytes]:
    if not texts:
        return []
    joined = _JOIN.join(texts)
    spans = merged_spans(joined, scanner.find(joined))
    if not spans:
        return list(texts)
    kinds.update(span.kind for span in spans)
    out: list[bytes] = []
    at = 0
    pending = iter(spans)
    span = next(pending, None)
    for text in texts:
        end = at + len(text)
        mine = []
        while span is not None and span.start < end:
            if span.end > at:  # clipped to this text: one that runs across texts is cut from each
                mine.append(SecretSpan(max(span.start, at) - at, min(span.end, end) - at, span.kind))
            if span.end > end + len(_JOIN):
                break  # it goes on into the next text
            span = next(pending, None)
        out.append(cut_out(text, mine))
        at = end + len(_JOIN)
    return out


class Redaction(BaseModel):
    """One kind of secret removed from an entry's content, and how many times."""

    kind: str
    count: int


def redactions_in(content: str | bytes) -> list[Redaction]:
    """The markers an entry's text holds, by kind in the order they first appear."""
    text = content.encode() if isinstance(content, str) else content
    if _MARKER_START not in text:
        return []
    counts = Counter(m.group(1).decode() for m in _MARKER.finditer(text))
    return [Redaction(kind=kind, count=count) for kind, count in counts.items()]


# ---------------------------------------------------------------- the deployment's own rules


def _compiles(pattern: str) -> str:
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"not a regular expression: {exc}") from None
    if compiled.fullmatch(""):
        raise ValueError("matches empty text, so it would allow nothing in particular")
    return pattern


Kind = Annotated[str, StringConstraints(pattern=f"^{KIND_PATTERN}$", max_length=64)]


class ExtraPatterns(RootModel[dict[Kind, Annotated[str, Field(min_length=1, max_length=1000)]]]):
    """SECRET_PATTERNS: kind → regular expression, compiled into the scanner's own rules (its syntax is
    Rust's: no look-around or back-references; the scanner's adapter checks each). A match is the secret,
    or its group named `secret` when it has one (the text around it stays)."""


class AllowedPattern(BaseModel):
    """An allowlist entry matched (whole) against the values found, in Python's syntax."""

    model_config = ConfigDict(extra="forbid")

    pattern: Annotated[str, Field(min_length=1, max_length=1000), AfterValidator(_compiles)]


def _entry_kind(entry: object) -> str:
    return "pattern" if isinstance(entry, dict | AllowedPattern) else "value"


AllowlistEntry = Annotated[
    Annotated[Annotated[str, Field(min_length=1)], Tag("value")] | Annotated[AllowedPattern, Tag("pattern")],
    Discriminator(_entry_kind),
]


# A found value longer than this is allowed by a literal only: a pattern's backtracking over a long value
# (a private key) could take as long as it likes.
MAX_PATTERN_ALLOWED_CHARS = 256


class Allowlist(RootModel[list[AllowlistEntry]]):
    """SECRET_ALLOWLIST: values that are never redacted, each a literal or `{"pattern": regex}` that the
    whole found value must match (a test fixture's key, a documented example token)."""

    def allows(self, value: str) -> bool:
        for entry in self.root:
            if isinstance(entry, str) and value == entry:
                return True
            if (
                isinstance(entry, AllowedPattern)
                and len(value) <= MAX_PATTERN_ALLOWED_CHARS
                and re.fullmatch(entry.pattern, value)
            ):
                return True
        return False
