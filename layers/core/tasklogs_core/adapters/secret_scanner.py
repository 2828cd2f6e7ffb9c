"""The secret scanner (contract §12; docs/redaction.md has the evaluation behind the choice): Kingfisher's
rule set (MongoDB's, with the Betterleaks/gitleaks rules) in-process through its SDK, compiled with this
service's own rule for `.env`-style lines the rule set leaves out (secret_rules.yml) and the
deployment's patterns (one engine, one pass; its regular expressions run in linear time, so no pattern
can hang a function), then the deployment's allowlist.

Only the scanning functions carry the SDK (the scanner layer). The rules are compiled once a container,
as it starts (services/secret_redaction.py)."""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from tasklogs_core.domain.errors import SecretScanFailed
from tasklogs_core.domain.secrets import Allowlist, ExtraPatterns, SecretSpan

if TYPE_CHECKING:
    import kingfisher_sdk

# Rules the rule set runs only to pair with another (the ID beside a key): most find identifiers, not
# secrets, and are left alone. Those that find the secret half of a pair are redacted all the same (an
# AWS secret access key is a secret with or without its key ID beside it).
_SECRET_COMPONENTS = ("secret", "passphrase", "security-token", "consumer-key", "application-key")

# Rule families of Kingfisher's rule set, each one kind (their providers issue several token
# formats that are all "a GitHub token" to a reader); any other rule is its own kind.
_FAMILIES = (
    ("aws-access-token", "aws-access-key-id"),
    ("github-", "github-token"),
    ("gitlab-", "gitlab-token"),
    ("slack-webhook", "slack-webhook-url"),
    ("slack-", "slack-token"),
    ("jwt", "jwt"),
    ("generic-credential-uri", "url-password"),
    ("mongodb-connection-string", "url-password"),
)
_RULE_SET_PREFIXES = ("betterleaks.", "kingfisher.", "custom.", "veles.secrets/")
# The deployment's patterns are rules of this prefix, each named by its kind.
DEPLOYMENT_RULE_PREFIX = "deployment."


def kind_of_rule(rule_id: str) -> str:
    """The kind a marker names for a rule of the scanner's rule set (`betterleaks.github-pat` →
    `github-token`), or for one of the deployment's patterns (its own kind)."""
    if rule_id.startswith(DEPLOYMENT_RULE_PREFIX):
        return rule_id.removeprefix(DEPLOYMENT_RULE_PREFIX)
    name = rule_id
    for prefix in _RULE_SET_PREFIXES:
        if name.startswith(prefix):
            name = name[len(prefix) :]
            break
    for family, kind in _FAMILIES:
        if name.startswith(family):
            return kind
    words = re.findall(r"[a-z0-9]+", name.lower())
    return "-".join(words) or "secret"


# This service's own rules, compiled with the rule set (vectorscan: one pass over the text for all).
OWN_RULES = Path(__file__).with_name("secret_rules.yml")
OWN_RULE_PREFIX = "custom."


def _rules_file(patterns: Mapping[str, str], folder: Path, *, as_written: bool = False) -> Path:
    """The deployment's patterns as rules of Kingfisher's format (JSON is YAML): a group named `secret`
    is the secret, else the whole match; no entropy floor (the deployment knows its formats)."""
    rules = [
        {
            "name": f"deployment pattern {kind}",
            "id": f"{DEPLOYMENT_RULE_PREFIX}{kind}",
            "pattern": pattern if as_written else _whole(pattern),
        }
        | {"min_entropy": 0.0, "confidence": "medium"}
        for kind, pattern in patterns.items()
    ]
    path = folder / "deployment-rules.yml"
    path.write_text(json.dumps({"rules": rules}))
    return path


def _whole(pattern: str) -> str:
    # Kingfisher takes a rule's group named `secret` as the secret, else its first group: without one of
    # its own, the whole match is the deployment's secret.
    named = "(?P<secret>" in pattern or "(?<secret>" in pattern  # both spellings Rust's regex takes
    return pattern if named else f"(?P<secret>{pattern})"


