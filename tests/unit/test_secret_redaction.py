"""Redaction's own rules (contract §12): markers, kinds, cutting found secrets out of UTF-8 text across
many texts at once, idempotence, and the deployment's patterns and allowlist as settings read them."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from tasklogs_core.adapters.secret_scanner import RuleSetScanner, kind_of_rule
from tasklogs_core.adapters.settings import SecretSettings
from tasklogs_core.domain.secrets import (
    Allowlist,
    ExtraPatterns,
    Redaction,
    SecretSpan,
    cut_out,
    merged_spans,
    redacted,
    redacted_each,
    redactions_in,
)
from tests.secrets_corpus import PLANTERS, github_token


class Found:
    """A scanner that finds what it is told to, as spans of the text it is given."""

    def __init__(self, *secrets: bytes) -> None:
        self.secrets = secrets

    def find(self, text: bytes) -> list[SecretSpan]:
        spans = []
        for secret in self.secrets:
            at = text.find(secret)
            while at != -1:
                spans.append(SecretSpan(at, at + len(secret), "test-secret"))
                at = text.find(secret, at + 1)
        return spans


@pytest.fixture(scope="module")
def scanner() -> RuleSetScanner:
    return RuleSetScanner()


@pytest.mark.parametrize(
    ("rule", "kind"),
    [
        ("betterleaks.aws-access-token", "aws-access-key-id"),
        ("betterleaks.aws-secret-access-key", "aws-secret-access-key"),
        ("betterleaks.github-fine-grained-pat", "github-token"),
        ("betterleaks.gitlab-pat-routable", "gitlab-token"),
        ("betterleaks.slack-bot-token", "slack-token"),
        ("betterleaks.slack-webhook-url", "slack-webhook-url"),
        ("betterleaks.jwt-base64", "jwt"),
        ("betterleaks.private-key", "private-key"),
        ("betterleaks.generic-credential-uri", "url-password"),
        ("veles.secrets/npmjsaccesstoken", "npmjsaccesstoken"),
        ("kingfisher.Some_Rule.2", "some-rule-2"),
    ],
)
def test_each_rule_names_a_kind_a_reader_can_read(rule: str, kind: str) -> None:
    assert kind_of_rule(rule) == kind


def test_a_span_is_widened_to_whole_characters_and_overlapping_spans_become_one() -> None:
    text = "clé=ünïcode-secret rest".encode()
    # Starts inside "é" and ends inside "ï": the marker replaces both whole characters.
    assert cut_out(text, merged_spans(text, [SecretSpan(3, 9, "a")])).decode() == "cl[REDACTED:a]code-secret rest"
    assert merged_spans(text, [SecretSpan(7, 13, "b"), SecretSpan(3, 9, "a")]) == [SecretSpan(2, 13, "a")]
    # A span over a marker already there is left: redacting redacted text changes nothing.
    marked = b"key [REDACTED:jwt] end"
    assert merged_spans(marked, [SecretSpan(6, 12, "x")]) == []


@given(st.lists(st.text(max_size=40), min_size=1, max_size=8), st.sampled_from(["s3cret-value", "ключ-сек", "x"]))
@settings(max_examples=200)
def test_redacting_many_texts_at_once_is_redacting_each_and_twice_changes_nothing(
    texts: list[str], secret: str
) -> None:
    planted = [f"{text}{secret}{text}" if i % 2 else text for i, text in enumerate(texts)]
    scanner = Found(secret.encode())
    together, kinds = redacted_each([t.encode() for t in planted], scanner)
    one_by_one = [redacted(t.encode(), scanner) for t in planted]
    assert together == one_by_one
    assert all(secret.encode() not in t for t in together)
    assert sum(kinds.values()) >= len(planted) // 2
    again, more = redacted_each(together, scanner)
    assert again == together and not more
    assert all(t.decode() for t in together if t)  # still UTF-8


def test_a_secret_running_across_two_texts_is_cut_from_both() -> None:
    texts = [b"first half: abc", b"def second half"]
    out, kinds = redacted_each(texts, Found(b"abc\n\ndef"))
    assert out == [b"first half: [REDACTED:test-secret]", b"[REDACTED:test-secret] second half"]
    assert kinds == {"test-secret": 1}


def test_redactions_count_each_kind_in_order_of_first_appearance() -> None:
    content = "a [REDACTED:jwt] b [REDACTED:private-key] c [REDACTED:jwt] [REDACTED:Bad Kind]"
    assert redactions_in(content) == [Redaction(kind="jwt", count=2), Redaction(kind="private-key", count=1)]
    assert redactions_in("nothing here") == []


@pytest.mark.parametrize("plant", PLANTERS, ids=lambda p: p.__name__.strip("_"))
def test_every_planted_kind_is_found_in_text_around_it_and_a_second_pass_finds_nothing(
    scanner: RuleSetScanner, plant
) -> None:
    import random

    planted = plant(random.Random(1))
    text = f"● Bash(make deploy)\n  ⎿  {planted.text}Done in 3.2s ✓\n".encode()
    out = redacted(text, scanner)
    assert all(secret.encode() not in out for secret in planted.secrets), out
    assert planted.kind in {r.kind for r in redactions_in(out)}
    assert redacted(out, scanner) == out
    assert out.decode().startswith("● Bash(make deploy)") and out.decode().endswith("Done in 3.2s ✓\n")


def test_the_deployment_adds_patterns_and_allows_values(scanner: RuleSetScanner) -> None:
    token = github_token(__import__("random").Random(3))
    own = RuleSetScanner(
        ExtraPatterns(
            {
                "acme-token": r"acme_[a-z0-9]{12}",
                "ticket-pin": r"PIN (?P<secret>\d{6})\b",  # the group named secret, the rest kept
                "order-ref": r"ORD-([0-9]{4})-[A-Z]{3}",  # any other group: still the whole match
                "badge": r"badge#(?<secret>[0-9]{5})",  # the other spelling of a named group
            }
        ),
        Allowlist([token, {"pattern": r"acme_0{12}"}]),
    )
    text = f"acme_ab12cd34ef56 acme_000000000000 PIN 123456 ORD-2026-XKQ badge#12345 {token}".encode()
    assert redacted(text, own) == (
        f"[REDACTED:acme-token] acme_000000000000 PIN [REDACTED:ticket-pin] [REDACTED:order-ref]"
        f" badge#[REDACTED:badge] {token}".encode()
    )
    assert token.encode() not in redacted(text, scanner)  # allowed only where the allowlist says so


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("secret_patterns", {"acme": "acme_[a-z"}, "not a regular expression the scanner takes"),
        ("secret_patterns", {"acme": "x*"}, "matches empty text"),
        ("secret_patterns", {"acme": "(?<!x)acme"}, "no look-around or back-references"),
        ("secret_patterns", {"Acme Token": "acme_[a-z]{4}"}, "should match pattern"),
        ("secret_patterns", ["acme_[a-z]{4}"], "valid dictionary"),
        ("secret_allowlist", [{"regex": "x"}], "Extra inputs"),
        ("secret_allowlist", [{"pattern": "("}], "not a regular expression"),
        ("secret_allowlist", [""], "at least 1 character"),
    ],
)
def test_a_bad_pattern_or_allowlist_is_refused_naming_what_is_wrong(variable: str, value, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        SecretSettings.model_validate({variable: json.dumps(value)})


def test_settings_take_the_deployments_json() -> None:
    settings = SecretSettings.model_validate(
        {"secret_patterns": '{"acme-token": "acme_[a-z0-9]{12}"}', "secret_allowlist": '["x", {"pattern": "y+"}]'}
    )
    assert settings.secret_patterns.root == {"acme-token": "acme_[a-z0-9]{12}"}
    assert settings.secret_allowlist.allows("x") and settings.secret_allowlist.allows("yyy")
    assert not settings.secret_allowlist.allows("xy")
    with pytest.raises(ValidationError, match="not JSON"):
        SecretSettings.model_validate({"secret_patterns": "{not json"})


def test_the_rules_fingerprint_follows_the_deployment_s_rules(scanner: RuleSetScanner) -> None:
    """Readers' ETags include it: stored text reads differently once a deployment adds a pattern."""
    patterned = RuleSetScanner(ExtraPatterns({"acme-token": r"acme_[a-z0-9]{12}"}))
    allowing = RuleSetScanner(None, Allowlist(["AKIAIOSFODNN7EXAMPLE"]))
    assert len({scanner.fingerprint, patterned.fingerprint, allowing.fingerprint}) == 3
    assert RuleSetScanner().fingerprint == scanner.fingerprint


