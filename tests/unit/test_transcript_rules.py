"""The transcript's rules (contract §7) in domain/transcript.py: seqs, session matching, merging writes
and gaps; and the page query as the edge parses it (edge/parsing.py). Properties are checked over
generated histories (hypothesis)."""

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tasklogs_core.domain.errors import InvalidQueryParameters
from tasklogs_core.domain.transcript import (
    DEFAULT_LIMIT,
    MAX_SESSIONS,
    SESSION_SEQ_BLOCK,
    Message,
    PageRequest,
    Placed,
    SessionFacts,
    StoredMessage,
    TranscriptGap,
    continues_session,
    ids_are_contiguous,
    merge,
    newest_within,
    page_gaps,
    seq_of,
    session_for,
    session_of_seq,
)
from tasklogs_core.edge.parsing import page_request


def conversation(*texts: str, start: int = 0) -> list[Message]:
    """Alternating user/agent messages, ids from `start`."""
    roles = itertools.cycle(["agent", "user"])
    return [Message(start + n, next(roles), text, f"2026-11-25T10:00:{n:02d}Z") for n, text in enumerate(texts)]


def held(messages: list[Message]) -> dict[int, Message]:
    return {message.id: message for message in messages}


# ---------------------------------------------------------------- seq


@given(
    st.integers(1, MAX_SESSIONS),
    st.integers(0, SESSION_SEQ_BLOCK - 1),
    st.integers(1, MAX_SESSIONS),
    st.integers(0, SESSION_SEQ_BLOCK - 1),
)
def test_seqs_ascend_in_conversation_order_and_name_their_session(s1: int, id1: int, s2: int, id2: int) -> None:
    a, b = seq_of(s1, id1), seq_of(s2, id2)
    assert a is not None and b is not None and 0 <= a < 2**53 and 0 <= b < 2**53
    assert (a < b) == ((s1, id1) < (s2, id2)) and (a == b) == ((s1, id1) == (s2, id2))
    assert session_of_seq(a) == s1


@pytest.mark.parametrize(("session", "message_id"), [(0, 0), (1, -1), (1, SESSION_SEQ_BLOCK), (MAX_SESSIONS + 1, 0)])
def test_an_id_outside_its_sessions_block_has_no_seq(session: int, message_id: int) -> None:
    assert seq_of(session, message_id) is None


# ---------------------------------------------------------------- the page query


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", PageRequest()),
        ("limit=1", PageRequest(limit=1)),
        ("limit=1000&after=0", PageRequest(limit=1000, after=0)),
        ("after=-1", PageRequest(after=-1)),  # from the first entry
        ("before=1048576", PageRequest(before=1_048_576)),
        (f"after={2**53 - 1}", PageRequest(after=2**53 - 1)),
    ],
)
def test_pages_are_asked_for_with_limit_and_one_cursor(query: str, expected: PageRequest) -> None:
    assert page_request(query) == expected
    assert PageRequest().limit == DEFAULT_LIMIT == 200


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("limit=0", ["limit"]),
        ("limit=1001", ["limit"]),
        ("limit=", ["limit"]),
        ("limit=1.0", ["limit"]),
        ("limit=+5", ["limit"]),
        ("limit=%205", ["limit"]),
        ("limit=%D9%A3", ["limit"]),  # an Arabic-Indic digit: a digit to Python, not to a Go client
        ("after=-2", ["after"]),
        (f"after={2**53}", ["after"]),
        ("after=x&before=y", ["after", "before", "after", "before"]),
        ("after=1&before=9", ["after", "before"]),
        ("limit=5&limit=6", ["limit"]),
        ("cursor=5", ["cursor"]),
        ("limit=0&page=2&after=1&before=2", ["limit", "page", "after", "before"]),
    ],
)
def test_any_other_query_is_a_400_naming_each_bad_field(query: str, fields: list[str]) -> None:
    with pytest.raises(InvalidQueryParameters) as raised:
        page_request(query)
    assert [field for field, _ in raised.value.validations] == fields


# ---------------------------------------------------------------- sessions


def test_a_replayed_history_continues_its_session() -> None:
    """An agent with AgentAPI's state file replays the earlier messages first, then goes on."""
    first = conversation("Welcome", "Add a page", "Added it.")
    assert continues_session(held(first), [*first, *conversation("Now tests", "Done.", start=3)])


def test_a_restarted_agent_starts_a_new_session() -> None:
    """Without state persistence every run numbers from 0 again, with other messages; its greeting
    matches the earlier run's, and its first input is the newest id both hold. A user message is never
    rewritten in place, so it must match: otherwise the new run would overwrite the earlier one."""
    first = conversation("Welcome", "Add a page", "Added it.")
    assert not continues_session(held(first), conversation("Welcome", "Write the docs"))
    assert not continues_session(held(first), conversation("Welcome", "Write the docs", "Writing…"))


