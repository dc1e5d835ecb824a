"""Does bfloat16 change what is found? R@5 on all SQuAD v1.1 dev questions, float32 against the default.

    python -m bench.precision

The same articles are imported twice, once with ``MODEL_PRECISION=float32`` and once with the
default (``auto``: bfloat16 where the CPU has it), and every question is ranked by
``Library.candidates``, as ``ask`` ranks them.
"""

from __future__ import annotations

from pathlib import Path

from bench.squad_data import SQUAD_V1, import_articles, load_squad, paragraph_of_passages, questions_of
from index.encoder import SentenceTransformerEncoder
from index.library import Library


def recall_at_5(library: Library, articles: list[dict]) -> float:
    """The share of questions whose gold paragraph is among the first five candidates."""
    owner = paragraph_of_passages(library, articles)
    asked = questions_of(articles)
    vectors = library.encoder.encode([q.text for q in asked], batch_size=64)
    hits = 0
    for question, query in zip(asked, vectors, strict=True):
        ranked = [owner.get(c.passage.id) for c in library.candidates(question.text, query, 5, None)]
        hits += question.paragraph in ranked
    return hits / len(asked)


def run(workdir: Path) -> dict[str, object]:
    """R@5 with each precision."""
    articles = load_squad(SQUAD_V1)
    found: dict[str, float] = {}
    used: dict[str, str] = {}
    for precision, name in (("auto", "squad-report"), ("float32", "squad-report-float32")):
        encoder = SentenceTransformerEncoder(precision=precision)
        library = Library.open(workdir / name, encoder)
        import_articles(library, articles)
        found[precision] = recall_at_5(library, articles)
        used[precision] = encoder.precision
        library.close()
    return {
        "set": "SQuAD v1.1 dev, all questions",
        "auto_computes_in": used["auto"],
        "R@5_float32": round(found["float32"], 4),
        "R@5_auto": round(found["auto"], 4),
        "change": round(found["auto"] - found["float32"], 4),
    }


def main() -> None:
    """Run on a scratch directory and print the figures."""
    import json
    from tempfile import TemporaryDirectory

    with TemporaryDirectory() as tmp:
        print(json.dumps(run(Path(tmp)), indent=1))


if __name__ == "__main__":
    main()
