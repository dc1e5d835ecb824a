"""Restoring a backup of the embedded database: older backups brought up to date, refusals leave nothing."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from corpus.errors import StoreError
from corpus.sqlite.lexical import Fts5Search
from corpus.sqlite.restore import restore_database
from tests.corpus.sqlite.test_articles import TEXT, _add, open_store


def test_restore_brings_an_older_backup_up_to_date(tmp_path: Path) -> None:
    """A backup from before the lexical index and sentence vectors restores; the restored copy has both."""
    old = open_store(tmp_path / "old.sqlite3")
    _add(old, "Maricopa", text="The tabulators in Maricopa passed the audit.")
    old.close()
    with closing(sqlite3.connect(tmp_path / "old.sqlite3")) as db:
        db.executescript(
            "DROP TRIGGER passages_fts_insert; DROP TRIGGER passages_fts_delete; DROP TABLE passages_fts;"
            " ALTER TABLE embeddings DROP COLUMN sentences;"
        )
    assert restore_database(tmp_path / "old.sqlite3", tmp_path / "db.sqlite3", model="m", dim=lambda: 4) is None
    store = open_store(tmp_path / "db.sqlite3")
    assert len(Fts5Search(store.db).search("maricopa tabulators", 5, None)) == 1
    store.close()


def test_refused_restore_leaves_nothing_behind(tmp_path: Path) -> None:
    """A backup of another model's embeddings is refused in one sentence; the database and its directory stay as they were."""
    backup = open_store(tmp_path / "backup.sqlite3")
    _add(backup, "A")
    backup.close()
    data = tmp_path / "data"
    data.mkdir()
    current = open_store(data / "db.sqlite3")
    _add(current, "B", text=TEXT + " B")
    current.close()
    before = sorted(data.iterdir())
    with pytest.raises(StoreError, match=r"backup\.sqlite3 holds 1 embeddings made by 'm', not by 'other'"):
        restore_database(tmp_path / "backup.sqlite3", data / "db.sqlite3", model="other", dim=lambda: 4)
    assert sorted(data.iterdir()) == before
    assert [a.title for a in open_store(data / "db.sqlite3").list_articles(None)] == ["B"]
