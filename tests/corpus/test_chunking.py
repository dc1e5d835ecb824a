"""Chunking: verbatim spans, no page chrome or pitches, every real sentence kept, long articles within the limit."""

from __future__ import annotations

import csv
import gzip
import itertools
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corpus.builtin import SEED_FILE, builtin_article
from corpus.chunking import MAX_CHARS, MAX_TOKENS, chunk_article, paragraphs, paywalled, sentences, word_count
from tests.conftest import REUTERS, SHARED_DATA
from tests.corpus import real_snippets as real


def words(text: str) -> int:
    """A stand-in token count for the property tests (the real tokenizer is used elsewhere)."""
    return len(text.split())


def test_seed_article_passages_map_back_exactly(encoder) -> None:
    """Every passage of the built-in article is exactly the article's text at its span."""
    article = builtin_article()
    spans = chunk_article(article.text, encoder.count_tokens, title=article.title)
    assert len(spans) >= 8
    for span in spans:
        assert article.text[span.start : span.end] == span.text


def test_seed_article_boilerplate_and_title_dropped(encoder) -> None:
    """Page chrome ("Open Now", "Watch now", "Follow us on Google News") goes; the headline is no passage of its own."""
    article = builtin_article()
    texts = [s.text for s in chunk_article(article.text, encoder.count_tokens, title=article.title)]
    joined = "\n".join(texts)
    for chrome in ("Open Now", "Watch now", "Follow us on Google News"):
        assert chrome not in joined
    assert article.title not in texts
    assert texts[0].startswith(article.title + "\n\nAccording to US intelligence services")  # it heads the first
    assert any("Tehran and Moscow had got hold of the data" in t for t in texts)
    assert SEED_FILE.read_text(encoding="utf-8").startswith("Open Now")  # shipped as scraped, cleaned by the chunker


def test_single_line_reuters_articles_split_within_token_limit(encoder) -> None:
    """Reuters articles (one line each) become several passages, each under the model's 256 tokens."""
    csv.field_size_limit(1 << 30)
    with gzip.open(REUTERS, "rt", encoding="utf-8", newline="") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: -len(r["text"]))[:5]
    for row in rows:
        text = row["text"]
        spans = chunk_article(text, encoder.count_tokens, title=row["title"])
        assert len(spans) >= 4, row["title"]
        for span in spans:
            assert text[span.start : span.end] == span.text
            assert encoder.count_tokens(span.text) <= MAX_TOKENS
        # Nothing of substance is lost between passages: only whitespace lies outside them.
        covered = "".join(text[a.end : b.start] for a, b in itertools.pairwise(spans))
        assert covered.strip() == ""


def test_abbreviations_and_initials_do_not_end_sentences() -> None:
    """Abbreviations and initials ("U.S. President", "John F. Kennedy") stay inside one sentence."""
    text = "The U.S. President met Mr. Smith at 3 p.m. in Washington. John F. Kennedy was mentioned. Done now."
    assert [s.text for s in sentences(text)] == [
        "The U.S. President met Mr. Smith at 3 p.m. in Washington.",
        "John F. Kennedy was mentioned.",
        "Done now.",
    ]


def test_megabyte_line_without_punctuation_is_cut_at_words(encoder) -> None:
    """A 1 MB line with no sentence ends becomes bounded passages, cut between words, verbatim."""
    text = " ".join(f"ballot{i % 97} counted" for i in range(60_000))[:1_000_000]
    spans = chunk_article(text, encoder.count_tokens)
    assert len(spans) > 400
    for span in spans:
        assert text[span.start : span.end] == span.text
        assert len(span.text) <= MAX_CHARS and encoder.count_tokens(span.text) <= MAX_TOKENS
    assert " ".join(s.text for s in spans) == text


@pytest.mark.parametrize("line", ["Open Now", "Watch now", "Follow us on Google News", "Subscribe to our newsletter"])
def test_boilerplate_lines_split_paragraphs(line: str) -> None:
    """A chrome line inside a block is dropped and the real text around it is kept."""
    text = (
        f"A real first sentence with plenty of words in it.\n{line}\nAnother real sentence with enough words to count."
    )
    assert [p.text for p in paragraphs(text)] == [
        "A real first sentence with plenty of words in it.",
        "Another real sentence with enough words to count.",
    ]


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=3000))
def test_any_text_chunks_to_exact_spans(text: str) -> None:
    """For any Unicode text, chunking never crashes and every span maps back exactly."""
    for span in chunk_article(text, words, target_tokens=20, max_tokens=40):
        assert text[span.start : span.end] == span.text
        assert span.text.strip() == span.text and span.text
        assert words(span.text) <= 40 or len(span.text) <= MAX_CHARS


# -- what is a passage, pinned on real pages (tests/corpus/real_snippets.py) ---------------------


def texts(text: str, title: str | None = None) -> list[str]:
    """The paragraphs the chunker keeps, as text."""
    return [p.text for p in paragraphs(text, title=title)]


def test_short_real_sentences_stay_with_the_paragraph_before() -> None:
    """A complete sentence under 8 words is kept, quoted with the paragraph before it; the pitch after it goes."""
    gleaner = texts(real.GLEANER)
    assert gleaner == [
        "All five crash victims were taken to a hospital where Grant and Ambersley were pronounced dead.\n\n"
        "The other three were admitted."
    ]
    times = texts(real.TIMES_OF_ISRAEL)
    assert times[0].endswith("December 2019.\n\nHer appointment was announced in December 2019.")
    assert not any("Daily Edition" in t for t in times) and times[1].startswith("Montoya-Lewis is")


