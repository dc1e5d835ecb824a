"""Both backends behave alike: the embedded one (SQLite, FTS5, FAISS) and the server one (PostgreSQL, pgvector).

Every test taking ``backend`` or ``any_library`` runs once on each, with the real model and a
real PostgreSQL (tests/conftest.py); nothing of either database is mocked.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import numpy as np
import psycopg
import pytest

from corpus.chunking import Span
from corpus.errors import StoreError, UnknownArticle
from corpus.postgres.articles import PgArticleStore
from corpus.postgres.database import ef_search_for
from corpus.postgres.vectors import EF_CONSTRUCTION, PgVectorSearch
from corpus.records import ArticleRows, NewArticle
from index.factory import DATABASE, open_parts
from index.library import Library
from index.parts import Parts
from tests.conftest import CountingEncoder
from tests.corpus.sqlite.test_lexical import fts5_ranking
from tests.test_cli import run_cli

TEXT = "Officials said the voting machines passed every audit this year."
HEINRICH = (
    "WASHINGTON (Reuters) - A bipartisan pair of senators said on Tuesday they would introduce the Ballot Armor Act. "
    "The bill is sponsored by Senator Wilma Quarrington, who said county election offices need paper backups.\n\n"
    "Quarrington said the grants would pay for audits of every voting machine before the midterms."
)
RATCLIFFE = "who did Ratcliffe blame?"


def quoted(answer) -> str:
    """All quote text of an answer, joined."""
    return "\n".join(q.text for q in answer.quotes)


@pytest.fixture
def parts(tmp_path: Path, encoder: CountingEncoder, backend: str | None) -> Iterator[Parts]:
    """The four parts the factory picks for ``backend``, over an empty database."""
    made = open_parts(tmp_path / "data", encoder, backend)
    yield made
    made.close()


def _add(parts: Parts, title: str, guild: int | None = None, text: str = TEXT) -> int:
    span = Span(0, len(text), text)
    [(article_id, _)] = parts.store.add_articles(
        [(NewArticle(title, text, guild_id=guild), [span], np.ones((1, 4), np.float32), [None])], "m"
    )
    return article_id


# -- the article store ------------------------------------------------------------------


def test_changes_bump_generation_and_cascade(parts: Parts) -> None:
    """Adding and removing each bump the generation; removal takes passages and embeddings with it."""
    assert parts.store.generation() == 0
    article_id = _add(parts, "A")
    assert parts.store.generation() == 1 and parts.store.counts() == (1, 1)
    assert parts.store.embedding_models() == {"m": 1}
    assert parts.store.remove_article(article_id, None) is not None
    assert parts.store.generation() == 2 and parts.store.counts() == (0, 0)
    assert parts.store.embedding_models() == {}


def test_ids_are_never_reused(parts: Parts) -> None:
    """After the newest article is removed, the next one gets a new id, never the removed one's."""
    first = _add(parts, "A")
    parts.store.remove_article(first, None)
    assert _add(parts, "B", text=TEXT + " again") == first + 1


def test_failed_transaction_leaves_nothing(parts: Parts) -> None:
    """A batch that fails part-way stores none of its articles and keeps the generation."""
    good = (NewArticle("A", TEXT), [Span(0, 5, TEXT[:5])], np.ones((1, 4), np.float32), [None])
    bad = (NewArticle("B", TEXT), [Span(0, 5, TEXT[:5])], np.ones((2, 4), np.float32), [None, None])
    with pytest.raises(ValueError, match="exactly one embedding"):
        parts.store.add_articles([good, bad], "m")
    assert parts.store.counts() == (0, 0) and parts.store.generation() == 0
    assert parts.lexical.search("voting", 5, None) == []


