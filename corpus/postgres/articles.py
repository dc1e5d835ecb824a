"""The server article store: articles, their passages and embeddings, in PostgreSQL with pgvector."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import psycopg

from corpus import nearcopy
from corpus.chunking import Span
from corpus.errors import StoreError
from corpus.postgres.database import COPY_VISIBLE, VISIBLE, PgDatabase, VectorParam, sent_vector, visible_ids
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

_ARTICLE_COLUMNS = (
    "a.id, a.title, a.source, a.url, a.published, a.added_by, a.added_at, a.guild_id, a.content_hash,"
    " (SELECT COUNT(*) FROM passages p WHERE p.article_id = a.id)"
)
_PASSAGE_COLUMNS = (
    'p.id, p.article_id, p.position, p.start, p."end", p.text, a.title, a.source, a.url, a.published, a.guild_id'
)


class PgArticleStore:
    """Articles, passages and embeddings in PostgreSQL; every process sees each change once it commits."""

    def __init__(self, db: PgDatabase) -> None:
        """Keep articles in ``db``."""
        self.db = db

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    def generation(self) -> int:
        """The number of changes ever committed."""
        return self.db.generation()

    def lineage(self) -> str:
        """The identity of this database."""
        return self.db.lineage()

    def get_meta(self, key: str) -> str | None:
        """A stored setting, or None."""
        return self.db.get_meta(key)

    def set_meta(self, key: str, value: str) -> None:
        """Store a setting (without bumping the generation)."""
        self.db.set_meta(key, value)

    def backup_to(self, target: Path) -> None:
        """Refused: PostgreSQL has its own tools for consistent copies."""
        raise StoreError(
            "the articles are in PostgreSQL (DATABASE_URL): back them up with `pg_dump -Fc` and restore"
            " them with `pg_restore`; `backup` and `restore` copy only the embedded SQLite database"
        )

    def integrity_check(self) -> str:
        """ "ok" when the database answers and its lexical totals agree with the passages."""
        row = self.db.query(
            "SELECT (SELECT passages FROM lexical_totals) = (SELECT COUNT(*) FROM passages),"
            " (SELECT tokens FROM lexical_totals) = (SELECT COALESCE(SUM(length), 0) FROM passages)"
        )[0]
        return "ok" if all(row) else "the lexical totals disagree with the passages"

    # -- articles ---------------------------------------------------------------------

    def find_duplicate(self, text: str, url: str | None, guild_id: int | None) -> int | None:
        """The id of an article visible to ``guild_id`` with the same text or URL, if any."""
        rows = self.db.query(
            f"SELECT a.id FROM articles a WHERE {VISIBLE} AND (a.content_hash = %(hash)s OR a.url = %(url)s)"
            f" UNION SELECT c.article_id FROM article_copies c JOIN articles a ON a.id = c.article_id"
            f" WHERE {VISIBLE} AND {COPY_VISIBLE} AND (c.content_hash = %(hash)s OR c.url = %(url)s)"
            " ORDER BY 1 LIMIT 1",
            {"guild": guild_id, "hash": content_hash(text), "url": normalise_url(url)},
        )
        return int(rows[0][0]) if rows else None

    # -- wire copies ------------------------------------------------------------------

    def near_copy_candidates(self, bands: Sequence[tuple[int, int]], guild_id: int | None) -> list[int]:
        """Articles ``guild_id`` sees that share a MinHash band with a text, those sharing most first."""
        if not bands:
            return []
        rows = self.db.query(
            "SELECT b.article_id FROM article_bands b JOIN articles a ON a.id = b.article_id"
            " WHERE (b.band, b.hash) IN (SELECT * FROM unnest(%(bands)s::int[], %(hashes)s::bigint[]))"
            f" AND {VISIBLE} GROUP BY b.article_id ORDER BY COUNT(*) DESC, b.article_id LIMIT %(limit)s",
            {
                "bands": [int(b) for b, _ in bands],
                "hashes": [int(h) for _, h in bands],
                "guild": guild_id,
                "limit": nearcopy.MAX_CANDIDATES,
            },
        )
        return [int(r[0]) for r in rows]

    def record_copy(self, article_id: int, copy: NewArticle, similarity: float) -> int:
        """Record another outlet's copy of a stored story (its text is not stored); the record's id."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self.db.write() as db:
            row = db.execute(
                "INSERT INTO article_copies (article_id, title, source, url, published, added_by, added_at,"
                " guild_id, content_hash, similarity) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
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
            ).fetchone()
        assert row is not None
        return int(row[0])

    def copies(self, article_ids: Iterable[int], guild_id: int | None) -> dict[int, list[Copy]]:
        """The recorded copies of these articles that ``guild_id`` sees, oldest first, by article id."""
        rows = self.db.query(
            "SELECT c.id, c.article_id, c.title, c.source, c.url, c.published, c.added_by, c.added_at,"
            f" c.guild_id, c.similarity FROM article_copies c WHERE {COPY_VISIBLE}"
            " AND c.article_id = ANY(%(ids)s) ORDER BY c.id",
            {"ids": sorted({int(i) for i in article_ids}), "guild": guild_id},
        )
        found: dict[int, list[Copy]] = {}
        for row in rows:
            found.setdefault(int(row[1]), []).append(Copy(*row))
        return found

    def index_near_copies(self) -> int:
        """Make every article's band hashes under the current scheme, once; how many articles were indexed."""
        if self.db.get_meta("nearcopy_scheme") == nearcopy.SCHEME:
            return 0
        if not self.db.query("SELECT 1 FROM articles LIMIT 1"):  # a new database: nothing to index
            self.db.set_meta("nearcopy_scheme", nearcopy.SCHEME)
            return 0
        with self.db.write() as db:
            db.execute("DELETE FROM article_bands")
            ids = [int(r[0]) for r in db.execute("SELECT id FROM articles ORDER BY id")]
            for article_id in ids:
                texts = [
                    str(r[0])
                    for r in db.execute(
                        "SELECT text FROM passages WHERE article_id = %s ORDER BY position", (article_id,)
                    )
                ]
                _insert_bands(db, [(article_id, nearcopy.bands("\n\n".join(texts)))])
            db.execute(
                "INSERT INTO meta VALUES ('nearcopy_scheme', %s)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (nearcopy.SCHEME,),
            )
        return len(ids)

    def add_articles(self, batch: Sequence[ArticleRows], model: str) -> list[tuple[int, list[int]]]:
        """Store articles with passages and embeddings in one transaction; return (id, passage ids) each.

        The whole batch goes in with one statement per table, so the lexical triggers run once per
        batch, not once per article (the vocabulary's upserts were most of an import's time).
        """
        if not batch:
            return []
        for _, spans, vectors, sentence_vectors in batch:
            _check_embeddings(spans, vectors, sentence_vectors)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        banded = [nearcopy.bands(nearcopy.quotable_text(spans)) for _, spans, _, _ in batch]  # before the lock
        with self.db.write() as db:
            article_ids = _new_ids(db, "articles", len(batch))
            articles = [article for article, _, _, _ in batch]
            db.execute(
                "INSERT INTO articles (id, title, source, url, published, added_by, added_at, guild_id,"
                " content_hash, text) SELECT i, t, s, u, p, b, %s, g, h, x FROM unnest(%s::bigint[], %s::text[],"
                " %s::text[], %s::text[], %s::text[], %s::text[], %s::bigint[], %s::text[], %s::text[])"
                " AS n(i, t, s, u, p, b, g, h, x)",
                (
                    now,
                    article_ids,
                    [a.title for a in articles],
                    [a.source for a in articles],
                    [normalise_url(a.url) for a in articles],
                    [a.published for a in articles],
                    [a.added_by for a in articles],
                    [a.guild_id for a in articles],
                    [content_hash(a.text) for a in articles],
                    [a.text for a in articles],
                ),
            )
            passage_ids = _insert_passages(
                db,
                [(i, a.guild_id, spans, v, s) for i, (a, spans, v, s) in zip(article_ids, batch, strict=True)],
                model,
            )
            _insert_bands(db, list(zip(article_ids, banded, strict=True)))
        return list(zip(article_ids, passage_ids, strict=True))

    def replace_article(self, article_id: int, rows: ArticleRows, model: str) -> tuple[list[int], list[int]]:
        """Swap an article's text, metadata and passages in one transaction; return (old, new) passage ids."""
        article, spans, vectors, sentence_vectors = rows
        _check_embeddings(spans, vectors, sentence_vectors)
        bands = nearcopy.bands(nearcopy.quotable_text(spans))
        with self.db.write() as db:
            removed = db.execute("DELETE FROM passages WHERE article_id = %s RETURNING id", (article_id,))
            old = [int(r[0]) for r in removed]
            db.execute("DELETE FROM article_bands WHERE article_id = %s", (article_id,))
            _insert_bands(db, [(article_id, bands)])
            found = db.execute(
                "UPDATE articles SET title = %s, source = %s, url = %s, published = %s, content_hash = %s, text = %s"
                " WHERE id = %s RETURNING guild_id",
                (
                    article.title,
                    article.source,
                    normalise_url(article.url),
                    article.published,
                    content_hash(article.text),
                    article.text,
                    article_id,
                ),
            ).fetchone()
            guild_id = found[0] if found else article.guild_id
            [new] = _insert_passages(db, [(article_id, guild_id, spans, vectors, sentence_vectors)], model)
        return sorted(old), new

    def remove_article(self, article_id: int, guild_id: int | None) -> tuple[Article, list[int]] | None:
        """Delete an article visible to ``guild_id``; return it and its passage ids, or None."""
        with self.db.lock:
            article = self.get_article(article_id, guild_id)
            if article is None:
                return None  # nothing changes, so the generation stays
            with self.db.write() as db:
                passage_ids = [
                    int(r[0]) for r in db.execute("SELECT id FROM passages WHERE article_id = %s", (article_id,))
                ]
                db.execute("DELETE FROM articles WHERE id = %s", (article_id,))
        return article, sorted(passage_ids)

    def get_article(self, article_id: int, guild_id: int | None) -> Article | None:
        """One article visible to ``guild_id``, or None."""
        rows = self.db.query(
            f"SELECT {_ARTICLE_COLUMNS} FROM articles a WHERE a.id = %(id)s AND {VISIBLE}",
            {"id": article_id, "guild": guild_id},
        )
        return Article(*rows[0]) if rows else None

    def article_texts(self, article_ids: Iterable[int]) -> dict[int, str]:
        """The full texts of these articles, keyed by id (one removed meanwhile is left out)."""
        rows = self.db.query(
            "SELECT id, text FROM articles WHERE id = ANY(%s)", (sorted({int(i) for i in article_ids}),)
        )
        return {int(a): str(t) for a, t in rows}

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
        return self._passages("p.article_id = %(id)s ORDER BY p.position", {"id": article_id})

    # -- passages and embeddings ------------------------------------------------------

    def changes_since(self, generation: int, model: str) -> Changes | None:
        """Always None: no process keeps a copy of the embeddings to catch up.

        The vector search asks PostgreSQL itself, which answers from every committed change, so
        no change log is kept (None tells a caller that did keep a copy to reload it).
        """
        return None

    def trim_log(self) -> None:
        """Nothing to trim: no change log is kept (see :meth:`changes_since`)."""

    def _passages(self, where: str, params: dict[str, object]) -> list[StoredPassage]:
        rows = self.db.query(
            f"SELECT {_PASSAGE_COLUMNS} FROM passages p JOIN articles a ON a.id = p.article_id WHERE {where}", params
        )
        return [StoredPassage(*row) for row in rows]

    def passages_by_id(self, passage_ids: Iterable[int]) -> dict[int, StoredPassage]:
        """The passages with these ids that still exist, keyed by id."""
        found = self._passages("p.id = ANY(%(ids)s)", {"ids": [int(i) for i in passage_ids]})
        return {p.id: p for p in found}

    def visible_passages(self, passage_ids: Iterable[int], guild_id: int | None) -> dict[int, StoredPassage]:
        """The passages with these ids that ``guild_id`` may see, keyed by id."""
        found = self._passages(
            f"p.id = ANY(%(ids)s) AND {VISIBLE}", {"ids": [int(i) for i in passage_ids], "guild": guild_id}
        )
        return {p.id: p for p in found}

    def visible_ids(self, passage_ids: Iterable[int], guild_id: int | None) -> set[int]:
        """Which of these passages ``guild_id`` may see."""
        return visible_ids(self.db, [int(i) for i in passage_ids], guild_id)

    def all_passage_texts(self) -> list[tuple[int, str]]:
        """Every passage id with its text, for re-embedding."""
        return [(int(i), str(t)) for i, t in self.db.query("SELECT id, text FROM passages ORDER BY id")]

    def embeddings(self, model: str) -> tuple[np.ndarray, np.ndarray]:
        """All stored embeddings made by ``model``: (passage ids, float32 matrix)."""
        rows = self.db.query(
            "SELECT passage_id, vector_send(vector) FROM embeddings WHERE model = %s ORDER BY passage_id",
            (model,),
            binary=True,
        )
        if not rows:
            return np.empty(0, dtype=np.int64), np.empty((0, 0), dtype=np.float32)
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        return ids, np.vstack([sent_vector(r[1]) for r in rows])

    def snapshot(self, model: str) -> tuple[int, np.ndarray, np.ndarray]:
        """(generation, passage ids, vectors) of every embedding by ``model``, read as one snapshot."""
        with self.db.lock, self.db.connection.transaction():
            self.db.connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            generation = self.generation()
            ids, vectors = self.embeddings(model)
        return generation, ids, vectors

    def publication_dates(self) -> list[str]:
        """Every distinct publication date the articles carry."""
        return [str(r[0]) for r in self.db.query("SELECT DISTINCT published FROM articles WHERE published IS NOT NULL")]

    def lede_vectors(self, article_ids: Iterable[int], model: str) -> dict[int, np.ndarray]:
        """The vector of each article's first passage, keyed by article id."""
        rows = self.db.query(
            "SELECT p.article_id, vector_send(e.vector) FROM passages p JOIN embeddings e ON e.passage_id = p.id"
            " WHERE p.position = 0 AND e.model = %s AND p.article_id = ANY(%s)",
            (model, sorted({int(i) for i in article_ids})),
            binary=True,
        )
        return {int(a): sent_vector(v) for a, v in rows}

    def sentence_vectors(self, passage_ids: Sequence[int], model: str) -> dict[int, np.ndarray]:
        """The stored sentence vectors of these passages (those that have them), keyed by passage id."""
        rows = self.db.query(
            "SELECT passage_id, dim, sentences FROM embeddings"
            " WHERE passage_id = ANY(%s) AND model = %s AND sentences IS NOT NULL",
            ([int(i) for i in passage_ids], model),
            binary=True,
        )
        return {int(i): np.frombuffer(blob, dtype=np.float32).reshape(-1, dim) for i, dim, blob in rows}

    def embedding_models(self) -> dict[str, int]:
        """How many passages each model has embedded."""
        return {str(m): int(n) for m, n in self.db.query("SELECT model, COUNT(*) FROM embeddings GROUP BY model")}

    def replace_embeddings(
        self, passage_ids: np.ndarray, vectors: np.ndarray, sentence_vectors: Sequence[np.ndarray], model: str
    ) -> None:
        """Swap in new embeddings for passages that still exist, all in one transaction."""
        with self.db.write() as db, db.cursor() as cur:
            cur.executemany(
                "INSERT INTO embeddings (passage_id, guild_id, model, dim, vector, sentences)"
                " SELECT id, guild_id, %s, %s, %b, %s FROM passages WHERE id = %s"
                " ON CONFLICT (passage_id) DO UPDATE SET model = excluded.model, dim = excluded.dim,"
                " vector = excluded.vector, sentences = excluded.sentences",
                [
                    (model, vectors.shape[1], VectorParam(v), _blob(s), int(pid))
                    for pid, v, s in zip(passage_ids, vectors, sentence_vectors, strict=True)
                ],
            )
            cur.execute("DELETE FROM embeddings WHERE model != %s", (model,))

    def counts(self) -> tuple[int, int]:
        """(articles, passages) in the database."""
        row = self.db.query("SELECT (SELECT COUNT(*) FROM articles), (SELECT COUNT(*) FROM passages)")[0]
        return int(row[0]), int(row[1])


