"""SQLite storage for articles, their passages and the passages' embeddings.

This database is the source of truth; every index is derived from it. Each
change runs in one transaction and bumps a generation number, so a derived
index can tell whether it is current. WAL mode with ``synchronous=FULL`` means
that once a method returns, its change survives a crash or a kill.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import sqlite3
import threading
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import numpy as np

from corpus.chunking import Span

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
CREATE TABLE IF NOT EXISTS answers (      -- what the bot showed, so buttons and votes can refer to it
    id          INTEGER PRIMARY KEY,
    guild_id    INTEGER,
    user_id     TEXT,
    question    TEXT NOT NULL,
    passage_ids TEXT NOT NULL,              -- JSON list, in the order shown
    asked_at    TEXT NOT NULL
);
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
"""

#: The change log keeps about this many rows; a process further behind reloads every embedding.
LOG_ROWS = 200_000


#: One article to store: the article, its passages, their vectors and each passage's sentence vectors.
ArticleRows = tuple["NewArticle", Sequence[Span], np.ndarray, Sequence[np.ndarray | None]]


@dataclass(frozen=True, slots=True)
class Changes:
    """What happened to the embedded passages since some generation, up to ``generation``."""

    generation: int
    removed: np.ndarray  # passage ids to drop
    embedded: np.ndarray  # passage ids to (re)place, with their vectors below
    vectors: np.ndarray


class StoreError(Exception):
    """The database cannot be used; the message names the file and what to do."""


@dataclass(frozen=True, slots=True)
class NewArticle:
    """An article as a moderator or an import hands it in, before it is stored."""

    title: str
    text: str
    source: str | None = None
    url: str | None = None
    published: str | None = None
    added_by: str | None = None
    guild_id: int | None = None


