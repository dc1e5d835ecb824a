"""Retrieval quality on SQuAD v1.1 dev, measured through the project's own store, chunker and indexes.

    python -m bench.squad [--keep DIR]

Each of the 48 articles is imported as one article with its paragraphs separated
by blank lines. For every question the dense (FAISS) and lexical (SQLite FTS5,
BM25) candidates are retrieved once; the methods below are then scored on the
same candidates. A quote counts as the gold paragraph when its span lies inside
it. Fusion weights are chosen on the odd-numbered questions of each article
(``tune``) and reported on the even-numbered ones (``report``).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np

from bench.calibrate_abstention import load_squad, squad_article
from index.library import Library

REPO = Path(__file__).resolve().parents[1]
DEPTH = 50


@dataclass
class Question:
    """One SQuAD question with its gold paragraph and retrieved candidates."""

    text: str
    gold: int  # paragraph number over the whole set
    half: str  # "tune" or "report"
    dense: dict[int, float]  # passage id -> cosine: the dense top 50, plus the exact cosine of lexical-only ones
    lexical: dict[int, float]  # passage id -> BM25
    dense_ranking: list[int]  # the dense top 50 alone, best first
    project: list[int]  # what Library.candidates (and so ``ask``) ranks, best first


def paragraph_of_passages(library: Library, articles: list[dict]) -> dict[int, int]:
    """Map every passage id to the global number of the paragraph that contains it."""
    owner: dict[int, int] = {}
    number = 0
    for stored in library.store.list_articles(None):
        if stored.added_by == "built-in":
            continue
        source = next(a for a in articles if a["title"].replace("_", " ") == stored.title)
        bounds, offset = [], 0
        for p in source["paragraphs"]:
            bounds.append((offset, offset + len(p["context"]), number))
            offset += len(p["context"]) + 2
            number += 1
        for passage in library.store.article_passages(stored.id):
            owner[passage.id] = next(n for s, e, n in bounds if s <= passage.start and passage.end <= e)
    return owner


def gather(library: Library, articles: list[dict]) -> tuple[list[Question], dict[int, int]]:
    """Retrieve dense and lexical candidates for every question once."""
    owner = paragraph_of_passages(library, articles)
    first_paragraph, texts, golds, halves = 0, [], [], []
    for article in articles:
        q_index = 0
        for p_number, paragraph in enumerate(article["paragraphs"]):
            for qa in paragraph["qas"]:
                texts.append(qa["question"])
                golds.append(first_paragraph + p_number)
                halves.append("tune" if q_index % 2 else "report")
                q_index += 1
        first_paragraph += len(article["paragraphs"])
    vectors = library.encoder.encode(texts, batch_size=128)
    questions = []
    for text, gold, half, vector in zip(texts, golds, halves, vectors, strict=True):
        dense = dict(library.index.search(vector, DEPTH))
        dense_ranking = list(dense)
        lexical = dict(library.store.lexical_search(text, DEPTH, None))
        extra = [pid for pid in lexical if pid not in dense]
        dense |= dict(zip(extra, (library.index.vectors(extra) @ vector).tolist(), strict=True))
        project = [c.passage.id for c in library.candidates(text, vector, 10, None)]
        questions.append(Question(text, gold, half, dense, lexical, dense_ranking, project))
    return questions, owner


Ranker = Callable[[Question], list[int]]


def rank_dense(q: Question) -> list[int]:
    """Dense only."""
    return q.dense_ranking


def rank_lexical(q: Question) -> list[int]:
    """BM25 only."""
    return sorted(q.lexical, key=q.lexical.__getitem__, reverse=True)


def rank_rrf(q: Question, k: int = 60) -> list[int]:
    """Reciprocal-rank fusion."""
    scores: dict[int, float] = {}
    for ranking in (rank_dense(q), rank_lexical(q)):
        for rank, pid in enumerate(ranking):
            scores[pid] = scores.get(pid, 0.0) + 1 / (k + rank + 1)
    return sorted(scores, key=scores.__getitem__, reverse=True)


def weighted(weight: float) -> Ranker:
    """Cosine plus ``weight`` x BM25 divided by the question's best BM25 (0 for passages BM25 did not return)."""

    def rank(q: Question) -> list[int]:
        top = max(q.lexical.values(), default=1.0) or 1.0
        scores = {pid: q.dense.get(pid, 0.0) + weight * q.lexical.get(pid, 0.0) / top for pid in q.dense | q.lexical}
        return sorted(scores, key=scores.__getitem__, reverse=True)

    return rank


def evaluate(questions: list[Question], owner: dict[int, int], ranker: Ranker, half: str) -> dict[str, float]:
    """R@1/5/10/20 and MRR@10 of the gold paragraph (duplicates of a paragraph count once)."""
    hits = {1: 0, 5: 0, 10: 0, 20: 0}
    mrr = 0.0
    chosen = [q for q in questions if q.half == half]
    for q in chosen:
        seen: list[int] = []
        for pid in ranker(q):
            paragraph = owner.get(pid, -1)
            if paragraph not in seen:
                seen.append(paragraph)
        rank = seen.index(q.gold) + 1 if q.gold in seen else None
        for k in hits:
            hits[k] += bool(rank and rank <= k)
        mrr += 1 / rank if rank and rank <= 10 else 0.0
    n = len(chosen)
    return {f"R@{k}": round(v / n, 3) for k, v in hits.items()} | {"MRR@10": round(mrr / n, 3), "questions": n}


def main() -> None:
    """Import SQuAD, gather candidates, tune the fusion weight on one half, report all methods on the other."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keep", type=Path, help="keep (or reuse) the imported data directory here")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "squad.json")
    args = parser.parse_args()
    articles = load_squad()
    with TemporaryDirectory() as tmp:
        data_dir = args.keep or Path(tmp) / "data"
        library = Library(data_dir)
        if library.store.counts()[0] < len(articles):
            library.import_articles((i, squad_article(a)) for i, a in enumerate(articles))
        started = time.perf_counter()
        questions, owner = gather(library, articles)
        print(f"gathered {len(questions)} questions in {time.perf_counter() - started:.0f} s")
        tuning = {w: evaluate(questions, owner, weighted(w), "tune") for w in np.arange(0.0, 2.51, 0.25).round(2)}
        best = max(tuning, key=lambda w: (tuning[w]["MRR@10"], tuning[w]["R@1"]))
        methods: dict[str, Ranker] = {
            "dense": rank_dense,
            "bm25": rank_lexical,
            "rrf_k60": rank_rrf,
            f"weighted_{best}": weighted(best),
            "this_project": lambda q: q.project,
        }
        report = {name: evaluate(questions, owner, ranker, "report") for name, ranker in methods.items()}
        library.close()
    for w, row in tuning.items():
        print(f"tune  weight {w:.2f}: {row}")
    for name, row in report.items():
        print(f"report {name:>14}: {row}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"tuning": {str(k): v for k, v in tuning.items()}, "report": report}, indent=2))


if __name__ == "__main__":
    main()
