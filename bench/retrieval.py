"""Finding the paragraph that answers: the project against dense, BM25 and reciprocal-rank fusion.

    python -m bench.retrieval

Both SQuAD sets are imported through the project's own code. For every question the dense
(FAISS) and lexical (SQLite FTS5, BM25) candidates are retrieved once and every method is scored
on them; "this project" is what ``Library.candidates`` (and so ``ask``) ranks. A ranked passage
counts as the gold paragraph when it lies inside it. The fusion weights are chosen on the
v2.0 dev half and reported on all 10,570 v1.1 dev questions.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import index.library as core
from bench.squad_data import SQUAD_V1, SQUAD_V2_HALF, import_articles, load_squad, paragraph_of_passages, questions_of
from index.faiss_search import faiss_index
from index.library import CANDIDATES, LEXICAL_WEIGHT, RERANK_WEIGHT, Library

DEPTH = CANDIDATES


@dataclass
class Gathered:
    """One question's candidates and their signals."""

    gold: int  # paragraph number
    dense_ranking: list[int]  # the dense top 50, best first
    lexical_ranking: list[int]  # the BM25 top 50, best first
    cosine: dict[int, float]  # passage -> cosine, for every candidate of either method
    lexical: dict[int, float]  # passage -> BM25 (absent: 0)
    sentence: dict[int, float]  # passage -> best cosine of one of its sentences
    project: list[int]  # Library.candidates, best first


def gather(library: Library, articles: list[dict]) -> tuple[list[Gathered], dict[int, int]]:
    """Retrieve every question's candidates once."""
    owner = paragraph_of_passages(library, articles)
    asked = questions_of(articles)
    ids = [pid for pid, _ in library.store.all_passage_texts()]  # the built-in article's too
    sentences = library.store.sentence_vectors(ids, library.encoder.name)
    vectors = library.encoder.encode([q.text for q in asked], batch_size=64)
    found = []
    for question, query in zip(asked, vectors, strict=True):
        dense = dict(library.vectors.search(query, DEPTH, None))
        lexical = dict(library.lexical.search(question.text, DEPTH, None))
        union = list(dense | lexical)
        cosine = dict(zip(union, (faiss_index(library.vectors).vectors(union) @ query).tolist(), strict=True))
        best_sentence = {pid: float((sentences[pid] @ query).max()) for pid in union}
        project = [c.passage.id for c in library.candidates(question.text, query, 20, None)]
        found.append(Gathered(question.paragraph, list(dense), list(lexical), cosine, lexical, best_sentence, project))
    return found, owner


Ranker = Callable[[Gathered], list[int]]


def rank_rrf(g: Gathered, k: int = 60) -> list[int]:
    """Reciprocal-rank fusion of the dense and BM25 rankings."""
    scores: dict[int, float] = {}
    for ranking in (g.dense_ranking, g.lexical_ranking):
        for rank, pid in enumerate(ranking):
            scores[pid] = scores.get(pid, 0.0) + 1 / (k + rank + 1)
    return sorted(scores, key=scores.__getitem__, reverse=True)


def weighted(sentence: float, lexical: float) -> Ranker:
    """Score (1 - ``sentence``) x passage cosine + ``sentence`` x nearest sentence cosine + ``lexical`` x BM25 share."""

    def rank(g: Gathered) -> list[int]:
        top = max(g.lexical.values(), default=1.0) or 1.0
        score = {
            pid: (1 - sentence) * g.cosine[pid] + sentence * g.sentence[pid] + lexical * g.lexical.get(pid, 0.0) / top
            for pid in g.cosine
        }
        return sorted(score, key=score.__getitem__, reverse=True)

    return rank


def evaluate(found: list[Gathered], owner: dict[int, int], ranker: Ranker) -> dict[str, float]:
    """R@1/5/10/20 and MRR@10 of the gold paragraph when ``ranker`` ranks every question."""
    return score_rankings([(g.gold, ranker(g)) for g in found], owner)


def score_rankings(ranked: list[tuple[int, list[int]]], owner: dict[int, int]) -> dict[str, float]:
    """R@1/5/10/20 and MRR@10 of (gold paragraph, ranked passage ids) pairs; one paragraph's passages count once."""
    hits = dict.fromkeys((1, 5, 10, 20), 0)
    mrr = 0.0
    for gold, ranking in ranked:
        seen = list(dict.fromkeys(owner.get(pid, -1) for pid in ranking))
        rank = seen.index(gold) + 1 if gold in seen else None
        for k in hits:
            hits[k] += bool(rank and rank <= k)
        mrr += 1 / rank if rank and rank <= 10 else 0.0
    n = len(ranked)
    return {f"R@{k}": round(v / n, 4) for k, v in hits.items()} | {"MRR@10": round(mrr / n, 4), "questions": n}


