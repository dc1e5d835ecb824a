"""Which parts the core is made of: chosen here, in one place, from the settings.

Today the embedded backend: one SQLite file (articles, passages, embeddings, FTS5, activity)
with a FAISS index in files beside it.
"""

from __future__ import annotations

from pathlib import Path

from corpus.errors import StoreError
from corpus.sqlite.activity import SqliteActivityLog
from corpus.sqlite.articles import SqliteArticleStore
from corpus.sqlite.database import Database
from corpus.sqlite.lexical import Fts5Search
from corpus.sqlite.restore import restore_database
from index.encoder import Encoder
from index.faiss_search import FaissSearch
from index.parts import Parts
from index.vectors import MANIFEST, forget_index

#: The embedded backend's database file inside the data directory.
DATABASE = "articles.sqlite3"


def open_parts(data_dir: Path, encoder: Encoder) -> Parts:
    """The embedded parts over ``data_dir`` (created if needed), for vectors made by ``encoder``."""
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
    )


def restore_backup(data_dir: Path, backup: Path, encoder: Encoder) -> Path | None:
    """Check ``backup`` and swap it in for the data directory's database; return where the old one was kept.

    Refused in one sentence, with nothing changed, while any process has the database open or
    when the backup is not this bot's schema with ``encoder``'s embeddings. The saved index is
    forgotten: it is rebuilt from the restored embeddings when next opened.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    kept = restore_database(backup, data_dir / DATABASE, model=encoder.name, dim=lambda: encoder.dim)
    forget_index(data_dir)
    return kept