@cache
def _rule_set(patterns: tuple[tuple[str, str], ...] = ()) -> kingfisher_sdk.Scanner:
    """Kingfisher's rules with this service's and the deployment's, compiled (seconds; a fraction of that
    from the disk cache the SDK keeps where the home directory is writable, which Lambda's is not), once a
    process for each set of patterns. base64 text is decoded and scanned too (a Kubernetes secret's
    `data:`), its encoded whole redacted."""
    import kingfisher_sdk

    with tempfile.TemporaryDirectory() as folder:
        extra = [_rules_file(dict(patterns), Path(folder))] if patterns else []
        return kingfisher_sdk.Scanner(kingfisher_sdk.Rules([OWN_RULES, *extra]), base64=True)


def compile_rules() -> None:
    """The rule set with the deployment's patterns (SECRET_PATTERNS), compiled now."""
    from tasklogs_core.adapters.settings import get_secret_settings

    _rule_set(tuple(get_secret_settings().secret_patterns.root.items()))


def pattern_problems(patterns: Mapping[str, str]) -> list[str]:
    """What the scanner refuses of the deployment's patterns, each compiled alone (milliseconds, without
    the rule set): `acme-token: ...`."""
    import kingfisher_sdk

    found = []
    for kind, pattern in patterns.items():
        with tempfile.TemporaryDirectory() as folder:
            try:
                # As written, so the compiler's positions are the deployment's.
                kingfisher_sdk.Rules(
                    [_rules_file({kind: pattern}, Path(folder), as_written=True)], builtins=False, cache=False
                )
            except (RuntimeError, ValueError) as exc:
                found.append(f"{kind}: {_compile_error(str(exc))}")
    return found


def _compile_error(message: str) -> str:
    if "matches empty buffer" in message:
        return "matches empty text, so it would find a secret everywhere"
    # Kingfisher's words, without its rule naming (`... rule deployment.x: ` / `(ID: deployment.x): `).
    for marker in ("): ", " mode: "):
        if marker in message:
            message = message.rsplit(marker, 1)[-1]
    if message.startswith("Failed to build regex"):  # what look-around and back-references get
        message = "no look-around or back-references"
    return f"not a regular expression the scanner takes ({message.rstrip('.')})"


def _fingerprint(extra: ExtraPatterns | None, allowlist: Allowlist | None) -> str:
    """What decides which text is redacted: the SDK's version (its rules), this service's rules and the
    deployment's. Stored text reads differently when it changes, so readers' ETags include it."""
    from importlib.metadata import version

    parts = [
        version("kingfisher-secret-scanner"),
        OWN_RULES.read_text(),
        extra.model_dump_json() if extra else "",
        allowlist.model_dump_json() if allowlist else "",
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


class RuleSetScanner:
    """SecretScanner over Kingfisher's rule set, this service's `.env` rule and the deployment's patterns,
    then its allowlist."""

    def __init__(self, extra: ExtraPatterns | None = None, allowlist: Allowlist | None = None) -> None:
        self._scanner = _rule_set(tuple(extra.root.items()) if extra else ())
        self.fingerprint = _fingerprint(extra, allowlist)
        self._allowlist = allowlist or Allowlist([])

    def find(self, text: bytes) -> list[SecretSpan]:
        try:
            findings = self._scanner.scan(text)
        except (RuntimeError, TimeoutError, ValueError) as exc:  # the secret's text is never in it
            raise SecretScanFailed() from exc
        spans: list[SecretSpan] = []
        own: list[SecretSpan] = []
        for finding in findings:
            if finding.visible or any(word in finding.rule_id for word in _SECRET_COMPONENTS):
                location = finding.location
                span = SecretSpan(location["start_offset"], location["end_offset"], kind_of_rule(finding.rule_id))
                (own if finding.rule_id.startswith(OWN_RULE_PREFIX) else spans).append(span)
        # What the rule set found keeps its kind (`stripe-access-token`, not `env-secret`).
        spans += [o for o in own if not any(s.start < o.end and o.start < s.end for s in spans)]
        if self._allowlist.root:
            spans = [s for s in spans if not self._allowlist.allows(text[s.start : s.end].decode(errors="replace"))]
        return spans
