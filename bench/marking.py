"""How often the marked (bold) sentence holds the answer, on all SQuAD v1.1 dev questions.

    python -m bench.marking

For each question, take the stored passage that holds the answer span and mark a sentence
the way ``ask`` does (``Library.mark``: the stored sentence vectors plus word overlap). A hit
is a marked sentence that contains the whole answer. Baselines in the same run: the sentence
most similar to the question when every sentence is embedded on its own, and a random sentence.
The weights in ``index.answers`` were chosen on the SQuAD v2.0 dev half, not on these questions.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

from bench.squad_data import SQUAD_V1, import_articles, load_squad, questions_of
from index.answers import text_sentences
from index.library import Library


def run(workdir: Path, path: Path = SQUAD_V1) -> dict[str, object]:
    """Mark a sentence for every question and count the hits."""
    articles = load_squad(path)
    library = Library.open(workdir / "squad-report")
    import_articles(library, articles)
    stored = {a.title: a.id for a in library.store.list_articles(None)}
    passages = {
        number: library.store.article_passages(stored[article["title"].replace("_", " ")])
        for number, article in enumerate(articles)
    }
    cases = []  # (question, passage, answer start and end within the passage)
    for q in questions_of(articles):
        holder = next((p for p in passages[q.article] if p.start <= q.answer_start and q.answer_end <= p.end), None)
        if holder is not None:
            cases.append((q.text, holder, q.answer_start - holder.start, q.answer_end - holder.start))
    queries = library.encoder.encode([c[0] for c in cases], batch_size=64)
    splits = [text_sentences(c[1].text) for c in cases]
    alone = library.encoder.encode([s.text for spans in splits for s in spans], batch_size=64)
    rng = random.Random(7)
    hits = {"this project (Library.mark)": 0, "most similar sentence, embedded alone": 0, "random sentence": 0}
    cursor = 0
    for (question, passage, start, end), spans, query in zip(cases, splits, queries, strict=True):
        marked = library.mark(passage, question, query)
        similar = spans[int(np.argmax(alone[cursor : cursor + len(spans)] @ query))]
        cursor += len(spans)
        for name, span in zip(hits, (marked, similar, rng.choice(spans)), strict=True):
            hits[name] += span.start <= start and end <= span.end
    library.close()
    return {
        "set": "SQuAD v1.1 dev, all questions whose answer lies inside one stored passage",
        "questions": len(cases),
        "sentence_holds_answer": {name: round(n / len(cases), 4) for name, n in hits.items()},
    }


def main() -> None:
    """Run on a scratch directory and print the figures."""
    import json
    from tempfile import TemporaryDirectory

    with TemporaryDirectory() as tmp:
        print(json.dumps(run(Path(tmp)), indent=1))


if __name__ == "__main__":
    main()
