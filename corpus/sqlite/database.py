"""The SQLite file the embedded backend keeps everything in, shared by its parts.

This database is the source of truth; every index is derived from it. Each change runs in one
transaction and bumps a generation number, so a derived index can tell whether it is current.
WAL mode with ``synchronous=FULL`` means that once a method returns, its change survives a crash
or a kill. The article store (articles.py), the lexical search (lexical.py) and the activity log
(activity.py) each use one :class:`Database`; the lexical index lives in the same file and the
same transactions, so it can never disagree with the passages.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from corpus.bm25 import impact
from corpus.errors import StoreError
from corpus.sqlite.feeds import SCHEMA as FEEDS_SCHEMA

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
-- AUTOINCREMENT: an id is never reused, so "remove 7" can never hit a later article.
CREATE TABLE IF NOT EXISTS articles (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    title        TEXT NOT NULL,
    source       TEXT,
    url          TEXT,
    published    TEXT,
    added_by     TEXT,
    added_at     TEXT NOT NULL,
    guild_id     INTEGER,            -- NULL: quoted everywhere (built-in, or added from the CLI)
    content_hash TEXT NOT NULL,
    text         TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS articles_hash ON articles(content_hash);
CREATE INDEX IF NOT EXISTS articles_url ON articles(url);
CREATE TABLE IF NOT EXISTS passages (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    start      INTEGER NOT NULL,
    end        INTEGER NOT NULL,
    text       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS passages_article ON passages(article_id);
-- The lexical index lives in the same file and the same transactions: it can never disagree.
CREATE VIRTUAL TABLE IF NOT EXISTS passages_fts USING fts5(
    text, content='passages', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2'
);  -- the tokenizer is TOKENIZER below
CREATE TRIGGER IF NOT EXISTS passages_fts_insert AFTER INSERT ON passages BEGIN
    INSERT INTO passages_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER IF NOT EXISTS passages_fts_delete AFTER DELETE ON passages BEGIN
    INSERT INTO passages_fts(passages_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
-- BM25 that stays fast at a million passages: every term's passages, per server (scope 0: the
-- global articles), ordered by the term's BM25 weight at a reference length, so a question reads
-- only the head of each of its terms' lists (corpus/bm25.py). Filled from FTS5's own
-- tokens by index_terms() in the transaction that adds the passages; a removed passage's rows go
-- by the foreign key, and the triggers keep the vocabulary and the totals BM25 needs.
CREATE TABLE IF NOT EXISTS passage_terms (
    term       TEXT NOT NULL,
    scope      INTEGER NOT NULL,      -- the article's server, 0 for articles every server sees
    impact     REAL NOT NULL,         -- corpus.bm25.impact: the order of a term's list
    passage_id INTEGER NOT NULL REFERENCES passages(id) ON DELETE CASCADE,
    tf         INTEGER NOT NULL,      -- how often the term is in the passage
    length     INTEGER NOT NULL,      -- the passage's tokens
    PRIMARY KEY (term, scope, impact DESC, passage_id)
) WITHOUT ROWID;
-- A passage's rows by term, with what BM25 needs, so that the exact rescoring reads the index only
-- (the lookup beside a primary-key fetch took 60 ms of a question at 300,000 passages).
CREATE INDEX IF NOT EXISTS passage_terms_lookup ON passage_terms(passage_id, term, tf, length);
DROP INDEX IF EXISTS passage_terms_passage;  -- its predecessor, without tf and length
CREATE TABLE IF NOT EXISTS vocabulary (   -- every term with how many passages hold it
    term TEXT PRIMARY KEY,
    docs INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS lexical_totals (
    one      INTEGER PRIMARY KEY CHECK (one = 1),
    passages INTEGER NOT NULL,
    tokens   INTEGER NOT NULL
);
INSERT OR IGNORE INTO lexical_totals VALUES (1, 0, 0);
CREATE TRIGGER IF NOT EXISTS passages_counted AFTER INSERT ON passages BEGIN
    UPDATE lexical_totals SET passages = passages + 1;
END;
CREATE TRIGGER IF NOT EXISTS passages_uncounted AFTER DELETE ON passages BEGIN
    UPDATE lexical_totals SET passages = passages - 1;
END;
CREATE TRIGGER IF NOT EXISTS terms_removed AFTER DELETE ON passage_terms BEGIN
    UPDATE vocabulary SET docs = docs - 1 WHERE term = old.term;
    DELETE FROM vocabulary WHERE term = old.term AND docs <= 0;
    UPDATE lexical_totals SET tokens = tokens - old.tf;
END;
CREATE TABLE IF NOT EXISTS answers (      -- what the bot showed, so buttons and votes can refer to it
    id          INTEGER PRIMARY KEY,
    guild_id    INTEGER,
    user_id     TEXT,
    question    TEXT NOT NULL,
    passage_ids TEXT NOT NULL,              -- JSON list, in the order shown
    asked_at    TEXT NOT NULL
);
-- /index gaps reads one server's recent questions.
CREATE INDEX IF NOT EXISTS answers_asked ON answers(guild_id, asked_at);
CREATE TABLE IF NOT EXISTS votes (
    answer_id INTEGER NOT NULL REFERENCES answers(id) ON DELETE CASCADE,
    user_id   TEXT NOT NULL,
    vote      INTEGER NOT NULL CHECK (vote IN (-1, 1)),
    voted_at  TEXT NOT NULL,
    PRIMARY KEY (answer_id, user_id)
);
CREATE TABLE IF NOT EXISTS audit (        -- every moderator and admin action, refused ones too
    id       INTEGER PRIMARY KEY,
    at       TEXT NOT NULL,
    guild_id INTEGER,
    actor    TEXT NOT NULL,
    action   TEXT NOT NULL,
    target   TEXT,
    outcome  TEXT NOT NULL,
    detail   TEXT
);
-- How the bot listens in each channel an admin has set (the rest: "mention").
CREATE TABLE IF NOT EXISTS channel_modes (
    channel_id INTEGER PRIMARY KEY,
    guild_id   INTEGER NOT NULL,
    mode       TEXT NOT NULL CHECK (mode IN ('auto', 'mention', 'off')),
    set_by     TEXT,
    set_at     TEXT NOT NULL
);
-- Threads the bot started, with the last question asked in each (what a follow-up leans on).
CREATE TABLE IF NOT EXISTS conversations (
    thread_id  INTEGER PRIMARY KEY,
    guild_id   INTEGER,
    channel_id INTEGER,
    question   TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS embeddings (
    passage_id INTEGER PRIMARY KEY REFERENCES passages(id) ON DELETE CASCADE,
    model      TEXT NOT NULL,
    dim        INTEGER NOT NULL,
    vector     BLOB NOT NULL,
    sentences  BLOB             -- the passage's sentences' vectors (sentences x dim), for marking
);
-- What each committed change did to the embedded passages, so every process that holds an index
-- of them (the bot, a CLI command, another shard) can catch up before it answers or saves. Written
-- by triggers, so no change can forget it; `generation` is the one the change commits as.
CREATE TABLE IF NOT EXISTS passage_log (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    generation INTEGER NOT NULL,
    passage_id INTEGER NOT NULL,
    op         INTEGER NOT NULL      -- 1: (re-)embedded, take its vector; -1: removed
);
CREATE INDEX IF NOT EXISTS passage_log_generation ON passage_log(generation);
CREATE TRIGGER IF NOT EXISTS passage_log_embedded AFTER INSERT ON embeddings BEGIN
    INSERT INTO passage_log (generation, passage_id, op)
    SELECT CAST(value AS INTEGER) + 1, new.passage_id, 1 FROM meta WHERE key = 'generation';
END;
CREATE TRIGGER IF NOT EXISTS passage_log_removed AFTER DELETE ON passages BEGIN
    INSERT INTO passage_log (generation, passage_id, op)
    SELECT CAST(value AS INTEGER) + 1, old.id, -1 FROM meta WHERE key = 'generation';
END;
-- Wire copies (corpus/nearcopy.py): each article's MinHash band hashes, so any process finds the
-- stored stories a new text may copy with one indexed query.
CREATE TABLE IF NOT EXISTS article_bands (
    band       INTEGER NOT NULL,
    hash       INTEGER NOT NULL,
    article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    PRIMARY KEY (band, hash, article_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS article_bands_article ON article_bands(article_id);
-- Other outlets that published a stored story: recorded against its first copy, which alone is stored.
CREATE TABLE IF NOT EXISTS article_copies (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    article_id   INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    title        TEXT NOT NULL,
    source       TEXT,
    url          TEXT,
    published    TEXT,
    added_by     TEXT,
    added_at     TEXT NOT NULL,
    guild_id     INTEGER,            -- who recorded it: seen there only (NULL: everywhere)
    content_hash TEXT NOT NULL,
    similarity   REAL NOT NULL       -- Jaccard of the two texts' shingles (1.0: the same text)
);
CREATE INDEX IF NOT EXISTS article_copies_article ON article_copies(article_id);
CREATE INDEX IF NOT EXISTS article_copies_hash ON article_copies(content_hash);
CREATE INDEX IF NOT EXISTS article_copies_url ON article_copies(url);
"""

