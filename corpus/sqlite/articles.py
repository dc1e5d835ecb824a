"""The embedded article store: articles, their passages and embeddings, and the change log, in SQLite."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from corpus import nearcopy
from corpus.chunking import Span
from corpus.records import (
    Article,
    ArticleRows,
    Changes,
    Copy,
    NewArticle,
    StoredPassage,
    content_hash,
    normalise_url,
)
from corpus.sqlite.database import COPY_VISIBLE, VISIBLE, Database, index_terms, visible_ids

#: The change log keeps about this many rows; a process further behind reloads every embedding.
LOG_ROWS = 200_000


_ARTICLE_COLUMNS = (
    "a.id, a.title, a.source, a.url, a.published, a.added_by, a.added_at, a.guild_id, a.content_hash,"
    " (SELECT COUNT(*) FROM passages p WHERE p.article_id = a.id)"
)


class SqliteArticleStore:
    """Articles, passages, embeddings and the log of what changed, in one SQLite file."""

    def __init__(self, db: Database) -> None:
        """Keep articles in ``db``."""
        self.db = db

    @property
    def path(self) -> Path:
        """The database file."""
        return self.db.path

    def close(self) -> None:
        """Close the database."""
        self.db.close()

    def generation(self) -> int:
        """The number of changes ever committed; derived indexes record it."""
        return self.db.generation()

    def lineage(self) -> str:
        """The identity of this database; an index records it and is trusted only by the same database."""
        return self.db.lineage()

    def get_meta(self, key: str) -> str | None:
        """A stored setting, or None."""
        return self.db.get_meta(key)

    def set_meta(self, key: str, value: str) -> None:
        """Store a setting (without bumping the generation)."""
        self.db.set_meta(key, value)

    def backup_to(self, target: Path) -> None:
        """A consistent copy of the database, taken online (writers may carry on meanwhile)."""
        self.db.backup_to(target)

    def integrity_check(self) -> str:
        """SQLite's own verdict on the file: "ok" when healthy."""
        return self.db.integrity_check()

    # -- articles ---------------------------------------------------------------------

    def find_duplicate(self, text: str, url: str | None, guild_id: int | None) -> int | None:
        """The id of an article visible to ``guild_id`` with the same text or URL, if any."""
        rows = self.db.query(
            f"SELECT a.id FROM articles a WHERE {VISIBLE} AND (a.content_hash = :hash OR a.url = :url)"
            f" UNION SELECT c.article_id FROM article_copies c JOIN articles a ON a.id = c.article_id"
            f" WHERE {VISIBLE} AND {COPY_VISIBLE} AND (c.content_hash = :hash OR c.url = :url)"
            " ORDER BY 1 LIMIT 1",
            {"guild": guild_id, "hash": content_hash(text), "url": normalise_url(url)},
        )
        return rows[0][0] if rows else None

    # -- wire copies ------------------------------------------------------------------

    def near_copy_candidates(self, bands: Sequence[tuple[int, int]], guild_id: int | None) -> list[int]:
        """Articles ``guild_id`` sees that share a MinHash band with a text, those sharing most first."""
        if not bands:
            return []
        named: dict[str, object] = {"guild": guild_id, "limit": nearcopy.MAX_CANDIDATES}
        terms = []
        for n, (band, value) in enumerate(bands):
            named |= {f"b{n}": int(band), f"h{n}": int(value)}
            terms.append(f"(b.band = :b{n} AND b.hash = :h{n})")
        rows = self.db.query(
            "SELECT b.article_id FROM article_bands b JOIN articles a ON a.id = b.article_id"
            f" WHERE ({' OR '.join(terms)}) AND {VISIBLE}"
            " GROUP BY b.article_id ORDER BY COUNT(*) DESC, b.article_id LIMIT :limit",
            named,
        )
        return [int(r[0]) for r in rows]

    def record_copy(self, article_id: int, copy: NewArticle, similarity: float) -> int:
        """Record another outlet's copy of a stored story (its text is not stored); the record's id."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self.db.write() as db:
            cur = db.execute(
                "INSERT INTO article_copies (article_id, title, source, url, published, added_by, added_at,"
                " guild_id, content_hash, similarity) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    article_id,
                    copy.title,
                    copy.source,
                    normalise_url(copy.url),
                    copy.published,
                    copy.added_by,
                    now,
                    copy.guild_id,
                    content_hash(copy.text),
                    float(similarity),
                ),
            )
        return int(cur.lastrowid or 0)

    def copies(self, article_ids: Iterable[int], guild_id: int | None) -> dict[int, list[Copy]]:
        """The recorded copies of these articles that ``guild_id`` sees, oldest first, by article id."""
        ids = sorted({int(i) for i in article_ids})
        found: dict[int, list[Copy]] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            named: dict[str, object] = {f"a{n}": aid for n, aid in enumerate(chunk)} | {"guild": guild_id}
            rows = self.db.query(
                "SELECT c.id, c.article_id, c.title, c.source, c.url, c.published, c.added_by, c.added_at,"
                f" c.guild_id, c.similarity FROM article_copies c WHERE {COPY_VISIBLE}"
                f" AND c.article_id IN ({','.join(':' + k for k in named if k != 'guild')}) ORDER BY c.id",
                named,
            )
            for row in rows:
                found.setdefault(int(row[1]), []).append(Copy(*row))
        return found

    def index_near_copies(self) -> int:
        """Make every article's band hashes under the current scheme, once; how many articles were indexed.

        A database from before wire copies, or from another scheme, gets them all at once, from the
        stored passages.
        """
        if self.db.get_meta("nearcopy_scheme") == nearcopy.SCHEME:
            return 0
        if not self.db.query("SELECT 1 FROM articles LIMIT 1"):  # a new database: nothing to index
            self.db.set_meta("nearcopy_scheme", nearcopy.SCHEME)
            return 0
        with self.db.lock, self.db.write() as db:
            db.execute("DELETE FROM article_bands")
            ids = [int(r[0]) for r in db.execute("SELECT id FROM articles ORDER BY id")]
            for article_id in ids:
                texts = [
                    r[0]
                    for r in db.execute(
                        "SELECT text FROM passages WHERE article_id = ? ORDER BY position", (article_id,)
                    )
                ]
                _insert_bands(db, article_id, nearcopy.bands("\n\n".join(texts)))
            db.execute("INSERT OR REPLACE INTO meta VALUES ('nearcopy_scheme', ?)", (nearcopy.SCHEME,))
        return len(ids)

    def add_articles(
        self,
        batch: Sequence[ArticleRows],
        model: str,
    ) -> list[tuple[int, list[int]]]:
        """Store articles with passages and embeddings in one transaction; return (id, passage ids) each."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        ids: list[tuple[int, list[int]]] = []
        banded = [nearcopy.bands(nearcopy.quotable_text(spans)) for _, spans, _, _ in batch]  # before the lock
        with self.db.write() as db:
            for (article, spans, vectors, sentence_vectors), bands in zip(batch, banded, strict=True):
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
                _insert_bands(db, article_id, bands)
                ids.append((article_id, passage_ids))
            index_terms(db, [pid for _, passage_ids in ids for pid in passage_ids])  # one pass for the batch
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
        bands = nearcopy.bands(nearcopy.quotable_text(spans))
        with self.db.write() as db:
            old = [r[0] for r in db.execute("SELECT id FROM passages WHERE article_id = ?", (article_id,))]
            db.execute("DELETE FROM passages WHERE article_id = ?", (article_id,))
            db.execute("DELETE FROM article_bands WHERE article_id = ?", (article_id,))
            _insert_bands(db, article_id, bands)
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
            index_terms(db, new)
        return old, new

    def remove_article(self, article_id: int, guild_id: int | None) -> tuple[Article, list[int]] | None:
        """Delete an article visible to ``guild_id``; return it and its passage ids, or None."""
        with self.db.lock:
            article = self.get_article(article_id, guild_id)
            if article is None:
                return None  # nothing changes, so the generation stays
            with self.db.write() as db:
                passage_ids = [r[0] for r in db.execute("SELECT id FROM passages WHERE article_id = ?", (article_id,))]
                db.execute("DELETE FROM articles WHERE id = ?", (article_id,))
        return article, passage_ids

    def get_article(self, article_id: int, guild_id: int | None) -> Article | None:
        """One article visible to ``guild_id``, or None."""
        rows = self.db.query(
            f"SELECT {_ARTICLE_COLUMNS} FROM articles a WHERE a.id = :id AND {VISIBLE}",
            {"id": article_id, "guild": guild_id},
        )
        return Article(*rows[0]) if rows else None

    def article_texts(self, article_ids: Iterable[int]) -> dict[int, str]:
        """The full texts of these articles, keyed by id (one removed meanwhile is left out)."""
        ids = sorted({int(i) for i in article_ids})
        found: dict[int, str] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            rows = self.db.query(f"SELECT id, text FROM articles WHERE id IN ({','.join('?' * len(chunk))})", chunk)
            found.update((int(a), str(t)) for a, t in rows)
        return found

    def list_articles(self, guild_id: int | None) -> list[Article]:
        """Every article visible to ``guild_id``, oldest first."""
        rows = self.db.query(
            f"SELECT {_ARTICLE_COLUMNS} FROM articles a WHERE {VISIBLE} ORDER BY a.id", {"guild": guild_id}
        )
        return [Article(*row) for row in rows]

    def count_articles(self, guild_id: int | None) -> int:
        """How many articles ``guild_id`` sees."""
        return int(self.db.query(f"SELECT COUNT(*) FROM articles a WHERE {VISIBLE}", {"guild": guild_id})[0][0])

    def article_passages(self, article_id: int) -> list[StoredPassage]:
        """An article's passages in reading order."""
        return self._passages("p.article_id = ? ORDER BY p.position", (article_id,))

    # -- passages and embeddings ------------------------------------------------------

    def changes_since(self, generation: int, model: str) -> Changes | None:
        """What committed changes after ``generation`` did to the embedded passages, read as one snapshot.

        None when the log no longer reaches back that far (the caller reloads every embedding).
        """
        with self.db.lock:
            self.db.connection.execute("BEGIN")  # one read snapshot: the generation and the log agree
            try:
                now = int(self.db.connection.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0])
                floor = int(self.db.connection.execute("SELECT value FROM meta WHERE key = 'log_floor'").fetchone()[0])
                if generation < floor or generation > now:  # too far behind, or a database swapped under it
                    return None
                last: dict[int, int] = {}
                for pid, op in self.db.connection.execute(
                    "SELECT passage_id, op FROM passage_log WHERE generation > ? ORDER BY seq", (generation,)
                ):
                    last[int(pid)] = int(op)
                embedded = sorted(pid for pid, op in last.items() if op > 0)
                vectors: list[np.ndarray] = []
                ids: list[int] = []
                for i in range(0, len(embedded), 500):
                    chunk = embedded[i : i + 500]
                    for pid, dim, blob in self.db.connection.execute(
                        f"SELECT passage_id, dim, vector FROM embeddings WHERE model = ?"
                        f" AND passage_id IN ({','.join('?' * len(chunk))})",
                        [model, *chunk],
                    ):
                        ids.append(int(pid))
                        vectors.append(np.frombuffer(blob, dtype=np.float32, count=dim))
            finally:
                self.db.connection.execute("COMMIT")
        gone = sorted(set(last) - set(ids))  # removed, or since re-embedded by another model
        matrix = np.vstack(vectors) if vectors else np.empty((0, 0), dtype=np.float32)
        return Changes(now, np.asarray(gone, dtype=np.int64), np.asarray(ids, dtype=np.int64), matrix)

    def trim_log(self) -> None:
        """Forget the oldest changes once the log passes ``LOG_ROWS`` (whole generations at a time)."""
        with self.db.lock:
            row = self.db.connection.execute(
                "SELECT generation FROM passage_log WHERE seq <= (SELECT MAX(seq) FROM passage_log) - ?"
                " ORDER BY seq DESC LIMIT 1",
                (LOG_ROWS,),
            ).fetchone()
            if row is None:
                return
            try:
                self.db.connection.execute("BEGIN IMMEDIATE")
                self.db.connection.execute("DELETE FROM passage_log WHERE generation <= ?", (row[0],))
                self.db.connection.execute(
                    "UPDATE meta SET value = MAX(CAST(value AS INTEGER), ?) WHERE key = 'log_floor'", (row[0],)
                )
                self.db.connection.execute("COMMIT")
            except sqlite3.OperationalError:  # busy or full: trimming can wait for the next change
                if self.db.connection.in_transaction:
                    self.db.connection.execute("ROLLBACK")

    def _passages(self, where: str, params: Sequence[object] | dict[str, object]) -> list[StoredPassage]:
        rows = self.db.query(
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
        return self._by_id(passage_ids, f" AND {VISIBLE}", {"guild": guild_id})

    def visible_ids(self, passage_ids: Iterable[int], guild_id: int | None) -> set[int]:
        """Which of these passages ``guild_id`` may see."""
        return visible_ids(self.db, [int(i) for i in passage_ids], guild_id)

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

    def all_passage_texts(self) -> list[tuple[int, str]]:
        """Every passage id with its text, for re-embedding."""
        return [(int(i), str(t)) for i, t in self.db.query("SELECT id, text FROM passages ORDER BY id")]

    def embeddings(self, model: str) -> tuple[np.ndarray, np.ndarray]:
        """All stored embeddings made by ``model``: (passage ids, float32 matrix)."""
        rows = self.db.query(
            "SELECT passage_id, dim, vector FROM embeddings WHERE model = ? ORDER BY passage_id", (model,)
        )
        if not rows:
            return np.empty(0, dtype=np.int64), np.empty((0, 0), dtype=np.float32)
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        matrix = np.frombuffer(b"".join(r[2] for r in rows), dtype=np.float32).reshape(len(rows), rows[0][1])
        return ids, matrix

    def publication_dates(self) -> list[str]:
        """Every distinct publication date the articles carry (as stored: "2017-12-31", "2020-10")."""
        return [str(r[0]) for r in self.db.query("SELECT DISTINCT published FROM articles WHERE published IS NOT NULL")]

    def lede_vectors(self, article_ids: Iterable[int], model: str) -> dict[int, np.ndarray]:
        """The vector of each article's first passage (its lede: what the story is about), keyed by article id."""
        ids = sorted({int(i) for i in article_ids})
        found: dict[int, np.ndarray] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            rows = self.db.query(
                "SELECT p.article_id, e.dim, e.vector FROM passages p JOIN embeddings e ON e.passage_id = p.id"
                f" WHERE p.position = 0 AND e.model = ? AND p.article_id IN ({','.join('?' * len(chunk))})",
                [model, *chunk],
            )
            found.update((int(a), np.frombuffer(blob, dtype=np.float32, count=dim)) for a, dim, blob in rows)
        return found

    def snapshot(self, model: str) -> tuple[int, np.ndarray, np.ndarray]:
        """(generation, passage ids, vectors) of every embedding by ``model``, read as one snapshot."""
        with self.db.lock:
            self.db.connection.execute("BEGIN")
            try:
                generation = self.generation()
                ids, vectors = self.embeddings(model)
            finally:
                self.db.connection.execute("COMMIT")
        return generation, ids, vectors

    def sentence_vectors(self, passage_ids: Sequence[int], model: str) -> dict[int, np.ndarray]:
        """The stored sentence vectors of these passages (those that have them), keyed by passage id."""
        marks = ",".join("?" * len(passage_ids))
        rows = self.db.query(
            f"SELECT passage_id, dim, sentences FROM embeddings"
            f" WHERE passage_id IN ({marks}) AND model = ? AND sentences IS NOT NULL",
            [*passage_ids, model],
        )
        return {int(i): np.frombuffer(blob, dtype=np.float32).reshape(-1, dim) for i, dim, blob in rows}

    def embedding_models(self) -> dict[str, int]:
        """How many passages each model has embedded."""
        return {str(m): int(n) for m, n in self.db.query("SELECT model, COUNT(*) FROM embeddings GROUP BY model")}

    def replace_embeddings(
        self, passage_ids: np.ndarray, vectors: np.ndarray, sentence_vectors: Sequence[np.ndarray], model: str
    ) -> None:
        """Swap in new embeddings for passages that still exist, all in one transaction."""
        with self.db.write() as db:
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
        row = self.db.query("SELECT (SELECT COUNT(*) FROM articles), (SELECT COUNT(*) FROM passages)")[0]
        return int(row[0]), int(row[1])

    # -- what was shown, and what people thought of it ---------------------------------


def _insert_bands(db: sqlite3.Connection, article_id: int, bands: Sequence[tuple[int, int]]) -> None:
    db.executemany(
        "INSERT OR IGNORE INTO article_bands (band, hash, article_id) VALUES (?, ?, ?)",
        [(band, value, article_id) for band, value in bands],
    )


def _blob(vectors: np.ndarray) -> bytes:
    return np.asarray(vectors, dtype=np.float32).tobytes()
