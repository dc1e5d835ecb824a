"""The factory: the embedded parts over one data directory, and what it refuses."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from corpus.errors import StoreError
from corpus.sqlite.activity import SqliteActivityLog
from corpus.sqlite.articles import SqliteArticleStore
from corpus.sqlite.lexical import Fts5Search
from index.factory import DATABASE, open_parts, restore_backup
from index.faiss_search import FaissSearch
from index.library import Library


def test_embedded_parts_share_one_database(tmp_path: Path, encoder) -> None:
    """Without other settings the parts are SQLite, FTS5, FAISS and the SQLite activity log over one file."""
    parts = open_parts(tmp_path / "data", encoder)
    try:
        assert isinstance(parts.store, SqliteArticleStore) and isinstance(parts.lexical, Fts5Search)
        assert isinstance(parts.vectors, FaissSearch) and isinstance(parts.activity, SqliteActivityLog)
        assert parts.store.db is parts.lexical.db is parts.activity.db
        assert parts.store.path == tmp_path / "data" / DATABASE
    finally:
        parts.store.close()


def test_an_index_without_its_database_is_refused(tmp_path: Path, seeded_dir: Path, encoder) -> None:
    """A data directory that lost its database but kept the index says to restore, instead of starting empty."""
    shutil.copytree(seeded_dir, tmp_path / "data")
    (tmp_path / "data" / DATABASE).unlink()
    with pytest.raises(StoreError, match=r"is missing although .* holds an index of its articles; restore a backup"):
        Library.open(tmp_path / "data", encoder)


def test_restore_is_refused_while_the_data_is_open(tmp_path: Path, seeded_dir: Path, encoder) -> None:
    """`restore_backup` refuses in one sentence while a library has the database open, and changes nothing."""
    shutil.copytree(seeded_dir, tmp_path / "data")
    library = Library.open(tmp_path / "data", encoder)
    try:
        library.backup(tmp_path / "backup.sqlite3")
        before = library.counts()
        with pytest.raises(StoreError, match=r"is open in another process .* Nothing was restored"):
            restore_backup(tmp_path / "data", tmp_path / "backup.sqlite3", encoder)
        assert library.counts() == before
    finally:
        library.close()
    assert restore_backup(tmp_path / "data", tmp_path / "backup.sqlite3", encoder) is not None
