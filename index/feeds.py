"""Following RSS and Atom feeds: each new entry's page is added exactly as ``add URL`` adds one.

A poll takes the feeds that are due, one at a time: it claims the feed (so two processes never
poll it together), fetches it through the vetted fetcher with its last ETag / Last-Modified,
reads at most :data:`~corpus.feeds.MAX_ENTRIES_READ` entries newest first, and hands each entry
it has not dealt with to :meth:`Library.add_url` (the same address checks, fetching, extraction
and duplicate check as ``add URL``), at most :data:`ENTRIES_PER_POLL` per feed and within a
time budget. What became of each entry is recorded after its article has committed; a poll
killed in between finds the article by its URL next time (a duplicate, not a second copy). A
feed that fails is polled again after twice the wait of the time before, up to a day. Each
feed's poll goes into the audit log, one line per problem.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from corpus.errors import BadInput, DuplicateArticle, StoreError
from corpus.feeds import FeedEntry, fetch_feed, parse_feed
from corpus.ingest import Details
from corpus.readers import MAX_FIELD_CHARS, excerpt
from corpus.records import Feed, SeenEntry, normalise_url

if TYPE_CHECKING:
    from index.library import AddedArticle, Library

log = logging.getLogger(__name__)

#: How often a feed is polled unless FEED_POLL_MINUTES says otherwise, and the least it may say.
DEFAULT_FEED_POLL_MINUTES = 30.0
MIN_FEED_POLL_MINUTES = 15.0
#: New entries fetched from one feed in one poll; the rest wait for the next poll (due at once).
ENTRIES_PER_POLL = 50
#: Seconds one poll may spend fetching entries, all feeds together; what is left waits.
POLL_BUDGET_S = 300.0
#: How long a claimed feed stays claimed by a poll that died.
CLAIM_S = 600.0
#: A failing feed waits twice as long after each failure, up to this.
MAX_BACKOFF = timedelta(days=1)
#: An entry whose page failed for a passing reason (a time-out, HTTP 5xx) is tried this many times.
MAX_ENTRY_ATTEMPTS = 3
#: Feeds one server may follow.
MAX_FEEDS_PER_SERVER = 50
#: Problem lines kept in an audit entry.
AUDIT_LINES = 20
_PASSING = ("did not arrive within", "could not be fetched", "answered with HTTP 5", "took longer than")


def _entries(n: int) -> str:
    return f"{n} entry" if n == 1 else f"{n} entries"


def stamp(moment: datetime) -> str:
    """A time as the feed store keeps it: ISO 8601 in UTC, to the second."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


@dataclass(slots=True)
class FeedPoll:
    """What one poll of one feed did."""

    feed: Feed
    status: str  # ok, not-modified, failed
    added: list[AddedArticle] = field(default_factory=list)
    duplicates: int = 0
    refused: int = 0
    lines: list[str] = field(default_factory=list)
    left: int = 0  # new entries left for the next poll
    retrying: int = 0  # entries that failed for a passing reason, tried again next time
    error: str | None = None
    next_poll_at: str | None = None

    def summary(self) -> str:
        """One line: what was added, skipped and left, or why the feed failed."""
        if self.status == "failed":
            return f"failed: {self.error}"
        if self.status == "not-modified":
            return "not modified since the last poll"
        parts = [f"{len(self.added)} added"]
        if self.duplicates:
            parts.append(f"{self.duplicates} already in the articles")
        if self.refused:
            parts.append(f"{self.refused} not added")
        if self.left:
            parts.append(f"{_entries(self.left)} left for the next poll")
        return ", ".join(parts)


@dataclass(slots=True)
class PollReport:
    """What a poll of the due feeds did, feed by feed."""

    polls: list[FeedPoll] = field(default_factory=list)
    waiting: int = 0  # due feeds left for the next poll when the time budget ran out

    @property
    def added(self) -> int:
        """Articles added, all feeds together."""
        return sum(len(p.added) for p in self.polls)


