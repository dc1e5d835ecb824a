"""Every benchmark figure in BENCHMARKS.md, in one command (about 20 minutes on 2 cores, 50 with scale_backends).

    python -m bench [--out bench/out] [--only NAME ...]

Runs, in this order and sharing one scratch directory (later steps reuse earlier imports):
reuters (import and ask speed against the bare model), news (the Discord-style dev set),
retrieval (SQuAD: this project against dense, BM25 and RRF), marking (the bold sentence),
precision (bfloat16 against float32), abstention (half of SQuAD indexed), scale (to 1M
passages), scale_backends (SQLite and PostgreSQL side by side at 10k and 100k passages; 1M with
``python -m bench.scale_backends``) and extraction (real news pages through ``add URL``; needs a
copy of trafilatura's repository in ``TRAFILATURA_REPO`` and is skipped without one). Writes
``results.json`` and ``summary.md`` (the targets table) to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import abstention, extraction, marking, news, precision, retrieval, reuters, scale, scale_backends

REPO = Path(__file__).resolve().parents[1]
STEPS: dict[str, Callable[[Path], dict[str, object]]] = {
    "reuters": reuters.run,
    "news": news.run,
    "retrieval": retrieval.run,
    "marking": marking.run,
    "precision": precision.run,
    "abstention": abstention.run,
    "scale": scale.run,
    "scale_backends": scale_backends.step,
    "extraction": extraction.run,
}


def _get(results: dict, *path: str) -> Any:
    value: Any = results
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def summary(results: dict) -> str:
    """The targets of issues 5, 11 and 17 against what this run measured, as a Markdown table."""
    project = _get(results, "retrieval", "report", "this project (Library.candidates)") or {}
    largest = (_get(results, "scale", "search") or [{}])[-1]
    pages = _get(results, "extraction", "english_news") or {}
    rows = [
        ("SQuAD R@1", "≥ 0.80", project.get("R@1")),
        ("SQuAD R@5", "≥ 0.95", project.get("R@5")),
        ("SQuAD MRR@10", "≥ 0.86", project.get("MRR@10")),
        (
            "marked sentence holds the answer",
            "≥ 0.88",
            _get(results, "marking", "sentence_holds_answer", "this project (Library.mark)"),
        ),
        ("abstention: uncovered refused", "≥ 0.90", _get(results, "abstention", "report", "uncovered_refused")),
        ("abstention: covered answered", "≥ 0.95", _get(results, "abstention", "report", "covered_answered")),
        (
            "news dev, test half: hit@1",
            "≥ 0.75 (held-out target)",
            _get(results, "news", "test", "per_kind", "all", "ask hit@1"),
        ),
        (
            "news dev, test half: hit@3",
            "≥ 0.90 (held-out target)",
            _get(results, "news", "test", "per_kind", "all", "ask hit@3"),
        ),
        (
            "news dev, test half: answer in first bold",
            "≥ 0.65",
            _get(results, "news", "test", "per_kind", "all", "ask bold@1"),
        ),
        (
            "news dev, test half: answerable refused",
            "≤ 2 of 88",
            _get(results, "news", "test", "per_kind", "all", "ask refused"),
        ),
        (
            "news dev, test half: unanswerable refused",
            "≥ 11 of 12",
            _get(results, "news", "test", "not_covered_refused", "all"),
        ),
        ("warm ask / bare encode (p50)", "≤ 1.5", _get(results, "reuters", "ask", "ratio_ask_to_bare_encode_p50")),
        ("import / bare encode (passages/s)", "≥ 1.3", _get(results, "reuters", "import", "ratio_import_to_bare")),
        ("R@5 change, bfloat16 vs float32", "≤ 0.005", _get(results, "precision", "change")),
        ("1M passages: search p95 ms", "≤ 20", largest.get("ivf_p95_ms")),
        ("1M passages: recall@10 vs exact", "≥ 0.95", largest.get("ivf_recall_at_10")),
        ("load a 100k-passage index, s", "< 5", _get(results, "scale", "load", "load_saved_index_s")),
        ("news pages: expected text lost vs trafilatura, points", "≤ 0.5", _get(pages, "lost_points")),
        ("news pages: must-not snippets leaked, %", "≤ 8", _get(pages, "leaked_in_passages_%")),
        ("news pages: title agrees with the page, %", "≥ 95", _get(pages, "metadata_agreement_%", "title")),
        ("news pages: outlet agrees with the page, %", "≥ 95", _get(pages, "metadata_agreement_%", "outlet")),
        ("news pages: date agrees with the page, %", "≥ 95", _get(pages, "metadata_agreement_%", "date")),
    ]
    backends = (_get(results, "scale_backends", "sizes") or [{}])[-1]
    at = f"{backends['passages']:,} passages" if backends else "largest size"
    for name in scale_backends.BACKENDS:
        rows.append(
            (f"{at}, {name}: ask p95 ms without the encode", "≤ 50 at 1M", _get(backends, name, "ask", "p95_ms"))
        )
        rows.append((f"{at}, {name}: vector recall@10 vs exact", "≥ 0.95", _get(backends, name, "recall_at_10")))
    rows.append(
        (f"{at}: PostgreSQL / SQLite import passages/s", "≥ 0.8", backends.get("import_ratio_postgres_to_sqlite"))
    )
    lines = ["| target | wanted | measured |", "|---|---|---|"]
    lines += [f"| {name} | {wanted} | {'—' if got is None else got} |" for name, wanted, got in rows]
    for half in ("test", "tune"):
        if _get(results, "news", half, "per_kind"):
            lines += [
                "",
                f"News development set, {half} half (ask beside the baselines):",
                "",
                news.table(results["news"][half]),
            ]
    seconds = _get(results, "seconds") or {}
    lines.append("")
    lines.append("Step times (s): " + ", ".join(f"{k} {v}" for k, v in seconds.items()))
    return "\n".join(lines)


def main() -> None:
    """Run the steps, save everything, print the targets table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    parser.add_argument("--only", nargs="*", choices=list(STEPS), help="run only these steps")
    parser.add_argument("--workdir", type=Path, help="scratch directory to use and keep (default: a temporary one)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    saved = args.out / "results.json"
    # With --only, the other steps' figures of the last full run are kept.
    results: dict[str, Any] = json.loads(saved.read_text()) if args.only and saved.exists() else {}
    seconds: dict[str, float] = results.pop("seconds", {})
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for name, step in STEPS.items():
            if args.only and name not in args.only:
                continue
            print(f"== {name}", flush=True)
            t0 = time.perf_counter()
            results[name] = step(workdir)
            seconds[name] = round(time.perf_counter() - t0, 1)
            (args.out / "results.json").write_text(json.dumps(results | {"seconds": seconds}, indent=1))
    if not args.only:
        seconds["total"] = round(time.perf_counter() - started, 1)
    results["seconds"] = seconds
    (args.out / "results.json").write_text(json.dumps(results, indent=1))
    table = summary(results)
    (args.out / "summary.md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
