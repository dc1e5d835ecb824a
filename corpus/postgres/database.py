"""The PostgreSQL database the server backend keeps everything in, shared by its parts.

Set ``DATABASE_URL=postgresql://...`` and every process (bots, shards, command-line runs) works
on one database: articles, passages, embeddings (pgvector), the lexical index and the activity
log. Each change runs in one transaction that first bumps the generation number, so changes are
serialised, and every process sees a change as soon as it commits: there is nothing to catch up.

The lexical index is kept by the database itself, in the transaction that changes the passages:
triggers split each passage with :data:`TEXT_CONFIG` (the original Porter stemmer without stop
words, on text whose non-word characters are spaces, as FTS5's ``unicode61`` splits it) into
``passage_terms`` (term, how often), keep ``vocabulary`` (term, how many passages hold it) and
``lexical_totals`` (passages, tokens) current, so BM25 can be computed in SQL exactly as FTS5 does.
"""

from __future__ import annotations

import struct
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import psycopg
from psycopg.adapt import Dumper
from psycopg.pq import Format
from psycopg.types import TypeInfo

from corpus.bm25 import impact
from corpus.errors import StoreError
from corpus.postgres.feeds import SCHEMA as FEEDS_SCHEMA

#: The text search configuration passages and questions are split and stemmed with.
TEXT_CONFIG = "bot_porter"
#: Which articles a server sees: its own and the global ones (``a`` is the articles table).
VISIBLE = "(a.guild_id IS NULL OR a.guild_id = %(guild)s)"
#: Which recorded wire copies a server sees (``c`` is the article_copies table): its own and the global ones.
COPY_VISIBLE = "(c.guild_id IS NULL OR c.guild_id = %(guild)s)"

ACCENTED = "àáâãäåāçćčèéêëēėęìíîïīñńòóôõöøōùúûüūýÿžźżšśÀÁÂÃÄÅĀÇĆČÈÉÊËĒĖĘÌÍÎÏĪÑŃÒÓÔÕÖØŌÙÚÛÜŪÝŸŽŹŻŠŚ"
PLAIN = "aaaaaaaccceeeeeeeiiiiinnooooooouuuuuyyzzzssAAAAAAACCCEEEEEEEIIIIINNOOOOOOOUUUUUYYZZZSS"
assert len(ACCENTED) == len(PLAIN)


def _term_rows(passages: str) -> str:
    """SQL inserting the term-list rows of every passage in the table ``passages`` (the trigger's, or all).

    Passage by passage, so each passage's rows lie together on disk, where the exact rescoring
    reads them (in term order, the index inserts took 0.6 s less a batch of 2,500 passages, but
    a question's lexical search took 2 to 4 times as long: one page read per term row).
    """
    return (
        "INSERT INTO passage_terms (term, passage_id, tf, scope, length, impact)"
        " SELECT t.lexeme, n.id, cardinality(t.positions), coalesce(n.guild_id, 0), n.length,"
        f" {impact('cardinality(t.positions)', 'n.length')}"
        f" FROM {passages} n, unnest(bot_terms(n.text)) t"
    )


