"""The records the core hands around: duplicate keys that ignore what readers do not see, JSON as the CLI prints it."""

from __future__ import annotations

from corpus.records import Article, content_hash


def test_the_same_text_hashes_alike_whatever_its_case_spacing_or_unicode_form() -> None:
    """Case, runs of whitespace and compatibility forms do not make a text new; a changed word does."""
    text = "Officials said the voting machines passed every audit."
    assert content_hash(text) == content_hash("  OFFICIALS said\nthe voting\tmachines passed every audit.")
    assert content_hash(text) == content_hash(text.replace("fi", "\ufb01"))  # the "fi" ligature
    assert content_hash(text) != content_hash(text.replace("every", "one"))


def test_an_article_as_list_json_prints_it() -> None:
    """`list --json` shows each article's metadata and passage count, never its hash or text."""
    article = Article(
        3, "Title", "Reuters", "https://x.example/a", "2017-10-02", "42", "2026-11-25T10:00:00+00:00", 7, "h", 5
    )
    assert article.to_json() == {
        "id": 3,
        "title": "Title",
        "source": "Reuters",
        "url": "https://x.example/a",
        "published": "2017-10-02",
        "passages": 5,
        "guild_id": 7,
        "added_by": "42",
        "added_at": "2026-11-25T10:00:00+00:00",
    }
