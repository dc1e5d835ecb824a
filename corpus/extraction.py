"""Turn a fetched page or an uploaded file into article text and metadata.

HTML goes through trafilatura's ``bare_extraction`` (never its own fetcher),
in a worker process with a time limit and a cap on the tree size, so a
pathological page can neither hang nor exhaust the bot. Navigation, ads,
cookie banners and "subscribe" lines stay out; what remains is one paragraph
per line, stored with blank lines between them so each becomes a passage (the
chunker then drops what chrome is left). A page that is mostly a paywall
notice is refused.

The metadata trafilatura finds is checked against what the page declares about
itself (``og:title``, ``og:site_name``, ``article:published_time``, JSON-LD)
before it is stored: a title that is a CMS or site name falls back to the
page's headline, a site suffix ("... | DW | 19.01.2020") is cut, the published
date is the page's own published time rather than a date from the body or a
sidebar, and an outlet that is the headline falls back to the site's name.
"""

from __future__ import annotations

import atexit
import itertools
import json
import multiprocessing
import multiprocessing.pool
import re
import threading
from dataclasses import dataclass
from html import escape as html_escape
from pathlib import PurePath
from typing import Any
from urllib.parse import urlsplit

from corpus.chunking import is_list_item, paywalled
from corpus.errors import BadInput
from corpus.readers import parse_date, read_text
from corpus.records import NewArticle

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


#: Headlines that name the software or the page slot, not the story.
_PLACEHOLDER_TITLES = frozenset(
    "escenic wordpress drupal joomla typo3 ghost blogger squarespace wix sitecore brightspot arc contentful"
    " hubspot tumblr weebly webflow umbraco polopoly methode untitled home homepage index article default"
    " news".split()
)
_TITLE_SEPARATORS = (" | ", " - ", " – ", " — ", " :: ", " · ", " » ", " / ")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}$")
_LOCAL_OFFSET = re.compile(r"[+-](?!00:?00)\d{2}:?\d{2}$")
_NUMERIC_DATE = re.compile(r"^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}$")
# A date the page itself labels as the publication ("Written: 2023-11-07 15:03"), not "Updated: ...".
_LABELLED_DATE = re.compile(
    r"""^\s*(written|published|posted|first\ published|publication\ date|date\ published)
        \s*(on|at)?\s*[:\-–]?\s*(.{6,40})""",
    re.IGNORECASE | re.VERBOSE,
)
#: How many elements are searched for a labelled date: the article's header comes early in the page.
LABELLED_DATE_ELEMENTS = 5000


def _page_metadata(tree: Any) -> dict[str, list[str]]:
    """What the page declares about itself: headlines, site names, published times, generator."""

    def meta(*keys: str) -> list[str]:
        found = []
        for key in keys:
            for attr in ("property", "name", "itemprop"):
                found += [str(v) for v in tree.xpath(f'//meta[@{attr}="{key}"]/@content')]
        return [" ".join(v.split()) for v in found if v.strip()]

    headlines: list[str] = []
    publishers: list[str] = []
    published: list[str] = []
    for script in tree.xpath('//script[@type="application/ld+json"]'):
        try:
            for item in _json_ld_articles(json.loads(script.text or "", strict=False)):
                if isinstance(item.get("headline"), str):
                    headlines.append(item["headline"])
                publisher = item.get("publisher")
                if isinstance(publisher, dict) and isinstance(publisher.get("name"), str):
                    publishers.append(publisher["name"])
                if isinstance(item.get("datePublished"), str):
                    published.append(item["datePublished"])
        except (ValueError, RecursionError):
            continue
    h1s = [" ".join(h.text_content().split()) for h in tree.xpath("//h1")]
    h1s = [h for h in h1s if h]
    urls = meta("og:url") + [str(v) for v in tree.xpath('//link[@rel="canonical"]/@href')]
    hosts = [(urlsplit(u).hostname or "").removeprefix("www.") for u in urls if u.startswith("http")]
    published += meta("article:published_time", "og:article:published_time", "datePublished")
    published += [str(v) for v in tree.xpath('//*[@itemprop="datePublished"]/@datetime')]
    return {
        "titles": meta("og:title", "twitter:title") + headlines + (h1s if len(h1s) == 1 else []),
        "sites": meta("og:site_name") + publishers + meta("application-name") + [h for h in hosts if h],
        "published": published,
        "labelled": [] if published else _labelled_date(tree),
        "generator": meta("generator")[:1],
    }


