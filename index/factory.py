"""Which parts the core is made of: chosen here, in one place, from the settings.

Without a database URL, the embedded backend: one SQLite file (articles, passages, embeddings,
FTS5, activity) with a FAISS index in files beside it. With a ``postgresql://`` URL
(``DATABASE_URL``), the server backend: everything in one PostgreSQL database with pgvector
(``corpus/postgres/``), shared by every process that names it.
"""

from __future__ import annotations

from pathlib import Path

from corpus.errors import BadInput, StoreError
from corpus.sqlite.activity import SqliteActivityLog
from corpus.sqlite.articles import SqliteArticleStore
from corpus.sqlite.database import Database
from corpus.sqlite.feeds import SqliteFeedStore
from corpus.sqlite.lexical import Fts5Search
from corpus.sqlite.restore import restore_database
from index.encoder import Encoder
from index.faiss_search import FaissSearch
from index.parts import Parts
from index.vectors import MANIFEST, forget_index

#: The embedded backend's database file inside the data directory.
DATABASE = "articles.sqlite3"


def is_postgres(database_url: str | None) -> bool:
    """Whether ``database_url`` names a PostgreSQL database (anything else set is refused)."""
    if not database_url:
        return False
    if database_url.startswith(("postgresql://", "postgres://")):
        return True
    raise BadInput("DATABASE_URL must be a postgresql:// URL (or unset, for the SQLite file in the data directory)")


def open_parts(data_dir: Path, encoder: Encoder, database_url: str | None = None) -> Parts:
    """The embedded parts over ``data_dir`` (created if needed), or with a PostgreSQL ``database_url`` the server's."""
    if is_postgres(database_url):
        assert database_url is not None
        return open_postgres_parts(database_url, encoder)
    data_dir.mkdir(parents=True, exist_ok=True)
    database = data_dir / DATABASE
    if not database.exists() and (data_dir / MANIFEST).exists():
        # An index without its database means the articles were lost, not that there were none.
        raise StoreError(
            f"{database} is missing although {data_dir} holds an index of its articles; restore a backup"
            " with `python run_bot.py restore BACKUP_FILE` (or delete index.json to start empty)"
        )
    db = Database(database)
    store = SqliteArticleStore(db)
    return Parts(
        store=store,
        lexical=Fts5Search(db),
        vectors=FaissSearch(data_dir, store, model=encoder.name, dim=lambda: encoder.dim),
        activity=SqliteActivityLog(db),
        feeds=SqliteFeedStore(db),
    )


def open_postgres_parts(database_url: str, encoder: Encoder) -> Parts:
    """The server parts over one PostgreSQL database (its schema created if needed)."""
    from corpus.postgres.activity import PgActivityLog
    from corpus.postgres.articles import PgArticleStore
    from corpus.postgres.database import PgDatabase
    from corpus.postgres.feeds import PgFeedStore
    from corpus.postgres.lexical import PgLexicalSearch
    from corpus.postgres.vectors import PgVectorSearch

    db = PgDatabase(database_url)
    try:
        vectors_db = db.sibling()  # its own connection, so the two searches of a question run side by side
    except BaseException:
        db.close()
        raise
    return Parts(
        store=PgArticleStore(db),
        lexical=PgLexicalSearch(db),
        vectors=PgVectorSearch(vectors_db, model=encoder.name, dim=lambda: encoder.dim),
        activity=PgActivityLog(db),
        feeds=PgFeedStore(db),
    )


def restore_backup(data_dir: Path, backup: Path, encoder: Encoder, database_url: str | None = None) -> Path | None:
    """Check ``backup`` and swap it in for the data directory's database; return where the old one was kept.

    Refused in one sentence, with nothing changed, while any process has the database open or
    when the backup is not this bot's schema with ``encoder``'s embeddings. The saved index is
    forgotten: it is rebuilt from the restored embeddings when next opened. Refused for PostgreSQL.
    """
    if is_postgres(database_url):
        raise StoreError(
            "the articles are in PostgreSQL (DATABASE_URL): restore a `pg_dump -Fc` copy with `pg_restore`;"
            " `restore` swaps in only the embedded SQLite database"
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    kept = restore_database(backup, data_dir / DATABASE, model=encoder.name, dim=lambda: encoder.dim)
    forget_index(data_dir)
    return kept
