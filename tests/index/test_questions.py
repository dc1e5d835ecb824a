"""Questions as members type them: filler, a time in the question, "latest", who is acting; and what ask does with them."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from corpus.chunking import sentences
from corpus.records import NewArticle
from index.answers import acting
from index.library import Library
from index.places import display, mentions, places_in, places_named
from index.questions import in_window, read_question
from tests.conftest import CountingEncoder

MONTHS = frozenset({(2017, 10), (2017, 11), (2017, 12), (2020, 10)})
PRESENT = date(2020, 10, 1)


@pytest.mark.parametrize(
    ("question", "first", "last"),
    [
        ("what did conyers say on dec 5", date(2017, 12, 5), date(2017, 12, 7)),
        ("what did franken say in late november", date(2017, 11, 18), date(2017, 12, 2)),
        ("what happened with the tax bill in early december", date(2017, 12, 1), date(2017, 12, 12)),
        ("what did the senate do in mid-november", date(2017, 11, 8), date(2017, 11, 23)),
        ("what did mcconnell say in november 2017", date(2017, 11, 1), date(2017, 12, 1)),
    ],
)
def test_a_time_in_the_question_becomes_a_window_of_publication_dates(question: str, first: date, last: date) -> None:
    """Days, parts of months and months (the year taken from the collection when none is named) become dates."""
    reading = read_question(question, MONTHS, PRESENT)
    assert reading.window is not None and reading.window.ranges == ((first, last),)
    assert not any(word in reading.text for word in ("dec 5", "november", "december"))  # searched without it


def test_a_month_without_a_year_matches_every_year_the_collection_holds_it() -> None:
    """ "At the end of october" over articles from 2017 and 2020 looks in both Octobers, not only the newest."""
    window = read_question("what happened at the end of october", MONTHS, PRESENT).window
    assert window is not None and [r[0].year for r in window.ranges] == [2017, 2020]
    assert in_window("2017-10-30", window) and not in_window("2017-11-15", window)
    assert in_window("2020-10", window)  # a month-only date overlapping the window counts


@pytest.mark.parametrize("question", ["what may happen to the bill", "who will lead the march on washington"])
def test_may_and_march_as_words_are_not_dates(question: str) -> None:
    """The modal "may" and the noun "march" name no time."""
    assert read_question(question, MONTHS, PRESENT).window is None


@pytest.mark.parametrize(
    ("question", "searched"),
    [
        ("whats the latest on the dreamers", "the dreamers"),
        ("is franken still in the senate", "is franken still in the senate"),
        ("any update on the gerrymandering cases", "the gerrymandering cases"),
    ],
)
def test_latest_is_read_and_its_lead_in_dropped(question: str, searched: str) -> None:
    """ "What's the latest on", "still", "any update on" ask for the newest state of a story."""
    reading = read_question(question, MONTHS, PRESENT)
    assert reading.latest and reading.text == searched


def test_chat_filler_is_dropped() -> None:
    """ "so like", "anyone know", "rn" say nothing about the topic."""
    assert read_question("so like anyone know who the dnc chairman is rn", MONTHS, PRESENT).text == (
        "who the dnc chairman is"
    )


@pytest.mark.parametrize(
    ("question", "searched"),
    [
        ("which dems voted against the bill", "which Democrats voted against the bill"),
        ("what was the ag's excuse", "what was the Attorney General's excuse"),
        ("did the doj indict anyone", "did the DOJ Justice Department indict anyone"),
        ("who paid for the oppo file", "who paid for the opposition research file"),
        ("how long was clovis grilled by house intel", "how long was clovis grilled by house intelligence"),
        ("what docs did the state dept hand over", "what documents did the state Department hand over"),
        ("what did the nyt say abt iran", "what did the New York Times say about iran"),
        ("which ppl got the emails smh", "which people got the emails"),
        ("why dont dems trust the memo", "why do not Democrats trust the memo"),
        ("is the agenda set", "is the agenda set"),  # a word that only begins like shorthand is left alone
    ],
)
def test_chat_shorthand_is_searched_in_the_words_news_copy_uses(question: str, searched: str) -> None:
    """ "dems", "the ag's", "doj", "oppo": searched as the articles spell them, not refused as unknown words."""
    assert read_question(question, MONTHS, PRESENT).text == searched


@pytest.mark.parametrize(
    ("question", "actor", "verb"),
    [
        ("who did ratcliffe blame", "ratcliffe", "blame"),
        ("who did erik prince meet in the seychelles", "erik prince", "meet"),
        ("ratcliffe blamed who for the election interference", "ratcliffe", "blamed"),
        ("so ratcliffe blamed who exactly", "ratcliffe", "blamed"),
    ],
)
def test_the_actor_of_who_did_x_questions(question: str, actor: str, verb: str) -> None:
    """ "Who did X blame" and "X blamed who" name X as the one acting."""
    reading = read_question(question, MONTHS, PRESENT)
    assert (reading.actor, reading.verb) == (actor, verb)
    assert reading.named_actor == actor  # a verb of blaming, in the past too


def test_acting_tells_the_actor_from_the_one_acted_upon() -> None:
    """X blaming a named party beats X acting on something else; X blamed, or X's things, count against."""
    assert acting("ratcliffe", "blame", "John Ratcliffe claimed that Tehran and Moscow had got hold of the data.") == 2
    assert acting("ratcliffe", "blame", "Mr. Ratcliffe claimed the efforts were aimed at harming the president.") == 1
    assert acting("ratcliffe", "blame", "Democrats accuse Ratcliffe of seeking to help the campaign.") == -1
    assert acting("ratcliffe", "blame", "Ratcliffe's statements sparked the ire of some Democrats.") == -1
    assert acting("ratcliffe", "blame", "The emails were sent on Tuesday.") == 0