def _labelled_date(tree: Any) -> list[str]:
    """The first date the page labels as its publication ("Written: 2023-11-07"), read by htmldate."""
    from htmldate import find_date

    for count, element in enumerate(tree.iter()):
        if count > LABELLED_DATE_ELEMENTS:
            break
        if not isinstance(element.tag, str) or element.tag in {"script", "style"}:
            continue
        for text in (element.text, element.tail):
            match = _LABELLED_DATE.match(text or "")
            if match:
                snippet = f"<html><body><p>{html_escape(match.group(3))}</p></body></html>"
                day = find_date(snippet, extensive_search=False, original_date=True)
                if day:
                    return [day]
    return []


def _json_ld_articles(node: Any, depth: int = 0) -> list[dict[str, Any]]:
    """The JSON-LD objects of some article type, wherever they sit (lists, ``@graph``)."""
    if depth > 8:
        return []
    if isinstance(node, list):
        return [item for child in node for item in _json_ld_articles(child, depth + 1)]
    if not isinstance(node, dict):
        return []
    kinds = node.get("@type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    found = [node] if any(isinstance(k, str) and (k.endswith("Article") or k == "BlogPosting") for k in kinds) else []
    for key in ("@graph", "mainEntity"):
        found += _json_ld_articles(node.get(key), depth + 1)
    return found


def _extract_in_worker(html: str, url: str | None) -> dict[str, Any] | None:
    """Runs in the worker process: trafilatura on the page, with the tree-size cap, and the page's own metadata."""
    import trafilatura
    from trafilatura.settings import use_config
    from trafilatura.utils import load_html

    config = use_config()
    config.set("DEFAULT", "MAX_TREE_SIZE", str(MAX_TREE_SIZE))
    config.set("DEFAULT", "EXTRACTION_TIMEOUT", "0")  # the parent enforces the time limit
    document = trafilatura.bare_extraction(
        html, url=url, with_metadata=True, include_comments=False, include_tables=False, config=config
    )
    if document is None:
        return None
    data = document.as_dict() if hasattr(document, "as_dict") else dict(document)
    found: dict[str, Any] = {key: data.get(key) for key in ("text", "title", "sitename", "date", "author")}
    tree = load_html(html)
    found["page"] = _page_metadata(tree) if tree is not None else {}
    return found


class _Worker:
    """One extraction process, replaced whenever a page runs past the time limit."""

    def __init__(self) -> None:
        self._pool: multiprocessing.pool.Pool | None = None
        self._lock = threading.Lock()

    def run(self, html: str, url: str | None, timeout_s: float) -> dict[str, Any] | None:
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
    """The main text and checked metadata of a web page, or a refusal when it has no article text."""
    data = _worker.run(html, url, timeout_s)
    text = (data or {}).get("text") or ""
    if len(re.findall(r"\w+", text)) < MIN_WORDS:
        raise BadInput("no article text could be found on that page")
    assert data is not None
    text = join_paragraphs([line.strip() for line in text.splitlines() if line.strip()])
    page = data.get("page") or {}
    title = checked_title(data.get("title"), page)
    if paywalled(text, title=title):
        raise BadInput("the page shows a subscription notice instead of the article; it was not added")
    return Extracted(
        text=text,
        title=title,
        source=checked_source(data.get("sitename"), [data.get("title"), title], page, url),
        published=checked_date(data.get("date"), page),
        author=data.get("author"),
    )


def join_paragraphs(lines: list[str]) -> str:
    """One paragraph per line, blank lines between them; the items of a list stay together, one per line."""
    parts = lines[:1]
    for before, line in itertools.pairwise(lines):
        parts.append(("\n" if is_list_item(before) and is_list_item(line) else "\n\n") + line)
    return "".join(parts)


def _squash(text: str) -> str:
    """Letters and digits only, case-folded: "The St Kitts Nevis Observer" and "thestkittsnevisobserver" meet."""
    return re.sub(r"[\W_]+", "", text.casefold())


def _site_label(host: str) -> str:
    """The name part of a host: "dw" for www.dw.com, "bbc" for news.bbc.co.uk."""
    labels = host.lower().split(".")[:-1]
    while len(labels) > 1 and labels[-1] in {"co", "com", "org", "net", "gov", "ac", "edu"}:
        labels.pop()
    return labels[-1] if labels else host


def _as_name(text: str) -> str:
    """A site's name as written, or the name part of a host name ("www.AussenGedanken.de" -> "aussengedanken")."""
    text = text.strip()
    return _site_label(text) if "." in text and " " not in text else text


def _site_names(page: dict[str, Any]) -> list[str]:
    return [_as_name(site) for site in page.get("sites", [])]


def _names_site(segment: str, sites: list[str]) -> bool:
    """True when a piece of a title is the site's name ("DW", "The St Kitts Nevis Observer", "Stack Overflow Blog")."""
    squashed = _squash(_as_name(segment))
    if not squashed:
        return False
    for site in sites:
        name = _squash(site)
        if name and (squashed == name or (len(name) >= 3 and squashed.startswith(name))):
            return True
    return False


def _is_placeholder(title: str, page: dict[str, Any]) -> bool:
    """A title that is the CMS, the site or an empty slot rather than a headline."""
    squashed = _squash(title)
    generators = {_squash(g.split()[0]) for g in page.get("generator", []) if g.split()}
    return (
        not squashed
        or squashed in {_squash(p) for p in _PLACEHOLDER_TITLES}
        or squashed in generators
        or any(squashed == _squash(site) for site in _site_names(page))
    )


def cut_site_suffix(title: str, sites: list[str]) -> str:
    """The title less a site name or a date after it: "Title | DW | 19.01.2020" -> "Title"."""
    separators = "|".join(re.escape(sep) for sep in _TITLE_SEPARATORS)
    while True:
        cuts = [m for m in re.finditer(separators, title) if title[: m.start()].strip()]
        # The site's name may carry its own separators ("WSVN 7News | Miami News, Weather, Sports").
        site_cut = next((m for m in cuts if _names_site(title[m.end() :], sites)), None)
        if site_cut is None and cuts and _NUMERIC_DATE.match(title[cuts[-1].end() :].strip()):
            site_cut = cuts[-1]
        if site_cut is None:
            return title
        title = title[: site_cut.start()].strip()


def checked_title(found: str | None, page: dict[str, Any]) -> str | None:
    """Trafilatura's title, unless it is a CMS or site name or shares no word with the page's headline; no suffix."""
    headlines = [t for t in page.get("titles", []) if not _is_placeholder(t, page)]
    title = " ".join((found or "").split())
    words = {w.casefold() for w in re.findall(r"\w+", title)}
    unrelated = bool(headlines) and not any(words & {w.casefold() for w in re.findall(r"\w+", h)} for h in headlines)
    if _is_placeholder(title, page) or unrelated:
        title = headlines[0] if headlines else title
    return cut_site_suffix(title, _site_names(page)) or None


def checked_source(found: str | None, titles: list[str | None], page: dict[str, Any], url: str | None) -> str | None:
    """The outlet: trafilatura's site name, unless it is empty or a headline; then the page's site name or host."""
    hosts = [(urlsplit(url).hostname or "").removeprefix("www.")] if url else []
    headlines = {_squash(t) for t in titles if t}
    for candidate in [found, *page.get("sites", []), *hosts]:
        if candidate and candidate.strip() and _squash(candidate) not in headlines:
            return candidate.strip()
    return None


def checked_date(found: str | None, page: dict[str, Any]) -> str | None:
    """The day the page was published, by the page's own account first.

    In order: its published-time metadata (the day as the page writes it, local time first), a date it
    labels as its publication ("Written: ..."), then trafilatura's date (which may come from a sidebar).
    """
    declared = sorted(page.get("published", []), key=lambda v: not _LOCAL_OFFSET.search(v.strip()))
    for value in [*declared, *page.get("labelled", []), found]:
        day = parse_date(value)
        if day and _DAY.match(day):
            return day
    return None


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
