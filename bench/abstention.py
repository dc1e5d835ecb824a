"""Saying "the articles do not answer that": half of SQuAD indexed, every question asked.

    python -m bench.abstention

Calibration (SQuAD v2.0 dev half): its even-numbered articles are indexed and all its answerable
questions asked. For each coverage weight the threshold that keeps 95% of the covered questions
answered is found, with the share of uncovered questions it refuses; the library's
``COVERAGE_WEIGHT`` and ``DEFAULT_MIN_SCORE`` come from this table.

Report (SQuAD v1.1 dev): its even-numbered articles (24 of 48) are indexed and all 10,570 questions
asked through ``Library.ask`` with the library's defaults. Questions about the indexed half should
be answered (and, reported beside it, with the gold paragraph among the quotes); questions about
the other half should get ``answered: false``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.squad_data import SQUAD_V1, SQUAD_V2_HALF, import_articles, load_squad, paragraph_of_passages, questions_of
from index.answers import word_coverage
from index.library import COVERAGE_WEIGHT, DEFAULT_MIN_SCORE, Library

KEEP = 0.95


def calibrate(workdir: Path) -> dict[str, object]:
    """The threshold table on the v2.0 half."""
    articles = load_squad(SQUAD_V2_HALF)
    library = Library.open(workdir / "abstention-tune")
    import_articles(library, articles[0::2])
    asked = questions_of(articles)
    vectors = library.encoder.encode([q.text for q in asked], batch_size=64)
    fused, coverage = [], []
    for question, query in zip(asked, vectors, strict=True):
        searched = library.spelled(question.text)  # as ask does
        found = library.candidates(searched, query, 1, None)
        fused.append(found[0].score if found else 0.0)
        coverage.append(word_coverage(searched, found[0].passage.text) if found else 0.0)
    library.close()
    covered = np.asarray([q.article % 2 == 0 for q in asked])
    table = []
    for weight in np.arange(0.0, 1.01, 0.1).round(1):
        score = np.asarray(fused) + weight * np.asarray(coverage)
        threshold = float(np.quantile(score[covered], 1 - KEEP))
        table.append(
            {
                "coverage_weight": float(weight),
                "threshold": round(threshold, 3),
                "keep": round(float((score[covered] >= threshold).mean()), 4),
                "refuse": round(float((score[~covered] < threshold).mean()), 4),
            }
        )
    best = max(table, key=lambda row: row["refuse"])
    library_uses = {"coverage_weight": COVERAGE_WEIGHT, "threshold": DEFAULT_MIN_SCORE}
    if (best["coverage_weight"], round(best["threshold"], 2)) != (COVERAGE_WEIGHT, round(DEFAULT_MIN_SCORE, 2)):
        print(f"abstention: the calibration set now prefers {best}, the library uses {library_uses}")
    return {
        "set": "SQuAD v2.0 dev half: even-numbered articles indexed, all answerable questions asked",
        "covered_questions": int(covered.sum()),
        "uncovered_questions": int((~covered).sum()),
        "best": best,
        "library_uses": library_uses,
        "table": table,
    }


def report(workdir: Path) -> dict[str, object]:
    """Ask every v1.1 question with half the articles indexed."""
    articles = load_squad(SQUAD_V1)
    library = Library.open(workdir / "abstention-report")
    import_articles(library, articles[0::2])
    owner = paragraph_of_passages(library, articles[0::2])
    # questions_of numbers paragraphs over the set it is given: renumber the indexed half's.
    first_paragraph, number = {}, 0
    for i, article in enumerate(articles):
        first_paragraph[i] = number
        number += len(article["paragraphs"])
    indexed_first, number = {}, 0
    for i in range(0, len(articles), 2):
        indexed_first[i] = number
        number += len(articles[i]["paragraphs"])
    answered = {True: 0, False: 0}
    with_gold = 0
    asked = questions_of(articles)
    for question in asked:
        answer = library.ask(question.text, k=3)
        is_covered = question.article % 2 == 0
        answered[is_covered] += answer.answered
        if is_covered and answer.answered:
            gold = question.paragraph - first_paragraph[question.article] + indexed_first[question.article]
            with_gold += any(owner.get(q.passage_id) == gold for q in answer.quotes)
    library.close()
    covered = sum(q.article % 2 == 0 for q in asked)
    uncovered = len(asked) - covered
    return {
        "set": "SQuAD v1.1 dev: even-numbered articles (24 of 48) indexed, all questions asked",
        "covered_questions": covered,
        "uncovered_questions": uncovered,
        "covered_answered": round(answered[True] / covered, 4),
        "covered_answered_with_gold_in_quotes": round(with_gold / covered, 4),
        "uncovered_refused": round(1 - answered[False] / uncovered, 4),
    }


def run(workdir: Path) -> dict[str, object]:
    """Calibrate on v2.0, report on v1.1."""
    return {"calibration": calibrate(workdir), "report": report(workdir)}


def main() -> None:
    """Run on a scratch directory and print the figures."""
    import json
    from tempfile import TemporaryDirectory

    with TemporaryDirectory() as tmp:
        result = run(Path(tmp))
        result["calibration"].pop("table")  # type: ignore[attr-defined]
        print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
