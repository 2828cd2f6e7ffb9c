"""The scanner on the secret corpus (tests/secrets_corpus.py): every planted secret removed (recall
100%), and look-alikes left as they are (precision at least 99%); the figures are reported."""

from collections import Counter

import pytest

from tasklogs_core.adapters.secret_scanner import RuleSetScanner
from tasklogs_core.domain.secrets import redacted, redactions_in
from tests.secrets_corpus import Planted, corpus


def test_recall_is_total_and_precision_at_least_99_percent_on_the_corpus(capsys: pytest.CaptureFixture[str]) -> None:
    scanner = RuleSetScanner()
    found, missed, kinds_wrong, false = Counter(), Counter(), Counter(), Counter()
    planted = look_alikes = 0
    for item in corpus(seed=26, per_kind=20):
        if isinstance(item, Planted):
            planted += 1
            out = redacted(item.text.encode(), scanner).decode()
            left = any(secret in out for secret in item.secrets)
            (missed if left else found)[item.kind] += 1
            if item.kind not in {r.kind for r in redactions_in(out)}:
                kinds_wrong[item.kind] += 1
        else:
            look_alikes += 1
            out = redacted(item.encode(), scanner).decode()
            if out != item:
                false[item.splitlines()[0][:40]] += sum(r.count for r in redactions_in(out))
    true_positives = sum(found.values())
    recall = true_positives / planted
    precision = true_positives / (true_positives + sum(false.values()))
    with capsys.disabled():
        print(
            f"\nsecret corpus: {planted} planted secrets of {len(found | missed)} kinds, {look_alikes} look-alikes; "
            f"recall {recall:.1%}, precision {precision:.1%}"
        )
    assert missed == Counter(), f"secrets left in: {dict(missed)}"
    assert kinds_wrong == Counter(), f"named as another kind: {dict(kinds_wrong)}"
    assert recall == 1.0 and precision >= 0.99, dict(false)
