"""A topic's timeline: the articles on it, one quote each, oldest first; refusals; a time in the topic; servers."""

from __future__ import annotations

import json

import pytest

from corpus.errors import BadInput
from corpus.records import NewArticle
from index.library import Library
from index.questions import published_date
from index.timeline import TIMELINE_LIMIT


def recount_story(library: Library, *, guild_id: int | None = None) -> dict[str, int]:
    """Three dated articles on one recount, added newest first, and one unrelated article."""
    ids = {}
    for day, fact in (
        ("2017-12-06", "certified a final tally of 10,412 votes"),
        ("2017-10-06", "ordered a paper ballot trial in three precincts"),
        ("2017-11-06", "began a second hand count of every ballot"),
    ):
        added = library.add_article(
            NewArticle(
                f"Dunmore County recount, {day}",
                f"The Dunmore County election board met about the disputed recount and {fact}.\n\n"
                f"Board chair Ilse Varga said the county would publish every step of the Dunmore recount.",
                source="Dunmore Ledger",
                published=day,
                guild_id=guild_id,
            )
        )
        ids[day] = added.id
    library.add_article(NewArticle("Harbour dredging", "The port authority will dredge the harbour in spring."))
    return ids


def test_the_articles_on_a_topic_come_oldest_first_one_quote_each(library: Library) -> None:
    """Articles added in any order are listed by publication date, each once, quoted verbatim."""
    ids = recount_story(library)
    timeline = library.timeline("the dunmore county recount")
    ours = [q for q in timeline.entries if q.article_id in ids.values()]
    assert [q.article_id for q in ours] == [ids["2017-10-06"], ids["2017-11-06"], ids["2017-12-06"]]
    dates = [day for q in timeline.entries if (day := published_date(q.published)) is not None]
    assert dates == sorted(dates)
    assert len({q.article_id for q in timeline.entries}) == len(timeline.entries)
    assert "Harbour dredging" not in {q.title for q in timeline.entries}
    for quote in timeline.entries:
        article, _ = library.get_article(quote.article_id)
        assert quote.text in library.store.article_texts([article.id])[article.id] and quote.highlight in quote.text
    assert json.loads(json.dumps(timeline.to_json()))["entries"][0]["published"] == "2017-10-06"


def test_a_time_in_the_topic_keeps_the_articles_published_then(library: Library) -> None:
    """ "in november" leaves only the November article of the story."""
    ids = recount_story(library)
    timeline = library.timeline("dunmore county recount in november")
    assert [q.article_id for q in timeline.entries] == [ids["2017-11-06"]]


def test_a_topic_no_article_covers_is_refused_naming_what_is_missing(library: Library) -> None:
    """An off-topic timeline is empty and says which word no article holds."""
    timeline = library.timeline("bolsonaro runoff")
    assert timeline.entries == []
    assert timeline.refusal == "No article I know mentions “bolsonaro”."
    assert timeline.to_json() == {
        "topic": "bolsonaro runoff",
        "found": False,
        "refusal": timeline.refusal,
        "entries": [],
    }


def test_a_servers_timeline_holds_only_what_it_may_see(library: Library) -> None:
    """Articles added for one server appear on its timeline and on no other server's."""
    ids = recount_story(library, guild_id=1)
    assert {q.article_id for q in library.timeline("dunmore recount", guild_id=1).entries} >= set(ids.values())
    assert not set(ids.values()) & {q.article_id for q in library.timeline("dunmore recount", guild_id=2).entries}


@pytest.mark.parametrize(("topic", "limit"), [("   ", 10), ("recount", 0), ("recount", TIMELINE_LIMIT + 1)])
def test_an_empty_topic_or_a_limit_out_of_range_is_refused(library: Library, topic: str, limit: int) -> None:
    """Bad input is a one-line error, not an empty timeline."""
    with pytest.raises(BadInput):
        library.timeline(topic, limit=limit)


def test_the_reuters_timeline_on_russian_interference_is_dated_and_bounded(reuters: Library) -> None:
    """On real articles: many of them, at most the limit, dates ascending, every quote about the topic."""
    timeline = reuters.timeline("russian interference in the 2016 election", limit=15)
    assert 5 <= len(timeline.entries) <= 15
    dates = [published_date(q.published) for q in timeline.entries]
    assert None not in dates and dates == sorted(dates)  # type: ignore[type-var]
    assert all("russia" in q.text.lower() for q in timeline.entries)