TOKENIZER = "porter unicode61 remove_diacritics 2"
#: The connection's page cache. SQLite's default (2 MiB) is soon outgrown by the term lists, whose
#: inserts land all over their B-tree: with 256 MiB the batches from 25,000 to 50,000 passages went
#: in 1.44 times as fast (BENCHMARKS.md, "SQLite's page cache"). Pages are cached only as they are
#: read or written, so a small database never holds that much.
CACHE_MIB = 256
#: Passages whose terms are counted by one statement (index_terms).
TERMS_BATCH = 500

# A scratch FTS5 table with the passages' tokenizer: its instance vocabulary gives a text's terms
# exactly as the lexical index has them (per connection, in the temp schema).
SCRATCH = f"""
CREATE VIRTUAL TABLE IF NOT EXISTS temp.scratch USING fts5(t, tokenize='{TOKENIZER}');
CREATE VIRTUAL TABLE IF NOT EXISTS temp.scratch_terms USING fts5vocab(temp, scratch, instance);
"""


def index_terms(connection: sqlite3.Connection, passage_ids: Sequence[int]) -> None:
    """Add these stored passages to ``passage_terms``, the vocabulary and the totals (in the caller's transaction)."""
    for i in range(0, len(passage_ids), TERMS_BATCH):
        chunk = [int(pid) for pid in passage_ids[i : i + TERMS_BATCH]]
        marks = ",".join("?" * len(chunk))
        connection.execute(
            f"INSERT INTO temp.scratch(rowid, t) SELECT id, text FROM passages WHERE id IN ({marks})", chunk
        )
        connection.execute(
            "WITH counted AS (SELECT doc, term, count(*) AS tf FROM temp.scratch_terms GROUP BY doc, term),"
            " lengths AS (SELECT doc, sum(tf) AS length FROM counted GROUP BY doc)"
            " INSERT INTO passage_terms (term, scope, impact, passage_id, tf, length)"
            f" SELECT c.term, coalesce(a.guild_id, 0), {impact('c.tf', 'l.length')},"
            " c.doc, c.tf, l.length"
            " FROM counted c JOIN lengths l ON l.doc = c.doc"
            " JOIN passages p ON p.id = c.doc JOIN articles a ON a.id = p.article_id"
        )
        connection.execute(
            "INSERT INTO vocabulary (term, docs) SELECT term, count(DISTINCT doc) FROM temp.scratch_terms"
            " WHERE true GROUP BY term ON CONFLICT (term) DO UPDATE SET docs = docs + excluded.docs"
        )
        connection.execute("UPDATE lexical_totals SET tokens = tokens + (SELECT count(*) FROM temp.scratch_terms)")
        connection.execute("DELETE FROM temp.scratch")


