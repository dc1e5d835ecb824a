"""An RSS or Atom feed, fetched by the vetted fetcher, read into the entries a poll may add.

feedparser reads the bytes we fetched ourselves (``corpus/fetching.py``: public addresses only,
pinned DNS, bounded time and size); it is never handed a URL or a string, which it would fetch
or open as a file itself. It reads RSS 0.9x/1.0/2.0 and Atom, sets its ``bozo`` flag on XML that
is not well-formed and still reads what it can (the rest of the feed goes in), and never
resolves external entities. Only each entry's link, id, title and date are used: the article is
the linked page, fetched and extracted like ``add URL``, never the feed's own summary.
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import io
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from corpus.errors import BadInput
from corpus.fetching import FEED_TYPES, TIMEOUT_S, AddressPolicy, FetchedPage, fetch_page, public_only
from corpus.readers import MAX_FIELD_CHARS, excerpt
from corpus.records import normalise_url

#: The newest entries of a feed that are read; older ones are left out (a feed of 10,000 is an archive).
MAX_ENTRIES_READ = 200
#: An entry id longer than this is stored as its SHA-256 (ids are keys, not text to show).
MAX_ENTRY_ID_CHARS = 500
#: How long a feed may take to arrive, in seconds (as long as a page).
FEED_TIMEOUT_S = TIMEOUT_S
_WEB_PAGE_TYPES = {"text/html", "application/xhtml+xml"}


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One entry a poll may add: the page it links to, its id (GUID, else the link), title and day."""

    id: str
    link: str
    title: str | None = None
    published: str | None = None  # YYYY-MM-DD, as the entry states it


@dataclass(slots=True)
class ParsedFeed:
    """A feed's title and usable entries, newest first, with one line for each problem met reading it."""

    title: str | None
    entries: list[FeedEntry] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    listed: int = 0  # entries the feed listed, usable or not


