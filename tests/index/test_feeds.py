"""Following feeds through the core: real feeds and article pages on 127.0.0.1, the real model, both backends."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

import corpus.feeds
from corpus.errors import BadInput
from corpus.fetching import allow_all
from corpus.ingest import Details
from index.feeds import ENTRIES_PER_POLL, MAX_BACKOFF
from index.library import Library
from tests.corpus.feed_site import STORIES, FeedSite, Item, Route, atom, numbered_story, rss, serve_site
from tests.corpus.test_fetching import NAV_ONLY_HTML, only_127_0_0_1

NOW = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)  # after every follow in these tests
GUILD = 42


@pytest.fixture
def site() -> Iterator[FeedSite]:
    """A fresh local news site for each test."""
    yield from serve_site()


def story_items(site: FeedSite, *, dated: bool = True) -> list[Item]:
    """Every story as a page on the site and an entry pointing to it (entries dated when ``dated``)."""
    return [
        Item(
            site.page(f"/news/{s.slug}.html", s),
            s.title,
            f"tag:ledger.example,2024:{s.slug}",
            s.published if dated else None,
        )
        for s in STORIES
    ]


def articles_by_url(library: Library, guild_id: int | None = GUILD) -> dict[str, tuple[str, str | None, str | None]]:
    """(title, outlet, date) of every article the server sees, by address."""
    return {a.url: (a.title, a.source, a.published) for a in library.list_articles(guild_id=guild_id) if a.url}


def test_entries_are_added_once_extracted_and_dated(any_library: Library, site: FeedSite) -> None:
    """Each entry's page is added once with its article text (not the summary) and the entry's day; a second poll adds nothing."""
    library = any_library
    library.address_policy = allow_all
    items = story_items(site)
    items[0].published = "2024-08-01T08:00:00Z"  # the entry's day wins over the page's
    items[2].published = None  # no day in the entry: the page's is kept
    feed = library.follow_feed(site.feed("/rss.xml", rss(items)), guild_id=GUILD, added_by="mod")
    report = library.poll_feeds(NOW)
    [poll] = report.polls
    assert poll.status == "ok" and len(poll.added) == len(STORIES) and not poll.lines
    found = articles_by_url(library)
    assert found[items[0].link] == (STORIES[0].title, "The County Ledger", "2024-08-01")
    assert found[items[2].link] == (STORIES[2].title, "The County Ledger", "2024-03-11")
    assert found[items[1].link][2] == "2024-04-18"
    answer = library.ask("how many ballots did ashford count by hand", guild_id=GUILD)
    assert answer.answered and "4,212 paper ballots" in answer.quotes[0].text
    article, _ = library.get_article(answer.quotes[0].article_id, guild_id=GUILD)
    stored = library.store.article_texts([article.id])[article.id]
    assert "summary" not in stored and "cookies" not in stored
    assert library.list_articles(guild_id=GUILD + 1) == library.list_articles(guild_id=None)  # only this server's
    pages = sum(site.hits(f"/news/{s.slug}.html") for s in STORIES)
    again = library.poll_feeds(NOW + timedelta(hours=1))
    assert again.polls[0].added == [] and sum(site.hits(f"/news/{s.slug}.html") for s in STORIES) == pages
    assert library.list_feeds(guild_id=GUILD)[0].articles == len(STORIES)
    audit = library.audit_log(guild_id=GUILD)
    assert audit[-1].action == "feed poll" and audit[-1].target == f"#{feed.id} {feed.url}"
    assert (audit[-1].detail or "").startswith(f"{len(STORIES)} added; added #")


def test_bad_entries_each_get_a_line_and_the_rest_go_in(library: Library, site: FeedSite) -> None:
    """No link, no date, a repeated GUID, a page that is no article, a redirect to a private address: lines, not stops."""
    library.address_policy = only_127_0_0_1
    items = story_items(site)[:3]
    items.append(Item("", "An entry without a link", "nolink"))
    items.append(Item(items[0].link.replace(".html", "-copy.html"), "Same GUID", items[0].guid))
    site.routes["/menu.html"] = Route(NAV_ONLY_HTML.encode(), "text/html")
    items.append(Item(site.url("/menu.html"), "The site's menu", "menu"))
    site.routes["/to-intranet"] = Route(b"", "text/plain", location="http://127.0.0.2:9/secret")
    items.append(Item(site.url("/to-intranet"), "A redirect inside", "intranet"))
    undated = numbered_story(7)
    items.append(Item(site.page("/news/undated.html", undated), undated.title, "undated", None))
    library.follow_feed(site.feed("/mixed.xml", atom(items), "application/atom+xml"), guild_id=GUILD)
    [poll] = library.poll_feeds(NOW).polls
    assert [a.title for a in poll.added] == [STORIES[0].title, STORIES[1].title, STORIES[2].title, undated.title]
    assert poll.lines == [
        "entry 'An entry without a link' has no link; skipped",
        "entry 'Same GUID' repeats the id 'tag:ledger.example,2024:ashford-audit' of an earlier entry; skipped",
        'entry "The site\'s menu" was not added: no article text could be found on that page',
        "entry 'A redirect inside' was not added: that address is not on the public internet",
    ]
    assert articles_by_url(library)[items[-1].link][2] == str(undated.published)[:10]  # the page's own day
    assert poll.summary() == "4 added, 2 not added"
    [entry] = library.audit_log(guild_id=GUILD)
    assert "no article text could be found" in (entry.detail or "") and entry.outcome == "ok"
    again = library.poll_feeds(NOW + timedelta(hours=1)).polls[0]
    assert again.added == [] and again.refused == 0  # a refused page is not fetched again
    assert site.hits("/menu.html") == 1 and len(library.list_articles(guild_id=GUILD)) == 5


def test_guids_that_change_every_poll_add_nothing_twice(library: Library, site: FeedSite) -> None:
    """A feed that gives its entries new GUIDs (and new tracking parameters) each poll adds each page once."""
    library.address_policy = allow_all
    items = story_items(site)[:3]
    url = site.feed("/renaming.xml", rss(items))
    library.follow_feed(url, guild_id=GUILD)
    assert len(library.poll_feeds(NOW).polls[0].added) == 3
    for item in items:
        item.guid = f"{item.guid}-poll-2"
    site.feed("/renaming.xml", rss(items))
    second = library.poll_feeds(NOW + timedelta(hours=1)).polls[0]
    assert second.added == [] and second.lines == [
        "3 entries came back with a new id but a link already seen (the feed changes its ids); not fetched again"
    ]
    items[0].guid, items[0].link = "poll-3", items[0].link + "?utm_source=feed&utm_campaign=3"
    items[1].guid, items[1].link = "poll-3b", site.page("/amp/brixton.html", STORIES[1])  # a mirror of the page
    site.feed("/renaming.xml", rss(items))
    third = library.poll_feeds(NOW + timedelta(hours=2)).polls[0]
    assert third.added == [] and third.duplicates == 1  # the mirror: fetched, and its text is known
    assert third.lines[0].startswith("2 entries came back with a new id")  # tracking parameters do not count
    assert third.lines[1] == f"entry {STORIES[1].title!r} is already in the articles as #3"
    assert len(library.list_articles(guild_id=GUILD)) == 4


def test_a_kill_after_the_commit_never_stores_an_entry_twice(library: Library, site: FeedSite) -> None:
    """An entry whose article committed but whose "seen" mark was lost is found by its address: a duplicate, not a copy."""
    library.address_policy = allow_all
    items = story_items(site)[:2]
    library.follow_feed(site.feed("/rss.xml", rss(items)), guild_id=GUILD)
    # What a poll killed between the commit and the mark leaves behind: the article, unmarked.
    committed = library.add_url(items[0].link, Details(guild_id=GUILD))
    [poll] = library.poll_feeds(NOW).polls
    assert [a.title for a in poll.added] == [STORIES[1].title] and poll.duplicates == 1
    assert poll.lines == [f"entry {STORIES[0].title!r} is already in the articles as #{committed.id}"]
    assert len(library.list_articles(guild_id=GUILD)) == 3


def test_failing_feeds_back_off_and_recover(library: Library, site: FeedSite, monkeypatch: pytest.MonkeyPatch) -> None:
    """A feed that times out, breaks or redirects inside waits twice as long after each failure, up to a day."""
    library.address_policy = only_127_0_0_1
    url = site.feed("/flaky.xml", rss(story_items(site)[:1]))
    feed = library.follow_feed(url, guild_id=GUILD)
    site.routes["/flaky.xml"] = Route(rss([]).encode(), "application/rss+xml", delay_s=3)
    monkeypatch.setattr(corpus.feeds, "FEED_TIMEOUT_S", 1.0)
    [first] = library.poll_feeds(NOW).polls
    assert first.status == "failed" and first.summary() == "failed: the page did not arrive within 1 s"
    assert first.next_poll_at == (NOW + timedelta(minutes=60)).isoformat()
    assert library.poll_feeds(NOW + timedelta(minutes=30)).polls == []  # not due yet
    site.routes["/flaky.xml"] = Route(b"", "text/plain", location="http://127.0.0.2:9/feed")
    [second] = library.poll_feeds(NOW + timedelta(minutes=60)).polls
    assert second.error == "that address is not on the public internet"
    assert second.next_poll_at == (NOW + timedelta(minutes=60 + 120)).isoformat()
    site.routes["/flaky.xml"] = Route(b"<html><body><p>Moved</p></body></html>", "text/html")
    for days in range(1, 40):  # keeps failing: the wait stops growing at a day
        library.poll_feeds(NOW + timedelta(days=days))
    [stuck] = library.list_feeds(guild_id=GUILD)
    assert stuck.failures > 6 and stuck.last_error == "that address serves a web page, not an RSS or Atom feed"
    assert (
        datetime.fromisoformat(stuck.next_poll_at) - datetime.fromisoformat(stuck.last_polled_at or "") == MAX_BACKOFF
    )
    site.feed("/flaky.xml", rss(story_items(site)[:1]))
    [recovered] = library.poll_feeds(NOW + timedelta(days=60)).polls
    assert recovered.status == "ok" and len(recovered.added) == 1
    [healthy] = library.list_feeds(guild_id=GUILD)
    assert (healthy.id, healthy.failures, healthy.last_error) == (feed.id, 0, None)
    outcomes = [e.outcome for e in library.audit_log(guild_id=GUILD, limit=100)]
    assert outcomes[0] == "ok" and set(outcomes[1:]) == {"failed"}


def test_polls_are_bounded_and_conditional(library: Library, site: FeedSite) -> None:
    """At most ENTRIES_PER_POLL pages a poll, the rest at the next (due at once); once caught up, a 304 costs nothing."""
    library.address_policy = allow_all
    stories = [numbered_story(n) for n in range(ENTRIES_PER_POLL + 5)]
    items = [Item(site.page(f"/n/{s.slug}.html", s), s.title, s.slug, s.published) for s in stories]
    library.follow_feed(site.feed("/many.xml", rss(items), etag='"big"'), guild_id=GUILD)
    [first] = library.poll_feeds(NOW).polls
    assert len(first.added) == ENTRIES_PER_POLL and first.left == 5
    assert first.summary() == f"{ENTRIES_PER_POLL} added, 5 entries left for the next poll"
    [second] = library.poll_feeds(NOW + timedelta(seconds=1)).polls  # due again at once, asked unconditionally
    assert len(second.added) == 5 and second.left == 0
    asked = [headers for path, headers in site.requests if path == "/many.xml"]
    assert "If-None-Match" not in asked[-1]  # entries were left: no validators kept, so no 304 could hide them
    [third] = library.poll_feeds(NOW + timedelta(hours=1)).polls
    assert third.status == "not-modified" and site.requests[-1][1]["If-None-Match"] == '"big"'
    assert len({a.url for a in library.list_articles(guild_id=GUILD)}) == len(stories) + 1


def test_follow_refuses_what_is_no_feed_and_servers_keep_their_own(library: Library, site: FeedSite) -> None:
    """A web page is refused as a feed; a feed is followed once a server; another server cannot remove it."""
    library.address_policy = allow_all
    page = site.page("/news/ashford.html", STORIES[0])
    with pytest.raises(BadInput, match="web page, not an RSS or Atom feed"):
        library.follow_feed(page, guild_id=GUILD)
    url = site.feed("/rss.xml", rss(story_items(site)[:1]))
    feed = library.follow_feed(url, guild_id=GUILD)
    with pytest.raises(BadInput, match=f"already following that feed as #{feed.id}"):
        library.follow_feed(url + "?utm_source=x", guild_id=GUILD)
    other = library.follow_feed(url, guild_id=GUILD + 1)
    with pytest.raises(BadInput, match=f"there is no feed #{feed.id}"):
        library.unfollow_feed(feed.id, guild_id=GUILD + 1)
    assert [f.id for f in library.list_feeds(guild_id=GUILD)] == [feed.id]
    assert library.unfollow_feed(other.id, guild_id=GUILD + 1).url == url
    assert [f.id for f in library.list_feeds(everywhere=True)] == [feed.id]


def test_migrate_carries_feeds_and_their_seen_entries(
    library: Library, site: FeedSite, database_url: str, encoder
) -> None:
    """`migrate` copies followed feeds with what their polls saw, so PostgreSQL's first poll adds nothing again."""
    from corpus.postgres.migrate import migrate

    library.address_policy = allow_all
    library.follow_feed(site.feed("/rss.xml", rss(story_items(site)[:2])), guild_id=GUILD)
    assert len(library.poll_feeds(NOW).polls[0].added) == 2
    library.close()
    migrate(library.data_dir / "articles.sqlite3", database_url)
    moved = Library.open(library.data_dir, encoder, database_url=database_url, address_policy=allow_all)
    try:
        [feed] = moved.list_feeds(guild_id=GUILD)
        assert feed.articles == 2 and feed.id == 1
        [poll] = moved.poll_feeds(NOW + timedelta(days=1), force=True).polls
        assert poll.added == [] and poll.duplicates == 0
        assert moved.follow_feed(site.feed("/atom.xml", atom([])), guild_id=GUILD).id == 2  # ids go on
    finally:
        moved.close()
        library.store = moved.store  # the fixture closes it again: harmless


