"""Discord-style questions over the built-in article and the Reuters corpus: is the answer quoted.

    python -m bench.news

``bench/data/news_dev.json`` holds questions typed the way people type in Discord (lower case,
no question mark, some typos), each with the verbatim answer text of one article, and questions
no article answers. A hit@k is an answer text inside one of the first k quotes ``ask`` returns.
This is a development set: it was written by hand for this project and may be used for tuning.
"""

from __future__ import annotations

import json
from pathlib import Path

from corpus.readers import RowError, read_import_file
from index.library import Library

REPO = Path(__file__).resolve().parents[1]
DEV_SET = REPO / "bench" / "data" / "news_dev.json"
REUTERS = REPO.parent / "shared" / "data" / "reuters-politics-2017.csv.gz"


def import_reuters(library: Library) -> None:
    """The built-in article plus the 989 Reuters articles (unless this data directory has them)."""
    if library.store.counts()[0] < 900:
        library.import_articles(r for r in read_import_file(REUTERS) if not isinstance(r, RowError))


def run(workdir: Path) -> dict[str, object]:
    """Ask every dev question through ``Library.ask`` and count hits and refusals."""
    dev = json.loads(DEV_SET.read_text(encoding="utf-8"))
    library = Library(workdir / "reuters")
    import_reuters(library)
    hits = {1: 0, 3: 0}
    misses = []
    for item in dev["questions"]:
        answer = library.ask(item["question"], k=3)
        texts = [q.text for q in answer.quotes]
        rank = next((i + 1 for i, text in enumerate(texts) if item["answer"] in text), None)
        for k in hits:
            hits[k] += bool(rank and rank <= k)
        if rank is None:
            misses.append({"question": item["question"], "answered": answer.answered})
    refused = sum(not library.ask(q).answered for q in dev["not_covered"])
    library.close()
    n = len(dev["questions"])
    return {
        "questions": n,
        "hit@1": round(hits[1] / n, 3),
        "hit@3": round(hits[3] / n, 3),
        "missed": misses,
        "not_covered_questions": len(dev["not_covered"]),
        "not_covered_refused": round(refused / len(dev["not_covered"]), 3),
    }


def main() -> None:
    """Run on a scratch directory and print the figures."""
    from tempfile import TemporaryDirectory

    with TemporaryDirectory() as tmp:
        print(json.dumps(run(Path(tmp)), indent=1))


if __name__ == "__main__":
    main()