def test_guilds_see_global_and_their_own_only(parts: Parts) -> None:
    """A server sees global articles and its own, never another server's."""
    glob, mine, theirs = (
        _add(parts, "G", None, TEXT),
        _add(parts, "Mine", 1, TEXT + " 1"),
        _add(parts, "T", 2, TEXT + " 2"),
    )
    store = parts.store
    assert [a.id for a in store.list_articles(1)] == [glob, mine] and store.count_articles(1) == 2
    assert store.get_article(theirs, 1) is None
    assert store.remove_article(theirs, 1) is None and store.counts()[0] == 3
    assert store.find_duplicate(TEXT + " 2", None, 1) is None
    assert (
        store.find_duplicate("  officials SAID the voting machines passed every audit this year. 2", None, 2) == theirs
    )
    passages = {p.article_id: p.id for a in (glob, mine, theirs) for p in store.article_passages(a)}
    assert store.visible_ids(passages.values(), 1) == {passages[glob], passages[mine]}
    assert set(store.visible_passages(passages.values(), None)) == {passages[glob]}


def test_replace_swaps_passages_in_one_change(parts: Parts) -> None:
    """Replacing an article swaps its text and passages in one change: old words are gone, new ones found."""
    article_id = _add(parts, "A", 7)
    generation = parts.store.generation()
    new = "Clerks counted every paper ballot by hand in Maricopa."
    old_ids, new_ids = parts.store.replace_article(
        article_id, (NewArticle("A2", new, guild_id=7), [Span(0, len(new), new)], np.ones((1, 4)), [None]), "m"
    )
    assert parts.store.generation() == generation + 1 and set(old_ids).isdisjoint(new_ids)
    replaced = parts.store.get_article(article_id, 7)
    assert (
        parts.store.article_texts([article_id])[article_id] == new and replaced is not None and replaced.title == "A2"
    )
    assert parts.lexical.search("voting machines", 5, 7) == []
    assert [pid for pid, _ in parts.lexical.search("maricopa ballots", 5, 7)] == new_ids
    assert parts.lexical.search("maricopa", 5, 8) == []


def test_lexical_search_respects_servers_and_odd_input(parts: Parts) -> None:
    """BM25 sees only what the server may see; quotes, operators and stop words in questions are harmless."""
    _add(parts, "Mine", 1)
    for question in [
        '"voting" OR NEAR(machines',
        "voting* AND -audit:",
        "the of and",
        "",
        "'; DROP TABLE passages; --",
    ]:
        parts.lexical.search(question, 5, 1)
        parts.lexical.search(question, 5, 2)
    assert len(parts.lexical.search("voting machines", 5, 1)) == 1
    assert parts.lexical.search("voting machines", 5, 2) == []


