"""The embedded lexical search (FTS5 BM25): servers kept apart, odd questions harmless."""

from __future__ import annotations

from pathlib import Path

from corpus.sqlite.lexical import Fts5Search
from tests.corpus.sqlite.test_articles import _add, open_store


def test_lexical_search_respects_servers_and_odd_input(tmp_path: Path) -> None:
    """BM25 search sees only what the server may see, and quotes or FTS operators in questions are harmless."""
    store = open_store(tmp_path / "db.sqlite3")
    _add(store, "Theirs", 2, "The tabulators in Maricopa passed the audit.")
    assert Fts5Search(store.db).search("maricopa tabulators", 5, 1) == []
    assert len(Fts5Search(store.db).search("maricopa tabulators", 5, 2)) == 1
    for odd in ('"unbalanced quote', "NEAR(a b) OR AND NOT *", "the of and", ""):
        Fts5Search(store.db).search(odd, 5, 2)  # no exception