SCHEMA = f"""
CREATE EXTENSION IF NOT EXISTS vector;
CREATE TABLE IF NOT EXISTS meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_ts_dict WHERE dictname = 'bot_porter_stem') THEN
        -- The original Porter stemmer, as FTS5's, without a stop word list: every word counts, as in
        -- FTS5. (Snowball English, "Porter 2", stemmed 581 of the Reuters corpus's 15,142 words
        -- otherwise and cost 0.021 hit@1 on the news test half; this one, 24: bench/backends.py.)
        CREATE TEXT SEARCH DICTIONARY bot_porter_stem (TEMPLATE = snowball, Language = porter);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = '{TEXT_CONFIG}') THEN
        CREATE TEXT SEARCH CONFIGURATION {TEXT_CONFIG} (COPY = english);
        ALTER TEXT SEARCH CONFIGURATION {TEXT_CONFIG}
            ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part
            WITH bot_porter_stem;
    END IF;
END $$;
-- The terms of a text: non-word characters become spaces first ("U.S." is "u" and "s") and the
-- common Latin accents go ("café" is "cafe"), as FTS5's unicode61 with remove_diacritics 2 has them.
-- translate() is only called on a text that has one of those accents (1 news passage in 500): it
-- looks up every character of the text in the accent list, which cost more than the stemming.
CREATE OR REPLACE FUNCTION bot_terms(body text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN to_tsvector(
        '{TEXT_CONFIG}'::regconfig,
        CASE WHEN body ~ '[{ACCENTED}]'
            THEN translate(regexp_replace(body, '[^[:alnum:]]+', ' ', 'g'), '{ACCENTED}', '{PLAIN}')
            ELSE regexp_replace(body, '[^[:alnum:]]+', ' ', 'g')
        END
    );
CREATE OR REPLACE FUNCTION bot_length(body text) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (SELECT coalesce(sum(cardinality(t.positions)), 0)::integer FROM unnest(bot_terms(body)) t);
-- An identity is never reused, so "remove 7" can never hit a later article.
CREATE TABLE IF NOT EXISTS articles (
    id           bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    title        text NOT NULL,
    source       text,
    url          text,
    published    text,
    added_by     text,
    added_at     text NOT NULL,
    guild_id     bigint,             -- NULL: quoted everywhere (built-in, or added from the CLI)
    content_hash text NOT NULL,
    text         text NOT NULL
);
CREATE INDEX IF NOT EXISTS articles_hash ON articles(content_hash);
CREATE INDEX IF NOT EXISTS articles_url ON articles(url);
CREATE TABLE IF NOT EXISTS passages (
    id         bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    article_id bigint NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    guild_id   bigint,               -- the article's, so a search filters without a join
    position   integer NOT NULL,
    start      integer NOT NULL,
    "end"      integer NOT NULL,
    text       text NOT NULL,
    length     integer GENERATED ALWAYS AS (bot_length(text)) STORED  -- tokens, for BM25
);
CREATE INDEX IF NOT EXISTS passages_article ON passages(article_id);
-- A passage's term rows go with it through the passages_removed trigger, not a foreign key: the
-- key's check ran once per term row (60 a passage) and cost a sixth of an import.
CREATE TABLE IF NOT EXISTS passage_terms (
    term       text NOT NULL,
    passage_id bigint NOT NULL,
    tf         integer NOT NULL,
    PRIMARY KEY (term, passage_id)
);
CREATE INDEX IF NOT EXISTS passage_terms_passage ON passage_terms(passage_id);
DO $$ DECLARE key name;
BEGIN  -- a database made before the trigger did this has the foreign key
    FOR key IN SELECT conname FROM pg_constraint WHERE conrelid = 'passage_terms'::regclass AND contype = 'f' LOOP
        EXECUTE format('ALTER TABLE passage_terms DROP CONSTRAINT %I', key);
    END LOOP;
END $$;
-- Each term's list, per server (scope 0: the global articles), in the order of the term's BM25
-- weight (corpus/bm25.py), so a question reads only the heads of its terms' lists. A database
-- from before the lists gets them filled below, with the terms made again.
ALTER TABLE passage_terms ADD COLUMN IF NOT EXISTS scope bigint,
    ADD COLUMN IF NOT EXISTS length integer, ADD COLUMN IF NOT EXISTS impact real;
CREATE INDEX IF NOT EXISTS passage_terms_lists
    ON passage_terms(term, scope, impact DESC) INCLUDE (passage_id, tf, length);
CREATE TABLE IF NOT EXISTS vocabulary (   -- every term with how many passages hold it (its FTS5 "doc")
    term text PRIMARY KEY COLLATE "C",
    docs integer NOT NULL
);
CREATE TABLE IF NOT EXISTS lexical_totals (
    one      boolean PRIMARY KEY DEFAULT true CHECK (one),
    passages bigint NOT NULL,
    tokens   bigint NOT NULL
);
INSERT INTO lexical_totals VALUES (true, 0, 0) ON CONFLICT DO NOTHING;
CREATE OR REPLACE FUNCTION passages_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_term_rows("added")};
    UPDATE lexical_totals SET passages = passages + s.n, tokens = tokens + s.t
        FROM (SELECT count(*) AS n, coalesce(sum(length), 0) AS t FROM added) s;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION passages_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM passage_terms WHERE passage_id IN (SELECT id FROM removed);
    UPDATE lexical_totals SET passages = passages - s.n, tokens = tokens - s.t
        FROM (SELECT count(*) AS n, coalesce(sum(length), 0) AS t FROM removed) s;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION terms_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO vocabulary AS v (term, docs) SELECT term, count(*) FROM added GROUP BY term ORDER BY term
        ON CONFLICT (term) DO UPDATE SET docs = v.docs + excluded.docs;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION terms_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE vocabulary v SET docs = v.docs - r.n
        FROM (SELECT term, count(*) AS n FROM removed GROUP BY term) r WHERE v.term = r.term;
    DELETE FROM vocabulary WHERE docs <= 0;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER passages_added AFTER INSERT ON passages
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION passages_added();
CREATE OR REPLACE TRIGGER passages_removed AFTER DELETE ON passages
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION passages_removed();
CREATE OR REPLACE TRIGGER terms_added AFTER INSERT ON passage_terms
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION terms_added();
CREATE OR REPLACE TRIGGER terms_removed AFTER DELETE ON passage_terms
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION terms_removed();
DO $$ BEGIN
    -- A database whose terms another stemmer made (Snowball English, before), or from before the
    -- lists, gets its terms made again.
    IF NOT EXISTS (SELECT 1 FROM meta WHERE key = 'terms_stemmer' AND value = '{TEXT_CONFIG}') THEN
        DELETE FROM passage_terms;
        DELETE FROM vocabulary;
        {_term_rows("passages")};
        INSERT INTO meta VALUES ('terms_stemmer', '{TEXT_CONFIG}')
            ON CONFLICT (key) DO UPDATE SET value = excluded.value;
    END IF;
END $$;
CREATE TABLE IF NOT EXISTS embeddings (
    passage_id bigint PRIMARY KEY REFERENCES passages(id) ON DELETE CASCADE,
    guild_id   bigint,               -- the article's, so the vector index filters without a join
    model      text NOT NULL,
    dim        integer NOT NULL,
    vector     vector NOT NULL,      -- unit length; indexed as vector(dim) by the vector search
    sentences  bytea                 -- the passage's sentences' vectors (float32, sentences x dim)
);
CREATE TABLE IF NOT EXISTS answers (      -- what the bot showed, so buttons and votes can refer to it
    id          bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    guild_id    bigint,
    user_id     text,
    question    text NOT NULL,
    passage_ids text NOT NULL,              -- JSON list, in the order shown
    asked_at    text NOT NULL
);
-- /index gaps reads one server's recent questions.
CREATE INDEX IF NOT EXISTS answers_asked ON answers(guild_id, asked_at);
CREATE TABLE IF NOT EXISTS votes (
    answer_id bigint NOT NULL REFERENCES answers(id) ON DELETE CASCADE,
    user_id   text NOT NULL,
    vote      integer NOT NULL CHECK (vote IN (-1, 1)),
    voted_at  text NOT NULL,
    PRIMARY KEY (answer_id, user_id)
);
CREATE TABLE IF NOT EXISTS audit (        -- every moderator and admin action, refused ones too
    id       bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    at       text NOT NULL,
    guild_id bigint,
    actor    text NOT NULL,
    action   text NOT NULL,
    target   text,
    outcome  text NOT NULL,
    detail   text
);
-- How the bot listens in each channel an admin has set (the rest: "mention").
CREATE TABLE IF NOT EXISTS channel_modes (
    channel_id bigint PRIMARY KEY,
    guild_id   bigint NOT NULL,
    mode       text NOT NULL CHECK (mode IN ('auto', 'mention', 'off')),
    set_by     text,
    set_at     text NOT NULL
);
-- Threads the bot started, with the last question asked in each (what a follow-up leans on).
CREATE TABLE IF NOT EXISTS conversations (
    thread_id  bigint PRIMARY KEY,
    guild_id   bigint,
    channel_id bigint,
    question   text NOT NULL,
    updated_at text NOT NULL
);
-- Wire copies (corpus/nearcopy.py): each article's MinHash band hashes, so any process finds the
-- stored stories a new text may copy with one indexed query.
CREATE TABLE IF NOT EXISTS article_bands (
    band       integer NOT NULL,
    hash       bigint NOT NULL,
    article_id bigint NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    PRIMARY KEY (band, hash, article_id)
);
CREATE INDEX IF NOT EXISTS article_bands_article ON article_bands(article_id);
-- Other outlets that published a stored story: recorded against its first copy, which alone is stored.
CREATE TABLE IF NOT EXISTS article_copies (
    id           bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    article_id   bigint NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    title        text NOT NULL,
    source       text,
    url          text,
    published    text,
    added_by     text,
    added_at     text NOT NULL,
    guild_id     bigint,             -- who recorded it: seen there only (NULL: everywhere)
    content_hash text NOT NULL,
    similarity   double precision NOT NULL  -- Jaccard of the two texts' shingles (1.0: the same text)
);
CREATE INDEX IF NOT EXISTS article_copies_article ON article_copies(article_id);
CREATE INDEX IF NOT EXISTS article_copies_hash ON article_copies(content_hash);
CREATE INDEX IF NOT EXISTS article_copies_url ON article_copies(url);
INSERT INTO meta VALUES ('generation', '0') ON CONFLICT DO NOTHING;
"""

