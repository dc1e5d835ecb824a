"""The FAISS vector search shared by several libraries (as several processes hold them): one truth, no lost entries."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from corpus.errors import StoreError
from corpus.records import NewArticle
from corpus.sqlite.database import Database
from corpus.sqlite.restore import restore_database
from index.factory import DATABASE
from index.faiss_search import faiss_index
from index.library import Library
from index.vectors import load_index

# Shares no content word with BY_MEANING: only the dense index can find it for that question.
PELICAN = (
    "Tallahassee officials said the ballot-tabulating machines were unplugged from every network "
    "after investigators traced an intrusion to a contractor's laptop.\n\n"
    "Audits will follow in each county, a spokeswoman said."
)
BY_MEANING = "vote counting equipment disconnected from the internet after a breach"


def found_by_meaning(library: Library, article_id: int) -> bool:
    """Whether ``library`` finds the article among its candidates for BY_MEANING through its vector index alone."""
    query = library.encoder.encode([BY_MEANING])[0]
    found = library.candidates(library.spelled(BY_MEANING), query, 5, None)
    return any(c.passage.article_id == article_id and c.lexical == 0 for c in found)


@pytest.fixture
def shared(tmp_path: Path, seeded_dir: Path, encoder) -> Iterator[tuple[Library, Library]]:
    """Two libraries over one data directory, as the bot and a CLI command would open it."""
    path = tmp_path / "data"
    shutil.copytree(seeded_dir, path)
    bot, cli = Library.open(path, encoder), Library.open(path, encoder)
    yield bot, cli
    bot.close()
    cli.close()


def passage_ids(library: Library) -> set[int]:
    """Every passage id in the database."""
    return {pid for pid, _ in library.store.all_passage_texts()}


def test_a_change_by_another_process_is_answered_by_meaning(shared: tuple[Library, Library]) -> None:
    """The bot answers from an article a CLI process added after the bot loaded its index, found by meaning."""
    bot, cli = shared
    assert bot.ask("who did Ratcliffe blame?").answered  # the bot's index is loaded and in use
    added = cli.add_article(NewArticle("Florida unplugs tabulators", PELICAN))
    assert found_by_meaning(bot, added.id)
    assert set(faiss_index(bot.vectors).ids().tolist()) == passage_ids(bot)


def test_a_save_by_one_process_never_drops_another_process_s_passages(
    shared: tuple[Library, Library], tmp_path: Path, encoder
) -> None:
    """The reported loss: CLI adds, then the bot adds and saves; a fresh process still indexes both."""
    bot, cli = shared
    bot.stats()
    first = cli.add_article(NewArticle("Florida unplugs tabulators", PELICAN))
    second = bot.add_article(NewArticle("Ohio audits", "Ohio will audit every voting machine twice before May."))
    index, generation = load_index(tmp_path / "data", model=encoder.name, lineage=bot.store.lineage())
    assert generation == bot.store.generation()
    assert set(index.ids().tolist()) == passage_ids(bot)
    fresh = Library.open(tmp_path / "data", encoder)
    try:
        assert fresh.stats().indexed == fresh.stats().passages
        assert found_by_meaning(fresh, first.id)
        assert {a.id for a in fresh.list_articles()} >= {first.id, second.id}
    finally:
        fresh.close()


def test_removes_and_rebuilds_elsewhere_reach_the_running_process(shared: tuple[Library, Library]) -> None:
    """An article removed by another process is never quoted again; a rebuild elsewhere keeps the index exact."""
    bot, cli = shared
    added = cli.add_article(NewArticle("Florida unplugs tabulators", PELICAN))
    assert found_by_meaning(bot, added.id)
    cli.rebuild()
    assert set(faiss_index(bot.vectors).ids().tolist()) == passage_ids(bot)
    cli.remove_article(added.id)
    assert not found_by_meaning(bot, added.id)
    assert all(q.article_id != added.id for q in bot.ask("were the tallahassee tabulating machines unplugged").quotes)
    assert set(faiss_index(bot.vectors).ids().tolist()) == passage_ids(bot)


def test_an_older_saved_index_is_caught_up_without_re_embedding(tmp_path: Path, seeded_dir: Path, encoder) -> None:
    """A process starting after others changed the database loads the saved index and applies the log."""
    path = tmp_path / "data"
    shutil.copytree(seeded_dir, path)
    writer = Library.open(path, encoder)
    writer.add_article(NewArticle("Florida unplugs tabulators", PELICAN))
    saved = writer.store.generation()
    writer.store.remove_article(writer.list_articles()[0].id, None)  # committed, but no index saved after it
    writer.close()
    before = encoder.encoded
    reader = Library.open(path, encoder)
    try:
        assert reader.store.generation() > saved
        assert set(faiss_index(reader.vectors).ids().tolist()) == passage_ids(reader)
        assert encoder.encoded == before  # caught up from stored vectors, nothing embedded again
    finally:
        reader.close()


def test_restore_is_refused_while_another_process_has_the_database_open(tmp_path: Path, library: Library) -> None:
    """`restore` under a running bot would lose the bot's later changes: it is refused, and nothing changes."""
    backup = tmp_path / "backup.sqlite3"
    library.backup(backup)
    database = library.data_dir / DATABASE
    before = database.read_bytes()
    with pytest.raises(StoreError, match="open in another process"):
        restore_database(backup, database, model=library.encoder.name, dim=lambda: library.encoder.dim)
    assert database.read_bytes() == before
    library.close()
    assert (
        restore_database(backup, database, model=library.encoder.name, dim=lambda: library.encoder.dim) is not None
    )  # once nobody has it open


