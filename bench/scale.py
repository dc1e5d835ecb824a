"""Search at scale: exact against inverted-file FAISS search up to 1,000,000 passages, and loading 100,000.

    python -m bench.scale

The vectors are real all-MiniLM-L6-v2 embeddings (the passages and sentences of the SQuAD and
Reuters imports the other benchmarks made, or of a fresh SQuAD import) repeated with small
Gaussian noise (sigma 0.02 per dimension, then normalised: about 0.93 cosine to the original)
up to each size. The questions are real SQuAD questions, embedded. For every size: one question
at a time, p50/p95 latency of exact search (``FlatIndex``) and of ``IVFIndex`` (``NPROBE`` lists),
and the IVF recall@10 against exact search. Then a data directory with 100,000 passages in
SQLite is opened and its saved index loaded, as the bot does at start (no re-embedding).
"""

from __future__ import annotations

import shutil
import statistics
import time
from pathlib import Path

import numpy as np

from bench.squad_data import SQUAD_V1, import_articles, load_squad, questions_of
from corpus.chunking import Span
from corpus.records import NewArticle
from index.faiss_search import faiss_index
from index.library import Library
from index.vectors import IVF_THRESHOLD, NPROBE, FlatIndex, IVFIndex

SIZES = (10_000, 30_000, 50_000, 100_000, 300_000, 1_000_000)
NOISE = 0.02
QUESTIONS = 300


def real_vectors(workdir: Path) -> tuple[np.ndarray, np.ndarray]:
    """(base vectors, question vectors): every stored passage and sentence vector the benchmarks made."""
    sources = [d for d in workdir.iterdir() if (d / "articles.sqlite3").exists()] if workdir.exists() else []
    if not sources:
        fresh = Library.open(workdir / "squad-report")
        import_articles(fresh, load_squad(SQUAD_V1))
        fresh.close()
        sources = [workdir / "squad-report"]
    parts = []
    library: Library | None = None
    for source in sources:
        library = Library.open(source)
        _, ids, vectors = library.store.snapshot(library.encoder.name)
        sentences = library.store.sentence_vectors(ids.tolist(), library.encoder.name)
        parts += [vectors, *sentences.values()]
        library.close()
    assert library is not None
    base = np.vstack(parts).astype(np.float32)
    asked = questions_of(load_squad(SQUAD_V1))[:: max(1, 10_570 // QUESTIONS)][:QUESTIONS]
    return base, library.encoder.encode([q.text for q in asked], batch_size=64)


def noisy(base: np.ndarray, count: int, seed: int = 0) -> np.ndarray:
    """``count`` unit vectors: the base vectors in turn, each with its own small noise."""
    rng = np.random.default_rng(seed)
    out = np.empty((count, base.shape[1]), dtype=np.float32)
    for start in range(0, count, 100_000):
        end = min(count, start + 100_000)
        block = base[np.arange(start, end) % len(base)] + rng.normal(0, NOISE, (end - start, base.shape[1]))
        out[start:end] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def timed_search(index: FlatIndex, queries: np.ndarray, k: int = 50) -> tuple[list[list[int]], list[float]]:
    """Search one question at a time; return the ids found and each search's milliseconds."""
    found, times = [], []
    for query in queries:
        started = time.perf_counter()
        hits = index.search(query, k)
        times.append((time.perf_counter() - started) * 1000)
        found.append([pid for pid, _ in hits])
    return found, times


def p95(values: list[float]) -> float:
    """95th percentile by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * len(ordered)) - 1)]


def search_table(base: np.ndarray, queries: np.ndarray) -> list[dict[str, object]]:
    """Exact against IVF at every size."""
    rows: list[dict[str, object]] = []
    everything = noisy(base, max(SIZES))
    for size in SIZES:
        vectors, ids = everything[:size], np.arange(1, size + 1, dtype=np.int64)
        flat = FlatIndex(vectors.shape[1])
        flat.add(ids, vectors)
        exact, flat_ms = timed_search(flat, queries)
        started = time.perf_counter()
        ivf = IVFIndex(vectors.shape[1], train=vectors)
        ivf.add(ids, vectors)
        build_s = time.perf_counter() - started
        approximate, ivf_ms = timed_search(ivf, queries)
        recall = statistics.mean(len(set(a[:10]) & set(e[:10])) / 10 for a, e in zip(approximate, exact, strict=True))
        rows.append(
            {
                "passages": size,
                "flat_p50_ms": round(statistics.median(flat_ms), 2),
                "flat_p95_ms": round(p95(flat_ms), 2),
                "ivf_lists": int(ivf._index.nlist),
                "ivf_nprobe": NPROBE,
                "ivf_p50_ms": round(statistics.median(ivf_ms), 2),
                "ivf_p95_ms": round(p95(ivf_ms), 2),
                "ivf_recall_at_10": round(recall, 4),
                "ivf_build_s": round(build_s, 1),
            }
        )
        print(f"scale: {rows[-1]}")
        del flat, ivf
    return rows


def load_time(base: np.ndarray, workdir: Path, passages: int = 100_000) -> dict[str, object]:
    """Seconds to open a data directory of ``passages`` passages and load its saved index."""
    data_dir = workdir / "scale-load"
    shutil.rmtree(data_dir, ignore_errors=True)
    library = Library.open(data_dir)
    library.stats()  # the built-in article, and the model's name and size
    vectors = noisy(base, passages, seed=1)
    per_article, text = 10, "Officials counted the ballots again in the county, and the result held."
    batch = []
    for number in range(passages // per_article):
        body = "\n\n".join(f"{text} Passage {number}-{i}." for i in range(per_article))
        spans, cursor = [], 0
        for paragraph in body.split("\n\n"):
            spans.append(Span(cursor, cursor + len(paragraph), paragraph))
            cursor += len(paragraph) + 2
        rows = vectors[number * per_article : (number + 1) * per_article]
        batch.append((NewArticle(f"Article {number}", body), spans, rows, [None] * per_article))
        if len(batch) == 1000:
            library.store.add_articles(batch, library.encoder.name)
            batch.clear()
    library.close()
    library = Library.open(data_dir)
    started = time.perf_counter()
    built = library.vectors.size()  # no saved index yet: built from the stored embeddings and saved
    build_s = time.perf_counter() - started
    library.close()
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        library = Library.open(data_dir)
        loaded = faiss_index(library.vectors)
        runs.append(time.perf_counter() - started)
        kind = loaded.kind
        library.close()
    shutil.rmtree(data_dir, ignore_errors=True)
    return {
        "passages": built,
        "index_kind": kind,
        "rebuild_from_sqlite_s": round(build_s, 2),
        "load_saved_index_s": round(statistics.median(runs), 2),
        "runs_s": [round(r, 2) for r in runs],
    }


def run(workdir: Path) -> dict[str, object]:
    """The search table and the load time."""
    base, queries = real_vectors(workdir)
    print(f"scale: {len(base)} real vectors, {len(queries)} questions")
    return {
        "base_vectors": len(base),
        "noise_sigma": NOISE,
        "questions": len(queries),
        "ivf_threshold": IVF_THRESHOLD,
        "search": search_table(base, queries),
        "load": load_time(base, workdir),
    }


def main() -> None:
    """Run on a scratch directory and print the figures."""
    import json
    from tempfile import TemporaryDirectory

    with TemporaryDirectory() as tmp:
        print(json.dumps(run(Path(tmp)), indent=1))


if __name__ == "__main__":
    main()
