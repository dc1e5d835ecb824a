"""What a moderator hands in, made into an article: pasted text, a file, an upload, a web page.

Each recipe lives here once; :class:`index.library.Library` stores what it returns, and the
command line and the bot only translate their arguments. A web page comes through the vetted
fetcher (public addresses only, pinned DNS, bounded time and size: ``corpus/fetching.py``) and
the extraction worker (``corpus/extraction.py``); files and uploads are checked by name and size
before anything is read.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

from corpus.errors import BadInput
from corpus.extraction import Extracted, check_file_type, extract_file, extract_page, make_article
from corpus.fetching import AddressPolicy, fetch_page, public_only
from corpus.readers import parse_date, read_file_bytes, read_stream, read_text
from corpus.records import NewArticle


@dataclass(frozen=True, slots=True)
class Details:
    """What the moderator typed beside the source; each given field wins over what the page or file says."""

    title: str | None = None
    source: str | None = None
    date: str | None = None  # YYYY-MM-DD as typed; checked here
    url: str | None = None
    added_by: str | None = None
    guild_id: int | None = None


def _article(extracted: Extracted, details: Details, url: str | None = None) -> NewArticle:
    return make_article(
        extracted,
        title=details.title,
        source=details.source,
        published=parse_date(details.date, strict=True),
        url=details.url or url,
        added_by=details.added_by,
        guild_id=details.guild_id,
    )


def is_web_address(text: str) -> bool:
    """Whether ``text`` names a web page rather than a file."""
    return urlsplit(text).scheme in {"http", "https"} or "://" in text


def from_text(text: str, details: Details) -> NewArticle:
    """Pasted text: its first line suggests the title."""
    parse_date(details.date, strict=True)  # a bad date is refused before anything else
    document = read_text(text.encode(), "the pasted text")
    return _article(Extracted(text=document.text, title=document.suggested_title), details)


def from_stream(stream: BinaryIO, details: Details, *, max_bytes: int) -> NewArticle:
    """Text read from a stream (standard input), up to ``max_bytes``."""
    parse_date(details.date, strict=True)
    document = read_text(read_stream(stream, "standard input", max_bytes=max_bytes), "standard input")
    return _article(Extracted(text=document.text, title=document.suggested_title), details)


def check_upload(name: str, size: int, *, max_bytes: int) -> None:
    """Refuse an upload by its name and declared size, before anything is downloaded."""
    check_file_type(name)
    if size > max_bytes:
        raise BadInput(f"{Path(name).name} is {_size(size)}; the limit is {_size(max_bytes)}")


def from_upload(name: str, data: bytes, details: Details, *, max_bytes: int) -> NewArticle:
    """A .txt, .md or .html file's bytes (an attachment)."""
    parse_date(details.date, strict=True)
    return _article(extract_file(name, data, max_bytes=max_bytes), details)


def from_file(path: Path, details: Details, *, max_bytes: int) -> NewArticle:
    """A .txt, .md or .html file on disk (devices, FIFOs and sockets are refused unread)."""
    parse_date(details.date, strict=True)
    check_file_type(path.name)
    return _article(extract_file(path.name, read_file_bytes(path, max_bytes=max_bytes), max_bytes=max_bytes), details)


def from_url(url: str, details: Details, *, policy: AddressPolicy = public_only) -> NewArticle:
    """A web page's article: fetched safely, then extracted in the worker process.

    Runs its own event loop, so call it from a thread that has none (the bot calls the core on
    worker threads).
    """
    parse_date(details.date, strict=True)
    page = asyncio.run(fetch_page(url, policy=policy))
    return _article(extract_page(page.body, page.content_type, page.charset, page.url), details, url)


def _size(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB" if n >= 100_000 else f"{n / 1000:.0f} KB"