def rerank_grid(workdir: Path) -> dict[float, dict[str, float]]:
    """R@1/MRR@10 of ``Library.candidates`` on the tuning set for each re-ranking weight."""
    articles = load_squad(SQUAD_V2_HALF)
    library = Library.open(workdir / "squad-tune")
    owner = paragraph_of_passages(library, articles)
    asked = questions_of(articles)
    vectors = library.encoder.encode([q.text for q in asked], batch_size=64)
    grid = {}
    try:
        for weight in (0.0, 0.25, 0.5, 1.0, 2.0):
            core.RERANK_WEIGHT = weight
            ranked = [
                (q.paragraph, [c.passage.id for c in library.candidates(q.text, v, 20, None)])
                for q, v in zip(asked, vectors, strict=True)
            ]
            grid[weight] = score_rankings(ranked, owner)
    finally:
        core.RERANK_WEIGHT = RERANK_WEIGHT
        library.close()
    return grid


def run(workdir: Path) -> dict[str, object]:
    """Tune on v2.0, report on v1.1; return the figures."""
    results: dict[str, object] = {}
    sets = {"tune": SQUAD_V2_HALF, "report": SQUAD_V1}
    gathered = {}
    for name, path in sets.items():
        articles = load_squad(path)
        library = Library.open(workdir / f"squad-{name}")
        import_articles(library, articles)
        started = time.perf_counter()
        gathered[name] = gather(library, articles)
        print(
            f"retrieval: {name}: {len(gathered[name][0])} questions gathered in {time.perf_counter() - started:.0f} s"
        )
        library.close()
    steps = np.arange(0.0, 1.01, 0.1).round(1)
    grid = {(a, b): evaluate(*gathered["tune"], weighted(a, b)) for a, b in itertools.product(steps, steps)}
    best = max(grid, key=lambda w: (grid[w]["MRR@10"], grid[w]["R@1"]))
    chosen: dict[str, object] = {"sentence_share": 1.0, "lexical_weight": LEXICAL_WEIGHT}
    if (float(best[0]), float(best[1])) != (chosen["sentence_share"], chosen["lexical_weight"]):
        print(f"retrieval: the tuning set now prefers {best}, the library uses {chosen}")
    results["tuning"] = {
        "set": "SQuAD v2.0 dev half, answerable questions",
        "library_uses": chosen,
        "best": {"sentence_share": float(best[0]), "lexical_weight": float(best[1])} | grid[best],
        "grid": [{"sentence_share": float(a), "lexical_weight": float(b)} | row for (a, b), row in grid.items()],
    }
    reranking = rerank_grid(workdir)
    best_weight = max(reranking, key=lambda w: (reranking[w]["MRR@10"], reranking[w]["R@1"]))
    if best_weight != RERANK_WEIGHT:
        print(
            f"retrieval: the tuning set now prefers re-ranking weight {best_weight}, the library uses {RERANK_WEIGHT}"
        )
    results["rerank_tuning"] = {
        "set": "SQuAD v2.0 dev half, answerable questions; Library.candidates with each RERANK_WEIGHT",
        "library_uses": RERANK_WEIGHT,
        "grid": [{"rerank_weight": w} | row for w, row in reranking.items()],
    }
    methods: dict[str, Ranker] = {
        "dense (FAISS, cosine)": lambda g: g.dense_ranking,
        "BM25 (SQLite FTS5)": lambda g: g.lexical_ranking,
        "reciprocal-rank fusion, k=60": rank_rrf,
        "passage cosine + BM25 share (the previous version)": weighted(0.0, 0.75),
        "nearest sentence + BM25 share, not re-ranked": weighted(1.0, LEXICAL_WEIGHT),
        "this project (Library.candidates)": lambda g: g.project,
    }
    results["report"] = {name: evaluate(*gathered["report"], ranker) for name, ranker in methods.items()}
    results["report_set"] = "SQuAD v1.1 dev, all questions"
    return results


def main() -> None:
    """Run on a scratch directory and print the figures."""
    import json
    from tempfile import TemporaryDirectory

    with TemporaryDirectory() as tmp:
        print(json.dumps(run(Path(tmp)), indent=1)[:3000])


if __name__ == "__main__":
    main()
