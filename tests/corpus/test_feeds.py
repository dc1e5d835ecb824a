"""Reading feeds: real RSS 2.0 and Atom served from 127.0.0.1, fetched by the vetted fetcher, read by feedparser."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import corpus.feeds
from corpus.errors import BadInput
from corpus.feeds import MAX_ENTRIES_READ, fetch_feed, parse_feed
from corpus.fetching import FetchRefused, allow_all
from tests.corpus.feed_site import STORIES, FeedSite, Item, atom, rss, serve_site
from tests.corpus.test_fetching import ARTICLE_HTML, only_127_0_0_1


@pytest.fixture(scope="module")
def site() -> Iterator[FeedSite]:
    """The local news site."""
    yield from serve_site()


def read(site: FeedSite, path: str, xml: str | bytes, content_type: str = "application/rss+xml"):
    """Serve ``xml`` at ``path``, fetch it as the poller does, and read it."""
    site.feed(path, xml if isinstance(xml, str) else xml.decode("latin-1"), content_type)
    if isinstance(xml, bytes):
        site.routes[path].body = xml
    return parse_feed(fetch_feed(site.url(path), policy=allow_all))


def test_rss_entries_are_read_newest_first_with_their_days(site: FeedSite) -> None:
    """An RSS 2.0 feed gives each item's link, GUID, title and publication day as written, newest first."""
    items = [
        Item(f"https://ledger.example/{s.slug}", s.title, f"ledger-{s.slug}", s.published)
        for s in STORIES
        if s.published
    ]
    feed = read(site, "/rss.xml", rss(items))
    assert feed.title == "The County Ledger: elections" and not feed.problems
    assert [e.published for e in feed.entries] == ["2024-07-24", "2024-06-05", "2024-05-02", "2024-04-18", "2024-03-11"]
    brixton = next(e for e in feed.entries if "Brixton" in (e.title or ""))
    # 14:00 at -05:00 is the next day in UTC; the day kept is the one the feed wrote.
    assert (brixton.id, brixton.link, brixton.published) == (
        "ledger-brixton-phishing",
        "https://ledger.example/brixton-phishing",
        "2024-04-18",
    )


def test_atom_entries_use_their_id_and_resolve_relative_links(site: FeedSite) -> None:
    """An Atom feed gives each entry's id and alternate link (relative links made absolute against the feed)."""
    items = [
        Item("/desk/ashford", "Ashford audits", "urn:desk:1", "2024-05-02T09:30:00Z"),
        Item("https://desk.example/carver", "Carver buys machines", "urn:desk:2", None),
    ]
    feed = read(site, "/atom.xml", atom(items), "application/atom+xml")
    assert feed.title == "Election Desk"
    assert [(e.id, e.link, e.published) for e in feed.entries] == [
        ("urn:desk:1", site.url("/desk/ashford"), "2024-05-02"),
        ("urn:desk:2", "https://desk.example/carver", None),
    ]


def test_entries_without_links_repeats_and_odd_links_are_named_and_the_rest_read(site: FeedSite) -> None:
    """No link, a repeated GUID, a repeated link and a non-web link each get a line; the good entries stay."""
    items = [
        Item("https://ledger.example/a", "First story", "g-1", "2024-05-01T10:00:00Z"),
        Item("", "Story without a link", "g-2"),
        Item("https://ledger.example/b", "Same GUID again", "g-1"),
        Item("https://ledger.example/a?utm_source=rss", "Same page again", "g-3"),
        Item("javascript:alert(1)", "A script link", "g-4"),
        Item("https://ledger.example/c", "No date at all", None, None),
    ]
    feed = read(site, "/odd.xml", rss(items))
    assert [(e.id, e.title) for e in feed.entries] == [
        ("g-1", "First story"),
        ("https://ledger.example/c", "No date at all"),  # no GUID: its link is its id
    ]
    assert feed.problems == [
        "entry 'Story without a link' has no link; skipped",
        "entry 'Same GUID again' repeats the id 'g-1' of an earlier entry; skipped",
        "entry 'Same page again' links to the same page as an earlier entry; skipped",
        "entry 'A script link' links to 'javascript:alert(1)', not a web page; skipped",
    ]


