"""Knowledge gaps: refused and voted-down questions, grouped when they ask the same thing, per server and period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from corpus.errors import BadInput
from corpus.records import UnansweredQuestion
from index.gaps import group_questions
from index.library import Library

REFUSED = [
    "who won argentina's 2019 runoff",
    "who won the argentina runoff in 2019",
    "did bolsonaro accept the results",
    "who won argentinas 2019 runoff?",
]


def test_wordings_of_one_question_are_grouped_and_different_ones_kept_apart(encoder) -> None:
    """Three wordings of the Argentina question make one group of 3; Brazil's stays its own; most asked first."""
    asked = [UnansweredQuestion(q, f"2026-11-2{i}T00:00:00+00:00", True) for i, q in enumerate(REFUSED)]
    gaps = group_questions(asked, encoder.encode(REFUSED))
    assert [(g.question, g.asked) for g in gaps] == [(REFUSED[0], 3), (REFUSED[2], 1)]
    assert gaps[0].wordings == [REFUSED[1], REFUSED[3]] and gaps[0].refused == 3


def ask_and_log(library: Library, question: str, guild_id: int | None, vote: int = 0) -> int:
    """Ask as a member of ``guild_id`` would, log what was shown, and vote on it."""
    answer = library.ask(question, guild_id=guild_id)
    answer_id = library.log_answer(answer, guild_id=guild_id, user_id="42")
    if vote:
        library.record_vote(answer_id, guild_id=guild_id, user_id="7", vote=vote)
    return answer_id


def test_a_servers_gaps_are_its_refused_and_voted_down_questions(any_library: Library) -> None:
    """Refusals and net-👎 answers count, liked answers do not, and another server's questions never show."""
    for question in REFUSED:
        ask_and_log(any_library, question, 1)
    ask_and_log(any_library, "who did Ratcliffe blame?", 1, vote=-1)
    ask_and_log(any_library, "what did ratcliffe say about iran", 1, vote=1)
    ask_and_log(any_library, "who won the chilean election", 2)
    gaps = any_library.gaps(guild_id=1)
    assert [(g.question, g.asked, g.refused, g.voted_down) for g in gaps] == [  # each named by its newest wording
        (REFUSED[3], 3, 3, 0),
        ("who did Ratcliffe blame?", 1, 0, 1),
        (REFUSED[2], 1, 1, 0),
    ]
    assert [g.question for g in any_library.gaps(guild_id=2)] == ["who won the chilean election"]
    assert len(any_library.gaps(guild_id=None, everywhere=True)) == 4


def test_only_the_period_asked_for_is_read(library: Library) -> None:
    """A refusal from 40 days ago is outside the default 30 days and inside 60."""
    old = ask_and_log(library, REFUSED[2], 1)
    long_ago = (datetime.now(UTC) - timedelta(days=40)).isoformat(timespec="seconds")
    with library.store.db.lock:  # type: ignore[attr-defined]
        library.store.db.connection.execute("UPDATE answers SET asked_at = ? WHERE id = ?", (long_ago, old))  # type: ignore[attr-defined]
    assert library.gaps(guild_id=1) == []
    assert [g.question for g in library.gaps(guild_id=1, days=60)] == [REFUSED[2]]


@pytest.mark.parametrize(("days", "limit"), [(0, 20), (4000, 20), (30, 0), (30, 101)])
def test_a_period_or_limit_out_of_range_is_refused(library: Library, days: int, limit: int) -> None:
    """Bad input is a one-line error."""
    with pytest.raises(BadInput):
        library.gaps(guild_id=1, days=days, limit=limit)
