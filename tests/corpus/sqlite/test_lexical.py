"""The embedded lexical search: FTS5's BM25 from the term lists, servers kept apart, odd questions harmless."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from corpus.chunking import Span
from corpus.records import NewArticle
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


TEXTS = [
    "Officials said the voting machines passed every audit this year.",
    "The audit found that voting machines in three counties were not certified, officials said.",
    "Election officials in Georgia said paper ballots would be counted again.",
    "Hackers targeted voter registration databases in Illinois and Arizona before the election.",
    "Paper ballots and audits make machine counts verifiable, experts said, and officials agreed.",
    "Officials said officials said officials said nothing about machines.",
]
QUESTIONS = ["voting machines audit", "paper ballots counted", "hackers election databases", "officials said machines"]


def fts5_ranking(store, question: str) -> list[tuple[int, float]]:
    """FTS5's own bm25() over every passage, best first: what the lexical search must reproduce."""
    words = " OR ".join(f'"{w}"' for w in dict.fromkeys(question.split()))
    rows = store.db.query(
        "SELECT rowid, -bm25(passages_fts) FROM passages_fts WHERE passages_fts MATCH ? ORDER BY bm25(passages_fts)",
        (words,),
    )
    return [(int(pid), float(score)) for pid, score in rows]


def test_scores_and_order_are_fts5s_even_when_lists_are_cut(tmp_path: Path, monkeypatch) -> None:
    """The ranking gives FTS5's bm25() scores in its order, whole lists or lists cut short and rescored."""
    store = open_store(tmp_path / "db.sqlite3")
    for i, text in enumerate(TEXTS):
        _add(store, f"T{i}", text=text)
    search = Fts5Search(store.db)
    for depth in (1000, 2):  # 2: "said" and "officials" are in more passages than a list holds
        monkeypatch.setattr("corpus.bm25.LIST_DEPTH", depth)
        for question in QUESTIONS:
            exact = fts5_ranking(store, question)
            found = search.search(question, 2, None)
            assert [pid for pid, _ in found] == [pid for pid, _ in exact[:2]], (depth, question)
            assert [round(s, 9) for _, s in found] == [round(s, 9) for _, s in exact[:2]], (depth, question)


def test_removing_and_replacing_keep_the_counts_true(tmp_path: Path) -> None:
    """After adds, a replace and a remove, the term counts BM25 uses are those of the passages stored."""
    store = open_store(tmp_path / "db.sqlite3")
    ids = [_add(store, f"T{i}", text=text) for i, text in enumerate(TEXTS)]
    removed = {pid for (pid,) in store.db.query("SELECT id FROM passages WHERE article_id = ?", (ids[0],))}
    store.remove_article(ids[0], None)
    text = "Auditors counted paper ballots by hand in Georgia."
    store.replace_article(ids[2], (NewArticle("T2", text), [Span(0, len(text), text)], np.ones((1, 4)), [None]), "m")
    db = store.db
    db.connection.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.v USING fts5vocab(main, passages_fts, row)")
    assert dict(db.query("SELECT term, docs FROM vocabulary")) == dict(db.query("SELECT term, doc FROM temp.v"))
    passages, tokens = db.query("SELECT passages, tokens FROM lexical_totals")[0]
    assert passages == 5 and tokens == sum(cnt for (cnt,) in db.query("SELECT cnt FROM temp.v"))
    assert removed.isdisjoint({pid for pid, _ in Fts5Search(db).search("voting machines passed every audit", 5, None)})
    for question in QUESTIONS:
        assert Fts5Search(db).search(question, 3, None) == fts5_ranking(store, question)[:3]


def test_a_database_from_before_the_term_lists_is_indexed_on_open(tmp_path: Path) -> None:
    """A data directory written before ``passage_terms`` existed answers the same once opened."""
    path = tmp_path / "db.sqlite3"
    store = open_store(path)
    for i, text in enumerate(TEXTS):
        _add(store, f"T{i}", 7 if i == 3 else None, text)
    before = {q: Fts5Search(store.db).search(q, 3, 7) for q in QUESTIONS}
    with store.db.write() as db:  # what an older version left: no term lists, no flag
        db.execute("DROP TABLE passage_terms")
        db.execute("DROP TABLE vocabulary")
        db.execute("DELETE FROM lexical_totals")
        db.execute("DELETE FROM meta WHERE key = 'terms_indexed'")
    store.close()
    reopened = open_store(path)
    assert {q: Fts5Search(reopened.db).search(q, 3, 7) for q in QUESTIONS} == before
    assert Fts5Search(reopened.db).search("hackers illinois", 3, None) == []  # server 7's article stays its own


def test_an_older_database_gets_the_covering_lookup_index_and_ranks_the_same(tmp_path: Path, monkeypatch) -> None:
    """A database whose (passage, term) index lacked tf and length gets the covering one on open; removals still work."""
    path = tmp_path / "db.sqlite3"
    store = open_store(path)
    ids = [_add(store, f"T{i}", text=text) for i, text in enumerate(TEXTS)]
    monkeypatch.setattr("corpus.bm25.LIST_DEPTH", 2)  # the rescoring reads the index for the cut lists
    before = {q: Fts5Search(store.db).search(q, 3, None) for q in QUESTIONS}
    with store.db.write() as db:  # as the earlier schema made it
        db.execute("DROP INDEX passage_terms_lookup")
        db.execute("CREATE INDEX passage_terms_passage ON passage_terms(passage_id, term)")
    store.close()
    reopened = open_store(path)
    indexes = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'passage_terms' ORDER BY name"
    assert reopened.db.query(indexes) == [("passage_terms_lookup",)]
    assert {q: Fts5Search(reopened.db).search(q, 3, None) for q in QUESTIONS} == before
    reopened.remove_article(ids[0], None)
    assert reopened.db.query(
        "SELECT count(*) FROM passage_terms WHERE passage_id NOT IN (SELECT id FROM passages)"
    ) == [(0,)]
