"""Discord-style questions over the built-in article and the Reuters corpus: is the answer quoted, and marked.

    python -m bench.news [--half tune|test|all] [--workdir DIR] [--misses]

``bench/data/news_dev.json`` holds questions typed the way members type (lower case, no question
mark, typos, paraphrases, a time in the question, "what's the latest on"), each with the verbatim
answer text of one article, and questions no article answers (near misses and off-topic ones).
Questions are split by article into a tuning half and a test half: weights and thresholds are
chosen on ``tune``, figures are reported on ``test``.

For each question ``ask`` (k=3) is scored: hit@1 / hit@3 (the answer inside the first / any of the
three quotes), bold@1 (inside the first quote's bold sentence, what a member reads first) and
refused. The baselines rank the same passages with no abstention: BM25 (SQLite FTS5), dense
(the passage vectors, FAISS) and reciprocal-rank fusion of both (k=60).
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from corpus.readers import RowError, read_import_file
from index.library import Library

REPO = Path(__file__).resolve().parents[1]
DEV_SET = REPO / "bench" / "data" / "news_dev.json"
REUTERS = REPO.parent / "shared" / "data" / "reuters-politics-2017.csv.gz"
RRF_K = 60


def import_reuters(library: Library) -> None:
    """The built-in article plus the 989 Reuters articles (unless this data directory has them)."""
    if library.store.counts()[0] < 900:
        library.import_articles(r for r in read_import_file(REUTERS) if not isinstance(r, RowError))


def load(half: str) -> dict:
    """The dev set's questions of one half ("tune", "test" or "all")."""
    dev = json.loads(DEV_SET.read_text(encoding="utf-8"))
    keep = (lambda item: True) if half == "all" else (lambda item: item["half"] == half)
    return {
        "questions": [q for q in dev["questions"] if keep(q)],
        "not_covered": [q for q in dev["not_covered"] if keep(q)],
    }


def baselines(library: Library, question: str) -> dict[str, list[str]]:
    """The three best passage texts by BM25, by dense cosine and by their reciprocal-rank fusion."""
    query = library.encoder.encode([question])[0]
    lexical = [pid for pid, _ in library.lexical.search(question, 50, None)]
    dense = [pid for pid, _ in library.vectors.search(query, 50, None)]
    fused: dict[int, float] = defaultdict(float)
    for ranking in (lexical, dense):
        for rank, pid in enumerate(ranking):
            fused[pid] += 1 / (RRF_K + rank + 1)
    rrf = sorted(fused, key=lambda pid: -fused[pid])
    texts = library.store.passages_by_id(set(lexical[:3] + dense[:3] + rrf[:3]))
    return {
        name: [texts[p].text for p in ids[:3] if p in texts]
        for name, ids in (("bm25", lexical), ("dense", dense), ("rrf", rrf))
    }


def _rate(hits: int, n: int) -> float:
    return round(hits / n, 3) if n else 0.0


def score(library: Library, dev: dict, *, with_baselines: bool = True) -> dict[str, Any]:
    """Ask every question; hit@1, hit@3, bold@1 and refusals per kind, beside the baselines."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    misses = []
    for item in dev["questions"]:
        answer = library.ask(item["question"], k=3)
        texts = [q.text for q in answer.quotes]
        rank = next((i + 1 for i, text in enumerate(texts) if item["answer"] in text), None)
        bold = bool(answer.quotes) and item["answer"] in answer.quotes[0].highlight
        found = {"ask": (rank == 1, bool(rank), bold, not answer.answered)}
        if with_baselines:
            for name, ranked in baselines(library, item["question"]).items():
                top = [item["answer"] in t for t in ranked]
                found[name] = (bool(top[:1] and top[0]), any(top), False, False)
        for kind in (item["kind"], "all"):
            row = counts[kind]
            row["n"] += 1
            for name, (hit1, hit3, bold1, declined) in found.items():
                row[f"{name} hit@1"] += hit1
                row[f"{name} hit@3"] += hit3
                if name == "ask":
                    row["ask bold@1"] += bold1
                    row["ask refused"] += declined
        if rank != 1 or not bold:
            misses.append(
                {
                    "question": item["question"],
                    "kind": item["kind"],
                    "answer": item["answer"],
                    "rank": rank,
                    "answered": answer.answered,
                    "first": answer.quotes[0].highlight if answer.quotes else None,
                }
            )
    per_kind = {
        kind: {"n": row["n"]}
        | {k: (_rate(v, row["n"]) if k != "ask refused" else v) for k, v in row.items() if k != "n"}
        for kind, row in counts.items()
    }
    refused: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    answered_anyway = []
    for item in dev["not_covered"]:
        answer = library.ask(item["question"], k=3)
        for kind in (item["kind"], "all"):
            refused[kind][0] += not answer.answered
            refused[kind][1] += 1
        if answer.answered:
            answered_anyway.append(
                {"question": item["question"], "kind": item["kind"], "first": answer.quotes[0].highlight}
            )
    return {
        "per_kind": per_kind,
        "not_covered_refused": {kind: f"{r}/{n}" for kind, (r, n) in refused.items()},
        "misses": misses,
        "not_covered_answered": answered_anyway,
    }


def table(result: dict[str, Any]) -> str:
    """The per-kind figures as a Markdown table."""
    per_kind = result["per_kind"]
    kinds = [*sorted((k for k in per_kind if k != "all"), key=lambda k: -per_kind[k]["n"]), "all"]
    columns = [
        "ask hit@1",
        "ask hit@3",
        "ask bold@1",
        "ask refused",
        "bm25 hit@1",
        "bm25 hit@3",
        "dense hit@1",
        "dense hit@3",
        "rrf hit@1",
        "rrf hit@3",
    ]
    present = [c for c in columns if c in per_kind["all"]]
    lines = ["| kind | n | " + " | ".join(present) + " |", "|---|---|" + "---|" * len(present)]
    for kind in kinds:
        row = per_kind[kind]
        lines.append(f"| {kind} | {row['n']} | " + " | ".join(str(row.get(c, "")) for c in present) + " |")
    lines.append("")
    lines.append("Unanswerable refused: " + ", ".join(f"{k} {v}" for k, v in result["not_covered_refused"].items()))
    return "\n".join(lines)


def run(workdir: Path) -> dict[str, Any]:
    """Both halves (the test half is the report), with the baselines, on the full Reuters corpus."""
    library = Library.open(workdir / "reuters")
    import_reuters(library)
    results = {half: score(library, load(half)) for half in ("test", "tune")}
    library.close()
    for half, result in results.items():
        print(f"-- {half} half\n{table(result)}")
    return results


def main() -> None:
    """Run on a scratch (or kept) directory and print the tables."""
    from tempfile import TemporaryDirectory

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--half", choices=["tune", "test", "all"], default="tune")
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--misses", action="store_true", help="print the questions missed")
    parser.add_argument("--no-baselines", action="store_true")
    args = parser.parse_args()
    with TemporaryDirectory() as tmp:
        library = Library.open((args.workdir or Path(tmp)) / "reuters")
        import_reuters(library)
        result = score(library, load(args.half), with_baselines=not args.no_baselines)
        library.close()
    print(table(result))
    if args.misses:
        for miss in result["misses"] + result["not_covered_answered"]:
            print(json.dumps(miss, ensure_ascii=False))


if __name__ == "__main__":
    main()
