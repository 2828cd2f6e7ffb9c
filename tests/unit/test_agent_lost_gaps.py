"""The `agent lost` gap (contract §11): after the last entry of a session whose newest write was a
checkpoint and whose agent is gone, whether the transcript goes on to a newer session or ends there."""

from tasklogs_core.adapters.transcript_store import SessionHeader
from tasklogs_core.domain.transcript import SESSION_SEQ_BLOCK, Placed, SessionFacts, TranscriptGap, page_gaps


def facts_of(by_session: dict[int, SessionFacts]):
    return lambda session: by_session.get(session, SessionFacts())


def test_a_session_left_by_a_checkpoint_ends_in_a_gap_of_unknown_size() -> None:
    entries = [Placed(0, 1, 0), Placed(1, 1, 1)]
    gaps = page_gaps(None, entries, None, facts_of({1: SessionFacts(agent_lost=True)}))
    assert gaps == [TranscriptGap(after_seq=1, before_seq=None, missing=None, reason="agent lost")]
    assert page_gaps(None, entries, None, facts_of({1: SessionFacts()})) == []


def test_a_newer_session_after_a_lost_one_starts_after_the_gap() -> None:
    later = Placed(SESSION_SEQ_BLOCK, 2, 0)  # the next session's first entry
    gaps = page_gaps(None, [Placed(0, 1, 0), later], None, facts_of({1: SessionFacts(agent_lost=True)}))
    assert gaps == [TranscriptGap(after_seq=0, before_seq=later.seq, missing=None, reason="agent lost")]


def test_a_header_is_lost_only_when_its_newest_write_was_a_checkpoint() -> None:
    assert SessionHeader(1, checkpoint_at="2026-12-04T10:01:00.000000Z").facts.agent_lost
    closed = SessionHeader(1, checkpoint_at="2026-12-04T10:01:00.000000Z", closed_at="2026-12-04T10:02:00.000000Z")
    assert not closed.facts.agent_lost
    assert not SessionHeader(1).facts.agent_lost  # never checkpointed
