"""Choosing and marking quotes (index/answers.py): who acts, the kind of answer asked for, copies shown once."""

from __future__ import annotations

import numpy as np
import pytest

from corpus.records import StoredPassage
from index.answers import Candidate, acting, drop_duplicates, make_quote, mark_best_sentence, text_sentences


def _passage(pid: int, text: str) -> StoredPassage:
    return StoredPassage(pid, pid, 0, 0, len(text), text, f"Title {pid}", "Outlet", None, "2020-10-22", None)


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("Ratcliffe claimed that Tehran and Moscow sent the emails.", 2),  # acts on a named object
        ("Ratcliffe said the emails were a threat.", 1),  # acts
        ("Democrats accuse Ratcliffe of politicising intelligence.", -1),  # acted upon
        ("Ratcliffe's statements sparked criticism.", -1),  # only owns something
        ("The emails reached voters in Florida.", 0),  # not named
    ],
)
def test_who_acts_in_a_sentence(sentence: str, expected: int) -> None:
    """For "who did Ratcliffe blame", a sentence where Ratcliffe acts beats one where he is acted upon."""
    assert acting("Ratcliffe", "blame", sentence) == expected


def test_the_sentence_with_the_kind_of_answer_is_marked() -> None:
    """With equal closeness, "how many" marks the sentence holding a count and "when" the one holding a date."""
    text = "The county tested its scanners. It tested 41 scanners in all. The results came on March 3, 2020."
    spans = text_sentences(text)
    assert len(spans) == 3
    query, vectors = np.ones(4, np.float32), np.ones((3, 4), np.float32) / 2
    assert "41 scanners" in mark_best_sentence("how many scanners were tested", query, spans, vectors).text
    assert "March 3, 2020" in mark_best_sentence("when did the results come", query, spans, vectors).text


def test_when_marks_the_sentence_with_the_date_over_a_slightly_closer_one_without() -> None:
    """For "when", holding a date outweighs being a little closer in meaning; for other questions it does not."""
    text = "The board certified the recount, its clerk said. The board certified the recount on Nov. 20."
    spans = text_sentences(text)
    assert len(spans) == 2
    query = np.asarray([1.0, 0.0], np.float32)
    vectors = np.asarray([[1.0, 0.0], [0.85, 0.527]], np.float32)  # the date-less sentence is closer by 0.15
    assert "Nov. 20" in mark_best_sentence("when did the board certify the recount", query, spans, vectors).text
    assert "clerk" in mark_best_sentence("did the board certify the recount", query, spans, vectors).text


def test_the_bold_goes_to_the_quotation_or_the_count_asked_for_not_the_restating_lede() -> None:
    """Choosing the bold, a quotation ("what did X say") or a count ("how many") outweighs a closer restatement."""
    text = "Ryan said the counsel should stay. “Let them do their jobs,” Ryan said. The board counted the ballots again. It found 41 ballots more."
    spans = text_sentences(text)
    assert len(spans) == 4
    query = np.asarray([1.0, 0.0], np.float32)
    vectors = np.asarray([[1.0, 0.0], [0.8, 0.6], [1.0, 0.0], [0.8, 0.6]], np.float32)  # the restatements are closest
    for question, marked in (
        ("what did ryan say about the counsel", "Let them do their jobs"),
        ("how many ballots did the board count", "41 ballots"),
        ("who should stay", "should stay"),  # no quotation or count asked: the closest sentence
    ):
        assert marked in mark_best_sentence(question, query, spans, vectors).text, question


def test_which_senator_marks_the_sentence_naming_a_senator_not_the_lede_restating_one() -> None:
    """ "Which senator ..." bolds "Senator Ben Cardin", though the lede restating "a senator" is closer."""
    text = (
        "A Democratic senator is leading the party's own Russia report, aides told Reuters on Tuesday. "
        "Senator Ben Cardin has been leading the effort since March."
    )
    spans = text_sentences(text)
    assert len(spans) == 2
    query = np.asarray([1.0, 0.0], np.float32)
    vectors = np.asarray([[1.0, 0.0], [0.9, 0.436]], np.float32)
    marked = mark_best_sentence("which senator is leading the democrats own russia report", query, spans, vectors)
    assert "Ben Cardin" in marked.text
    # The noun may end the question.
    assert "Ben Cardin" in mark_best_sentence("which senator?", query, spans, vectors).text
    # Not a "which" question: the closest sentence keeps the bold.
    assert "aides told" in mark_best_sentence("is a senator leading the report", query, spans, vectors).text


