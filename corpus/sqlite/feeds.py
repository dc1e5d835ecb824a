"""The embedded feed store: followed feeds and the entries their polls dealt with, in the articles' file.

Its tables are part of every database's schema (``corpus/sqlite/database.py`` creates them with
the rest), so a backup holding them restores like any other.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from corpus.records import Feed, SeenEntry

if TYPE_CHECKING:
    from corpus.sqlite.database import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS feeds (        -- RSS and Atom feeds a server follows
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    url            TEXT NOT NULL,
    url_key        TEXT NOT NULL,         -- the canonical URL, for "already following"
    title          TEXT,
    guild_id       INTEGER,               -- NULL: added from the command line; its articles are global
    added_by       TEXT,
    added_at       TEXT NOT NULL,
    next_poll_at   TEXT NOT NULL,         -- ISO 8601 UTC; also pushed ahead while a poll holds the feed
    last_polled_at TEXT,
    etag           TEXT,                  -- validators for the next conditional request
    last_modified  TEXT,
    failures       INTEGER NOT NULL DEFAULT 0,
    last_error     TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS feeds_url ON feeds(url_key, ifnull(guild_id, 0));
CREATE TABLE IF NOT EXISTS feed_entries ( -- every entry a poll dealt with, so none is fetched twice
    feed_id    INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    entry_id   TEXT NOT NULL,             -- the GUID or Atom id, else the link
    link       TEXT,                      -- canonical, so an entry whose id changes is still known
    outcome    TEXT NOT NULL,             -- added, duplicate, refused, failed (retried a few times)
    article_id INTEGER,                   -- no reference: a removed article's entry stays seen
    attempts   INTEGER NOT NULL,
    detail     TEXT,
    seen_at    TEXT NOT NULL,
    PRIMARY KEY (feed_id, entry_id)
);
CREATE INDEX IF NOT EXISTS feed_entries_link ON feed_entries(feed_id, link);
"""

_COLUMNS = (
    "f.id, f.url, f.title, f.guild_id, f.added_by, f.added_at, f.next_poll_at, f.etag, f.last_modified,"
    " f.failures, f.last_error, f.last_polled_at,"
    " (SELECT COUNT(*) FROM feed_entries e WHERE e.feed_id = f.id AND e.outcome = 'added')"
)


class SqliteFeedStore:
    """Feeds and seen entries in the articles' SQLite file."""

    def __init__(self, db: Database) -> None:
        """Keep the feeds in ``db``."""
        self.db = db

    @contextmanager
    def _changing(self) -> Iterator[sqlite3.Connection]:
        """One change outside the articles' generation; a failed write is one sentence, nothing changed."""
        with self.db.lock:
            try:
                self.db.connection.execute("BEGIN IMMEDIATE")
                try:
                    yield self.db.connection
                    self.db.connection.execute("COMMIT")
                except BaseException:
                    if self.db.connection.in_transaction:
                        self.db.connection.execute("ROLLBACK")
                    raise
            except sqlite3.OperationalError as exc:
                raise self.db._explain(exc) from exc  # the same sentence as an article write

    def add_feed(
        self, url: str, url_key: str, title: str | None, guild_id: int | None, added_by: str | None, now: str
    ) -> int:
        """Follow a feed, due at once; its id."""
        with self._changing() as connection:
            cursor = connection.execute(
                "INSERT INTO feeds (url, url_key, title, guild_id, added_by, added_at, next_poll_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (url, url_key, title, guild_id, added_by, now, now),
            )
            return int(cursor.lastrowid or 0)

    def find_feed(self, url_key: str, guild_id: int | None) -> int | None:
        """The feed of this server with this canonical URL."""
        rows = self.db.query("SELECT id FROM feeds WHERE url_key = ? AND guild_id IS ?", (url_key, guild_id))
        return int(rows[0][0]) if rows else None

    def get_feed(self, feed_id: int) -> Feed | None:
        """One feed."""
        rows = self.db.query(f"SELECT {_COLUMNS} FROM feeds f WHERE f.id = ?", (feed_id,))
        return Feed(*rows[0]) if rows else None

    def list_feeds(self, guild_id: int | None, *, everywhere: bool = False) -> list[Feed]:
        """The feeds of one server (or every feed), oldest first."""
        where = "1" if everywhere else "f.guild_id IS ?"
        rows = self.db.query(
            f"SELECT {_COLUMNS} FROM feeds f WHERE {where} ORDER BY f.id", [] if everywhere else [guild_id]
        )
        return [Feed(*row) for row in rows]

    def remove_feed(self, feed_id: int) -> None:
        """Stop following a feed and forget its entries (its articles stay)."""
        with self._changing() as connection:
            connection.execute("DELETE FROM feed_entries WHERE feed_id = ?", (feed_id,))
            connection.execute("DELETE FROM feeds WHERE id = ?", (feed_id,))

    def due_feeds(self, now: str) -> list[Feed]:
        """The feeds whose next poll is due, the longest due first."""
        rows = self.db.query(
            f"SELECT {_COLUMNS} FROM feeds f WHERE f.next_poll_at <= ? ORDER BY f.next_poll_at, f.id", (now,)
        )
        return [Feed(*row) for row in rows]

    def claim_feed(self, feed_id: int, now: str, until: str, *, force: bool = False) -> bool:
        """Take a feed for one poll by pushing its next poll to ``until``, unless another poll took it first."""
        with self._changing() as connection:
            cursor = connection.execute(
                "UPDATE feeds SET next_poll_at = ? WHERE id = ? AND (? OR next_poll_at <= ?)",
                (until, feed_id, force, now),
            )
            return cursor.rowcount == 1

    def finish_poll(
        self,
        feed_id: int,
        *,
        now: str,
        next_poll_at: str,
        failures: int,
        error: str | None,
        etag: str | None,
        last_modified: str | None,
        title: str | None,
    ) -> None:
        """Record how a poll ended and when the next is due."""
        with self._changing() as connection:
            connection.execute(
                "UPDATE feeds SET last_polled_at = ?, next_poll_at = ?, failures = ?, last_error = ?, etag = ?,"
                " last_modified = ?, title = coalesce(?, title) WHERE id = ?",
                (now, next_poll_at, failures, error, etag, last_modified, title, feed_id),
            )

    def seen_entries(self, feed_id: int, entry_ids: Sequence[str], links: Sequence[str]) -> list[SeenEntry]:
        """The entries of this feed already dealt with that have one of these ids or canonical links."""
        found: dict[str, SeenEntry] = {}
        for column, values in (("entry_id", list(entry_ids)), ("link", list(links))):
            for start in range(0, len(values), 500):
                chunk = values[start : start + 500]
                rows = self.db.query(
                    "SELECT entry_id, link, outcome, article_id, attempts FROM feed_entries"
                    f" WHERE feed_id = ? AND {column} IN ({','.join('?' * len(chunk))})",
                    [feed_id, *chunk],
                )
                found.update((str(row[0]), SeenEntry(*row)) for row in rows)
        return list(found.values())

    def mark_entry(self, feed_id: int, entry: SeenEntry, *, detail: str | None, now: str) -> None:
        """Record what became of an entry (replacing an earlier try)."""
        with self._changing() as connection:
            connection.execute(
                "INSERT OR REPLACE INTO feed_entries"
                " (feed_id, entry_id, link, outcome, article_id, attempts, detail, seen_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (feed_id, entry.entry_id, entry.link, entry.outcome, entry.article_id, entry.attempts, detail, now),
            )
