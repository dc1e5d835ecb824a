"""A full disk: a failed database write changes nothing; a failed index save leaves nothing half-written."""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

import pytest

import index.vectors
from corpus.errors import StoreError
from corpus.records import NewArticle
from corpus.sqlite.articles import SqliteArticleStore
from corpus.sqlite.database import Database
from index.library import Library
from index.vectors import MANIFEST

TEXT = (
    "Officials in Lake County said the new ballot scanners passed every accuracy test before early voting began.\n\n"
    "The county clerk said 41 scanners were tested and the results were posted on the county website."
)


def test_database_full_changes_nothing(library: Library, encoder) -> None:
    """When SQLite reports a full disk mid-add, the add fails with one sentence and nothing is stored."""
    before = (library.store.counts(), library.store.generation())
    store = library.store
    assert isinstance(store, SqliteArticleStore)
    pages = store.db.connection.execute("PRAGMA page_count").fetchone()[0]
    store.db.connection.execute(f"PRAGMA max_page_count = {pages}")  # the file may not grow: a full disk
    with pytest.raises(StoreError, match="is full; nothing was changed"):
        library.add_article(NewArticle("Lake County scanners", TEXT * 40))
    assert (library.store.counts(), library.store.generation()) == before
    library.close()
    reopened = Library.open(library.data_dir, encoder)
    assert reopened.store.integrity_check() == "ok" and reopened.store.counts() == before[0]
    assert reopened.vectors.size() == before[0][1]
    reopened.close()


def test_index_save_failing_with_enospc_leaves_no_temp_file(
    library: Library, encoder, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """ENOSPC while saving the index: the committed add stands, no temp file remains, and the next start heals."""
    data_dir = library.data_dir
    manifest_before = (data_dir / MANIFEST).read_text()

    real_writer = index.vectors._write_atomically

    def full_disk(path: Path, write) -> None:
        def partial(tmp: Path) -> None:
            tmp.write_bytes(b"half an index")
            raise OSError(errno.ENOSPC, "No space left on device")

        real_writer(path, partial)

    monkeypatch.setattr(index.vectors, "_write_atomically", full_disk)
    added = library.add_article(NewArticle("Lake County scanners", TEXT))
    assert "could not save it" in caplog.text and "No space left on device" in caplog.text
    monkeypatch.undo()
    assert (data_dir / MANIFEST).read_text() == manifest_before  # the old index is untouched
    assert not [p.name for p in data_dir.iterdir() if p.name.endswith(".tmp")]  # nothing half-written
    library.close()
    reopened = Library.open(data_dir, encoder)
    assert reopened.vectors.size() == reopened.store.counts()[1]  # rebuilt from the database at start
    assert any(q.article_id == added.id for q in reopened.ask("how many scanners did lake county test").quotes)
    reopened.close()


def test_real_temp_file_is_removed_when_the_write_fails(tmp_path: Path) -> None:
    """The atomic writer removes its temp file when the write fails part-way (nothing half-written remains)."""

    def failing(path: Path) -> None:
        path.write_bytes(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        index.vectors._write_atomically(tmp_path / "passages-9.faiss", failing)
    assert list(tmp_path.iterdir()) == []


def test_sqlite_full_error_is_one_sentence(tmp_path: Path) -> None:
    """The store names the file when the disk is full."""
    store = Database(tmp_path / "articles.sqlite3")
    error = store._explain(sqlite3.OperationalError("database or disk is full"))
    assert str(error) == f"the disk holding {tmp_path / 'articles.sqlite3'} is full; nothing was changed"