def test_secrets_redacted_is_counted_by_kind_and_never_holds_a_secret(capsys, monkeypatch) -> None:
    from tasklogs_core.adapters.observability import count_secrets_redacted

    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.delenv("POWERTOOLS_DEV", raising=False)
    count_secrets_redacted({"jwt": 2, "env-secret": 1})
    count_secrets_redacted({})  # nothing removed: nothing said
    blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert sorted((b["kind"], b["SecretsRedacted"]) for b in blobs) == [("env-secret", [1.0]), ("jwt", [2.0])]
    assert all(
        b["_aws"]["CloudWatchMetrics"][0]["Metrics"] == [{"Name": "SecretsRedacted", "Unit": "Count"}] for b in blobs
    )
    assert all("kind" in b["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0] for b in blobs)


def test_a_long_conversation_is_scanned_a_batch_at_a_time_and_redacted_the_same() -> None:
    class Counting(Found):
        def find(self, text: bytes) -> list[SecretSpan]:
            self.sizes.append(len(text))
            return super().find(text)

    scanner = Counting(b"s3cret-value")
    scanner.sizes = []
    texts = [(b"x" * 100_000 + b" s3cret-value ") * (i % 3) for i in range(40)]  # about 4 MB
    out, kinds = redacted_each(texts, scanner)
    assert out == [redacted(t, Found(b"s3cret-value")) for t in texts]
    assert kinds["test-secret"] == sum(i % 3 for i in range(40))
    assert len(scanner.sizes) > 3 and max(scanner.sizes) <= 1024 * 1024 + 300_000


def test_a_deployment_pattern_that_would_backtrack_forever_in_python_is_one_pass_for_the_scanner() -> None:
    """The deployment's patterns are the scanner's own rules (Rust's regex: no backtracking), so text an
    agent prints can never make one hang a function. A subprocess bounds the test, should that break."""
    import subprocess
    import sys

    from tasklogs_core.adapters.secret_scanner import OWN_RULES

    probe = (
        "from tasklogs_core.adapters.secret_scanner import RuleSetScanner;"
        "from tasklogs_core.domain.secrets import ExtraPatterns, redacted;"
        "s = RuleSetScanner(ExtraPatterns({'nested': '([a-y]+)+z9'}));"
        "print(redacted(b'qwerty' * 5000 + b'!', s)[-7:], redacted(b'x qwertyuiz9', s))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        env={"PYTHONPATH": str(OWN_RULES.parents[2]), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    assert out.strip() == "b'qwerty!' b'x [REDACTED:nested]'"
