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


def top_scores(library: Library, texts: list[str]) -> np.ndarray:
    """The best passage score for each question, as ``ask`` sees it."""
    vectors = library.encoder.encode(texts, batch_size=128)
    return np.array([library.index.search(v, 1)[0][1] for v in vectors])


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
        covered = top_scores(library, [q for a in indexed for q in questions(a, 1)])
        uncovered = top_scores(library, [q for a in missing for q in questions(a, 1)])
        library.close()
    table = []
    for threshold in np.arange(0.10, 0.61, 0.01):
        keep = float((covered >= threshold).mean())
        abstain = float((uncovered < threshold).mean())
        table.append({"threshold": round(float(threshold), 2), "keep": round(keep, 3), "abstain": round(abstain, 3)})
    best = max(table, key=lambda row: row["keep"] + row["abstain"])
    for row in table:
        mark = "  <- best balanced accuracy" if row is best else ""
        print(f"{row['threshold']:.2f}  answered-when-covered {row['keep']:.3f}", end="")
        print(f"  abstained-when-not {row['abstain']:.3f}{mark}")
    result = {"covered_questions": len(covered), "uncovered_questions": len(uncovered), "best": best, "table": table}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