def test_bm25_scores_are_fts5s(
    tmp_path: Path, encoder: CountingEncoder, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the same passages, both backends give FTS5's bm25() scores in FTS5's order, lists whole or cut short."""
    texts = [
        "Officials said the voting machines passed every audit this year.",
        "The audit found that voting machines in three counties were not certified, officials said.",
        "Election officials in Georgia said paper ballots would be counted again.",
        "Hackers targeted voter registration databases in Illinois and Arizona before the election.",
        "Paper ballots and audits make machine counts verifiable, experts said.",
    ]
    sqlite_parts = open_parts(tmp_path / "data", encoder)
    pg_parts = open_parts(tmp_path / "unused", encoder, database_url)
    try:
        for i, text in enumerate(texts):
            _add(sqlite_parts, f"T{i}", text=text)
            _add(pg_parts, f"T{i}", text=text)
        questions = ["voting machines audit", "paper ballots counted", "hackers election databases", "officials"]
        for depth in (1000, 2):  # 2: "officials" and "said" are in more passages than a list holds
            monkeypatch.setattr("corpus.bm25.LIST_DEPTH", depth)
            for question in questions:
                exact = fts5_ranking(sqlite_parts.store, question)[:2]
                fts5, sql = sqlite_parts.lexical.search(question, 2, None), pg_parts.lexical.search(question, 2, None)
                assert [pid for pid, _ in fts5] == [pid for pid, _ in sql] == [pid for pid, _ in exact], question
                assert np.allclose([s for _, s in sql], [s for _, s in exact], rtol=1e-6), question
        # A database from before the term lists were ordered gets them on the next open, and ranks the same.
        before = {q: pg_parts.lexical.search(q, 3, None) for q in questions}
        assert isinstance(pg_parts.store, PgArticleStore)
        with pg_parts.store.db.write() as db:
            db.execute("UPDATE passage_terms SET scope = NULL, length = NULL, impact = NULL")
            db.execute("DELETE FROM meta WHERE key = 'terms_stemmer'")
        pg_parts.close()  # it holds the first-use lock of a database no Library has prepared
        pg_parts = open_parts(tmp_path / "unused", encoder, database_url)
        assert {q: pg_parts.lexical.search(q, 3, None) for q in questions} == before
    finally:
        sqlite_parts.close()
        pg_parts.close()


def _batch_article(title: str, texts: list[str], guild: int | None, seed: int) -> ArticleRows:
    """An article of several passages with random unit vectors, sentence vectors for all but its last passage."""
    text, spans, at = "", [], 0
    for passage in texts:
        spans.append(Span(at, at + len(passage), passage))
        text += passage + "\n\n"
        at = len(text)
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(len(texts), 8)).astype(np.float32)
    sentences = [rng.normal(size=(2, 8)).astype(np.float32) for _ in texts[:-1]] + [None]
    return NewArticle(title, text.rstrip(), guild_id=guild), spans, vectors, sentences


def test_a_batch_goes_in_whole_with_its_ids_in_order(parts: Parts) -> None:
    """Articles added in one batch get ascending ids, their passages in reading order, and their vectors bit for bit."""
    batch = [
        _batch_article("A", ["Clerks counted paper ballots in Maricopa.", "The count ended on Friday."], None, 1),
        _batch_article("B", ["Hackers probed voter rolls in Illinois."], 5, 2),
        _batch_article("C", ["Georgia audited every machine.", "Officials certified it.", "Turnout rose."], None, 3),
    ]
    stored = parts.store.add_articles(batch, "m")
    article_ids = [a for a, _ in stored]
    passage_ids = [pid for _, pids in stored for pid in pids]
    assert article_ids == sorted(article_ids) and passage_ids == sorted(passage_ids) and len(set(passage_ids)) == 6
    assert parts.store.counts() == (3, 6) and parts.store.generation() == 1
    for (article_id, pids), (article, spans, _, sentences) in zip(stored, batch, strict=True):
        passages = parts.store.article_passages(article_id)
        assert [p.id for p in passages] == pids and [p.text for p in passages] == [s.text for s in spans]
        assert [(p.start, p.end) for p in passages] == [(s.start, s.end) for s in spans]
        assert all(p.guild_id == article.guild_id for p in passages)
        kept = parts.store.sentence_vectors(pids, "m")
        assert set(kept) == set(pids[:-1]) and all(
            v is not None and np.array_equal(kept[i], v) for i, v in zip(pids[:-1], sentences[:-1], strict=True)
        )
    _, ids, vectors = parts.store.snapshot("m")
    assert ids.tolist() == passage_ids and np.array_equal(vectors, np.vstack([v for _, _, v, _ in batch]))
    ledes = parts.store.lede_vectors(article_ids, "m")  # each article's first passage, read back bit for bit
    firsts = [vectors[0] for _, _, vectors, _ in batch]
    assert all(
        np.array_equal(ledes[a], v) and ledes[a].dtype == np.float32 for a, v in zip(article_ids, firsts, strict=True)
    )
    assert [pid for pid, _ in parts.lexical.search("hackers illinois", 5, 5)] == stored[1][1]
    assert parts.lexical.search("hackers illinois", 5, 6) == []
    assert parts.store.integrity_check() == "ok"


def _pg_term_faults(store: PgArticleStore) -> tuple[int, int, int]:
    """(passages whose term rows are not their terms, vocabulary counts that are wrong, term rows of no passage)."""
    return store.db.query(
        "SELECT (SELECT count(*) FROM passages p WHERE (SELECT count(*) FROM passage_terms t WHERE t.passage_id = p.id)"
        " <> (SELECT count(*) FROM unnest(bot_terms(p.text)))),"
        " (SELECT count(*) FROM vocabulary v FULL JOIN (SELECT term, count(*) AS n FROM passage_terms GROUP BY term) c"
        " ON c.term = v.term WHERE v.docs IS DISTINCT FROM c.n),"
        " (SELECT count(*) FROM passage_terms t WHERE NOT EXISTS (SELECT 1 FROM passages p WHERE p.id = t.passage_id))"
    )[0]


def test_bm25_after_batches_replaces_and_removals_is_fts5s(
    tmp_path: Path, encoder: CountingEncoder, database_url: str
) -> None:
    """After one batch, a replace and a removal, PostgreSQL's scores are FTS5's, accented words included."""
    articles = [
        ("Audit", ["Officials said the voting machines passed every audit this year.", "The audit was public."]),
        ("Zürich", ["Voters in Zürich met at a café to count ballots.", "Officials said the count was right."]),
        ("Georgia", ["Election officials in Georgia said paper ballots would be counted again."]),
        ("Hackers", ["Hackers targeted voter registration databases in Illinois and Arizona before the election."]),
        ("Paper", ["Paper ballots and audits make machine counts verifiable, experts said.", "São Paulo voted too."]),
    ]
    sqlite_parts = open_parts(tmp_path / "data", encoder)
    pg_parts = open_parts(tmp_path / "unused", encoder, database_url)
    try:
        ids = {}
        for name, made in (("sqlite", sqlite_parts), ("pg", pg_parts)):
            batch = [_batch_article(title, texts, None, i) for i, (title, texts) in enumerate(articles)]
            stored = made.store.add_articles(batch, "m")
            replacement = _batch_article("Georgia", ["Georgia officials recounted the paper ballots by hand."], None, 9)
            made.store.replace_article(stored[2][0], replacement, "m")
            made.store.remove_article(stored[3][0], None)
            ids[name] = [made.store.article_passages(a) for a, _ in stored]
        assert [[p.text for p in a] for a in ids["sqlite"]] == [[p.text for p in a] for a in ids["pg"]]
        same = {s.id: p.id for a, b in zip(ids["sqlite"], ids["pg"], strict=True) for s, p in zip(a, b, strict=True)}
        for question in ["voting machines audit", "paper ballots counted", "zurich cafe", "sao paulo", "officials"]:
            exact = fts5_ranking(sqlite_parts.store, question)[:3]
            sql = pg_parts.lexical.search(question, 3, None)
            assert [pid for pid, _ in sql] == [same[pid] for pid, _ in exact], question
            assert np.allclose([s for _, s in sql], [s for _, s in exact], rtol=1e-6), question
        assert pg_parts.lexical.search("hackers", 5, None) == []
        assert isinstance(pg_parts.store, PgArticleStore)
        assert _pg_term_faults(pg_parts.store) == (0, 0, 0)
        assert pg_parts.store.integrity_check() == "ok"
    finally:
        sqlite_parts.close()
        pg_parts.close()


def test_an_older_postgres_database_gets_the_one_term_key_and_still_removes_terms(
    tmp_path: Path, encoder: CountingEncoder, database_url: str
) -> None:
    """A database whose term rows had a foreign key, a primary key and a passage index gets the one key on the next open.

    A removal still takes the terms, and the search still finds what it found.
    """
    pg_parts = open_parts(tmp_path / "unused", encoder, database_url)
    _add(pg_parts, "Kept", text="Officials kept the paper ballots.")
    assert isinstance(pg_parts.store, PgArticleStore)
    with pg_parts.store.db.write() as db:  # as the earlier schemas made it
        db.execute("DROP INDEX passage_terms_key")
        db.execute("ALTER TABLE passage_terms ADD PRIMARY KEY (term, passage_id)")
        db.execute("CREATE INDEX passage_terms_passage ON passage_terms(passage_id)")
        db.execute("ALTER TABLE passage_terms ADD FOREIGN KEY (passage_id) REFERENCES passages(id) ON DELETE CASCADE")
    pg_parts.close()
    pg_parts = open_parts(tmp_path / "unused", encoder, database_url)
    try:
        assert isinstance(pg_parts.store, PgArticleStore)
        keys = "SELECT count(*) FROM pg_constraint WHERE conrelid = 'passage_terms'::regclass AND contype IN ('f', 'p')"
        assert pg_parts.store.db.query(keys) == [(0,)]
        indexes = "SELECT indexname FROM pg_indexes WHERE tablename = 'passage_terms' ORDER BY indexname"
        assert pg_parts.store.db.query(indexes) == [("passage_terms_key",), ("passage_terms_lists",)]
        assert [p for p, _ in pg_parts.lexical.search("paper ballots", 5, None)] != []
        gone = _add(pg_parts, "Gone", text="Hackers targeted voter rolls in Ohio.")
        assert pg_parts.lexical.search("ohio", 5, None) != []
        pg_parts.store.remove_article(gone, None)
        assert pg_parts.lexical.search("ohio", 5, None) == []
        assert _pg_term_faults(pg_parts.store) == (0, 0, 0)
    finally:
        pg_parts.close()


def test_postgres_searches_widen_as_the_database_grows(
    tmp_path: Path, encoder: CountingEncoder, database_url: str, monkeypatch
) -> None:
    """HNSW's ef_search follows the number of passages, a reconnect keeps it, and answers still come."""
    library = Library.open(tmp_path / "unused", encoder, database_url=database_url)
    try:
        assert isinstance(library.vectors, PgVectorSearch)
        db = library.vectors.db  # the vector search's own connection
        assert "Tehran" in quoted(library.ask("who did Ratcliffe blame?"))
        assert db.query("SHOW hnsw.ef_search") == [("400",)]  # a small database: the base width
        passages = library.counts()[1]
        monkeypatch.setattr("corpus.postgres.database.EF_SEARCH_FROM", max(1, passages * 2 // 3))  # as if it were big
        monkeypatch.setattr("corpus.postgres.vectors.RESIZE_S", 0.0)
        wider = ef_search_for(passages)
        assert 400 < wider < 1000
        assert "Tehran" in quoted(library.ask("who did Ratcliffe blame?"))
        assert db.query("SHOW hnsw.ef_search") == [(str(wider),)]
        with psycopg.connect(database_url, autocommit=True) as admin:  # the connection is lost
            admin.execute("SELECT pg_terminate_backend(%s)", (db.connection.info.backend_pid,))
        with pytest.raises(StoreError):  # the question that finds it lost fails; the next one reconnects
            library.ask("who did Ratcliffe blame?")
        assert "Tehran" in quoted(library.ask("who did Ratcliffe blame?"))
        assert db.query("SHOW hnsw.ef_search") == [(str(wider),)]
    finally:
        library.close()


def test_postgres_hnsw_graph_weighs_more_candidates_and_an_older_index_follows(
    tmp_path: Path, encoder: CountingEncoder, database_url: str
) -> None:
    """The HNSW index is made with EF_CONSTRUCTION; an index an earlier version made gets it when first searched."""
    name = f"embeddings_hnsw_{encoder.dim:d}"
    options = f"SELECT reloptions FROM pg_class WHERE relname = '{name}'"
    library = Library.open(tmp_path / "unused", encoder, database_url=database_url)
    try:
        assert "Tehran" in quoted(library.ask(RATCLIFFE))  # the first search makes the index
        assert isinstance(library.vectors, PgVectorSearch)
        db = library.vectors.db
        assert db.query(options) == [([f"ef_construction={EF_CONSTRUCTION:d}"],)]
        db.query(f"DROP INDEX {name}", rows=False)  # as an earlier version made it: pgvector's default
        db.query(
            f"CREATE INDEX {name} ON embeddings USING hnsw ((vector::vector({encoder.dim:d})) vector_ip_ops)"
            f" WHERE dim = {encoder.dim:d}",
            rows=False,
        )
        assert db.query(options) == [(None,)]
    finally:
        library.close()
    library = Library.open(tmp_path / "unused", encoder, database_url=database_url)
    try:
        assert "Tehran" in quoted(library.ask(RATCLIFFE))
        assert isinstance(library.vectors, PgVectorSearch)
        assert library.vectors.db.query(options) == [([f"ef_construction={EF_CONSTRUCTION:d}"],)]
        with psycopg.connect(database_url, autocommit=True) as admin:  # relinking, as the README says
            admin.execute(f"REINDEX INDEX CONCURRENTLY {name}")
        assert library.vectors.db.query(options) == [([f"ef_construction={EF_CONSTRUCTION:d}"],)]
        assert "Tehran" in quoted(library.ask(RATCLIFFE))
    finally:
        library.close()


def test_activity_log_votes_and_audit(parts: Parts) -> None:
    """A person's second vote replaces the first; answers come back with their server; the audit log is per server."""
    log = parts.activity
    answer = log.log_answer(5, "u1", "who did ratcliffe blame", [3, 1, 2])
    assert log.logged_answer(answer) == (5, "who did ratcliffe blame", [3, 1, 2])
    assert log.logged_answer(answer + 1) is None
    log.record_vote(answer, "u1", 1)
    log.record_vote(answer, "u2", -1)
    log.record_vote(answer, "u1", -1)
    assert log.votes(answer) == {"u1": -1, "u2": -1}
    log.log_action(guild_id=1, actor="mod", action="add", target="url", outcome="ok")
    log.log_action(guild_id=2, actor="other", action="remove", target="7", outcome="refused", detail="not theirs")
    log.log_action(guild_id=None, actor="cli", action="rebuild", target=None, outcome="ok")
    assert [e.action for e in log.audit_log(1)] == ["add"]
    assert [e.actor for e in log.audit_log(None)] == ["cli"]
    assert [e.guild_id for e in log.audit_log(None, everywhere=True)] == [None, 2, 1]


# -- answering --------------------------------------------------------------------------


def test_ratcliffe_question_quotes_tehran_and_moscow_in_bold(any_library: Library) -> None:
    """The seed question quotes the built-in article verbatim with the Tehran-and-Moscow sentence marked."""
    answer = any_library.ask(RATCLIFFE)
    assert answer.answered
    [tehran] = [q for q in answer.quotes if "Tehran and Moscow had got hold" in q.text]
    assert "Tehran and Moscow" in tehran.highlight and tehran.highlight.startswith("In a press conference")
    assert tehran.text in any_library.store.article_texts([tehran.article_id])[tehran.article_id]


def test_a_year_or_place_the_built_in_article_never_names_is_refused(any_library: Library) -> None:
    """Both backends read the quoted article for the places and years a question names."""
    assert any_library.ask("did iran try to influence the 2020 election").answered
    later = any_library.ask("did iran try to influence the 2024 election")
    assert not later.answered and later.refusal == "None of the articles closest to this question mentions 2024."


def test_servers_only_see_their_own_articles(any_library: Library) -> None:
    """An article added in server A is quoted, listed and removable only in A; the built-in one everywhere."""
    added = any_library.add_article(NewArticle("Ballot Armor Act introduced", HEINRICH, guild_id=111))
    question = "who is sponsoring the ballot armor act"
    assert "Quarrington" in quoted(any_library.ask(question, guild_id=111))
    assert "Quarrington" not in quoted(any_library.ask(question, guild_id=222))
    assert "Quarrington" not in quoted(any_library.ask(question))
    assert "Tehran and Moscow" in quoted(any_library.ask(RATCLIFFE, guild_id=222))
    assert [a.id for a in any_library.list_articles(guild_id=222)] == [1]
    with pytest.raises(UnknownArticle):
        any_library.remove_article(added.id, guild_id=222)


def test_removed_article_is_never_quoted_again(any_library: Library) -> None:
    """After remove, an article is gone from answers, BM25, the vector search, lists and show."""
    added = any_library.add_article(NewArticle("Ballot Armor Act introduced", HEINRICH, source="Reuters"))
    question = "who is sponsoring the ballot armor act"
    assert "Quarrington" in quoted(any_library.ask(question))
    ids = {p.id for p in any_library.get_article(added.id)[1]}
    any_library.remove_article(added.id)
    assert "Quarrington" not in quoted(any_library.ask(question, k=10))
    assert any_library.lexical.search("Quarrington", 5, None) == []
    query = any_library.encoder.encode([question])[0]
    assert ids.isdisjoint(pid for pid, _ in any_library.vectors.search(query, 50, None))
    with pytest.raises(UnknownArticle):
        any_library.get_article(added.id)


def test_a_change_by_one_library_is_answered_by_another_at_once(
    any_library: Library, encoder: CountingEncoder, backend: str | None
) -> None:
    """Two libraries on one database (two bots): what one adds or removes the other answers from at once."""
    other = Library.open(any_library.data_dir, encoder, database_url=backend)
    try:
        question = "who is sponsoring the ballot armor act"
        assert "Quarrington" not in quoted(other.ask(question))
        added = any_library.add_article(NewArticle("Ballot Armor Act introduced", HEINRICH))
        assert "Quarrington" in quoted(other.ask(question))
        other.remove_article(added.id)
        assert "Quarrington" not in quoted(any_library.ask(question))
        assert any_library.stats().indexed == other.stats().indexed == any_library.counts()[1]
    finally:
        other.close()


def test_spelling_fixes_and_missing_words(any_library: Library) -> None:
    """A misspelt name is matched to the word the articles hold; names no article holds are reported missing."""
    assert any_library.lexical.spelling_fixes("who did ratclife blame") == {"ratclife": "ratcliff"}
    [(best, _)] = any_library.lexical.search(any_library.spelled("what did ratclife claim"), 1, None)
    assert "Ratcliffe claimed" in any_library.store.passages_by_id([best])[best].text
    assert any_library.lexical.missing_words("did bolsonaro win in liberia") == ["bolsonaro", "win", "liberia"]
    refused = any_library.ask("who did bolsonaro blame for the election in liberia")
    assert not refused.answered and "bolsonaro" in refused.missing


def test_a_left_out_letter_is_put_back_before_a_rarer_word_one_edit_away(any_library: Library) -> None:
    """ "electon" is the built-in article's "election", not "electronic" (whose stem "electron" is one edit away)."""
    any_library.add_article(NewArticle("Voting machines", "The county bought electronic voting machines last year."))
    assert any_library.lexical.spelling_fixes("who won the electon") == {"electon": "elect"}


def test_rebuild_reembeds_and_keeps_answers(any_library: Library) -> None:
    """A rebuild re-embeds every passage in one change and the same question still finds the same quote."""
    count = any_library.rebuild()
    assert count == any_library.store.counts()[1] == any_library.vectors.size()
    assert "Tehran and Moscow" in quoted(any_library.ask(RATCLIFFE))


def test_backup_and_restore_point_to_pg_tools(any_library: Library, backend: str | None, tmp_path: Path) -> None:
    """On PostgreSQL, backup is refused in one sentence naming pg_dump; on SQLite it writes a copy."""
    if backend is None:
        any_library.backup(tmp_path / "copy.sqlite3")
        assert (tmp_path / "copy.sqlite3").stat().st_size > 0
    else:
        with pytest.raises(StoreError, match=r"pg_dump.*pg_restore"):
            any_library.backup(tmp_path / "copy.sqlite3")


# -- the command line -------------------------------------------------------------------


def test_cli_add_ask_remove(tmp_path: Path, backend: str | None) -> None:
    """`add`, `ask` and `remove` through run_bot.py work on each backend (PostgreSQL named by DATABASE_URL)."""
    settings = {"DATABASE_URL": backend or ""}
    data = tmp_path / "data"
    article = tmp_path / "armor.txt"
    article.write_text("Ballot Armor Act introduced\n\n" + HEINRICH)
    added = run_cli("add", str(article), data_dir=data, settings=settings)
    assert added.returncode == 0, added.stderr
    asked = run_cli("ask", "who is sponsoring the ballot armor act", "--json", data_dir=data, settings=settings)
    assert asked.returncode == 0, asked.stderr
    assert "Quarrington" in asked.stdout
    removed = run_cli("remove", "2", data_dir=data, settings=settings)
    assert removed.returncode == 0, removed.stderr
    again = run_cli("ask", RATCLIFFE, data_dir=data, settings=settings)
    assert again.returncode == 0 and "Tehran and Moscow" in again.stdout and "Quarrington" not in again.stdout
    assert (data / DATABASE).exists() == (backend is None)  # PostgreSQL leaves no SQLite file behind


def test_cli_migrate_copies_everything_and_refuses_a_full_target(
    tmp_path: Path, reuters_dir: Path, database_url: str, encoder: CountingEncoder
) -> None:
    """`migrate` copies articles, passages and embeddings (no re-embedding), checks the counts, refuses twice."""
    import shutil

    data = tmp_path / "data"
    shutil.copytree(reuters_dir, data)
    with closing(sqlite3.connect(data / DATABASE)) as db:
        counts = [db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("articles", "passages", "embeddings")]
    before = Library.open(data, encoder)
    before.set_channel_mode(guild_id=1, channel_id=11, mode="auto", actor="7")
    before.remember_thread(500, guild_id=1, channel_id=11, question="who did Ratcliffe blame?")
    before.close()
    moved = run_cli("migrate", database_url, data_dir=data)
    assert moved.returncode == 0, moved.stderr
    assert moved.stdout.splitlines()[:3] == [
        f"{table}: {n} in SQLite, {n} in PostgreSQL"
        for table, n in zip(("articles", "passages", "embeddings"), counts, strict=True)
    ]
    counted = encoder.encoded
    library = Library.open(tmp_path / "elsewhere", encoder, database_url=database_url)
    try:
        assert library.counts() == (counts[0], counts[1]) and library.vectors.size() == counts[2]
        assert "Tehran and Moscow" in quoted(library.ask(RATCLIFFE))
        assert encoder.encoded == counted + 1  # only the question: the stored embeddings were copied
        assert library.channel_modes(guild_id=1) == {11: "auto"}  # channel modes and threads come along
        assert library.thread_question(500) == "who did Ratcliffe blame?"
        added = library.add_article(NewArticle("Ballot Armor Act introduced", HEINRICH))
        assert added.id == counts[0] + 1  # ids continue after the copied ones
    finally:
        library.close()
    refused = run_cli("migrate", database_url, data_dir=data)
    assert refused.returncode == 1 and "only into an empty database" in refused.stderr
    asked = run_cli("ask", RATCLIFFE, "--json", data_dir=tmp_path / "none", settings={"DATABASE_URL": database_url})
    assert asked.returncode == 0, asked.stderr
    assert any("Tehran and Moscow" in q["text"] for q in json.loads(asked.stdout)["quotes"])


def test_factory_picks_the_backend_from_the_url(tmp_path: Path, encoder: CountingEncoder, database_url: str) -> None:
    """A postgresql:// URL gives the PostgreSQL parts and no SQLite file; other URLs are refused.

    The parts share one connection, but the vector search has its own, to run beside the lexical one.
    """
    from corpus.errors import BadInput
    from corpus.postgres.activity import PgActivityLog
    from corpus.postgres.lexical import PgLexicalSearch

    made = open_parts(tmp_path / "data", encoder, database_url)
    try:
        assert isinstance(made.store, PgArticleStore) and isinstance(made.lexical, PgLexicalSearch)
        assert isinstance(made.vectors, PgVectorSearch) and isinstance(made.activity, PgActivityLog)
        assert made.store.db is made.lexical.db is made.activity.db is not made.vectors.db
        pids = {made.store.db.connection.info.backend_pid, made.vectors.db.connection.info.backend_pid}
        assert len(pids) == 2
        assert not (tmp_path / "data" / DATABASE).exists()
    finally:
        made.close()
    assert isinstance(made.vectors, PgVectorSearch) and isinstance(made.store, PgArticleStore)
    assert made.vectors.db.connection.closed and made.store.db.connection.closed
    with pytest.raises(BadInput, match="must be a postgresql:// URL"):
        open_parts(tmp_path / "data", encoder, "mysql://localhost/db")