class FeedFollower:
    """The feed recipes of :class:`Library`: follow, unfollow, list and poll."""

    def __init__(self, library: Library) -> None:
        """Work through ``library``'s feed store and its ``add_url``."""
        self.library = library
        self.store = library.parts.feeds

    def follow(self, url: str, *, guild_id: int | None, added_by: str | None, now: datetime) -> Feed:
        """Follow the feed at ``url`` for a server, once it has been fetched and read as a feed; due at once."""
        url = url.strip()
        if not url:
            raise BadInput("give the feed's address")
        if len(url) > MAX_FIELD_CHARS:
            raise BadInput(f"the feed's address is longer than {MAX_FIELD_CHARS:,} characters")
        key = normalise_url(url) or url
        known = self.store.find_feed(key, guild_id)
        if known is not None:
            raise BadInput(f"already following that feed as #{known}")
        if len(self.store.list_feeds(guild_id)) >= MAX_FEEDS_PER_SERVER:
            raise BadInput(f"a server can follow at most {MAX_FEEDS_PER_SERVER} feeds; remove one first")
        parsed = parse_feed(fetch_feed(url, policy=self.library.address_policy))  # refuses what is not a feed
        feed_id = self.store.add_feed(url, key, parsed.title, guild_id, added_by, stamp(now))
        feed = self.store.get_feed(feed_id)
        assert feed is not None
        return feed

    def unfollow(self, feed_id: int, *, guild_id: int | None, everywhere: bool = False) -> Feed:
        """Stop following a feed of this server (any feed, ``everywhere``); the articles it added stay."""
        feed = self.store.get_feed(feed_id) if 0 < feed_id < 2**63 else None
        if feed is None or (not everywhere and feed.guild_id != guild_id):
            raise BadInput(f"there is no feed #{feed_id}")
        self.store.remove_feed(feed_id)
        return feed

    def list_feeds(self, *, guild_id: int | None, everywhere: bool = False) -> list[Feed]:
        """The feeds a server follows (every feed, ``everywhere``)."""
        return self.store.list_feeds(guild_id, everywhere=everywhere)

    def poll(
        self,
        now: datetime,
        *,
        every: timedelta,
        force: bool = False,
        actor: str = "feed poller",
        budget_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        stop: threading.Event | None = None,
    ) -> PollReport:
        """Poll every feed that is due (every feed, with ``force``) once, within ``budget_s`` (POLL_BUDGET_S) seconds.

        ``stop`` ends the poll after the entry in hand, like the time budget running out.
        """
        start = clock()
        budget = POLL_BUDGET_S if budget_s is None else budget_s

        def out_of_time() -> bool:
            return clock() - start > budget or (stop is not None and stop.is_set())

        report = PollReport()
        feeds = self.store.list_feeds(None, everywhere=True) if force else self.store.due_feeds(stamp(now))
        for position, feed in enumerate(feeds):
            if out_of_time():
                report.waiting = len(feeds) - position
                break
            until = stamp(now + timedelta(seconds=CLAIM_S))
            if not self.store.claim_feed(feed.id, stamp(now), until, force=force):
                continue  # another process is polling it
            result = self._poll_feed(feed, now, every, out_of_time)
            report.polls.append(result)
            self._record(result, actor)
        return report

    # -- one feed ---------------------------------------------------------------------

    def _poll_feed(self, feed: Feed, now: datetime, every: timedelta, out_of_time: Callable[[], bool]) -> FeedPoll:
        try:
            page = fetch_feed(
                feed.url, policy=self.library.address_policy, etag=feed.etag, last_modified=feed.last_modified
            )
            if page.not_modified:
                result = FeedPoll(feed, "not-modified")
                self._finish(result, now, every, etag=feed.etag, last_modified=feed.last_modified, title=None)
                return result
            parsed = parse_feed(page)
        except BadInput as exc:
            return self._failed(feed, now, every, str(exc))
        result = FeedPoll(feed, "ok", lines=list(parsed.problems))
        todo = self._new_entries(feed, parsed.entries, result)
        done = 0
        for entry, attempts in todo[:ENTRIES_PER_POLL]:
            if out_of_time():
                break
            self._add_entry(feed, entry, attempts, result, now)
            done += 1
        result.left = len(todo) - done
        complete = result.left == 0 and result.retrying == 0
        # Validators only once every entry was dealt with: a 304 must not hide the entries left or to retry.
        self._finish(
            result,
            now,
            every,
            etag=page.etag if complete else None,
            last_modified=page.last_modified if complete else None,
            title=parsed.title,
        )
        return result

    def _new_entries(self, feed: Feed, entries: list[FeedEntry], result: FeedPoll) -> list[tuple[FeedEntry, int]]:
        """The entries not yet dealt with (or to be tried again), with how often each was tried."""
        links = [normalise_url(e.link) or e.link for e in entries]
        seen = self.store.seen_entries(feed.id, [e.id for e in entries], links)
        by_id = {s.entry_id: s for s in seen}
        by_link = {s.link: s for s in seen if s.link}
        todo: list[tuple[FeedEntry, int]] = []
        renamed = 0
        for entry, link in zip(entries, links, strict=True):
            known = by_id.get(entry.id)
            if known is None and link in by_link:
                known = by_link[link]
                if known.outcome != "failed":
                    renamed += 1
                    continue
            if known is None:
                todo.append((entry, 0))
            elif known.outcome == "failed" and known.attempts < MAX_ENTRY_ATTEMPTS:
                todo.append((entry, known.attempts))
        if renamed:
            result.lines.append(
                f"{_entries(renamed)} came back with a new id but a link already seen"
                " (the feed changes its ids); not fetched again"
            )
        return todo

    def _add_entry(self, feed: Feed, entry: FeedEntry, attempts: int, result: FeedPoll, now: datetime) -> None:
        """Add one entry's page as ``add URL`` would, then record what became of it."""
        name = f"entry {excerpt(entry.title)}" if entry.title else f"the entry at {excerpt(entry.link)}"
        details = Details(date=entry.published, added_by=f"feed #{feed.id}", guild_id=feed.guild_id)
        article_id: int | None = None
        detail: str | None = None
        try:
            added = self.library.add_url(entry.link, details)
        except DuplicateArticle as exc:
            outcome, article_id = "duplicate", exc.article_id
            result.duplicates += 1
            result.lines.append(f"{name} is already in the articles as #{exc.article_id}")
        except BadInput as exc:
            detail = str(exc)
            passing = any(reason in detail for reason in _PASSING) and attempts + 1 < MAX_ENTRY_ATTEMPTS
            outcome = "failed" if passing else "refused"
            result.refused += 1
            result.retrying += passing
            again = "; tried again at the next poll" if passing else ""
            result.lines.append(f"{name} was not added: {detail}{again}")
        except StoreError:
            raise  # the database's trouble, not the entry's: the poll stops, the entry is tried again
        except Exception as exc:  # one page that breaks the extraction must not stop the feed
            log.exception("feed #%d: %s could not be added", feed.id, entry.link)
            outcome, detail = "refused", f"the page could not be read ({type(exc).__name__})"
            result.refused += 1
            result.lines.append(f"{name} was not added: {detail}")
        else:
            outcome, article_id = "added", added.id
            result.added.append(added)
        link = normalise_url(entry.link) or entry.link
        self.store.mark_entry(
            feed.id, SeenEntry(entry.id, link, outcome, article_id, attempts + 1), detail=detail, now=stamp(now)
        )

    def _failed(self, feed: Feed, now: datetime, every: timedelta, error: str) -> FeedPoll:
        failures = feed.failures + 1
        wait = min(every * 2 ** min(failures, 20), MAX_BACKOFF)
        result = FeedPoll(feed, "failed", error=error)
        result.next_poll_at = stamp(now + wait)
        self.store.finish_poll(
            feed.id,
            now=stamp(now),
            next_poll_at=result.next_poll_at,
            failures=failures,
            error=error,
            etag=feed.etag,
            last_modified=feed.last_modified,
            title=None,
        )
        return result

    def _finish(
        self,
        result: FeedPoll,
        now: datetime,
        every: timedelta,
        *,
        etag: str | None,
        last_modified: str | None,
        title: str | None,
    ) -> None:
        result.next_poll_at = stamp(now if result.left else now + every)
        self.store.finish_poll(
            result.feed.id,
            now=stamp(now),
            next_poll_at=result.next_poll_at,
            failures=0,
            error=None,
            etag=etag,
            last_modified=last_modified,
            title=title,
        )

    def _record(self, result: FeedPoll, actor: str) -> None:
        """The poll's outcome in the audit log: its summary, then one line per problem."""
        lines = result.lines[:AUDIT_LINES]
        if len(result.lines) > AUDIT_LINES:
            lines.append(f"and {len(result.lines) - AUDIT_LINES} more")
        added = [f"added #{a.id}" for a in result.added]
        detail = "; ".join([result.summary(), *added, *lines])
        log.info("feed #%d %s: %s", result.feed.id, result.feed.url, result.summary())
        self.library.record_action(
            actor=actor,
            guild_id=result.feed.guild_id,
            action="feed poll",
            target=f"#{result.feed.id} {result.feed.url}",
            outcome=result.status,
            detail=detail,
        )
