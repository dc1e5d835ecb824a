"""Wire copies through the core, on both backends: copies merged with "also published by", claims corroborated."""

from __future__ import annotations

import pytest

from corpus.errors import DuplicateArticle
from corpus.records import NewArticle
from index.library import Library
from tests.conftest import CountingEncoder
from tests.corpus.test_nearcopy import SAVE_ACT, syndicated

QUESTION = "which senators will introduce the SAVE Act bill"
#: The same claim, written by another outlet in its own words (a different story, not a copy).
INDEPENDENT = (
    "ALBUQUERQUE (Herald) - New Mexico's Democratic Senator Martin Heinrich is teaming up with a Republican on"
    " election security.\n\n"
    "The SAVE Act will be introduced by Democratic Senator Martin Heinrich and Republican Senator Susan Collins,"
    " Heinrich's office said.\n\n"
    "County clerks across New Mexico said they would welcome money for new ballot scanners and paper records."
)


@pytest.fixture
def save_act() -> str:
    """The real Reuters story about the SAVE Act."""
    import csv
    import gzip

    from tests.conftest import REUTERS

    csv.field_size_limit(1 << 30)
    with gzip.open(REUTERS, "rt", encoding="utf-8", newline="") as f:
        return next(r["text"] for r in csv.DictReader(f) if r["title"].strip() == SAVE_ACT)


def test_copy_merged_and_corroboration_counted(any_library: Library, save_act: str) -> None:
    """A syndicated copy is not stored again but shown as "also published by"; an independent story counts twice."""
    library = any_library
    first = library.add_article(NewArticle(SAVE_ACT, save_act, source="Reuters"))
    articles = library.count_articles()
    merged = library.add_article(
        NewArticle("Senators seek to shore up voting systems", syndicated(save_act), "The Sentinel")
    )
    assert merged.merged and merged.id == first.id and merged.outlet == "The Sentinel"
    assert "Already have this story as" in merged.message() and "(Reuters)" in merged.message()
    assert library.count_articles() == articles
    quote = library.ask(QUESTION).quotes[0]
    assert quote.article_id == first.id and "Susan Collins" in quote.highlight
    assert quote.also_published == ("The Sentinel",) and quote.single_outlet
    assert quote.to_json()["also_published"] == ["The Sentinel"] and quote.to_json()["independent_outlets"] == 1

    other = library.add_article(NewArticle("Heinrich and Collins team up", INDEPENDENT, source="Albuquerque Herald"))
    quotes = {q.article_id: q for q in reversed(library.ask(QUESTION).quotes)}  # each article's first quote
    assert quotes[first.id].independent_outlets == 2 and quotes[other.id].independent_outlets == 2
    assert not quotes[first.id].single_outlet and quotes[other.id].also_published == ()


def test_a_second_story_of_the_same_outlet_adds_no_outlet_and_no_model_call(
    any_library: Library, save_act: str, encoder: CountingEncoder
) -> None:
    """Two stories of one outlet are one outlet; the answer reads only the question with the model."""
    library = any_library
    first = library.add_article(NewArticle(SAVE_ACT, save_act, source="Reuters"))
    other = library.add_article(NewArticle("Heinrich and Collins team up", INDEPENDENT, source="reuters"))
    before = encoder.encoded
    quotes = {q.article_id: q for q in reversed(library.ask(QUESTION).quotes)}
    assert encoder.encoded - before == 1  # the question only
    assert quotes[first.id].independent_outlets == 1 and quotes[other.id].independent_outlets == 1


def test_duplicates_by_outlet_and_removal(any_library: Library, save_act: str) -> None:
    """The same text from a new outlet is recorded; from a known outlet it is refused; removing the story removes its copies."""
    library = any_library
    first = library.add_article(NewArticle(SAVE_ACT, save_act, source="Reuters"))
    exact = library.add_article(NewArticle("Same words", save_act, source="Yahoo News", url="https://yahoo.example/s"))
    assert exact.merged and exact.id == first.id
    with pytest.raises(DuplicateArticle, match=f"#{first.id}"):
        library.add_article(NewArticle("Same words again", save_act, source="yahoo news"))
    with pytest.raises(DuplicateArticle, match="nearly word for word"):
        library.add_article(NewArticle("Reuters again", syndicated(save_act), source="Reuters"))
    with pytest.raises(DuplicateArticle):  # the copy's own page, again
        library.add_url("https://yahoo.example/s", library_details())
    assert [c.source for c in library.copies(first.id)] == ["Yahoo News"]
    library.remove_article(first.id)
    assert library.store.copies([first.id], None) == {}
    again = library.add_article(
        NewArticle("Senators seek to shore up voting systems", syndicated(save_act), "The Sentinel")
    )
    assert not again.merged and again.id != first.id  # the story is gone: the copy is now the first


def test_copies_are_seen_only_where_recorded(any_library: Library, save_act: str) -> None:
    """A copy a server records against a shared story is shown in that server only."""
    library = any_library
    library.add_article(NewArticle(SAVE_ACT, save_act, source="Reuters"))
    merged = library.add_article(NewArticle("Copy", syndicated(save_act), source="The Sentinel", guild_id=5))
    assert merged.merged
    assert library.ask(QUESTION, guild_id=5).quotes[0].also_published == ("The Sentinel",)
    assert library.ask(QUESTION, guild_id=6).quotes[0].also_published == ()
    assert library.ask(QUESTION).quotes[0].also_published == ()


def test_import_merges_copies_of_rows_and_stored_stories(any_library: Library, save_act: str) -> None:
    """An import stores a story once and records its copies, even when the copy is in the same file."""
    rows = [
        (2, NewArticle(SAVE_ACT, save_act, source="Reuters")),
        (3, NewArticle("Copy", syndicated(save_act), source="The Sentinel")),
        (4, NewArticle("Copy", syndicated(save_act).replace("Sentinel", "Courier"), source="Daily Courier")),
    ]
    report = any_library.import_articles(rows)
    assert (report.added, report.merged, report.duplicates) == (1, 2, 0)
    quote = any_library.ask(QUESTION).quotes[0]
    assert quote.also_published == ("The Sentinel", "Daily Courier")


def library_details():
    """Details for an add from the command line."""
    from corpus.ingest import Details

    return Details()


def test_a_heading_that_only_names_the_claim_does_not_corroborate_it(any_library: Library, save_act: str) -> None:
    """Another outlet's heading repeating the claim's names, over a story about something else, is no second outlet."""
    library = any_library
    first = library.add_article(NewArticle(SAVE_ACT, save_act, source="Reuters"))
    library.add_article(
        NewArticle(
            "County clerks want scanners",
            "Senators Heinrich and Collins introduce bill\n\n"
            "County clerks across New Mexico said on Monday they would welcome money for new ballot scanners.",
            source="Albuquerque Herald",
        )
    )
    quote = next(q for q in library.ask(QUESTION).quotes if q.article_id == first.id)
    assert "Susan Collins" in quote.highlight and quote.independent_outlets == 1