#: An article's part in one write: (article id, its guild, passage spans, vectors, sentence vectors).
_ArticlePassages = tuple[int, int | None, Sequence[Span], np.ndarray, Sequence[np.ndarray | None]]


def _check_embeddings(spans: Sequence[Span], vectors: np.ndarray, sentence_vectors: Sequence[object]) -> None:
    if not len(spans) == len(vectors) == len(sentence_vectors):
        raise ValueError("every passage needs exactly one embedding")


def _new_ids(db: psycopg.Connection[Any], table: str, count: int) -> list[int]:
    """``count`` fresh ids from ``table``'s identity, ascending (so a batch's rows keep their order)."""
    rows = db.execute(
        "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", (table, count)
    ).fetchall()
    return sorted(int(r[0]) for r in rows)


def _insert_passages(db: psycopg.Connection[Any], articles: Sequence[_ArticlePassages], model: str) -> list[list[int]]:
    """Insert the passages and embeddings of several articles (inside the caller's transaction); their ids each.

    One statement for all the passages and one for all the embeddings, so the lexical index's
    triggers run once for the whole write.
    """
    counts = [len(spans) for _, _, spans, _, _ in articles]
    ids = _new_ids(db, "passages", sum(counts)) if sum(counts) else []
    bounds = np.cumsum([0, *counts]).tolist()
    passage_ids = [ids[bounds[i] : bounds[i + 1]] for i in range(len(articles))]
    if not ids:
        return passage_ids
    article_ids = [a for a, _, spans, _, _ in articles for _ in spans]
    guild_ids = [g for _, g, spans, _, _ in articles for _ in spans]
    spans = [span for _, _, article_spans, _, _ in articles for span in article_spans]
    db.execute(
        'INSERT INTO passages (id, article_id, guild_id, position, start, "end", text)'
        " SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::int[], %s::int[], %s::int[], %s::text[])",
        (
            ids,
            article_ids,
            guild_ids,
            [position for count in counts for position in range(count)],
            [s.start for s in spans],
            [s.end for s in spans],
            [s.text for s in spans],
        ),
    )
    dim = next(int(v.shape[1]) for _, _, _, v, _ in articles if len(v))
    db.execute(
        "INSERT INTO embeddings (passage_id, guild_id, model, dim, vector, sentences)"
        " SELECT p, g, %s, %s, v, b FROM unnest(%s::bigint[], %s::bigint[], %b::vector[], %b::bytea[])"
        " AS x(p, g, v, b)",
        (
            model,
            dim,
            ids,
            guild_ids,
            [VectorParam(v) for _, _, _, vectors, _ in articles for v in vectors],
            [None if s is None else _blob(s) for _, _, _, _, sentences in articles for s in sentences],
        ),
    )
    return passage_ids


def _insert_bands(db: psycopg.Connection[Any], articles: Sequence[tuple[int, Sequence[tuple[int, int]]]]) -> None:
    """Insert the MinHash band hashes of several articles, one statement for all."""
    rows = [(article_id, band, hash_) for article_id, bands in articles for band, hash_ in bands]
    if rows:
        db.execute(
            "INSERT INTO article_bands (band, hash, article_id)"
            " SELECT * FROM unnest(%s::int[], %s::bigint[], %s::bigint[]) ON CONFLICT DO NOTHING",
            ([int(b) for _, b, _ in rows], [int(h) for _, _, h in rows], [int(a) for a, _, _ in rows]),
        )


def _blob(vectors: np.ndarray) -> bytes:
    return np.asarray(vectors, dtype=np.float32).tobytes()