def index_all_terms(connection: sqlite3.Connection) -> None:
    """Fill ``passage_terms`` from every stored passage once (a database from before it), in one transaction."""
    if connection.execute("SELECT 1 FROM meta WHERE key = 'terms_indexed'").fetchall():
        return
    connection.execute("BEGIN IMMEDIATE")
    try:
        if not connection.execute("SELECT 1 FROM meta WHERE key = 'terms_indexed'").fetchall():
            connection.execute("DELETE FROM passage_terms")
            connection.execute("DELETE FROM vocabulary")
            connection.execute("UPDATE lexical_totals SET passages = (SELECT count(*) FROM passages), tokens = 0")
            index_terms(connection, [r[0] for r in connection.execute("SELECT id FROM passages ORDER BY id")])
            connection.execute("INSERT INTO meta VALUES ('terms_indexed', '1')")
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise


#: Which articles a server sees: its own and the global ones (``a`` is the articles table).
VISIBLE = "(a.guild_id IS NULL OR a.guild_id = :guild)"
#: Which recorded wire copies a server sees (``c`` is the article_copies table): its own and the global ones.
COPY_VISIBLE = "(c.guild_id IS NULL OR c.guild_id = :guild)"
REQUIRED_TABLES = {"meta", "articles", "passages", "embeddings"}