@dataclass(frozen=True, slots=True)
class Article:
    """A stored article's metadata."""

    id: int
    title: str
    source: str | None
    url: str | None
    published: str | None
    added_by: str | None
    added_at: str
    guild_id: int | None
    content_hash: str
    passage_count: int


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One recorded moderator or admin action."""

    id: int
    at: str
    guild_id: int | None
    actor: str
    action: str
    target: str | None
    outcome: str
    detail: str | None


@dataclass(frozen=True, slots=True)
class StoredPassage:
    """A passage with the metadata a quote shows."""

    id: int
    article_id: int
    position: int
    start: int
    end: int
    text: str
    title: str
    source: str | None
    url: str | None
    published: str | None
    guild_id: int | None


def content_hash(text: str) -> str:
    """Hash of the text with case, Unicode forms and whitespace normalised."""
    normal = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    return hashlib.sha256(normal.encode()).hexdigest()


_TRACKING = re.compile(
    r"^(utm_\w+|fbclid|gclid|dclid|gbraid|wbraid|msclkid|yclid|mc_cid|mc_eid|igshid|_ga|_gl|ref|ref_src|cmpid|ocid|smid|sr_share)$",
    re.IGNORECASE,
)


def normalise_url(url: str | None) -> str | None:
    """The canonical form of a URL for duplicate checks: no tracking parameters, fragment or trailing slash."""
    if not url or not url.strip():
        return None
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return url.strip()
    scheme = parts.scheme.lower()
    netloc = (parts.hostname or "").lower()
    if port and port != {"http": 80, "https": 443}.get(scheme):
        netloc += f":{port}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)])
    return urlunsplit((scheme, netloc, parts.path.rstrip("/"), query, "")) or None


# Words too common to say anything about which passage answers.
STOP_WORDS = frozenset(
    "a about above after again against all am an and any are as at be because been before being below between"
    " both but by can could did do does doing down during each few for from further had has have having he her"
    " here hers him his how i if in into is it its itself just me more most my no nor not now of off on once only"
    " or other our ours out over own same she should so some such than that the their theirs them then there"
    " these they this those through to too under until up very was we were what when where which while who whom"
    " why will with would you your yours".split()
)
_QUERY_WORD = re.compile(r"\w+", re.UNICODE)


TOKENIZER = "porter unicode61 remove_diacritics 2"
#: Misspelt words and stems this long or longer are corrected by one edit, two from ten letters
#: (news development set, tuning half; bench/news.py).
SPELLING_MIN = 5


def lexical_query(text: str) -> str | None:
    """An FTS5 query matching any content word of ``text`` (each quoted, so no word is an operator)."""
    words = [w for w in _QUERY_WORD.findall(text.casefold()) if w not in STOP_WORDS]
    unique = list(dict.fromkeys(words))[:32]
    return " OR ".join(f'"{w}"' for w in unique) or None


_ARTICLE_COLUMNS = (
    "a.id, a.title, a.source, a.url, a.published, a.added_by, a.added_at, a.guild_id, a.content_hash,"
    " (SELECT COUNT(*) FROM passages p WHERE p.article_id = a.id)"
)
_VISIBLE = "(a.guild_id IS NULL OR a.guild_id = :guild)"


class PassageStore:
    """Articles, passages and embeddings in one SQLite file. Safe to share between threads."""

    def __init__(self, path: Path) -> None:
        """Open (creating if needed) the database at ``path``."""
        self.path = path
        self._lock = threading.RLock()
        self._known_words: set[str] = set()  # question words some passage holds (spelling_fixes)
        # Held shared while open, so that `restore` can tell that some process still uses the database.
        self._users = open_users_lock(path, fcntl.LOCK_SH)
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.execute("PRAGMA busy_timeout=10000")
            had_fts = bool(self._db.execute("SELECT 1 FROM sqlite_master WHERE name = 'passages_fts'").fetchall())
            self._db.executescript(SCHEMA)
            columns = {r[1] for r in self._db.execute("PRAGMA table_info(embeddings)")}
            if "sentences" not in columns:  # a database from before sentence vectors; `rebuild` fills them
                self._db.execute("ALTER TABLE embeddings ADD COLUMN sentences BLOB")
            if not had_fts:  # a database from before the lexical index: fill it once
                self._db.execute("INSERT INTO passages_fts(passages_fts) VALUES ('rebuild')")
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('generation', '0')")
            # Which database this is, for the indexes derived from it; a restored copy gets a new one.
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('lineage', ?)", (uuid.uuid4().hex,))
            # Changes before the log existed (an older database) are not in it: anyone behind reloads.
            self._db.execute("INSERT OR IGNORE INTO meta SELECT 'log_floor', value FROM meta WHERE key = 'generation'")
            # The lexical index's vocabulary (stemmed terms and how many passages hold each), for spelling.
            self._db.execute(
                "CREATE VIRTUAL TABLE IF NOT EXISTS temp.passages_vocab USING fts5vocab(main, passages_fts, row)"
            )
            # A scratch table with the same tokenizer, to stem a misspelt word the way FTS5 stems passages.
            self._db.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.stemmer USING fts5(t, tokenize='{TOKENIZER}')")
            self._db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.stems USING fts5vocab(temp, stemmer, instance)")
        except sqlite3.DatabaseError as exc:
            self._users.close()
            raise StoreError(
                f"the database {path} is damaged or not a database ({exc}); move it aside and restore it"
                " from a backup with `python run_bot.py restore BACKUP_FILE`"
            ) from exc

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()
            self._users.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction that bumps the generation; it commits whole or not at all."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                    self._db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")
                    self._db.execute("COMMIT")
                except BaseException:
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
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

    def _query(self, sql: str, params: Sequence[object] | dict[str, object] = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    # -- metadata ---------------------------------------------------------------------

    def generation(self) -> int:
        """The number of changes ever committed; derived indexes record it."""
        return int(self._query("SELECT value FROM meta WHERE key = 'generation'")[0][0])

    def lineage(self) -> str:
        """The identity of this database; an index records it and is trusted only by the same database."""
        return self.get_meta("lineage") or ""

    def get_meta(self, key: str) -> str | None:
        """A stored setting, or None."""
        rows = self._query("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        """Store a setting (without bumping the generation)."""
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    # -- articles ---------------------------------------------------------------------

    def find_duplicate(self, text: str, url: str | None, guild_id: int | None) -> int | None:
        """The id of an article visible to ``guild_id`` with the same text or URL, if any."""
        rows = self._query(
            f"SELECT a.id FROM articles a WHERE {_VISIBLE} AND (a.content_hash = :hash OR a.url = :url)"
            " ORDER BY a.id LIMIT 1",
            {"guild": guild_id, "hash": content_hash(text), "url": normalise_url(url)},
        )
        return rows[0][0] if rows else None

    def add_articles(
        self,
        batch: Sequence[ArticleRows],
        model: str,
    ) -> list[tuple[int, list[int]]]:
        """Store articles with passages and embeddings in one transaction; return (id, passage ids) each."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        ids: list[tuple[int, list[int]]] = []
        with self._write() as db:
            for article, spans, vectors, sentence_vectors in batch:
                cur = db.execute(
                    "INSERT INTO articles (title, source, url, published, added_by, added_at, guild_id,"
                    " content_hash, text) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        article.title,
                        article.source,
                        normalise_url(article.url),
                        article.published,
                        article.added_by,
                        now,
                        article.guild_id,
                        content_hash(article.text),
                        article.text,
                    ),
                )
                article_id = int(cur.lastrowid or 0)
                passage_ids = self._insert_passages(db, article_id, spans, vectors, sentence_vectors, model)
                ids.append((article_id, passage_ids))
        return ids

    @staticmethod
    def _insert_passages(
        db: sqlite3.Connection,
        article_id: int,
        spans: Sequence[Span],
        vectors: np.ndarray,
        sentence_vectors: Sequence[np.ndarray | None],
        model: str,
    ) -> list[int]:
        """Insert an article's passages with their embeddings (inside the caller's transaction); return their ids."""
        if not len(spans) == len(vectors) == len(sentence_vectors):
            raise ValueError("every passage needs exactly one embedding")
        passage_ids = []
        for position, (span, vector, sentences) in enumerate(zip(spans, vectors, sentence_vectors, strict=True)):
            cur = db.execute(
                "INSERT INTO passages (article_id, position, start, end, text) VALUES (?, ?, ?, ?, ?)",
                (article_id, position, span.start, span.end, span.text),
            )
            db.execute(
                "INSERT INTO embeddings (passage_id, model, dim, vector, sentences) VALUES (?, ?, ?, ?, ?)",
                (cur.lastrowid, model, len(vector), _blob(vector), None if sentences is None else _blob(sentences)),
            )
            passage_ids.append(int(cur.lastrowid or 0))
        return passage_ids

    def replace_article(self, article_id: int, rows: ArticleRows, model: str) -> tuple[list[int], list[int]]:
        """Swap an article's text, metadata and passages in one transaction; return (old, new) passage ids."""
        article, spans, vectors, sentence_vectors = rows
        with self._write() as db:
            old = [r[0] for r in db.execute("SELECT id FROM passages WHERE article_id = ?", (article_id,))]
            db.execute("DELETE FROM passages WHERE article_id = ?", (article_id,))
            db.execute(
                "UPDATE articles SET title = ?, source = ?, url = ?, published = ?, content_hash = ?, text = ?"
                " WHERE id = ?",
                (
                    article.title,
                    article.source,
                    normalise_url(article.url),
                    article.published,
                    content_hash(article.text),
                    article.text,
                    article_id,
                ),
            )
            new = self._insert_passages(db, article_id, spans, vectors, sentence_vectors, model)
        return old, new

    def remove_article(self, article_id: int, guild_id: int | None) -> tuple[Article, list[int]] | None:
        """Delete an article visible to ``guild_id``; return it and its passage ids, or None."""
        with self._lock:
            article = self.get_article(article_id, guild_id)
            if article is None:
                return None  # nothing changes, so the generation stays
            with self._write() as db:
                passage_ids = [r[0] for r in db.execute("SELECT id FROM passages WHERE article_id = ?", (article_id,))]
                db.execute("DELETE FROM articles WHERE id = ?", (article_id,))
        return article, passage_ids

    def get_article(self, article_id: int, guild_id: int | None) -> Article | None:
        """One article visible to ``guild_id``, or None."""
        rows = self._query(
            f"SELECT {_ARTICLE_COLUMNS} FROM articles a WHERE a.id = :id AND {_VISIBLE}",
            {"id": article_id, "guild": guild_id},
        )
        return Article(*rows[0]) if rows else None

    def article_text(self, article_id: int) -> str:
        """The full verbatim text of an article."""
        return str(self._query("SELECT text FROM articles WHERE id = ?", (article_id,))[0][0])

    def list_articles(self, guild_id: int | None) -> list[Article]:
        """Every article visible to ``guild_id``, oldest first."""
        rows = self._query(
            f"SELECT {_ARTICLE_COLUMNS} FROM articles a WHERE {_VISIBLE} ORDER BY a.id", {"guild": guild_id}
        )
        return [Article(*row) for row in rows]

    def count_articles(self, guild_id: int | None) -> int:
        """How many articles ``guild_id`` sees."""
        return int(self._query(f"SELECT COUNT(*) FROM articles a WHERE {_VISIBLE}", {"guild": guild_id})[0][0])

    def article_passages(self, article_id: int) -> list[StoredPassage]:
        """An article's passages in reading order."""
        return self._passages("p.article_id = ? ORDER BY p.position", (article_id,))

    # -- passages and embeddings ------------------------------------------------------

    def changes_since(self, generation: int, model: str) -> Changes | None:
        """What committed changes after ``generation`` did to the embedded passages, read as one snapshot.

        None when the log no longer reaches back that far (the caller reloads every embedding).
        """
        with self._lock:
            self._db.execute("BEGIN")  # one read snapshot: the generation and the log agree
            try:
                now = int(self._db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0])
                floor = int(self._db.execute("SELECT value FROM meta WHERE key = 'log_floor'").fetchone()[0])
                if generation < floor or generation > now:  # too far behind, or a database swapped under it
                    return None
                last: dict[int, int] = {}
                for pid, op in self._db.execute(
                    "SELECT passage_id, op FROM passage_log WHERE generation > ? ORDER BY seq", (generation,)
                ):
                    last[int(pid)] = int(op)
                embedded = sorted(pid for pid, op in last.items() if op > 0)
                vectors: list[np.ndarray] = []
                ids: list[int] = []
                for i in range(0, len(embedded), 500):
                    chunk = embedded[i : i + 500]
                    for pid, dim, blob in self._db.execute(
                        f"SELECT passage_id, dim, vector FROM embeddings WHERE model = ?"
                        f" AND passage_id IN ({','.join('?' * len(chunk))})",
                        [model, *chunk],
                    ):
                        ids.append(int(pid))
                        vectors.append(np.frombuffer(blob, dtype=np.float32, count=dim))
            finally:
                self._db.execute("COMMIT")
        gone = sorted(set(last) - set(ids))  # removed, or since re-embedded by another model
        matrix = np.vstack(vectors) if vectors else np.empty((0, 0), dtype=np.float32)
        return Changes(now, np.asarray(gone, dtype=np.int64), np.asarray(ids, dtype=np.int64), matrix)

    def trim_log(self) -> None:
        """Forget the oldest changes once the log passes ``LOG_ROWS`` (whole generations at a time)."""
        with self._lock:
            row = self._db.execute(
                "SELECT generation FROM passage_log WHERE seq <= (SELECT MAX(seq) FROM passage_log) - ?"
                " ORDER BY seq DESC LIMIT 1",
                (LOG_ROWS,),
            ).fetchone()
            if row is None:
                return
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.execute("DELETE FROM passage_log WHERE generation <= ?", (row[0],))
                self._db.execute(
                    "UPDATE meta SET value = MAX(CAST(value AS INTEGER), ?) WHERE key = 'log_floor'", (row[0],)
                )
                self._db.execute("COMMIT")
            except sqlite3.OperationalError:  # busy or full: trimming can wait for the next change
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")

    def _passages(self, where: str, params: Sequence[object] | dict[str, object]) -> list[StoredPassage]:
        rows = self._query(
            "SELECT p.id, p.article_id, p.position, p.start, p.end, p.text,"
            " a.title, a.source, a.url, a.published, a.guild_id"
            f" FROM passages p JOIN articles a ON a.id = p.article_id WHERE {where}",
            params,
        )
        return [StoredPassage(*row) for row in rows]

    def passages_by_id(self, passage_ids: Iterable[int]) -> dict[int, StoredPassage]:
        """The passages with these ids that still exist, keyed by id."""
        return self._by_id(passage_ids, "", {})

    def visible_passages(self, passage_ids: Iterable[int], guild_id: int | None) -> dict[int, StoredPassage]:
        """The passages with these ids that ``guild_id`` may see, keyed by id."""
        return self._by_id(passage_ids, f" AND {_VISIBLE}", {"guild": guild_id})

    def _by_id(self, passage_ids: Iterable[int], condition: str, params: dict[str, object]) -> dict[int, StoredPassage]:
        ids = [int(i) for i in passage_ids]
        found: dict[int, StoredPassage] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            named = {f"p{n}": pid for n, pid in enumerate(chunk)}
            marks = ",".join(f":{name}" for name in named)
            for passage in self._passages(f"p.id IN ({marks}){condition}", named | params):
                found[passage.id] = passage
        return found

    def lexical_ranking(self, question: str, k: int) -> list[tuple[int, float]]:
        """The ``k`` passages of every server that best match the question's words (BM25), best first.

        Callers filter what a server may see (joining the articles inside the ranked query costs
        more than the ranking itself).
        """
        query = lexical_query(question)
        if query is None:
            return []
        rows = self._query(
            "SELECT rowid, -bm25(passages_fts) FROM passages_fts WHERE passages_fts MATCH ?"
            " ORDER BY bm25(passages_fts) LIMIT ?",
            (query, k),
        )
        return [(int(i), float(score)) for i, score in rows]

    def spelling_fixes(self, question: str) -> dict[str, str]:
        """Misspelt words of the question mapped to the closest term the articles hold ("ratclife": "ratcliff").

        Only words that no passage holds are looked at. Each is stemmed as FTS5 stems passages and
        compared with the stemmed terms of the lexical index that share its first two letters: one
        edit away for a stem of seven letters or more, two from ten (shorter stems have too many
        neighbours to guess), the most common term on a tie.
        """
        unknown = []
        for word in dict.fromkeys(_QUERY_WORD.findall(question.casefold())):
            if len(word) < SPELLING_MIN or not word.isalpha() or word in STOP_WORDS or word in self._known_words:
                continue
            if self._query("SELECT rowid FROM passages_fts WHERE passages_fts MATCH ? LIMIT 1", (f'"{word}"',)):
                if len(self._known_words) > 100_000:  # a word removed since is merely not corrected
                    self._known_words.clear()
                self._known_words.add(word)
            else:
                unknown.append(word)
        if not unknown:
            return {}
        with self._lock:
            self._db.execute("INSERT INTO temp.stemmer(rowid, t) VALUES (1, ?)", (" ".join(unknown),))
            stems = [str(r[0]) for r in self._db.execute("SELECT term FROM temp.stems ORDER BY offset")]
            self._db.execute("DELETE FROM temp.stemmer")
        fixes: dict[str, str] = {}
        for word, stem in zip(unknown, stems, strict=False):
            allowed = 2 if len(stem) >= 10 else 1 if len(stem) >= SPELLING_MIN else 0
            if not allowed:
                continue
            rows = self._query(
                "SELECT term, doc FROM temp.passages_vocab"
                " WHERE term >= ? AND term < ? AND length(term) BETWEEN ? AND ?",
                (stem[:2], stem[:2] + "\uffff", len(stem) - allowed, len(stem) + allowed),
            )
            scored = [(edit_distance(stem, term, allowed), -doc, term) for term, doc in rows]
            best = min((s for s in scored if s[0] <= allowed), default=None)
            if best is not None:
                fixes[word] = best[2]
            elif (near := self._one_edit_away(word)) is not None:
                fixes[word] = near
        return fixes

    def _one_edit_away(self, word: str) -> str | None:
        """The most common indexed term ``word`` becomes with two neighbours swapped, or a letter put back.

        For misspellings whose stem strays from the right word's stem ("electoin" is no stem of
        "election"): each variant is stemmed as the passages were, then looked up. Only the two
        slips typing makes most; other edits turned real names into other words ("iceland" into
        "ireland"). A letter is put back only in words of eight letters or more.
        """
        splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
        variants = {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
        if len(word) >= 8:
            variants |= {a + c + b for a, b in splits for c in "abcdefghijklmnopqrstuvwxyz"}
        variants.discard(word)
        with self._lock:
            self._db.execute("INSERT INTO temp.stemmer(rowid, t) VALUES (1, ?)", (" ".join(sorted(variants)),))
            stems = {str(r[0]) for r in self._db.execute("SELECT DISTINCT term FROM temp.stems")}
            self._db.execute("DELETE FROM temp.stemmer")
        stems = {t for t in stems if len(t) >= 3}
        if not stems:
            return None
        marks = ",".join("?" * len(stems))
        rows = self._query(f"SELECT term, doc FROM temp.passages_vocab WHERE term IN ({marks})", sorted(stems))
        return max(rows, key=lambda r: (r[1], r[0]))[0] if rows else None

    def missing_words(self, question: str) -> list[str]:
        """The question's content words that no passage holds (after spelling fixes), in question order.

        Names, places and events the articles never mention show up here ("bolsonaro", "liberia").
        """
        missing = []
        for word in dict.fromkeys(_QUERY_WORD.findall(question.casefold())):
            if len(word) < 3 or word in STOP_WORDS or word in self._known_words:
                continue
            if self._query("SELECT rowid FROM passages_fts WHERE passages_fts MATCH ? LIMIT 1", (f'"{word}"',)):
                self._known_words.add(word)
            else:
                missing.append(word)
        return missing

    def lexical_search(self, question: str, k: int, guild_id: int | None) -> list[tuple[int, float]]:
        """The ``k`` passages visible to ``guild_id`` that best match the question's words (BM25), best first."""
        fetch = k
        while True:
            rows = self.lexical_ranking(question, fetch)
            visible = self.visible_passages([pid for pid, _ in rows], guild_id)
            hits = [(pid, score) for pid, score in rows if pid in visible]
            if len(hits) >= k or len(rows) < fetch:
                return hits[:k]
            fetch *= 4

    def all_passage_texts(self) -> list[tuple[int, str]]:
        """Every passage id with its text, for re-embedding."""
        return [(int(i), str(t)) for i, t in self._query("SELECT id, text FROM passages ORDER BY id")]

    def embeddings(self, model: str) -> tuple[np.ndarray, np.ndarray]:
        """All stored embeddings made by ``model``: (passage ids, float32 matrix)."""
        rows = self._query(
            "SELECT passage_id, dim, vector FROM embeddings WHERE model = ? ORDER BY passage_id", (model,)
        )
        if not rows:
            return np.empty(0, dtype=np.int64), np.empty((0, 0), dtype=np.float32)
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        matrix = np.frombuffer(b"".join(r[2] for r in rows), dtype=np.float32).reshape(len(rows), rows[0][1])
        return ids, matrix

    def publication_dates(self) -> list[str]:
        """Every distinct publication date the articles carry (as stored: "2017-12-31", "2020-10")."""
        return [str(r[0]) for r in self._query("SELECT DISTINCT published FROM articles WHERE published IS NOT NULL")]

    def lede_vectors(self, article_ids: Iterable[int], model: str) -> dict[int, np.ndarray]:
        """The vector of each article's first passage (its lede: what the story is about), keyed by article id."""
        ids = sorted({int(i) for i in article_ids})
        found: dict[int, np.ndarray] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            rows = self._query(
                "SELECT p.article_id, e.dim, e.vector FROM passages p JOIN embeddings e ON e.passage_id = p.id"
                f" WHERE p.position = 0 AND e.model = ? AND p.article_id IN ({','.join('?' * len(chunk))})",
                [model, *chunk],
            )
            found.update((int(a), np.frombuffer(blob, dtype=np.float32, count=dim)) for a, dim, blob in rows)
        return found

    def snapshot(self, model: str) -> tuple[int, np.ndarray, np.ndarray]:
        """(generation, passage ids, vectors) of every embedding by ``model``, read as one snapshot."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                generation = self.generation()
                ids, vectors = self.embeddings(model)
            finally:
                self._db.execute("COMMIT")
        return generation, ids, vectors

    def sentence_vectors(self, passage_ids: Sequence[int], model: str) -> dict[int, np.ndarray]:
        """The stored sentence vectors of these passages (those that have them), keyed by passage id."""
        marks = ",".join("?" * len(passage_ids))
        rows = self._query(
            f"SELECT passage_id, dim, sentences FROM embeddings"
            f" WHERE passage_id IN ({marks}) AND model = ? AND sentences IS NOT NULL",
            [*passage_ids, model],
        )
        return {int(i): np.frombuffer(blob, dtype=np.float32).reshape(-1, dim) for i, dim, blob in rows}

    def embedding_models(self) -> dict[str, int]:
        """How many passages each model has embedded."""
        return {str(m): int(n) for m, n in self._query("SELECT model, COUNT(*) FROM embeddings GROUP BY model")}

    def replace_embeddings(
        self, passage_ids: np.ndarray, vectors: np.ndarray, sentence_vectors: Sequence[np.ndarray], model: str
    ) -> None:
        """Swap in new embeddings for passages that still exist, all in one transaction."""
        with self._write() as db:
            db.executemany(
                "INSERT OR REPLACE INTO embeddings SELECT id, ?, ?, ?, ? FROM passages WHERE id = ?",
                (
                    (model, vectors.shape[1], _blob(v), _blob(s), int(pid))
                    for pid, v, s in zip(passage_ids, vectors, sentence_vectors, strict=True)
                ),
            )
            db.execute("DELETE FROM embeddings WHERE model != ?", (model,))

    def counts(self) -> tuple[int, int]:
        """(articles, passages) in the database."""
        row = self._query("SELECT (SELECT COUNT(*) FROM articles), (SELECT COUNT(*) FROM passages)")[0]
        return int(row[0]), int(row[1])

    # -- what was shown, and what people thought of it ---------------------------------

    def log_answer(self, guild_id: int | None, user_id: str | None, question: str, passage_ids: list[int]) -> int:
        """Record an answer that was shown; return its id (article changes are not involved)."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO answers (guild_id, user_id, question, passage_ids, asked_at) VALUES (?, ?, ?, ?, ?)",
                (guild_id, user_id, question, json.dumps(passage_ids), now),
            )
            return int(cur.lastrowid or 0)

    def logged_answer(self, answer_id: int) -> tuple[int | None, str, list[int]] | None:
        """(guild, question, passage ids shown) of a recorded answer, or None."""
        rows = self._query("SELECT guild_id, question, passage_ids FROM answers WHERE id = ?", (answer_id,))
        return (rows[0][0], rows[0][1], json.loads(rows[0][2])) if rows else None

    def record_vote(self, answer_id: int, user_id: str, vote: int) -> None:
        """Store (or change) one person's vote on an answer."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO votes VALUES (?, ?, ?, ?)", (answer_id, user_id, vote, now))

    def votes(self, answer_id: int) -> dict[str, int]:
        """Every vote on an answer, by user."""
        return {
            str(u): int(v) for u, v in self._query("SELECT user_id, vote FROM votes WHERE answer_id = ?", (answer_id,))
        }

    # -- the audit log ----------------------------------------------------------------

    def log_action(
        self,
        *,
        guild_id: int | None,
        actor: str,
        action: str,
        target: str | None,
        outcome: str,
        detail: str | None = None,
    ) -> None:
        """Record who did what, where, and how it ended."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._lock:
            self._db.execute(
                "INSERT INTO audit (at, guild_id, actor, action, target, outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (now, guild_id, actor, action, target, outcome, detail),
            )

    def audit_log(self, guild_id: int | None, *, limit: int = 50, everywhere: bool = False) -> list[AuditEntry]:
        """The latest actions in one server (or everywhere), newest first."""
        where = "1" if everywhere else "guild_id IS ?"
        rows = self._query(
            f"SELECT id, at, guild_id, actor, action, target, outcome, detail FROM audit WHERE {where}"
            " ORDER BY id DESC LIMIT ?",
            ([] if everywhere else [guild_id]) + [limit],
        )
        return [AuditEntry(*row) for row in rows]

    # -- backups ----------------------------------------------------------------------

    def backup_to(self, target: Path) -> None:
        """A consistent copy of the database, taken online (writers may carry on meanwhile)."""
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.unlink(missing_ok=True)
        try:
            with self._lock, sqlite3.connect(tmp) as copy:
                self._db.backup(copy)
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)

    def integrity_check(self) -> str:
        """SQLite's own verdict on the file: "ok" when healthy."""
        return str(self._query("PRAGMA integrity_check")[0][0])


def edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance of ``a`` and ``b``, or ``limit + 1`` once it is sure to exceed ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def _blob(vectors: np.ndarray) -> bytes:
    return np.asarray(vectors, dtype=np.float32).tobytes()


REQUIRED_TABLES = {"meta", "articles", "passages", "embeddings"}


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


def restore_database(backup: Path, database: Path, *, model: str, dim: Callable[[], int]) -> Path | None:
    """Check ``backup``, then swap it in for ``database``; return where the old database was kept.

    The backup is copied beside the database and checked there (see :func:`_stage_backup`):
    anything but this bot's schema with embeddings of ``model`` (``dim()`` long, asked only when
    the backup holds any, so that other refusals need no model) is refused in one sentence and
    nothing changes. Nothing else may have the database open: a process that has it (the bot,
    another command) holds a shared lock, and the restore is refused while one does. The old
    file is kept beside it, so a restore loses nothing either.
    """
    try:
        users = open_users_lock(database, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise StoreError(
            f"{database} is open in another process (the bot or another command); stop it first. Nothing was restored"
        ) from None
    with users:
        staged = database.with_name(f".{database.name}.restoring")
        _stage_backup(backup, staged, model=model, dim=dim)
        with closing(sqlite3.connect(staged)) as copy, copy:  # another database now: no saved index passes for its own
            copy.execute("INSERT OR REPLACE INTO meta VALUES ('lineage', ?)", (uuid.uuid4().hex,))
        with open(staged, "rb+") as f:
            os.fsync(f.fileno())
        kept = None
        if database.exists():
            with closing(sqlite3.connect(database)) as current:  # fold the WAL in: no stale WAL meets the new file
                current.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            kept = database.with_name(f"{database.name}.before-restore-{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}")
            os.link(database, kept)  # kept first, then one rename: a kill in between never leaves no database
        for suffix in ("-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
        os.replace(staged, database)
        fsync_dir(database.parent)
        Path(f"{staged}.lock").unlink(missing_ok=True)
        return kept


def fsync_dir(directory: Path) -> None:
    """Make a rename inside ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_only(path: Path) -> sqlite3.Connection:
    """``path`` opened read-only, as a file nobody changes: nothing is created beside it."""
    # From the path's own URI: "#" or "?" in a file name would otherwise end the path part of the URI.
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)


def _discard(path: Path) -> None:
    """Delete a database file and whatever SQLite keeps beside it."""
    for suffix in ("", "-wal", "-shm", "-journal", ".lock"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _stage_backup(backup: Path, staged: Path, *, model: str, dim: Callable[[], int]) -> None:
    """Copy ``backup`` to ``staged`` and check the copy; a refusal raises :class:`StoreError` and leaves nothing.

    The copy is opened the way the bot opens any database, so a backup from an older version
    gets the tables and columns added since. Then it must be exactly what a fresh database is:
    every table, index, trigger and view with the same SQL (an extra trigger could delete
    every article the moment it is swapped in), an intact lexical index, and embeddings of
    ``model`` of ``dim()`` dimensions for every passage.
    """
    _discard(staged)
    try:
        try:
            with closing(_read_only(backup)) as source:
                verdict = source.execute("PRAGMA integrity_check").fetchone()[0]
                if verdict != "ok":
                    raise StoreError(f"{backup} is damaged ({verdict}); it was not restored")
                tables = {r[0] for r in source.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                if not REQUIRED_TABLES.issubset(tables):
                    raise StoreError(f"{backup} is not a backup of this bot's articles")
                with closing(sqlite3.connect(staged)) as copy:
                    source.backup(copy)
            PassageStore(staged).close()
            with closing(sqlite3.connect(staged, isolation_level=None)) as copy:
                problem = _backup_problem(copy, model, dim)
        except StoreError as exc:
            if not isinstance(exc.__cause__, sqlite3.DatabaseError):
                raise
            raise StoreError(f"{backup} is not a usable backup ({exc.__cause__})") from None
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{backup} is not a usable backup ({exc})") from None
        if problem:
            raise StoreError(f"{backup} {problem}; it was not restored")
        with open(staged, "rb+") as f:
            os.fsync(f.fileno())
    except BaseException:
        _discard(staged)
        raise


def _backup_problem(db: sqlite3.Connection, model: str, model_dim: Callable[[], int]) -> str | None:
    """Why a staged backup cannot be swapped in (the end of a sentence naming it), or None."""
    expected, found = _fresh_schema(), _schema(db)
    differences = [f"unexpected {kind} {name}" for kind, name in sorted(found.keys() - expected.keys())]
    differences += [f"no {kind} {name}" for kind, name in sorted(expected.keys() - found.keys())]
    differences += [
        f"a different {kind} {name}"
        for kind, name in sorted(found.keys() & expected.keys())
        if found[kind, name] != expected[kind, name]
    ]
    if differences:
        more = f" and {len(differences) - 3} more" if len(differences) > 3 else ""
        return f"does not have this bot's schema ({', '.join(differences[:3])}{more})"
    try:
        db.execute("INSERT INTO passages_fts(passages_fts) VALUES ('integrity-check')")
    except sqlite3.DatabaseError:
        return "has a damaged lexical index"
    if not str(db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0]).isdigit():
        return "has a damaged change counter"
    kinds = db.execute("SELECT model, dim, COUNT(*) FROM embeddings GROUP BY 1, 2").fetchall()
    for found_model, _, count in kinds:
        if found_model != model:
            return (
                f"holds {count} embeddings made by {str(found_model)[:100]!r}, not by {model!r} that this bot uses"
                " (restore it with MODEL_NAME set to that model, then `rebuild` to change models)"
            )
    dim = model_dim() if kinds else 0
    for _, found_dim, count in kinds:
        if found_dim != dim:
            return f"holds {count} embeddings of {str(found_dim)[:20]} dimensions; {model} makes {dim}"
    damaged = db.execute(
        "SELECT COUNT(*) FROM embeddings WHERE typeof(vector) != 'blob' OR length(vector) != :size"
        " OR (sentences IS NOT NULL AND (typeof(sentences) != 'blob' OR length(sentences) % :size"
        " OR length(sentences) = 0))",
        {"size": dim * 4},
    ).fetchone()[0]
    if damaged:
        return f"holds {damaged} damaged embeddings"
    missing = db.execute(
        "SELECT COUNT(*) FROM passages p WHERE NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.passage_id = p.id)"
    ).fetchone()[0]
    return f"has {missing} passages without embeddings" if missing else None


def _fresh_schema() -> dict[tuple[str, str], str | None]:
    """The schema a new database gets, made by the same code that makes one."""
    fresh = PassageStore(Path(":memory:"))
    try:
        return _schema(fresh._db)
    finally:
        fresh.close()


def _schema(db: sqlite3.Connection) -> dict[tuple[str, str], str | None]:
    """Every table, index, trigger and view of the main database: (type, name) -> normalised SQL."""
    rows = db.execute("SELECT type, name, sql FROM main.sqlite_master")
    return {(str(kind), str(name).casefold()): _normal_sql(sql) for kind, name, sql in rows}


_SQL_TOKEN = re.compile(
    r"""(?P<space>\s+)|(?P<comment>--[^\n]*|/\*.*?(?:\*/|\Z))
    |(?P<quoted>'(?:[^']|'')*'|"(?:[^"]|"")*"|`(?:[^`]|``)*`|\[[^\]]*\])
    |(?P<word>\w+)|(?P<other>.)""",
    re.VERBOSE | re.DOTALL,
)


def _normal_sql(sql: str | None) -> str | None:
    """SQL as tokens, without comments or layout and with words in one case.

    So a column that an older version's ``ALTER TABLE`` appended compares equal to the same
    column in a fresh ``CREATE TABLE``; quoted strings and names are kept exactly.
    """
    if sql is None:
        return None
    tokens = []
    for match in _SQL_TOKEN.finditer(sql):
        kind = match.lastgroup
        if kind in {"space", "comment"}:
            continue
        tokens.append(match.group().casefold() if kind == "word" else match.group())
    return " ".join(tokens)
