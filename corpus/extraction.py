"""Turn a fetched page or an uploaded file into article text and metadata.

HTML goes through trafilatura's ``bare_extraction`` (never its own fetcher),
in a worker process with a time limit and a cap on the tree size, so a
pathological page can neither hang nor exhaust the bot. Navigation, ads,
cookie banners and "subscribe" lines stay out; what remains is one paragraph
per line, stored with blank lines between them so each becomes a passage.
"""

from __future__ import annotations

import atexit
import multiprocessing
import multiprocessing.pool
import re
import threading
from dataclasses import dataclass
from pathlib import PurePath
from urllib.parse import urlsplit

from corpus.readers import BadInput, parse_date, read_text
from corpus.store import NewArticle

EXTRACTION_TIMEOUT_S = 10.0
MAX_TREE_SIZE = 50_000
MIN_WORDS = 30
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".text"}
_META_CHARSET = re.compile(rb"""<meta[^>]+charset=["']?([\w-]+)""", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Extracted:
    """Article text with whatever metadata the page or file carried."""

    text: str
    title: str | None = None
    source: str | None = None
    published: str | None = None
    author: str | None = None


def decode_html(body: bytes, declared: str | None = None) -> str:
    """Decode HTML by its declared charset, its BOM, its <meta charset>, or detection; refuse binary."""
    for candidate in (declared, _sniff_meta(body)):
        if candidate:
            try:
                return body.decode(candidate)
            except (LookupError, UnicodeDecodeError):
                continue
    return read_text(body, "the page").text


def _sniff_meta(body: bytes) -> str | None:
    match = _META_CHARSET.search(body[:4096])
    return match.group(1).decode("ascii") if match else None


def _extract_in_worker(html: str, url: str | None) -> dict[str, str | None] | None:
    """Runs in the worker process: trafilatura on the page, with the tree-size cap."""
    import trafilatura
    from trafilatura.settings import use_config

    config = use_config()
    config.set("DEFAULT", "MAX_TREE_SIZE", str(MAX_TREE_SIZE))
    config.set("DEFAULT", "EXTRACTION_TIMEOUT", "0")  # the parent enforces the time limit
    document = trafilatura.bare_extraction(
        html, url=url, with_metadata=True, include_comments=False, include_tables=False, config=config
    )
    if document is None:
        return None
    data = document.as_dict() if hasattr(document, "as_dict") else dict(document)
    return {key: data.get(key) for key in ("text", "title", "sitename", "date", "author")}


class _Worker:
    """One extraction process, replaced whenever a page runs past the time limit."""

    def __init__(self) -> None:
        self._pool: multiprocessing.pool.Pool | None = None
        self._lock = threading.Lock()

    def run(self, html: str, url: str | None, timeout_s: float) -> dict[str, str | None] | None:
        with self._lock:
            if self._pool is None:
                self._pool = multiprocessing.get_context("spawn").Pool(1)
            pool = self._pool
            try:
                return pool.apply_async(_extract_in_worker, (html, url)).get(timeout_s)
            except multiprocessing.TimeoutError:
                pool.terminate()
                self._pool = None
                raise BadInput(f"the page took longer than {timeout_s:.0f} s to read; it was not added") from None

    def close(self) -> None:
        """Stop the worker process (at exit, before the interpreter tears the pool down)."""
        with self._lock:
            if self._pool is not None:
                self._pool.terminate()
                self._pool.join()
                self._pool = None


_worker = _Worker()
atexit.register(_worker.close)


def extract_html(html: str, url: str | None = None, *, timeout_s: float = EXTRACTION_TIMEOUT_S) -> Extracted:
    """The main text and metadata of a web page, or a refusal when it has no article text."""
    data = _worker.run(html, url, timeout_s)
    text = (data or {}).get("text") or ""
    if len(re.findall(r"\w+", text)) < MIN_WORDS:
        raise BadInput("no article text could be found on that page")
    paragraphs = [line.strip() for line in text.splitlines() if line.strip()]
    assert data is not None
    source = data.get("sitename") or (urlsplit(url).hostname if url else None)
    return Extracted(
        text="\n\n".join(paragraphs),
        title=data.get("title"),
        source=source,
        published=parse_date(data.get("date")),
        author=data.get("author"),
    )


def extract_page(body: bytes, content_type: str, charset: str | None, url: str) -> Extracted:
    """The article in a fetched page: HTML through extraction, plain text as it is."""
    if content_type == "text/plain":
        document = read_text(body, "the page")
        return Extracted(text=document.text, title=document.suggested_title, source=urlsplit(url).hostname)
    return extract_html(decode_html(body, charset), url)


def make_article(
    extracted: Extracted,
    *,
    title: str | None = None,
    source: str | None = None,
    published: str | None = None,
    url: str | None = None,
    added_by: str | None = None,
    guild_id: int | None = None,
) -> NewArticle:
    """An article from what extraction found, with the moderator's options taking precedence."""
    return NewArticle(
        title=title or extracted.title or (urlsplit(url).hostname if url else None) or "Untitled article",
        text=extracted.text,
        source=source or extracted.source,
        url=url,
        published=published or extracted.published,
        added_by=added_by,
        guild_id=guild_id,
    )


def extract_file(name: str, data: bytes, *, max_bytes: int) -> Extracted:
    """A .txt, .md or .html file's article; other types, binary, empty and oversized files are refused."""
    suffix = PurePath(name).suffix.lower()
    if suffix not in TEXT_SUFFIXES | HTML_SUFFIXES:
        raise BadInput(f"{PurePath(name).name}: only .txt, .md and .html files can be added")
    if len(data) > max_bytes:
        raise BadInput(f"{PurePath(name).name} is larger than the {max_bytes / 1_000_000:.1f} MB limit")
    if suffix in HTML_SUFFIXES:
        return extract_html(decode_html(data))
    document = read_text(data, PurePath(name).name)
    return Extracted(text=document.text, title=document.suggested_title)


def check_file_type(name: str) -> None:
    """Refuse a file that is not .txt, .md or .html by its name, before anything is read from it."""
    if PurePath(name).suffix.lower() not in TEXT_SUFFIXES | HTML_SUFFIXES:
        raise BadInput(f"{PurePath(name).name}: only .txt, .md and .html files can be added")
