"""SQuAD files as the benchmarks use them: load, import through the project's own code, map passages to paragraphs.

v1.1 dev (48 articles, 10,570 questions) is what the figures are reported on. The v2.0 dev
half (16 other articles) is what every weight and threshold is chosen on, so nothing is
tuned on the questions that are reported.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path

from corpus.records import NewArticle
from index.library import Library

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
SQUAD_V1 = DATA / "squad-v1.1-dev.json.gz"
SQUAD_V2_HALF = DATA / "squad-v2.0-dev-half.json.gz"


@dataclass(frozen=True, slots=True)
class SquadQuestion:
    """One answerable question: its text, the article and paragraph (numbered over the set) and the answer."""

    text: str
    article: int
    paragraph: int
    answer_start: int  # in the stored article text
    answer_end: int


def load_squad(path: Path = SQUAD_V1) -> list[dict]:
    """The SQuAD articles: each has a title and paragraphs with their questions."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return json.load(f)["data"]


def squad_article(article: dict) -> NewArticle:
    """One SQuAD article as one stored article, its paragraphs separated by blank lines."""
    text = "\n\n".join(p["context"] for p in article["paragraphs"])
    return NewArticle(title=article["title"].replace("_", " "), text=text, source="Wikipedia")


def questions_of(articles: list[dict]) -> list[SquadQuestion]:
    """Every answerable question, in file order (v2.0's unanswerable ones are left out)."""
    found, paragraph = [], 0
    for number, article in enumerate(articles):
        offset = 0
        for p in article["paragraphs"]:
            for qa in p["qas"]:
                if qa.get("is_impossible") or not qa["answers"]:
                    continue
                answer = qa["answers"][0]
                start = offset + answer["answer_start"]
                found.append(SquadQuestion(qa["question"], number, paragraph, start, start + len(answer["text"])))
            offset += len(p["context"]) + 2
            paragraph += 1
    return found


def import_articles(library: Library, articles: list[dict]) -> None:
    """Import the articles through ``Library.import_articles`` (unless this data directory has them)."""
    if library.store.counts()[0] < len(articles):
        report = library.import_articles((i, squad_article(a)) for i, a in enumerate(articles))
        if report.errors or report.added != len(articles):
            raise SystemExit(f"SQuAD import went wrong: {report}")


def paragraph_of_passages(library: Library, articles: list[dict]) -> dict[int, int]:
    """Map every passage id to the number (over the whole set) of the paragraph that contains it."""
    by_title = {a.title: a for a in library.store.list_articles(None) if a.added_by != "built-in"}
    owner: dict[int, int] = {}
    number = 0
    for article in articles:
        stored = by_title[article["title"].replace("_", " ")]
        bounds, offset = [], 0
        for p in article["paragraphs"]:
            bounds.append((offset, offset + len(p["context"]), number))
            offset += len(p["context"]) + 2
            number += 1
        for passage in library.store.article_passages(stored.id):
            owner[passage.id] = next(n for s, e, n in bounds if s <= passage.start and passage.end <= e)
    return owner