def test_short_article_of_one_sentence_is_accepted(library) -> None:
    """A two-paragraph article, the headline and one 7-word sentence, is stored instead of refused."""
    from corpus.records import NewArticle

    title = "State of Washington swears in first Native American Jewish Supreme Court justice"
    added = library.add_article(NewArticle(title, f"{title}\n\nHer appointment was announced in December 2019."))
    assert added.passages == 1


def test_subheads_stay_with_the_text_they_head() -> None:
    """A subhead ("Right-wing resistance", "Straight outta Helgen") opens the passage of the paragraph it heads."""
    dw = texts(real.DW)
    assert len(dw) == 2 and dw[1].startswith("Right-wing resistance\n\nThe move has been met with resistance")
    assert not any("Looted colonial art" in t for t in dw)
    skyrim = texts(real.PC_GAMER, title=real.PC_GAMER_TITLE)
    assert skyrim[0] == (
        "An Illusionist in Skyrim: Part 1\n\nPlaying Skyrim with no armour, weapons, non-Illusion spells, or punching."
    )
    assert any(t.startswith("Straight outta Helgen\n\nI create a High Elf") for t in skyrim)
    assert "Yes. This is an excellent idea." in skyrim[1]
    assert not any("Newsletter" in t or "Sign up" in t for t in skyrim)


def test_lead_in_and_its_list_are_one_passage() -> None:
    """A subhead, the lead-in under it and the list it introduces are quoted together."""
    takeaway = texts(real.PYTHONSPEED)[1]
    assert takeaway.startswith("The takeaway\n\nTo get fast, reproducible builds for your application:\n\n- Separate")
    assert takeaway.endswith("to ensure faster builds.")


def test_numbered_entry_heads_its_paragraph() -> None:
    """A short numbered item ("5. Kristi Dosh") heads the paragraph about it."""
    assert texts(real.WOMEN_TALK_SPORTS)[1].startswith("5. Kristi Dosh\n\nThe Sports Biz Miss.")


@pytest.mark.parametrize("name", sorted(real.PITCH_LINES))
def test_real_pitches_links_and_notices_are_dropped(name: str) -> None:
    """Each pitch, link, credit or notice line of a real page goes; the article paragraphs around it stay."""
    before, after = real.NATION_NEWS.split("\n\n")[:2]
    assert texts(f"{before}\n\n{real.PITCH_LINES[name]}\n\n{after}") == [before, after]


def test_newsletter_box_goes_with_what_it_tells_the_reader() -> None:
    """After a newsletter pitch, the lines that go on telling the reader about it ("You can unsubscribe") go too."""
    before, after = real.NATION_NEWS.split("\n\n")[:2]
    assert texts(f"{before}\n\n{real.CORKBEO_BOX}\n\n{after}") == [before, after]


@pytest.mark.parametrize("sentence", real.REPORTING)
def test_reporting_that_names_platforms_stays(sentence: str) -> None:
    """Article sentences that mention Twitter, Instagram, comments, downloads or copyright are kept whole."""
    before = real.NATION_NEWS.split("\n\n")[0]
    assert texts(f"{before}\n\n{sentence}") == [before, sentence]


def test_paywall_notice_ends_the_article() -> None:
    """A paywall notice and everything after it go; a page that is mostly the notice is paywalled."""
    teaser = texts(real.NATION_NEWS)
    assert len(teaser) == 3 and teaser[-1].endswith("(NM)")
    assert not paywalled(real.NATION_NEWS)
    haitian = texts(real.HAITIAN_TIMES)
    assert haitian == [real.HAITIAN_TIMES.split("\n\n")[0]]
    assert paywalled(real.HAITIAN_TIMES)


def test_no_reuters_or_wikipedia_text_is_taken_for_chrome() -> None:
    """Across the 989 Reuters articles and SQuAD's Wikipedia articles, no word is dropped and no paragraph is split."""
    csv.field_size_limit(1 << 30)
    with gzip.open(REUTERS, "rt", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            kept = sum(word_count(p.text) for p in paragraphs(row["text"], title=row["title"]))
            assert kept == word_count(row["text"]), row["title"]
    with gzip.open(SHARED_DATA / "squad-v2.0-dev-half.json.gz", "rt", encoding="utf-8") as f:
        articles = json.load(f)["data"]
    for article in articles:
        contexts = [p["context"].strip() for p in article["paragraphs"]]
        text = "\n\n".join(contexts)
        assert texts(text, title=article["title"].replace("_", " ")) == contexts, article["title"]


_LINES = [
    *real.GLEANER.split("\n\n"),
    *real.DW.split("\n\n"),
    *real.PYTHONSPEED.split("\n\n"),
    *real.HAITIAN_TIMES.split("\n\n")[1:3],
    *real.PITCH_LINES.values(),
    "Yes.",
    "2. Diatomic oxygen gas constitutes 20.8% of the Earth's atmosphere.",
    "- Politik",
    "Open Now",
    "",
]


@given(st.lists(st.tuples(st.sampled_from(_LINES), st.sampled_from(["\n", "\n\n", " \n\n", "\n\n\n"])), max_size=40))
def test_real_lines_in_any_order_chunk_to_ordered_exact_spans(lines: list[tuple[str, str]]) -> None:
    """Real lines of every kind (text, headings, lists, pitches, paywalls), in any order: spans are exact and in order."""
    text = "".join(line + sep for line, sep in lines)
    spans = paragraphs(text, title=real.PC_GAMER_TITLE)
    for span in spans:
        assert text[span.start : span.end] == span.text and span.text == span.text.strip() and span.text
    assert all(a.end <= b.start for a, b in itertools.pairwise(spans))
    assert not any("Sign up" in s.text or "Read more:" in s.text for s in spans)
