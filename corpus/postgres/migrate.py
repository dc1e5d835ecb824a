"""Copy the embedded SQLite database into an empty PostgreSQL one, embeddings included (nothing is re-embedded).

Everything is copied in one transaction with the ids it had, so article numbers, logged answers,
votes and followed feeds keep meaning the same; the lexical index is made by the database's own
triggers as the passages go in. Afterwards the articles, passages and embeddings are counted on both sides.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from corpus import nearcopy
from corpus.errors import StoreError
from corpus.postgres.database import IDENTITIES, PgDatabase, VectorParam
from corpus.postgres.vectors import ensure_hnsw_index

#: Settings that belong to one database and are not copied.
#: The wire-copy band hashes are made afresh by the PostgreSQL store when it is first opened.
_OWN_META = {"generation", "lineage", "log_floor", "nearcopy_scheme"}
_BATCH = 500
FEED_COLUMNS = (
    "id, url, url_key, title, guild_id, added_by, added_at, next_poll_at, last_polled_at, etag, last_modified,"
    " failures, last_error"
)
ENTRY_COLUMNS = "feed_id, entry_id, link, outcome, article_id, attempts, detail, seen_at"


def _slots(n: int) -> str:
    return ", ".join(["%s"] * n)


def _rows(source: sqlite3.Connection, sql: str) -> Iterator[list[tuple]]:
    cursor = source.execute(sql)
    while batch := cursor.fetchmany(_BATCH):
        yield batch


def migrate(database: Path, url: str) -> list[str]:
    """Copy ``database`` (SQLite) into the empty PostgreSQL database at ``url``; one line per count checked.

    Refused, with nothing changed, when the target already holds articles, answers or audit entries.
    """
    if not database.is_file():
        raise StoreError(f"there is no database to migrate at {database}")
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    target = PgDatabase(url)
    try:
        held = target.query(
            "SELECT (SELECT COUNT(*) FROM articles) + (SELECT COUNT(*) FROM answers) + (SELECT COUNT(*) FROM audit)"
        )[0][0]
        if held:
            raise StoreError(
                "the PostgreSQL database already holds articles or logs; migrate only into an empty database"
                " (one no bot has opened yet)"
            )
        source.execute("BEGIN")  # one read snapshot of the SQLite file
        dims = {int(d) for (d,) in source.execute("SELECT DISTINCT dim FROM embeddings")}
        with target.write() as db, db.cursor() as cur:
            for key, value in source.execute("SELECT key, value FROM meta"):
                if key not in _OWN_META:
                    cur.execute(
                        "INSERT INTO meta VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        (key, value),
                    )
            for batch in _rows(
                source,
                "SELECT id, title, source, url, published, added_by, added_at, guild_id, content_hash, text"
                " FROM articles ORDER BY id",
            ):
                cur.executemany(
                    "INSERT INTO articles (id, title, source, url, published, added_by, added_at, guild_id,"
                    " content_hash, text) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    batch,
                )
            for batch in _rows(
                source,
                "SELECT p.id, p.article_id, a.guild_id, p.position, p.start, p.end, p.text"
                " FROM passages p JOIN articles a ON a.id = p.article_id ORDER BY p.id",
            ):
                columns = list(zip(*batch, strict=True))
                cur.execute(  # one statement a batch: the lexical index's triggers run once for it
                    'INSERT INTO passages (id, article_id, guild_id, position, start, "end", text)'
                    " SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::int[], %s::int[],"
                    " %s::int[], %s::text[])",
                    [list(c) for c in columns],
                )
            for batch in _rows(
                source,
                "SELECT e.passage_id, a.guild_id, e.model, e.dim, e.vector, e.sentences FROM embeddings e"
                " JOIN passages p ON p.id = e.passage_id JOIN articles a ON a.id = p.article_id ORDER BY e.passage_id",
            ):
                cur.executemany(
                    "INSERT INTO embeddings (passage_id, guild_id, model, dim, vector, sentences)"
                    " VALUES (%s, %s, %s, %s, %b, %s)",
                    [
                        (pid, guild, model, dim, VectorParam(np.frombuffer(blob, dtype=np.float32, count=dim)), sent)
                        for pid, guild, model, dim, blob, sent in batch
                    ],
                )
            if source.execute("SELECT 1 FROM sqlite_master WHERE name = 'article_copies'").fetchone():
                for batch in _rows(
                    source,
                    "SELECT id, article_id, title, source, url, published, added_by, added_at, guild_id,"
                    " content_hash, similarity FROM article_copies ORDER BY id",
                ):
                    cur.executemany(
                        "INSERT INTO article_copies (id, article_id, title, source, url, published, added_by,"
                        " added_at, guild_id, content_hash, similarity)"
                        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                        batch,
                    )
            scheme = source.execute("SELECT value FROM meta WHERE key = 'nearcopy_scheme'").fetchone()
            if scheme is not None and scheme[0] == nearcopy.SCHEME:  # the same band hashes: copy, don't recompute
                for batch in _rows(source, "SELECT band, hash, article_id FROM article_bands"):
                    cur.executemany("INSERT INTO article_bands (band, hash, article_id) VALUES (%s, %s, %s)", batch)
                cur.execute(
                    "INSERT INTO meta VALUES ('nearcopy_scheme', %s)"
                    " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (nearcopy.SCHEME,),
                )
            for batch in _rows(source, "SELECT id, guild_id, user_id, question, passage_ids, asked_at FROM answers"):
                cur.executemany("INSERT INTO answers VALUES (%s, %s, %s, %s, %s, %s)", batch)
            for batch in _rows(source, "SELECT answer_id, user_id, vote, voted_at FROM votes"):
                cur.executemany("INSERT INTO votes VALUES (%s, %s, %s, %s)", batch)
            for batch in _rows(source, "SELECT id, at, guild_id, actor, action, target, outcome, detail FROM audit"):
                cur.executemany("INSERT INTO audit VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", batch)
            for settings_table, selected in (
                ("channel_modes", "channel_id, guild_id, mode, set_by, set_at"),
                ("conversations", "thread_id, guild_id, channel_id, question, updated_at"),
            ):  # a database from before channel modes and threads has neither table
                if source.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (settings_table,)).fetchone():
                    for rows in _rows(source, f"SELECT {selected} FROM {settings_table}"):
                        cur.executemany(f"INSERT INTO {settings_table} VALUES (%s, %s, %s, %s, %s)", rows)
            if source.execute("SELECT 1 FROM sqlite_master WHERE name = 'feeds'").fetchone():
                for batch in _rows(source, f"SELECT {FEED_COLUMNS} FROM feeds ORDER BY id"):
                    cur.executemany(f"INSERT INTO feeds ({FEED_COLUMNS}) VALUES ({_slots(13)})", batch)
                for batch in _rows(source, f"SELECT {ENTRY_COLUMNS} FROM feed_entries"):
                    cur.executemany(f"INSERT INTO feed_entries ({ENTRY_COLUMNS}) VALUES ({_slots(8)})", batch)
            for table in IDENTITIES:  # new rows continue after the copied ids
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                    f" greatest((SELECT MAX(id) FROM {table}), 1), (SELECT MAX(id) IS NOT NULL FROM {table}))"
                )
        expected = {
            "articles": source.execute("SELECT COUNT(*) FROM articles").fetchone()[0],
            "passages": source.execute("SELECT COUNT(*) FROM passages").fetchone()[0],
            "embeddings": source.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0],
        }
        source.execute("COMMIT")
        lines = []
        for table, count in expected.items():
            copied = int(target.query(f"SELECT COUNT(*) FROM {table}")[0][0])
            if copied != count:
                raise StoreError(f"{table}: {count} in SQLite but {copied} in PostgreSQL; the migration is incomplete")
            lines.append(f"{table}: {count} in SQLite, {copied} in PostgreSQL")
        if target.query("SELECT passages FROM lexical_totals")[0][0] != expected["passages"]:
            raise StoreError("the lexical index does not hold every passage; the migration is incomplete")
        for dim in sorted(dims):  # build the vector index once, now, rather than at the first question
            ensure_hnsw_index(target, dim)
        return lines
    finally:
        source.close()
        target.close()