def dated(library: Library) -> dict[str, int]:
    """Three articles on one story from three months, each with a fact of its own."""
    ids = {}
    for month, fact in (
        ("10", "a paper ballot trial"),
        ("11", "a second hand count"),
        ("12", "a certified final tally"),
    ):
        added = library.add_article(
            NewArticle(
                f"Dunmore County recount update {month}",
                f"The Dunmore County election board met on Monday about the disputed recount. "
                f"The board announced {fact} for the county.\n\n"
                f"Board chair Ilse Varga said the county would publish every step of the recount.",
                published=f"2017-{month}-06",
            )
        )
        ids[month] = added.id
    return ids


def test_a_dated_question_quotes_the_article_published_then(library: Library) -> None:
    """ "In early november" puts the November article first; the same question without a time does not insist."""
    ids = dated(library)
    answer = library.ask("what did the dunmore board announce about the recount in early november")
    assert answer.answered and answer.quotes[0].article_id == ids["11"]
    answer = library.ask("what did the dunmore board announce about the recount in december")
    assert answer.quotes[0].article_id == ids["12"]


def test_latest_quotes_the_newest_article_on_the_story(library: Library) -> None:
    """ "What's the latest on" puts the newest of the articles on the story first."""
    ids = dated(library)
    answer = library.ask("whats the latest on the dunmore recount")
    assert answer.answered and answer.quotes[0].article_id == ids["12"]


def test_the_lede_comes_first_of_two_passages_saying_the_same(library: Library) -> None:
    """A story's opening passage and its last one hold the same two sentences: the opening one, the lede, is quoted first."""
    claim = (
        "The Harlow County election board certified the mayoral recount on Monday, keeping Mayor Dana Pruitt in office."
    )
    aside = "The count took a month and was watched by observers from both parties."
    middle = (
        "Board members spent the {} checking provisional ballots from the county's northern precincts. Observers from"
        " both parties watched the count in the courthouse {}, and the board said every tally sheet would be posted"
        " online. Turnout in the mayoral race was higher than in any municipal election since 2009."
    )
    text = "\n\n".join(
        (f"{aside} {claim}", middle.format("weekend", "basement"), middle.format("week", "cellar"), f"{claim} {aside}")
    )
    added = library.add_article(NewArticle("Harlow recount certified", text, published="2017-11-06"))
    _, passages = library.get_article(added.id)
    assert len(passages) == 4
    for question in (
        "did the harlow board certify the recount",
        "is pruitt still mayor of harlow",
        "did dana pruitt keep her job",
        "was the harlow recount certified",
    ):
        answer = library.ask(question)
        assert answer.answered and answer.quotes[0].passage_id == passages[0].id, question


