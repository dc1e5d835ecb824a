"""The embedded (SQLite) article store: one transaction per change, a generation per change, servers kept apart."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from corpus.chunking import Span
from corpus.errors import StoreError
from corpus.records import NewArticle
from corpus.sqlite.articles import SqliteArticleStore
from corpus.sqlite.database import Database

TEXT = "Officials said the voting machines passed every audit this year."


def open_store(path: Path) -> SqliteArticleStore:
    """The embedded article store over a database file."""
    return SqliteArticleStore(Database(path))


def _add(store: SqliteArticleStore, title: str, guild: int | None = None, text: str = TEXT) -> int:
    span = Span(0, len(text), text)
    [(article_id, _)] = store.add_articles(
        [(NewArticle(title, text, guild_id=guild), [span], np.ones((1, 4), np.float32), [None])], "m"
    )
    return article_id


def test_changes_bump_generation_and_cascade(tmp_path: Path) -> None:
    """Adding and removing each bump the generation; removal takes passages and embeddings with it."""
    store = open_store(tmp_path / "db.sqlite3")
    assert store.generation() == 0
    article_id = _add(store, "A")
    assert store.generation() == 1 and store.counts() == (1, 1)
    assert store.remove_article(article_id, None) is not None
    assert store.generation() == 2 and store.counts() == (0, 0)
    assert len(store.embeddings("m")[0]) == 0


def test_ids_are_never_reused(tmp_path: Path) -> None:
    """After the newest article is removed, the next one gets a new id, never the removed one's."""
    store = open_store(tmp_path / "db.sqlite3")
    first = _add(store, "A")
    store.remove_article(first, None)
    assert _add(store, "B", text=TEXT + " again") == first + 1


def test_failed_transaction_leaves_nothing(tmp_path: Path) -> None:
    """A batch that fails part-way stores none of its articles and keeps the generation."""
    store = open_store(tmp_path / "db.sqlite3")
    good = (NewArticle("A", TEXT), [Span(0, 5, TEXT[:5])], np.ones((1, 4), np.float32), [None])
    bad = (NewArticle("B", TEXT), [Span(0, 5, TEXT[:5])], np.ones((2, 4), np.float32), [None, None])
    with pytest.raises(ValueError, match="exactly one embedding"):
        store.add_articles([good, bad], "m")
    assert store.counts() == (0, 0) and store.generation() == 0


def test_guilds_see_global_and_their_own_only(tmp_path: Path) -> None:
    """A server sees global articles and its own, never another server's."""
    store = open_store(tmp_path / "db.sqlite3")
    glob, mine, theirs = (
        _add(store, "G", None, TEXT),
        _add(store, "Mine", 1, TEXT + " 1"),
        _add(store, "Theirs", 2, TEXT + " 2"),
    )
    assert [a.id for a in store.list_articles(1)] == [glob, mine]
    assert store.get_article(theirs, 1) is None
    assert store.remove_article(theirs, 1) is None and store.counts()[0] == 3
    assert store.find_duplicate(TEXT + " 2", None, 1) is None
    assert (
        store.find_duplicate("  officials SAID the voting machines passed every audit this year. 2", None, 2) == theirs
    )


def test_a_database_busy_at_open_is_not_called_damaged(tmp_path: Path) -> None:
    """Another process's long write at open time asks to try again; it does not send the admin to a backup."""
    path = tmp_path / "articles.sqlite3"
    open_store(path).close()
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # as an import or a schema upgrade holds it
    try:
        with pytest.raises(StoreError, match=r"busy with another writer.*try again") as refused:
            open_store(path)
        assert "backup" not in str(refused.value)
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    open_store(path).close()  # and once the writer is done, it opens


def test_damaged_database_is_named(tmp_path: Path) -> None:
    """A file that is not a database gives an error naming it and saying to restore a backup."""
    path = tmp_path / "articles.sqlite3"
    path.write_bytes(b"this is not sqlite" * 1000)
    with pytest.raises(StoreError, match=r"articles\.sqlite3.*restore it from a backup"):
        open_store(path)
