"""The built-in article every fresh data directory starts with, quoted in every server."""

from __future__ import annotations

from pathlib import Path

from corpus.records import NewArticle

SEED_FILE = Path(__file__).with_name("seed-article.txt")


def builtin_article() -> NewArticle:
    """The seed article, exactly as scraped; the chunker drops its page boilerplate."""
    return NewArticle(
        title="Washington accuses Tehran, Moscow of attempts to interfere in the campaign",
        text=SEED_FILE.read_text(encoding="utf-8"),
        source=None,
        url=None,
        published="2020-10",
        added_by="built-in",
        guild_id=None,
    )