def test_latest_answered_from_old_articles_says_as_of_when(library: Library) -> None:
    """The newest on a story from 2017 beside articles that run to 2020 says "as of" its date; a current one does not."""
    dated(library)
    answer = library.ask("whats the latest on the dunmore recount")
    assert answer.answered and (answer.as_of, answer.present) == ("2017-12-06", "2020-10-01")
    assert answer.as_of_note == "As of 2017-12-06, the date of the first quote; the articles I know run to 2020-10-01."
    assert answer.to_json()["as_of"] == "2017-12-06"
    current = library.ask("whats the latest on the threatening emails sent to voters")  # the 2020 article
    assert current.answered and current.as_of is None and "as_of" not in current.to_json()
    plain = library.ask("what did the dunmore board announce about the recount")  # not asking for the latest
    assert plain.answered and plain.as_of is None


@pytest.mark.parametrize(
    "question", ["who did Ratcliffe blame?", "ratcliffe blamed who", "so ratcliffe blamed who exactly"]
)
def test_who_did_x_blame_marks_where_x_blames(library: Library, question: str) -> None:
    """The seed question's first quote marks the sentence where Ratcliffe accuses Tehran and Moscow.

    Asked the other way round too, and with chat's "exactly", which no article need hold.
    """
    answer = library.ask(question)
    assert answer.answered and "Tehran and Moscow" in answer.quotes[0].highlight


def test_what_did_x_say_marks_the_quotation_not_the_lede_that_restates_it(library: Library) -> None:
    """The wire's lede says that Varga spoke; the bold goes to the sentence quoting what she said."""
    added = library.add_article(
        NewArticle(
            "Dunmore County recount goes on",
            "DUNMORE (Reuters) - Dunmore County election board chair Ilse Varga said on Monday that the county's"
            " disputed recount should not be stopped and must be allowed to run to its end. "
            "The recount began last week after the first count left two candidates 12 votes apart. "
            "“We need to let the counters do their jobs, and we will see it through,” Varga told reporters "
            "outside the board's offices.",
            published="2017-11-06",
        )
    )
    for question in (
        "what did ilse varga say about the dunmore recount",
        "what did the dunmore board chair tell reporters",
    ):
        answer = library.ask(question)
        assert answer.answered and answer.quotes[0].article_id == added.id, question
        assert "let the counters do their jobs" in answer.quotes[0].highlight, question


def test_a_question_about_something_no_article_mentions_is_refused_naming_it(library: Library) -> None:
    """A near miss (election words, but a name no article holds) is refused, and the refusal says what is missing."""
    answer = library.ask("did bolsonaro accept the election results")
    assert not answer.answered and answer.quotes == []
    assert answer.refusal == "No article I know mentions “bolsonaro”."
    assert answer.to_json()["refusal"] == answer.refusal


@pytest.mark.parametrize(
    ("question", "places"),
    [
        ("did russia interfere in the french election", ("russia", "france")),
        ("who won argentina's runoff", ("argentina",)),
        ("what did the uk say about moscow", ("united kingdom", "russia")),
        ("who won in new mexico", ("new mexico",)),  # the longest name, not Mexico
        ("did the us and us allies agree", ()),  # the United States is no near miss, and "us" is a pronoun
        ("what did chad wolf tell the new york times", ()),  # a first name; a newspaper
    ],
)
def test_the_places_a_question_names(question: str, places: tuple[str, ...]) -> None:
    """Countries, their adjectives and capitals, and U.S. states are read as the place they name."""
    assert places_named(question) == places
    assert read_question(question, MONTHS, PRESENT).places == places