def test_the_first_question_word_says_what_is_asked() -> None:
    """A "when" later in the question does not make it ask for a date: "what show ... when he ..." wants the show."""
    text = "Graham defended the inquiry on Face the Nation. Graham defended the inquiry on Oct. 8, a Sunday."
    spans = text_sentences(text)
    query, vectors = np.ones(4, np.float32), np.ones((2, 4), np.float32) / 2
    marked = mark_best_sentence("what tv show was graham on when he defended the inquiry", query, spans, vectors)
    assert "Face the Nation" in marked.text
    assert "Oct. 8" in mark_best_sentence("when did graham defend the inquiry", query, spans, vectors).text


def test_a_who_question_typed_in_lower_case_wants_a_name_it_does_not_give() -> None:
    """For "which senator ..." typed in lower case, the names the question gives (or "Reuters") are no answer."""
    text = "Page Wilson's panel is led by a senator, Reuters said on Tuesday. Page Wilson's panel is led by a senator, Ben Cardin."
    spans = text_sentences(text)
    query, vectors = np.ones(4, np.float32), np.ones((2, 4), np.float32) / 2
    for question in ("which senator leads page wilson's panel", "whos the senator leading page wilson's panel"):
        assert "Ben Cardin" in mark_best_sentence(question, query, spans, vectors).text, question


def test_copies_of_one_text_are_quoted_once() -> None:
    """The same passage text in two articles (case and spacing aside) is shown once, the better copy first."""
    same = [_passage(1, "Officials said the audit passed."), _passage(2, "officials  said the AUDIT passed.")]
    other = _passage(3, "The count ends on Friday.")
    candidates = [Candidate(p, 1.0 - i / 10, 0.5, 0.0, np.zeros((1, 4))) for i, p in enumerate([*same, other])]
    assert [c.passage.id for c in drop_duplicates(candidates)] == [1, 3]
    assert [c.passage.id for c in drop_duplicates(candidates, limit=1)] == [1]


def test_a_quote_is_the_passage_verbatim_with_the_sentence_marked() -> None:
    """A quote keeps the passage text exactly and marks the chosen sentence by its span in it."""
    passage = _passage(7, "First sentence here. The answer is 42.")
    sentence = text_sentences(passage.text)[1]
    quote = make_quote(passage, 1.5, sentence)
    assert quote.text == passage.text and quote.highlight == "The answer is 42."
    assert quote.text[quote.highlight_start : quote.highlight_end] == quote.highlight


def test_a_heading_without_a_full_stop_is_a_sentence_of_its_own() -> None:
    """A blank line ends a sentence, so the bold never takes in the heading above the answer."""
    text = "Tehran seeks to “discredit American democracy”\n\nCNN said the Democrats were angry. They left.\n \nEnd"
    found = [s.text for s in text_sentences(text)]
    assert found == [
        "Tehran seeks to “discredit American democracy”",
        "CNN said the Democrats were angry.",
        "They left.",
        "End",
    ]
    assert all(text[s.start : s.end] == s.text for s in text_sentences(text))


def test_a_heading_is_never_bold_but_a_list_item_can_be() -> None:
    """The heading repeating the question is closest, yet the sentence under it is marked; list items stay markable."""
    text = "Dunmore recount\n\nThe board met about the recount.\n\n- Dunmore: 41 votes\n\n- Varga: 12 votes"
    spans = text_sentences(text)
    assert spans[0].text == "Dunmore recount" and len(spans) == 4
    query = np.asarray([1.0, 0.0], np.float32)
    vectors = np.asarray([[1.0, 0.0], [0.6, 0.8], [0.5, 0.866], [0.0, 1.0]], np.float32)
    assert mark_best_sentence("what about the dunmore recount", query, spans, vectors).text.startswith("The board")
    vectors[2] = [0.9, 0.436]
    assert mark_best_sentence("what about the dunmore recount", query, spans, vectors).text == "- Dunmore: 41 votes"
    alone = text_sentences("Dunmore recount")  # a passage of headings only still has a bold
    assert mark_best_sentence("dunmore", query, alone, np.ones((1, 2), np.float32)).text == "Dunmore recount"