def fetch_feed(
    url: str,
    *,
    policy: AddressPolicy = public_only,
    etag: str | None = None,
    last_modified: str | None = None,
) -> FetchedPage:
    """Fetch a feed through the vetted fetcher, conditionally when validators are known (304: ``not_modified``).

    Runs its own event loop, so call it from a thread that has none.
    """
    headers = {"Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return asyncio.run(fetch_page(url, policy=policy, accepted=FEED_TYPES, headers=headers, timeout_s=FEED_TIMEOUT_S))


def parse_feed(page: FetchedPage, *, limit: int | None = None) -> ParsedFeed:
    """A fetched feed's entries, newest first, at most ``limit`` (MAX_ENTRIES_READ); a page that is no feed is refused.

    Entries without a link, with a link that is not http(s) or too long, and repeats of an id or
    a link already listed are left out, each with a line in ``problems``; so is XML that is not
    well-formed (what could be read still counts).
    """
    import feedparser

    limit = limit or MAX_ENTRIES_READ
    headers = {"content-type": page.content_type or "application/xml", "content-location": page.url}
    if page.charset:
        headers["content-type"] += f"; charset={page.charset}"
    # A stream, never bytes or a string: feedparser would open a string naming a file or a URL itself.
    try:
        parsed: Any = feedparser.parse(io.BytesIO(page.body), response_headers=headers)
    except Exception as exc:  # feedparser is lenient by design; anything it still cannot take is this feed's fault
        raise BadInput(f"the feed could not be read ({type(exc).__name__})") from exc
    raw = list(parsed.get("entries") or [])
    if not parsed.get("version") and not raw:
        if page.content_type in _WEB_PAGE_TYPES or page.body.lstrip()[:15].lower().startswith((b"<!doctype", b"<html")):
            raise BadInput("that address serves a web page, not an RSS or Atom feed")
        raise BadInput("that address does not serve an RSS or Atom feed" + _xml_problem(parsed, ""))
    feed = ParsedFeed(title=_text(parsed.get("feed", {}).get("title")), listed=len(raw))
    if parsed.get("bozo") and parsed.get("bozo_exception") is not None and _is_xml_error(parsed["bozo_exception"]):
        feed.problems.append("the feed is not well-formed XML" + _xml_problem(parsed, "") + "; read what could be read")
    seen_ids: set[str] = set()
    seen_links: set[str] = set()
    usable: list[tuple[int, FeedEntry]] = []
    atom = str(parsed.get("version") or "").startswith("atom")
    for position, raw_entry in enumerate(raw):
        entry, problem = _entry(raw_entry, atom=atom)
        if entry is None:
            if problem:
                feed.problems.append(problem)
            continue
        link_key = normalise_url(entry.link) or entry.link
        if entry.id in seen_ids:
            feed.problems.append(f"{_name(entry)} repeats the id {excerpt(entry.id)} of an earlier entry; skipped")
            continue
        if link_key in seen_links:
            feed.problems.append(f"{_name(entry)} links to the same page as an earlier entry; skipped")
            continue
        seen_ids.add(entry.id)
        seen_links.add(link_key)
        usable.append((position, entry))
    # Newest first by the entry's date; undated entries keep the feed's order, after the dated ones.
    usable.sort(key=lambda item: (item[1].published is None, _negated_day(item[1].published), item[0]))
    if len(usable) > limit:
        feed.problems.append(
            f"the feed lists {len(usable):,} entries; only the newest {limit} are read, the rest are left out"
        )
    feed.entries = [entry for _, entry in usable[:limit]]
    return feed


def _entry(raw: Any, *, atom: bool) -> tuple[FeedEntry | None, str | None]:
    """One feed entry, or why it cannot be used (None for an empty fragment the loose parser left).

    An RSS ``<guid>`` is the entry's permalink unless it says otherwise, so feedparser takes it as
    the link when there is none; an Atom ``<id>`` never is, so an Atom entry needs a ``<link>``.
    """
    title = _text(raw.get("title"))
    link = _text(raw.get("link")) if not (atom and raw.get("guidislink") and not raw.get("links")) else None
    if not link:
        links = [item.get("href") for item in raw.get("links") or [] if item.get("href")]
        link = _text(links[0]) if links else None
    named = f"entry {excerpt(title)}" if title else "an entry without a title"
    if not link:
        if not title and not raw.get("id"):
            return None, None
        return None, f"{named} has no link; skipped"
    if len(link) > MAX_FIELD_CHARS:
        return None, f"{named} has a link of {len(link):,} characters; skipped"
    if urlsplit(link).scheme.lower() not in {"http", "https"}:
        return None, f"{named} links to {excerpt(link)}, not a web page; skipped"
    entry_id = _text(raw.get("id")) or link
    if len(entry_id) > MAX_ENTRY_ID_CHARS:
        entry_id = "sha256:" + hashlib.sha256(entry_id.encode()).hexdigest()
    return FeedEntry(id=entry_id, link=link, title=title, published=_entry_day(raw)), None


def _entry_day(raw: Any) -> str | None:
    """The day the entry says it was published (else updated), as written: its own time zone, not UTC."""
    for key in ("published", "updated"):
        value = _text(raw.get(key))
        if not value:
            continue
        day = _day_as_written(value)
        if day is None and raw.get(f"{key}_parsed"):
            day = date(*raw[f"{key}_parsed"][:3])
        if day is not None and 1900 < day.year <= time.gmtime().tm_year + 1:
            return day.isoformat()
    return None


def _day_as_written(value: str) -> date | None:
    try:
        return datetime.fromisoformat(value).date()
    except ValueError:
        pass
    try:
        return email.utils.parsedate_to_datetime(value).date()
    except (TypeError, ValueError, IndexError):
        return None


def _negated_day(day: str | None) -> int:
    return -date.fromisoformat(day).toordinal() if day else 0


def _name(entry: FeedEntry) -> str:
    return f"entry {excerpt(entry.title)}" if entry.title else f"the entry at {excerpt(entry.link)}"


def _text(value: Any) -> str | None:
    text = " ".join(str(value).split()) if value is not None else ""
    return text or None


def _is_xml_error(exc: BaseException) -> bool:
    """Whether feedparser's bozo exception is about the XML itself (not a harmless encoding override)."""
    import xml.sax

    return isinstance(exc, xml.sax.SAXException) or type(exc).__name__ in {"NonXMLContentType", "UndeclaredNamespace"}


def _xml_problem(parsed: Any, default: str) -> str:
    exc = parsed.get("bozo_exception")
    if exc is None:
        return default
    get_line = getattr(exc, "getLineNumber", None)
    message = getattr(exc, "getMessage", lambda: str(exc))()
    where = f"line {get_line()}: " if callable(get_line) else ""
    return f" ({where}{excerpt(str(message))})"