def test_the_newest_common_message_may_have_been_rewritten_in_place() -> None:
    stored = conversation("Welcome", "Add a page", "Adding…")
    now = conversation("Welcome", "Add a page", "Added it, with tests.", "Thanks")
    assert continues_session(held(stored), now)
    older_differs = conversation("Welcome", "Something else", "Adding…")
    assert not continues_session(held(older_differs), now)


def test_a_partial_upload_and_the_whole_capture_are_one_session() -> None:
    whole = conversation(*(f"message {n}" for n in range(13)))
    last_ten_of_first_nine = whole[0:10][-5:]  # the shutdown script sends only the last messages
    assert continues_session(held(last_ten_of_first_nine), whole)


def test_sessions_that_share_no_id_are_different_sessions() -> None:
    partial = conversation(*(f"old {n}" for n in range(5)), start=5)  # ids 5..9 of an earlier run
    assert not continues_session(held(partial), conversation("Welcome", "Hi", "Hello", "Bye"))


def test_a_lone_common_id_proves_a_session_only_when_it_matches() -> None:
    greeting = conversation("Welcome to Claude Code!")
    assert continues_session(held(greeting), conversation("Welcome to Claude Code!", "Hi"))
    assert not continues_session(held(greeting), conversation("Welcome to Codex", "Hi"))


def test_a_lone_common_id_caught_mid_rewrite_still_continues_its_session() -> None:
    """An upload held message 2 as the agent had it then (the newest of that write, so provisional);
    the next write shares only that id, finished: the same session, not another (found by
    tests/integration/test_transcript_histories.py)."""
    caught = merge({}, conversation("Welcome", "Add a page", "Addi")[2:], _stamp(1))
    whole = conversation("Welcome", "Add a page", "Added.")
    assert session_for([caught], whole) == 0
    settled = {i: StoredMessage(kept.message, kept.written_at) for i, kept in caught.items()}  # not provisional
    assert session_for([settled], whole) is None


def test_acp_ids_with_gaps_match_on_the_ids_both_hold() -> None:
    stored = [Message(0, "agent", "hi", "t"), Message(7, "user", "go", "t"), Message(19, "agent", "…", "t")]
    now = [*stored[:2], Message(19, "agent", "done", "t"), Message(23, "user", "thanks", "t")]
    assert continues_session(held(stored), now)


def test_a_message_caught_mid_rewrite_does_not_split_its_session() -> None:
    """A capture caught the agent writing message 2; a last-10 upload then stored 3..4 without it; the
    next whole read has message 2 finished. Message 2 was the newest of the write that stored it."""
    caught = merge({}, conversation("Welcome", "Add a page", "Addi"), _stamp(1))
    later = merge(caught, conversation("Welcome", "Add a page", "Added.", "Thanks", "Welcome back")[3:], _stamp(2))
    whole = conversation("Welcome", "Add a page", "Added.", "Thanks", "Welcome back", "More")
    assert session_for([later], whole) == 0
    user_differs = conversation("Welcome", "Write docs", "Added.", "Thanks", "Welcome back", "More")
    assert session_for([later], user_differs) is None


def test_new_messages_join_the_newest_session_they_continue() -> None:
    def stored(messages: list[Message]) -> dict[int, StoredMessage]:
        return {m.id: StoredMessage(m, _stamp(0)) for m in messages}

    one, two = stored(conversation("A", "B")), stored(conversation("C", "D"))
    assert session_for([two, one], conversation("C", "D", "E")) == 0
    assert session_for([two, one], conversation("A", "B", "Z")) == 1
    assert session_for([two, one], conversation("X")) is None
    assert session_for([], conversation("X")) is None


# ---------------------------------------------------------------- merging writes

writes = st.lists(
    st.tuples(
        st.lists(st.tuples(st.integers(0, 12), st.sampled_from(["a", "b", "c"])), max_size=8),
        st.integers(0, 50),  # the write's time
    ),
    max_size=8,
)


def _stamp(seconds: int) -> str:
    return f"2026-11-25T10:00:{seconds:02d}.000000Z"


def _apply(history: list[tuple[list[tuple[int, str]], int]]) -> dict[int, StoredMessage]:
    stored: dict[int, StoredMessage] = {}
    for messages, at in history:
        stored = merge(stored, [Message(i, "agent", text, "t") for i, text in messages], _stamp(at))
    return stored


@settings(max_examples=300)
@given(writes)
def test_nothing_stored_is_dropped_and_the_newest_write_of_each_id_wins(history) -> None:
    stored = _apply(history)
    assert set(stored) == {i for messages, _ in history for i, _ in messages}
    for message_id, kept in stored.items():
        newest = max(at for messages, at in history if message_id in dict(messages))
        assert kept.written_at == _stamp(newest)