def test_a_syndicated_copy_in_another_outlets_feed_is_merged_not_stored_again(library: Library, site: FeedSite) -> None:
    """The same story in a second outlet's feed (its own byline and closing line) is stored once, "also published by" it."""
    from dataclasses import replace

    library.address_policy = allow_all
    original = STORIES[0]
    copy = replace(
        original,
        slug="wire-copy",
        title="Hand count checks Ashford's scanners",
        paragraphs=(
            "By Dana Ruiz, Valley Courier",
            *original.paragraphs,
            "(Reporting by Dana Ruiz; Editing by Sam Ortiz)",
        ),
        site="Valley Courier",
    )
    ledger = Item(site.page("/news/ashford.html", original), original.title, "ledger-1", original.published)
    courier = Item(site.page("/courier/hand-count.html", copy), copy.title, "courier-1", copy.published)
    library.follow_feed(site.feed("/ledger.xml", rss([ledger])), guild_id=GUILD)
    library.follow_feed(site.feed("/courier.xml", rss([courier])), guild_id=GUILD)
    polls = library.poll_feeds(NOW).polls
    assert sum(len(p.added) for p in polls) == 2  # the copy is reported, as a merge into the first
    assert [a.title for a in library.list_articles(guild_id=GUILD) if a.guild_id == GUILD] == [original.title]
    answer = library.ask("how many ballots did ashford count by hand", guild_id=GUILD)
    assert answer.answered and answer.quotes[0].also_published == ("Valley Courier",)