def test_malformed_xml_is_named_and_what_can_be_read_is_kept(site: FeedSite) -> None:
    """XML that is not well-formed sets feedparser's bozo flag: one line says so, the readable entries still count."""
    xml = rss(
        [Item("https://ledger.example/a", "Readable story", "g-1"), Item("https://ledger.example/b", "Second", "g-2")]
    )
    broken = xml.replace("<title>Second</title>", "<title>Second <b>bold</title>")
    feed = read(site, "/broken.xml", broken)
    assert [e.link for e in feed.entries] == ["https://ledger.example/a", "https://ledger.example/b"]
    assert len(feed.problems) == 1 and feed.problems[0].startswith("the feed is not well-formed XML (line ")


def test_a_web_page_or_garbage_given_as_a_feed_is_refused(site: FeedSite) -> None:
    """An HTML article page, or bytes that are no XML at all, are refused in one sentence."""
    with pytest.raises(BadInput, match=r"^that address serves a web page, not an RSS or Atom feed$"):
        read(site, "/page.html", ARTICLE_HTML, "text/html")
    with pytest.raises(BadInput, match=r"^that address does not serve an RSS or Atom feed"):
        read(site, "/garbage.xml", b"\x00\x01 this is not XML \xff", "application/xml")


def test_a_feed_of_ten_thousand_entries_is_read_to_its_newest(site: FeedSite) -> None:
    """Of 10,000 entries only the newest MAX_ENTRIES_READ are read, and a line says how many were left out."""
    items = [
        Item(f"https://ledger.example/{n}", f"Story {n}", f"g-{n}", f"20{10 + n // 1000:02d}-01-01T00:00:00Z")
        for n in range(10_000)
    ]
    feed = read(site, "/huge.xml", rss(items))
    assert len(feed.entries) == MAX_ENTRIES_READ and feed.listed == 10_000
    assert all(e.published == "2019-01-01" for e in feed.entries)  # the newest, from the end of the feed
    assert feed.problems == [
        f"the feed lists 10,000 entries; only the newest {MAX_ENTRIES_READ} are read, the rest are left out"
    ]


def test_conditional_requests_get_not_modified(site: FeedSite) -> None:
    """The validators a feed sent come back as If-None-Match / If-Modified-Since, and a 304 is "not modified"."""
    url = site.feed("/etag.xml", rss([Item("https://ledger.example/a", "A", "g-1")]), etag='"v7"')
    first = fetch_feed(url, policy=allow_all)
    assert (first.etag, first.last_modified, first.not_modified) == ('"v7"', "Wed, 24 Jul 2024 16:20:00 GMT", False)
    again = fetch_feed(url, policy=allow_all, etag=first.etag, last_modified=first.last_modified)
    assert again.not_modified and again.body == b""
    _, headers = site.requests[-1]
    assert headers["If-None-Match"] == '"v7"' and headers["If-Modified-Since"] == "Wed, 24 Jul 2024 16:20:00 GMT"


def test_feed_addresses_are_vetted_like_any_address(site: FeedSite, monkeypatch: pytest.MonkeyPatch) -> None:
    """A feed on a private address, or redirecting to one, is refused; a feed that never arrives times out."""
    with pytest.raises(FetchRefused, match="not on the public internet"):
        fetch_feed(site.url("/rss.xml"))  # 127.0.0.1 under the default policy
    site.routes["/to-private"] = site.routes["/rss.xml"].__class__(b"", "text/plain", location="http://127.0.0.2:9/")
    with pytest.raises(FetchRefused, match="not on the public internet"):
        fetch_feed(site.url("/to-private"), policy=only_127_0_0_1)
    site.feed("/slow.xml", rss([]), delay_s=3)
    monkeypatch.setattr(corpus.feeds, "FEED_TIMEOUT_S", 1.0)
    with pytest.raises(FetchRefused, match="did not arrive within 1 s"):
        fetch_feed(site.url("/slow.xml"), policy=allow_all)
