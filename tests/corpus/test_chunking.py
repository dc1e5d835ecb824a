"""Chunking: verbatim spans, no page chrome, long single-line articles within the token limit."""

from __future__ import annotations

import csv
import gzip
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corpus.builtin import SEED_FILE, builtin_article
from corpus.chunking import MAX_CHARS, MAX_TOKENS, chunk_article, paragraphs, sentences
from tests.conftest import REUTERS


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
    """Page chrome ("Open Now", "Watch now", "Follow us on Google News") and the headline never become passages."""
    article = builtin_article()
    texts = [s.text for s in chunk_article(article.text, encoder.count_tokens, title=article.title)]
    joined = "\n".join(texts)
    for chrome in ("Open Now", "Watch now", "Follow us on Google News"):
        assert chrome not in joined
    assert article.title not in texts
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
