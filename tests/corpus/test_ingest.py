"""The add recipes (corpus/ingest.py through Library): text, stream, file, upload and web page, each once."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from corpus import ingest
from corpus.errors import BadInput, DuplicateArticle
from corpus.fetching import allow_all
from corpus.ingest import Details
from index.library import Library
from tests.corpus import test_fetching
from tests.corpus.test_fetching import ARTICLE_HTML, CountingListener, Site

# The local web server and the listener that counts connections, shared with the fetcher's tests.
listener, second_listener, site = test_fetching.listener, test_fetching.second_listener, test_fetching.site

TEXT = (
    "Lake County tests its ballot scanners\n\n"
    "Officials in Lake County said the new ballot scanners passed every accuracy test before early voting began."
)


def test_pasted_text_takes_its_first_line_as_title_unless_given() -> None:
    """Pasted text is titled by its first line; what the moderator typed wins, and the date is checked."""
    article = ingest.from_text(TEXT, Details(source="Lake Ledger", date="2024-10-01", guild_id=7))
    assert (article.title, article.source, article.published, article.guild_id) == (
        "Lake County tests its ballot scanners",
        "Lake Ledger",
        "2024-10-01",
        7,
    )
    assert ingest.from_text(TEXT, Details(title="Scanners pass")).title == "Scanners pass"
    with pytest.raises(BadInput, match="YYYY-MM-DD"):
        ingest.from_text(TEXT, Details(date="next tuesday"))


def test_uploads_are_refused_by_name_and_size_before_reading() -> None:
    """An attachment of the wrong type or over the limit is refused from its name and declared size alone."""
    with pytest.raises(BadInput, match=r"only \.txt, \.md and \.html"):
        ingest.check_upload("report.pdf", 10, max_bytes=1000)
    with pytest.raises(BadInput, match=r"story\.txt is 2\.0 MB; the limit is 1\.0 MB"):
        ingest.check_upload("story.txt", 2_000_000, max_bytes=1_000_000)
    ingest.check_upload("story.md", 999, max_bytes=1000)


def test_every_source_is_added_and_quoted(library: Library, tmp_path: Path) -> None:
    """Text, a stream, a file and an upload each become one quotable article through one core call."""
    file = tmp_path / "tally.md"
    file.write_text("# Tally in Ashford\n\nAshford counted 1,204 provisional ballots by hand on Friday.")
    added = [
        library.add_text(TEXT, Details()),
        library.add_stream(
            io.BytesIO(b"Brixton audit\n\nBrixton audited 40 precincts and found no errors."), Details()
        ),
        library.add_file(file, Details(source="Ashford Post")),
        library.add_upload("story.html", ARTICLE_HTML.encode(), Details(url="https://news.example/georgia")),
    ]
    assert [a.title for a in added] == [
        "Lake County tests its ballot scanners",
        "Brixton audit",
        "Tally in Ashford",
        "Georgia to replace touchscreen voting machines",
    ]
    answer = library.ask("how many provisional ballots did ashford count")
    assert answer.quotes[0].source == "Ashford Post" and "1,204" in answer.quotes[0].highlight
    with pytest.raises(DuplicateArticle):
        library.add_file(file, Details())


def test_a_web_page_is_fetched_extracted_and_added(tmp_path: Path, seeded_dir: Path, encoder, site: Site) -> None:
    """`add_url` fetches the page through the vetted fetcher and keeps its title, outlet and date."""
    import shutil

    shutil.copytree(seeded_dir, tmp_path / "data")
    library = Library.open(tmp_path / "data", encoder, address_policy=allow_all)
    try:
        added = library.add_url(f"{site.base}/article.html", Details())
        article, _ = library.get_article(added.id)
        assert (article.title, article.source, article.published, article.url) == (
            "Georgia to replace touchscreen voting machines",
            "The Atlanta Ledger",
            "2019-03-28",
            f"{site.base}/article.html",
        )
    finally:
        library.close()


def test_a_known_address_is_refused_before_any_connection(library: Library, listener: CountingListener) -> None:
    """A page this server already has is refused as a duplicate without connecting; other servers may add it."""
    url = f"http://127.0.0.1:{listener.port}/story"
    library.address_policy = allow_all
    library.add_text(TEXT, Details(url=url, guild_id=1))
    with pytest.raises(DuplicateArticle, match="already in the articles as #2"):
        library.add_url(url + "?utm_source=x", Details(guild_id=1))
    assert listener.accepted == 0
    with pytest.raises(BadInput, match=r"could not be fetched|did not arrive|no article"):
        library.add_url(url, Details(guild_id=2))  # not a duplicate there: it connects (and gets nothing)
    assert listener.accepted >= 1  # (aiohttp retries a dropped idempotent request once)