#: How many candidates an HNSW search keeps (pgvector's default is 40; the bot asks for 50 and more).
#: recall@10 at 100,000 passages on two builds of the scale bench (BENCHMARKS.md): 200 gave
#: 0.941 / 0.952, 300 0.959 / 0.966, 400 0.969 / 0.970 (the vector search 1.5 to 4 ms slower at p50
#: than with 200), 600 0.985 / 0.986: 400 keeps the 0.95 wanted with room for bigger databases.
EF_SEARCH = 400
#: Tables whose identity sequences must follow ids copied in by `migrate`.
IDENTITIES = ("articles", "passages", "answers", "audit", "article_copies", "feeds")
#: The setting the core stores once a new database has its built-in article (index/library.py).
FIRST_USE_DONE = "builtin_added"
#: Held, for its session, by the one process preparing a new database until FIRST_USE_DONE is set:
#: processes started together on an empty database (a bot and its shards, a command beside them)
#: would otherwise each find no built-in article and each add it. A killed holder's lock goes with
#: its session, and the next process does the first use again.
FIRST_USE_LOCK = 727276


@dataclass(frozen=True, slots=True)
class VectorParam:
    """A vector sent as pgvector's binary form: no text to format here or to parse on the server."""

    values: np.ndarray


class _VectorDumper(Dumper):
    """pgvector's binary input (its ``vector_recv``): the dimension, a zero, then big-endian float32 values."""

    format = Format.BINARY

    def dump(self, obj: VectorParam) -> bytes:
        values = np.asarray(obj.values, dtype=">f4")
        return struct.pack(">hh", len(values), 0) + values.tobytes()


