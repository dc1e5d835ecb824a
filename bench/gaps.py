"""How alike two questions must be to count as one knowledge gap: ``GAP_SIMILARITY`` in index/gaps.py.

    python -m bench.gaps

``bench/data/gap_pairs.json`` holds 30 pairs of questions asking the same thing in other words
and 30 pairs asking related but different things (another country, agency or person), written
for this project the way members type. For each threshold: the share of the first kind that
would be grouped and of the second kind kept apart, by the cosine of the questions' embeddings.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from index.encoder import SentenceTransformerEncoder
from index.gaps import GAP_SIMILARITY

PAIRS = Path(__file__).parent / "data" / "gap_pairs.json"
THRESHOLDS = (0.7, 0.75, 0.78, 0.8, 0.82, 0.84, 0.86, 0.9)


def _share(hits: np.ndarray) -> float:
    return round(float(np.mean(hits)), 3)


def run(workdir: Path) -> dict[str, object]:
    """Grouped and kept-apart shares at each threshold, and at the one in use."""
    pairs = json.loads(PAIRS.read_text(encoding="utf-8"))
    encoder = SentenceTransformerEncoder()

    def cosines(kind: str) -> np.ndarray:
        first = encoder.encode([a for a, _ in pairs[kind]])
        second = encoder.encode([b for _, b in pairs[kind]])
        return (first * second).sum(axis=1)

    same, different = cosines("same"), cosines("different")
    table = {
        f"{t:.2f}": {"grouped": _share(same >= t), "kept_apart": _share(different < t)}
        for t in sorted({*THRESHOLDS, GAP_SIMILARITY})
    }
    return {"pairs": {"same": len(same), "different": len(different)}, "in_use": GAP_SIMILARITY, "thresholds": table}


def main() -> None:
    """Print the table."""
    result = run(Path("."))
    print("| threshold | same question grouped | different questions kept apart |\n|---|---|---|")
    for threshold, shares in result["thresholds"].items():  # type: ignore[attr-defined]
        mark = " (in use)" if float(threshold) == GAP_SIMILARITY else ""
        print(f"| {threshold}{mark} | {shares['grouped']} | {shares['kept_apart']} |")


if __name__ == "__main__":
    main()
