"""Calibrate the abstention threshold (``MIN_SCORE``) on SQuAD v1.1 dev, through the project's own code.

    python -m bench.calibrate_abstention

The even-numbered articles (0, 2, 4, ...) are imported as one article each,
paragraphs separated by blank lines. Only the *odd-numbered* questions of every
article are used here, so the even-numbered ones stay unseen for reporting.
Questions about indexed articles should be answered; questions about the other
articles should not. For each threshold this prints how many of each are
handled right, and picks the one with the best balanced accuracy.
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np

from corpus.store import NewArticle
from index.library import Library

REPO = Path(__file__).resolve().parents[1]
SQUAD = REPO.parent / "shared" / "data" / "squad-v1.1-dev.json.gz"


def load_squad(path: Path = SQUAD) -> list[dict]:
    """The SQuAD articles: each has a title and paragraphs with their questions."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return json.load(f)["data"]


def squad_article(article: dict) -> NewArticle:
    """One SQuAD article as one stored article, its paragraphs separated by blank lines."""
    text = "\n\n".join(p["context"] for p in article["paragraphs"])
    return NewArticle(title=article["title"].replace("_", " "), text=text, source="Wikipedia")


def questions(article: dict, parity: int) -> list[str]:
    """The article's questions at odd (1) or even (0) positions."""
    all_qs = [qa["question"] for p in article["paragraphs"] for qa in p["qas"]]
    return [q for i, q in enumerate(all_qs) if i % 2 == parity]


SIGNALS = ("cosine", "fused", "bm25")


def signals(library: Library, texts: list[str]) -> dict[str, np.ndarray]:
    """For each question, the best candidate's cosine, fused score and BM25, as ``ask`` sees them."""
    vectors = library.encoder.encode(texts, batch_size=128)
    rows = []
    for text, vector in zip(texts, vectors, strict=True):
        found = library.candidates(text, vector, 3, None)
        rows.append(
            (
                max((c.cosine for c in found), default=0.0),
                max((c.score for c in found), default=0.0),
                max((c.lexical for c in found), default=0.0),
            )
        )
    table = np.array(rows)
    return {name: table[:, i] for i, name in enumerate(SIGNALS)}


def main() -> None:
    """Import half of SQuAD, score the calibration questions, print the threshold table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "calibration.json")
    args = parser.parse_args()
    articles = load_squad()
    indexed, missing = articles[0::2], articles[1::2]
    with TemporaryDirectory() as tmp:
        library = Library(Path(tmp) / "data")
        library.import_articles((i, squad_article(a)) for i, a in enumerate(indexed))
        covered = signals(library, [q for a in indexed for q in questions(a, 1)])
        uncovered = signals(library, [q for a in missing for q in questions(a, 1)])
        library.close()
    result: dict[str, object] = {"covered_questions": len(covered["cosine"]), "uncovered": len(uncovered["cosine"])}
    for name in SIGNALS:
        values = np.concatenate([covered[name], uncovered[name]])
        table = []
        for threshold in np.unique(np.quantile(values, np.linspace(0, 1, 201))):
            keep = float((covered[name] >= threshold).mean())
            abstain = float((uncovered[name] < threshold).mean())
            table.append(
                {"threshold": round(float(threshold), 3), "keep": round(keep, 3), "abstain": round(abstain, 3)}
            )
        balanced = max(table, key=lambda row: row["keep"] + row["abstain"])
        keep_95 = max((row for row in table if row["keep"] >= 0.95), key=lambda row: row["threshold"])
        result[name] = {"best_balanced": balanced, "highest_keeping_95": keep_95, "table": table}
        print(f"{name:>7}: best balanced {balanced}; highest threshold keeping 95%: {keep_95}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