def _register_vectors(connection: psycopg.Connection[Any]) -> None:
    """Let ``connection`` send :class:`VectorParam` (and lists of them) as the ``vector`` type, in binary."""
    info = TypeInfo.fetch(connection, "vector")
    if info is None:
        raise StoreError("the PostgreSQL database has no pgvector extension")
    info.register(connection)
    dumper = type("VectorDumper", (_VectorDumper,), {"oid": info.oid})
    connection.adapters.register_dumper(VectorParam, dumper)


class PgDatabase:
    """One PostgreSQL connection, safe to share between threads; every change goes through :meth:`write`."""

    def __init__(self, url: str) -> None:
        """Connect to ``url`` and create the schema if it is not there yet."""
        self.url = url
        self.lock = threading.RLock()
        try:
            self.connection = psycopg.connect(url, autocommit=True)
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to the PostgreSQL database in DATABASE_URL ({_first_line(exc)})") from exc
        try:
            with self.connection.transaction():
                # One process at a time creates the schema; the others wait and find it there.
                self.connection.execute("SELECT pg_advisory_xact_lock(727274)")
                self.connection.execute(SCHEMA + FEEDS_SCHEMA)  # type: ignore[arg-type]  # a constant
                self.connection.execute(
                    "INSERT INTO meta VALUES ('lineage', %s) ON CONFLICT DO NOTHING", (uuid.uuid4().hex,)
                )
            _register_vectors(self.connection)
            # Filtered vector searches go on through the index until they have found enough.
            self.connection.execute("SET hnsw.iterative_scan = relaxed_order")
            self.connection.execute(f"SET hnsw.ef_search = {EF_SEARCH:d}")
            self._first_use = False
            if self.get_meta(FIRST_USE_DONE) is None:  # wait for a process preparing it, or prepare it
                self.connection.execute("SELECT pg_advisory_lock(%s)", (FIRST_USE_LOCK,))
                self._first_use = True
                if self.get_meta(FIRST_USE_DONE) is not None:  # the other process has finished it
                    self._end_first_use()
        except (psycopg.Error, StoreError) as exc:
            self.connection.close()
            raise StoreError(f"cannot prepare the PostgreSQL database ({_first_line(exc)})") from exc

    def close(self) -> None:
        """Close the connection."""
        with self.lock:
            self.connection.close()

    @contextmanager
    def write(self) -> Iterator[psycopg.Connection[Any]]:
        """One write transaction that bumps the generation; it commits whole or not at all.

        The generation is bumped first: its row lock serialises every change, so the lexical
        totals and the vocabulary are never updated by two transactions at once.
        """
        with self.lock:
            if self.connection.broken:
                self._reconnect()
            try:
                with self.connection.transaction():
                    self.connection.execute(
                        "UPDATE meta SET value = (value::bigint + 1)::text WHERE key = 'generation'"
                    )
                    yield self.connection
            except psycopg.errors.DiskFull as exc:
                raise StoreError("the disk holding the PostgreSQL database is full; nothing was changed") from exc
            except psycopg.Error as exc:
                reason = _first_line(exc)
                raise StoreError(f"could not write to the PostgreSQL database ({reason}); nothing was changed") from exc

    def execute(self, sql: str, params: Sequence[object] | dict[str, object] = ()) -> None:
        """One statement outside the articles' transactions (the activity log, settings)."""
        self.query(sql, params, rows=False)

    def query(
        self, sql: str, params: Sequence[object] | dict[str, object] = (), *, rows: bool = True
    ) -> list[tuple[Any, ...]]:
        """The rows of one statement; a connection lost since the last one is made again first."""
        with self.lock:
            if self.connection.broken:
                self._reconnect()
            try:
                cursor = self.connection.execute(sql, params)  # type: ignore[arg-type]  # built from constants
                return cursor.fetchall() if rows else []
            except psycopg.OperationalError as exc:
                raise StoreError(f"the PostgreSQL database did not answer ({_first_line(exc)})") from exc

    def _reconnect(self) -> None:
        try:
            self.connection = psycopg.connect(self.url, autocommit=True)
            _register_vectors(self.connection)
            self.connection.execute("SET hnsw.iterative_scan = relaxed_order")
            self.connection.execute(f"SET hnsw.ef_search = {EF_SEARCH:d}")
        except psycopg.Error as exc:
            raise StoreError(f"cannot reconnect to the PostgreSQL database ({_first_line(exc)})") from exc

    # -- metadata ---------------------------------------------------------------------

    def generation(self) -> int:
        """The number of changes ever committed."""
        return int(self.query("SELECT value FROM meta WHERE key = 'generation'")[0][0])

    def lineage(self) -> str:
        """The identity of this database."""
        return self.get_meta("lineage") or ""

    def get_meta(self, key: str) -> str | None:
        """A stored setting, or None."""
        rows = self.query("SELECT value FROM meta WHERE key = %s", (key,))
        return str(rows[0][0]) if rows else None

    def set_meta(self, key: str, value: str) -> None:
        """Store a setting (without bumping the generation); FIRST_USE_DONE lets waiting processes go on."""
        self.execute(
            "INSERT INTO meta VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value)
        )
        if key == FIRST_USE_DONE:
            self._end_first_use()

    def _end_first_use(self) -> None:
        with self.lock:
            if self._first_use and not self.connection.broken:
                self.connection.execute("SELECT pg_advisory_unlock(%s)", (FIRST_USE_LOCK,))
            self._first_use = False


def visible_ids(db: PgDatabase, passage_ids: list[int], guild_id: int | None) -> set[int]:
    """Which of these passages ``guild_id`` may see."""
    if not passage_ids:
        return set()
    rows = db.query(
        f"SELECT p.id FROM passages p JOIN articles a ON a.id = p.article_id WHERE p.id = ANY(%(ids)s) AND {VISIBLE}",
        {"ids": passage_ids, "guild": guild_id},
    )
    return {int(r[0]) for r in rows}


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