def test_a_place_is_mentioned_by_any_of_its_names() -> None:
    """An article about "Mexican voters" or "Mexico City" mentions Mexico; "Mexicana" or New Mexico's name do not."""
    assert places_in("Mexican voters went to the polls.") == ("mexico",)
    assert places_in("In Mexico City, officials said.") == ("mexico",)
    assert places_in("Mexicana Airlines said.") == ()
    assert places_in("Voters in New Mexico and West Virginia.") == ("new mexico", "west virginia")
    assert places_in("The U.K. government said.") == ("united kingdom",)
    assert (display("united kingdom"), display("mexico")) == ("the United Kingdom", "Mexico")
    # One place looked for in a whole article, as ask does: the same reading, not only inside a longer name.
    assert mentions("Mexican voters, and voters in New Mexico.", "mexico")
    assert not mentions("Voters in New Mexico.", "mexico") and not mentions("The New York Times said.", "new york")
    assert mentions("Virginia and West Virginia.", "virginia") and not mentions("West Virginia.", "virginia")


def test_the_years_a_question_names() -> None:
    """A year is kept beside the date window it also makes."""
    assert read_question("who won the 2020 election", MONTHS, PRESENT).years == ("2020",)
    assert read_question("what did mcconnell say in november 2017", MONTHS, PRESENT).years == ("2017",)
    assert read_question("who did ratcliffe blame", MONTHS, PRESENT).years == ()
    assert read_question("were more than 2000 ballots lost", MONTHS, PRESENT).years == ()  # a count


@pytest.mark.parametrize(
    ("question", "refusal"),
    [
        ("did russia hack the german election", "None of the articles closest to this question mentions Germany."),
        ("who won argentina's runoff", "None of the articles closest to this question mentions Argentina."),
        (
            "what did ratcliffe say about the 2024 election",
            "None of the articles closest to this question mentions 2024.",
        ),
    ],
)
def test_a_near_miss_naming_a_place_or_year_no_close_article_mentions_is_refused(
    reuters: Library, question: str, refusal: str
) -> None:
    """Another country's or a later election, asked in election words that match U.S. stories well, is refused."""
    answer = reuters.ask(question)
    assert not answer.answered and answer.quotes == []
    assert answer.refusal == refusal


def test_a_place_named_only_in_passing_at_an_articles_end_is_no_answer(library: Library) -> None:
    """A U.S. county story whose last line was filed from London is not about a count in London.

    The passage answering about the county is quoted for the county; asked about London, it is
    refused: the article's title, opening and that passage do not name it (the last line, a
    passage of its own, does but answers nothing).
    """
    county = (
        "Dunmore County's election board said on Monday that it would count every paper ballot by hand. "
        "The board chair said the hand count would begin within days and take about two weeks. "
    )
    filler = "".join(
        f"Paragraph {i}: county officials described the ballot storage rooms and the seals on each box. "
        for i in range(12)
    )
    added = library.add_article(
        NewArticle(
            "County recount moves ahead",
            f"{filler}\n\n{county}\n\n{filler}\n\nReporting by Ann Lee in London; editing by Tom Grey.",
            published="2020-10-02",
        )
    )
    county_answer = library.ask("when will the dunmore county hand count of paper ballots begin")
    assert county_answer.answered and county_answer.quotes[0].article_id == added.id
    answer = library.ask("when will the london hand count of paper ballots begin")
    assert not answer.answered and answer.quotes == []


@pytest.mark.parametrize(
    "question",
    ["did iran try to influence the 2020 election", "who did ratcliffe blame before the 2020 election"],
)
def test_a_question_naming_a_place_or_year_its_article_mentions_is_answered(reuters: Library, question: str) -> None:
    """The built-in article names Iran and 2020: it is quoted as before."""
    answer = reuters.ask(question)
    assert answer.answered and answer.quotes[0].title.startswith("Washington accuses Tehran, Moscow")


def test_a_transposed_letter_is_still_found(library: Library) -> None:
    """ "ratclife" and "electoin" are read as the words the articles hold."""
    assert library.spelled("who did ratclife blame before the electoin") == "who did ratcliff blame before the elect"


