"""The secret scanner (contract §12; docs/redaction.md has the evaluation behind the choice): Kingfisher's
rule set (MongoDB's, with the Betterleaks/gitleaks rules) in-process through its SDK, this service's
own rule for `.env`-style lines the rule set leaves out (secret_rules.yml), and the deployment's own
patterns and allowlist.

Only the scanning functions carry the SDK (the scanner layer). Its rules are compiled once a container,
as it starts (services/secret_redaction.py); clients.secret_scanner adds the deployment's rules."""

from __future__ import annotations

import hashlib
import re
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


def kind_of_rule(rule_id: str) -> str:
    """The kind a marker names for a rule of the scanner's rule set (`betterleaks.github-pat` →
    `github-token`)."""
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


@cache
def _rule_set() -> kingfisher_sdk.Scanner:
    """Kingfisher's rules compiled (seconds; a fraction of that from the disk cache the SDK keeps where
    the home directory is writable, which Lambda's is not), once a process, whatever settings change.
    base64 text is decoded and scanned too (a Kubernetes secret's `data:`), its encoded whole redacted."""
    import kingfisher_sdk

    return kingfisher_sdk.Scanner(kingfisher_sdk.Rules([OWN_RULES]), base64=True)


def compile_rules() -> None:
    _rule_set()


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
    """SecretScanner over Kingfisher's rule set, this service's `.env` rule and the deployment's own."""

    def __init__(self, extra: ExtraPatterns | None = None, allowlist: Allowlist | None = None) -> None:
        self._scanner = _rule_set()
        self.fingerprint = _fingerprint(extra, allowlist)
        self._extra = [(kind, re.compile(pattern.encode())) for kind, pattern in (extra.root if extra else {}).items()]
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
        for kind, pattern in self._extra:
            for match in pattern.finditer(text):
                group = "secret" if "secret" in pattern.groupindex else 0
                if match.end(group) > match.start(group):
                    spans.append(SecretSpan(match.start(group), match.end(group), kind))
        if self._allowlist.root:
            spans = [s for s in spans if not self._allowlist.allows(text[s.start : s.end].decode(errors="replace"))]
        return spans
