"""The embedded feed store: one poll at a time per feed, entries remembered, and its tables part of a restorable backup."""

from __future__ import annotations

from pathlib import Path

from corpus.records import SeenEntry
from corpus.sqlite.database import Database
from corpus.sqlite.feeds import SqliteFeedStore
from corpus.sqlite.restore import _backup_problem

T0, T1, T2 = "2026-01-01T10:00:00+00:00", "2026-01-01T10:05:00+00:00", "2026-01-01T10:15:00+00:00"


def test_a_feed_is_claimed_by_one_poll_until_it_finishes_or_the_claim_lapses(tmp_path: Path) -> None:
    """Two processes asking for the same due feed: only the first gets it; a dead poll's claim lapses."""
    first, second = Database(tmp_path / "a.sqlite3"), Database(tmp_path / "a.sqlite3")
    store, other = SqliteFeedStore(first), SqliteFeedStore(second)
    feed_id = store.add_feed("https://x.example/rss", "https://x.example/rss", "X", 7, "mod", T0)
    assert [f.id for f in other.due_feeds(T0)] == [feed_id]
    assert store.claim_feed(feed_id, T0, T2) and not other.claim_feed(feed_id, T0, T2)
    assert other.due_feeds(T1) == [] and other.claim_feed(feed_id, T2, T2)  # the claim lapsed at T2
    assert store.claim_feed(feed_id, T1, T2, force=True)  # `feed poll --all` takes it anyway
    first.close()
    second.close()


def test_entries_are_found_by_id_or_link_and_a_retry_replaces_the_try(tmp_path: Path) -> None:
    """A seen entry is found by its id or by its canonical link; marking it again replaces the earlier try."""
    db = Database(tmp_path / "a.sqlite3")
    store = SqliteFeedStore(db)
    feed_id = store.add_feed("https://x.example/rss", "https://x.example/rss", None, None, None, T0)
    store.mark_entry(feed_id, SeenEntry("g-1", "https://x.example/a", "failed", None, 1), detail="time-out", now=T0)
    store.mark_entry(feed_id, SeenEntry("g-1", "https://x.example/a", "added", 12, 2), detail=None, now=T1)
    assert store.seen_entries(feed_id, ["g-1"], []) == [SeenEntry("g-1", "https://x.example/a", "added", 12, 2)]
    assert [s.entry_id for s in store.seen_entries(feed_id, ["g-new"], ["https://x.example/a"])] == ["g-1"]
    assert store.get_feed(feed_id).articles == 1  # type: ignore[union-attr]
    store.remove_feed(feed_id)
    assert store.seen_entries(feed_id, ["g-1"], []) == [] and store.list_feeds(None, everywhere=True) == []
    db.close()


def test_a_database_with_feeds_has_the_schema_a_restore_expects(tmp_path: Path) -> None:
    """The feed tables are part of every database's schema, so a backup that holds feeds passes restore's check."""
    db = Database(tmp_path / "a.sqlite3")
    SqliteFeedStore(db).add_feed("https://x.example/rss", "https://x.example/rss", None, None, None, T0)
    assert _backup_problem(db.connection, "any-model", lambda: 384) is None
    db.close()