@settings(max_examples=300)
@given(writes, st.randoms(use_true_random=False))
def test_writes_applied_in_any_order_leave_the_same_ids_and_times(history, random) -> None:
    """Writers race: whatever order their merges land in, the ids kept and the write each comes from
    (its time) are the same. (Two writes at the same instant with different text: the first kept.)"""
    shuffled = list(history)
    random.shuffle(shuffled)
    assert {i: m.written_at for i, m in _apply(history).items()} == {
        i: m.written_at for i, m in _apply(shuffled).items()
    }


def test_the_newest_agent_message_of_a_write_is_kept_as_provisional() -> None:
    kept = merge({}, conversation("Welcome", "Add a page", "Adding"), _stamp(1))
    assert [kept[i].provisional for i in (0, 1, 2)] == [False, False, True]
    assert not any(m.provisional for m in merge({}, conversation("Welcome", "Add a page"), _stamp(1)).values())
    assert not merge(kept, conversation("Welcome", "Add a page", "Added.", "Thanks"), _stamp(2))[2].provisional


def test_replaying_a_write_changes_nothing() -> None:
    once = merge({}, conversation("A", "B"), _stamp(1))
    assert merge(once, conversation("A", "B"), _stamp(1)) == once
    assert merge(once, conversation("A"), _stamp(0)) == once  # an older, smaller write: no effect


# ---------------------------------------------------------------- gaps


def _placed(session: int, message_id: int) -> Placed:
    return Placed(seq_of(session, message_id), session, message_id)


def _gap(after: tuple[int, int] | None, before: tuple[int, int], missing: int, reason: str) -> TranscriptGap:
    return TranscriptGap(
        after_seq=_placed(*after).seq if after else None,
        before_seq=_placed(*before).seq,
        missing=missing,
        reason=reason,
    )


@pytest.mark.parametrize(
    ("ids", "contiguous", "dropped", "gaps"),
    [
        ([0, 1, 2], True, 0, []),
        ([5, 6, 7], True, 0, [_gap(None, (1, 5), 5, "not captured")]),
        ([0, 1, 4, 5, 9], True, 0, [_gap((1, 1), (1, 4), 2, "not captured"), _gap((1, 5), (1, 9), 3, "not captured")]),
        ([0, 7, 19], False, 0, []),  # ACP ids skip by nature: a hole proves nothing
        ([40, 41], True, 40, [_gap(None, (1, 40), 40, "over size limit")]),
        ([7, 19], False, 12, [_gap(None, (1, 7), 12, "over size limit")]),
        ([], True, 0, []),
    ],
)
def test_gaps_are_where_the_ids_say_messages_were_never_stored(ids, contiguous, dropped, gaps) -> None:
    facts = SessionFacts(ids_contiguous=contiguous, dropped_oldest=dropped, kept_from=ids[0] if dropped else 0)
    entries = [_placed(1, i) for i in ids]
    assert page_gaps(None, entries, None, lambda _session: facts) == gaps


def test_a_session_that_opens_late_has_its_gap_after_the_previous_session() -> None:
    """Session 2 starts at id 3 (its first three messages were never stored): the gap sits between the
    last entry of session 1 and the first of session 2, whichever page holds either of them."""
    last_of_1, first_of_2 = _placed(1, 9), _placed(2, 3)
    facts = {1: SessionFacts(), 2: SessionFacts()}
    gap = _gap((1, 9), (2, 3), 3, "not captured")
    assert page_gaps(_placed(1, 7), [_placed(1, 8), last_of_1], first_of_2, facts.__getitem__) == [gap]  # older page
    assert page_gaps(last_of_1, [first_of_2, _placed(2, 4)], None, facts.__getitem__) == [gap]  # newer page
    assert page_gaps(None, [], None, facts.__getitem__) == []


def test_a_capture_keeps_the_newest_messages_within_the_session_limit() -> None:
    messages = conversation("a" * 10, "b" * 10, "c" * 10)
    assert newest_within(messages, 20) == (messages[-2:], 1)
    assert newest_within(messages, 19) == (messages[-1:], 2)
    assert newest_within(messages, 10**6) == (messages, 0)
    assert newest_within([], 0) == ([], 0)


def test_gaps_left_by_the_size_limit_say_so_and_older_ones_do_not() -> None:
    """A session first uploaded in part (ids 5-6), then captured over the limit (kept from id 20): the
    hole up to 20 was left out for size, the ids before 5 were never captured."""
    facts = SessionFacts(ids_contiguous=True, dropped_oldest=20, kept_from=20)
    entries = [_placed(1, 5), _placed(1, 6), _placed(1, 20)]
    assert page_gaps(None, entries, None, lambda _session: facts) == [
        _gap(None, (1, 5), 5, "over size limit"),
        _gap((1, 6), (1, 20), 13, "over size limit"),
    ]


def test_whether_a_writes_ids_count_its_messages() -> None:
    assert ids_are_contiguous(conversation("a", "b", "c", start=4))
    assert ids_are_contiguous([])
    assert not ids_are_contiguous([Message(0, "agent", "", "t"), Message(2, "user", "", "t")])