def visible_ids(db: Database, passage_ids: list[int], guild_id: int | None) -> set[int]:
    """Which of these passages ``guild_id`` may see."""
    seen: set[int] = set()
    for i in range(0, len(passage_ids), 500):
        chunk = passage_ids[i : i + 500]
        named = {f"p{n}": int(pid) for n, pid in enumerate(chunk)}
        rows = db.query(
            "SELECT p.id FROM passages p JOIN articles a ON a.id = p.article_id"
            f" WHERE p.id IN ({','.join(':' + name for name in named)}) AND {VISIBLE}",
            named | {"guild": guild_id},
        )
        seen.update(int(r[0]) for r in rows)
    return seen


class Database:
    """One SQLite file, safe to share between threads; every write goes through :meth:`write`."""

    def __init__(self, path: Path) -> None:
        """Open (creating if needed) the database at ``path``."""
        self.path = path
        self.lock = threading.RLock()
        # Held shared while open, so that `restore` can tell that some process still uses the database.
        self._users = open_users_lock(path, fcntl.LOCK_SH) if str(path) != ":memory:" else None
        try:
            self.connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self.connection.execute("PRAGMA journal_mode=WAL")
            self.connection.execute("PRAGMA synchronous=FULL")
            self.connection.execute("PRAGMA foreign_keys=ON")
            self.connection.execute("PRAGMA busy_timeout=10000")
            self.connection.execute(f"PRAGMA cache_size=-{CACHE_MIB * 1024}")
            had_fts = bool(
                self.connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'passages_fts'").fetchall()
            )
            self.connection.executescript(SCHEMA + FEEDS_SCHEMA)
            columns = {r[1] for r in self.connection.execute("PRAGMA table_info(embeddings)")}
            if "sentences" not in columns:  # a database from before sentence vectors; `rebuild` fills them
                self.connection.execute("ALTER TABLE embeddings ADD COLUMN sentences BLOB")
            if not had_fts:  # a database from before the lexical index: fill it once
                self.connection.execute("INSERT INTO passages_fts(passages_fts) VALUES ('rebuild')")
            self.connection.executescript(SCRATCH)
            index_all_terms(self.connection)  # does nothing once done
            self.connection.execute("INSERT OR IGNORE INTO meta VALUES ('generation', '0')")
            # Which database this is, for the indexes derived from it; a restored copy gets a new one.
            self.connection.execute("INSERT OR IGNORE INTO meta VALUES ('lineage', ?)", (uuid.uuid4().hex,))
            # Changes before the log existed (an older database) are not in it: anyone behind reloads.
            self.connection.execute(
                "INSERT OR IGNORE INTO meta SELECT 'log_floor', value FROM meta WHERE key = 'generation'"
            )
        except sqlite3.DatabaseError as exc:
            if hasattr(self, "connection"):
                self.connection.close()
            if self._users:
                self._users.close()
            if isinstance(exc, sqlite3.OperationalError) and any(w in str(exc).lower() for w in ("locked", "busy")):
                # Another process holds the write lock (a long import, or its first open upgrading the schema).
                raise StoreError(f"{path} is busy with another writer; nothing was changed, try again") from exc
            raise StoreError(
                f"the database {path} is damaged or not a database ({exc}); move it aside and restore it"
                " from a backup with `python run_bot.py restore BACKUP_FILE`"
            ) from exc

    def close(self) -> None:
        """Close the database."""
        with self.lock:
            self.connection.close()
            if self._users:
                self._users.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction that bumps the generation; it commits whole or not at all."""
        with self.lock:
            try:
                self.connection.execute("BEGIN IMMEDIATE")
                try:
                    yield self.connection
                    self.connection.execute(
                        "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'"
                    )
                    self.connection.execute("COMMIT")
                except BaseException:
                    if self.connection.in_transaction:
                        self.connection.execute("ROLLBACK")
                    raise
            except sqlite3.OperationalError as exc:
                raise self._explain(exc) from exc

    def _explain(self, exc: sqlite3.OperationalError) -> StoreError:
        """One sentence for a failed write: a full disk, a busy database, or what SQLite said."""
        message = str(exc).lower()
        if "full" in message:
            return StoreError(f"the disk holding {self.path} is full; nothing was changed")
        if "locked" in message or "busy" in message:
            return StoreError(f"{self.path} is busy with another writer; nothing was changed, try again")
        return StoreError(f"could not write to {self.path} ({exc}); nothing was changed")

    def query(self, sql: str, params: Sequence[object] | dict[str, object] = ()) -> list[tuple]:
        """The rows of one read."""
        with self.lock:
            return self.connection.execute(sql, params).fetchall()

    # -- metadata ---------------------------------------------------------------------

    def generation(self) -> int:
        """The number of changes ever committed; derived indexes record it."""
        return int(self.query("SELECT value FROM meta WHERE key = 'generation'")[0][0])

    def lineage(self) -> str:
        """The identity of this database; an index records it and is trusted only by the same database."""
        return self.get_meta("lineage") or ""

    def get_meta(self, key: str) -> str | None:
        """A stored setting, or None."""
        rows = self.query("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        """Store a setting (without bumping the generation)."""
        with self.lock:
            self.connection.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    # -- articles ---------------------------------------------------------------------

    # -- backups ----------------------------------------------------------------------

    def backup_to(self, target: Path) -> None:
        """A consistent copy of the database, taken online (writers may carry on meanwhile)."""
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.unlink(missing_ok=True)
        try:
            with self.lock, sqlite3.connect(tmp) as copy:
                self.connection.backup(copy)
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)

    def integrity_check(self) -> str:
        """SQLite's own verdict on the file: "ok" when healthy."""
        return str(self.query("PRAGMA integrity_check")[0][0])


def open_users_lock(database: Path, how: int) -> IO[bytes]:
    """The lock file beside ``database``, locked ``how`` (fcntl.LOCK_SH by users, LOCK_EX by restore).

    The kernel drops the lock when its holder exits, killed or not, so a crash never leaves it stuck.
    """
    handle = open(f"{database}.lock", "ab")  # noqa: SIM115 - held open for the store's lifetime
    try:
        fcntl.flock(handle.fileno(), how)
    except BaseException:
        handle.close()
        raise
    return handle
