"""Benchmark the core on the 989 Reuters articles, side by side in one run.

    python -m bench.reuters

Reports import throughput through ``Library.import_articles`` beside the bare
``SentenceTransformer.encode`` (default settings) on the same passages, warm
``ask`` latency over 200+ questions, cold start (process start to first
answer, in a fresh process) and peak memory. Compare the ratios; absolute
times on shared machines drift from day to day.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from corpus.readers import RowError, read_import_file
from index.encoder import SentenceTransformerEncoder
from index.library import Library

REPO = Path(__file__).resolve().parents[1]
REUTERS = REPO.parent / "shared" / "data" / "reuters-politics-2017.csv.gz"


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def machine() -> str:
    """A one-line description of this machine."""
    python = f"{platform.python_implementation()} {platform.python_version()}"
    return f"{platform.machine()}, {os.cpu_count()} cores, {python}"


def questions_from_titles(rows: list, count: int) -> list[str]:
    """Turn article titles into Discord-style questions: lower case, no punctuation at the end."""
    picked = [article.title for _, article in rows[:: max(1, len(rows) // count)]][:count]
    return [f"what happened with {t.lower().rstrip('?.!')}" for t in picked]


def run(workdir: Path, question_count: int = 250) -> dict[str, object]:
    """Every measurement, on a fresh import into ``workdir/reuters``."""
    rows = [r for r in read_import_file(REUTERS) if not isinstance(r, RowError)]
    encoder = SentenceTransformerEncoder()
    results: dict[str, object] = {
        "date": datetime.now(UTC).date().isoformat(),
        "machine": machine(),
        "precision": encoder.precision,  # loads the model before anything is timed
        "articles_in_file": len(rows),
    }
    data_dir = workdir / "reuters"
    shutil.rmtree(data_dir, ignore_errors=True)
    library = Library.open(data_dir, encoder)
    library.stats()  # the built-in article, not timed

    start = time.perf_counter()
    report = library.import_articles(rows)
    import_s = time.perf_counter() - start
    passages = [text for _, text in library.store.all_passage_texts()]
    start = time.perf_counter()
    encoder.model.encode(passages)  # the bare model, default settings
    bare_s = time.perf_counter() - start
    results["import"] = {
        "articles": report.added,
        "duplicates": report.duplicates,
        "passages": report.passages,
        "seconds": round(import_s, 1),
        "passages_per_s": round(report.passages / import_s, 1),
        "bare_encode_passages_per_s": round(len(passages) / bare_s, 1),
        "ratio_import_to_bare": round((report.passages / import_s) / (len(passages) / bare_s), 3),
    }

    questions = questions_from_titles(rows, question_count)
    for question in questions[:10]:  # warm up both paths
        encoder.model.encode([question])
        library.ask(question)
    encode_ms, ask_ms = [], []
    for question in questions:  # side by side, question by question
        t0 = time.perf_counter()
        encoder.model.encode([question])
        t1 = time.perf_counter()
        library.ask(question)
        t2 = time.perf_counter()
        encode_ms.append((t1 - t0) * 1000)
        ask_ms.append((t2 - t1) * 1000)
    results["ask"] = {
        "questions": len(questions),
        "p50_ms": round(percentile(ask_ms, 50), 2),
        "p95_ms": round(percentile(ask_ms, 95), 2),
        "bare_encode_p50_ms": round(percentile(encode_ms, 50), 2),
        "bare_encode_p95_ms": round(percentile(encode_ms, 95), 2),
        "ratio_ask_to_bare_encode_p50": round(percentile(ask_ms, 50) / percentile(encode_ms, 50), 2),
    }
    results["peak_rss_mb_import_and_ask_process"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    library.close()

    # The child reports its own peak (VmHWM, in kB). getrusage would not do: RUSAGE_CHILDREN counts
    # the fork of this big process, and ru_maxrss survives execve.
    child = (
        "import re, runpy, sys\n"
        "sys.argv = ['run_bot.py', 'ask', 'who did Ratcliffe blame?', '--data-dir', sys.argv[1]]\n"
        "try:\n    runpy.run_path('run_bot.py', run_name='__main__')\n"
        "finally:\n    status = open('/proc/self/status').read()\n"
        "    print(re.search(r'VmHWM:\\s+(\\d+)', status).group(1), file=sys.stderr)\n"
    )
    cold, cold_rss = [], []
    for _ in range(3):
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-c", child, str(data_dir)], cwd=REPO, capture_output=True, text=True, check=False
        )
        cold.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            raise SystemExit(f"cold ask failed: {proc.stderr}")
        cold_rss.append(int(proc.stderr.split()[-1]) / 1024)
    results["cold_start_s"] = {"median": round(statistics.median(cold), 2), "runs": [round(c, 2) for c in cold]}
    results["peak_rss_mb_cold_ask_process"] = round(max(cold_rss))
    return results


def main() -> None:
    """Run on a scratch directory (or ``--keep DIR``) and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=int, default=250)
    parser.add_argument("--keep", type=Path, help="do the work in this directory and leave it there")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(run(args.keep or Path(tmp), args.questions), indent=2))


if __name__ == "__main__":
    main()