def test_a_question_is_judged_by_what_it_is_about_not_by_how_it_asks(library: Library) -> None:
    """The built-in article holds none of "many", "spend", "whats" or "say" ("said" is another stem).

    Only "spend" is what a question is about: the others are not named missing, nor do they turn
    an answerable question away.
    """
    counted = library.ask("how many states got the emails")
    assert not counted.answered and counted.refusal == "The articles I know do not cover this question."
    spent = library.ask("how much did iran spend")
    assert not spent.answered and spent.refusal == "No article I know mentions “spend”."
    said = library.ask("what did hultquist say")
    assert said.answered and "said cybersecurity expert John Hultquist" in said.quotes[0].highlight
    data = library.ask("whats the deal with the voter data")
    assert data.answered and "had got hold of the data" in data.quotes[0].highlight


def test_a_name_misspelt_as_another_real_name_is_still_found(library: Library) -> None:
    """ "muller" is a name of its own, but the articles name only Mueller: the question is his."""
    library.add_article(
        NewArticle("Inquiry goes on", "Special counsel Robert Mueller said on Monday that the inquiry would go on.")
    )
    answer = library.ask("what did muller say about the inquiry")
    assert answer.answered and "Mueller said on Monday" in answer.quotes[0].highlight


def test_a_question_about_what_someone_no_article_names_said_is_refused(library: Library) -> None:
    """The built-in article quotes many on the emails, but not Putin: no quote says what he said."""
    answer = library.ask("what did putin say about the emails")
    assert not answer.answered and answer.refusal == "No article I know mentions “putin”."
    assert library.ask("what did ratcliffe say about the emails").answered
    # Refused for whom it names, though "hillary" and "clinton" are common words of the model's.
    named = library.ask("what did hillary clinton say about iran")
    assert named.refusal == "No article I know mentions “hillary” or “clinton”."
    blamed = library.ask("putin blamed who for the emails")  # the actor before a verb in the past
    assert not blamed.answered and blamed.refusal == "No article I know mentions “putin”."


@pytest.mark.parametrize("question", ["who won the 2024 election", "who will win the 2024 election"])
def test_a_refusal_names_the_year_the_articles_lack_before_a_common_word(library: Library, question: str) -> None:
    """The built-in article holds neither "won" / "win" nor 2024: the year is what the question is about.

    "win" of "who will win" is no one acting, though it stands where "X" of "who did X blame" would.
    """
    answer = library.ask(question)
    assert not answer.answered and answer.refusal == "None of the articles closest to this question mentions 2024."


def test_initials_no_article_holds_turn_a_question_away(library: Library) -> None:
    """The built-in article is about Iran and emails, but never names the DNC: no quote says Iran hacked it."""
    answer = library.ask("did iran hack the dnc")
    assert not answer.answered and answer.refusal == "No article I know mentions “dnc”."


def test_the_bold_is_the_sentence_not_the_heading_above_it(library: Library) -> None:
    """The built-in article's heading "Tehran seeks to ..." has no full stop; the bold is CNN's sentence alone."""
    answer = library.ask("what did cnn say")
    assert answer.answered and answer.quotes[0].highlight.startswith("John Ratcliffe's statements sparked")
    assert answer.quotes[0].highlight.endswith("CNN notes.")


def test_a_data_directory_split_the_old_way_answers_as_a_fresh_one_without_re_embedding_each_time(
    library: Library, encoder: CountingEncoder
) -> None:
    """Sentence vectors stored before a blank line ended a sentence are made again once, not at every question."""
    fresh = library.ask("what did cnn say")
    ids = [p for p in library.store.all_passage_texts() if "\n\n" in p[1]]
    assert ids  # the built-in article's heading stands over a paragraph
    texts = [t for _, t in ids]
    old_splits = [[(s.start, s.end) for s in sentences(t)] for t in texts]
    vectors, old = encoder.encode_passages(texts, old_splits)
    library.store.replace_embeddings(np.asarray([i for i, _ in ids]), vectors, old, encoder.name)
    before = encoder.encoded
    assert library.ask("what did cnn say").quotes[0].highlight == fresh.quotes[0].highlight
    assert encoder.encoded - before > 1  # the question, and the passages split the old way
    before = encoder.encoded
    assert library.ask("what did cnn say").quotes[0].highlight == fresh.quotes[0].highlight
    assert encoder.encoded - before == 1  # the question only
