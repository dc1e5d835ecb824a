"""Follow-up questions: which lean on the question before, what is searched for them, and what ask answers."""

from __future__ import annotations

import pytest

from index.followups import followup_query, leans_on_previous
from index.library import Library


@pytest.mark.parametrize(
    "question",
    [
        "what about the governor?",
        "and when was that",
        "who else said so",
        "why did she do it",
        "how many",
        "did they get caught",
        "and in texas?",
    ],
)
def test_a_question_that_names_nothing_of_its_own_leans_on_the_one_before(question: str) -> None:
    """Openers ("what about", "and", "who else"), pointers ("she", "that", "so") and bare questions lean."""
    assert leans_on_previous(question)


@pytest.mark.parametrize(
    "question",
    [
        "who won the ohio governor race in 2018",
        "why did the county clerk in dayton delay the audit",
        "how much did georgia spend on new voting machines",
        "what did the senate intelligence committee say so far about the breach",
    ],
)
def test_a_question_with_a_subject_of_its_own_stands_alone(question: str) -> None:
    """A full question naming its own subject does not lean, even opening with "why" or holding "so far"."""
    assert not leans_on_previous(question)


def test_a_follow_up_is_searched_with_the_earlier_subject_carried_over() -> None:
    """Its own words come first, as typed, then the earlier question's naming words it lacks."""
    searched = followup_query("and when did he say that?", "Who did the Ohio clerk blame for the audit delay")
    assert searched.startswith("and when did he say that?")
    assert set(searched.split()[6:]) == {"ohio", "clerk", "blame", "audit", "delay"}
    assert followup_query("what about georgia", "how much did ohio spend on voting machines").split() == [
        "what",
        "about",
        "georgia",
        "ohio",
        "spend",
        "voting",
        "machines",
    ]


def test_a_stand_alone_question_or_no_earlier_one_is_searched_as_typed() -> None:
    """Nothing is carried into a question with its own subject, nor from a blank earlier question."""
    question = "how much did georgia spend on new voting machines"
    assert followup_query(question, "who did the ohio clerk blame") == question
    assert followup_query("and when was that", None) == "and when was that"
    assert followup_query("and  when was that", "   ") == "and when was that"


def test_ask_answers_a_follow_up_with_the_earlier_question_it_refuses_alone(library: Library) -> None:
    """Asked alone "what did they tell people to do" is refused; after the emails question it quotes the answer."""
    alone = library.ask("what did they tell people to do", k=3)
    assert not alone.answered
    followup = library.ask(
        "what did they tell people to do", k=3, previous="which group were the threatening emails sent in the name of"
    )
    assert followup.answered
    assert "vote for Trump" in followup.quotes[0].text
    assert followup.question == "what did they tell people to do"

    why = library.ask("why are democrats angry with him", k=3, previous="who is john ratcliffe")
    assert not library.ask("why are democrats angry with him", k=3).answered
    assert why.answered and "declassify information" in why.quotes[0].text


def test_ask_leaves_a_stand_alone_question_unchanged_after_another(library: Library) -> None:
    """A question with its own subject gets the same quotes whatever was asked before it."""
    question = "what did the emails tell democrats to do"
    alone = library.ask(question, k=3)
    after = library.ask(question, k=3, previous="who did Ratcliffe blame?")
    assert alone.answered
    assert [(q.passage_id, q.highlight) for q in after.quotes] == [(q.passage_id, q.highlight) for q in alone.quotes]