def test_a_restored_database_never_trusts_the_old_index(tmp_path: Path, library: Library, encoder) -> None:
    """A restored backup is another database: an index saved before the restore is rebuilt, not caught up."""
    backup = tmp_path / "backup.sqlite3"
    library.backup(backup)
    added = library.add_article(NewArticle("Florida unplugs tabulators", PELICAN))
    data_dir = library.data_dir
    library.close()
    restore_database(
        backup, data_dir / DATABASE, model=encoder.name, dim=lambda: encoder.dim
    )  # the index files stay, as after a kill before they are forgotten
    restored = Library.open(data_dir, encoder)
    try:
        assert added.id not in {a.id for a in restored.list_articles()}
        assert set(faiss_index(restored.vectors).ids().tolist()) == passage_ids(restored)
    finally:
        restored.close()


def test_the_log_is_trimmed_and_a_process_behind_it_reloads(
    tmp_path: Path, seeded_dir: Path, encoder, monkeypatch
) -> None:
    """Past the log's length the oldest changes go; a process older than what is left rebuilds from the database."""
    import corpus.sqlite.articles

    monkeypatch.setattr(corpus.sqlite.articles, "LOG_ROWS", 2)
    path = tmp_path / "data"
    shutil.copytree(seeded_dir, path)
    behind, writer = Library.open(path, encoder), Library.open(path, encoder)
    try:
        behind.stats()
        reflected = behind.store.generation()
        for n in range(3):
            writer.add_article(NewArticle(f"Audit {n}", f"County {n} will audit voting machine number {n} in May."))
        assert writer.store.changes_since(reflected, encoder.name) is None
        assert set(faiss_index(behind.vectors).ids().tolist()) == passage_ids(behind)
    finally:
        behind.close()
        writer.close()


def test_store_logs_cascaded_removals(tmp_path: Path) -> None:
    """Removing an article logs each of its passages as removed (the foreign-key cascade fires the trigger)."""
    store = Database(tmp_path / "a.sqlite3")
    try:
        store.connection.execute(
            "INSERT INTO articles (title, added_at, content_hash, text) VALUES ('t', 'now', 'h', 'x')"
        )
        store.connection.execute(
            "INSERT INTO passages (article_id, position, start, end, text) VALUES (1, 0, 0, 1, 'x')"
        )
        store.connection.execute("DELETE FROM articles WHERE id = 1")
        assert store.connection.execute("SELECT passage_id, op FROM passage_log").fetchall() == [(1, -1)]
    finally:
        store.close()
