"""How often the marked (bold) sentence holds the answer, on SQuAD v1.1 dev, through the project's own code.

    python -m bench.marking --keep DIR   (DIR: a data directory `python -m bench.squad --keep DIR` made)

For each even-numbered ("report") question, take the stored passage that holds the
answer span, split it with the project's sentence splitter, mark a sentence the way
``ask`` does (the one whose embedding is closest to the question's), and count a hit
when that sentence contains the whole answer span. A random sentence of the same
passage is the floor.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from bench.calibrate_abstention import load_squad
from index.answers import mark_best_sentence, passage_sentences
from index.library import Library

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    """Mark a sentence for every report question and count the hits."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keep", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "marking.json")
    args = parser.parse_args()
    library = Library(args.keep)
    rng = random.Random(7)
    cases = []  # (question, passage, answer start and end within the passage)
    for article in load_squad():
        stored = next(a for a in library.store.list_articles(None) if a.title == article["title"].replace("_", " "))
        passages = library.store.article_passages(stored.id)
        offset, q_index = 0, 0
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                if q_index % 2 == 0:
                    answer = qa["answers"][0]
                    start = offset + answer["answer_start"]
                    end = start + len(answer["text"])
                    holder = next((p for p in passages if p.start <= start and end <= p.end), None)
                    if holder is not None:
                        cases.append((qa["question"], holder, start - holder.start, end - holder.start))
                q_index += 1
            offset += len(paragraph["context"]) + 2
    questions = library.encoder.encode([c[0] for c in cases], batch_size=128)
    splits = [passage_sentences(c[1]) for c in cases]
    vectors = library.encoder.encode([s.text for spans in splits for s in spans], batch_size=128)
    hits = random_hits = cursor = 0
    for (_, _, start, end), spans, question in zip(cases, splits, questions, strict=True):
        marked = mark_best_sentence(question, spans, vectors[cursor : cursor + len(spans)])
        cursor += len(spans)
        hits += marked.start <= start and end <= marked.end
        guess = rng.choice(spans)
        random_hits += guess.start <= start and end <= guess.end
    library.close()
    result = {
        "questions": len(cases),
        "marked_sentence_holds_answer": round(hits / len(cases), 3),
        "random_sentence_holds_answer": round(random_hits / len(cases), 3),
    }
    print(json.dumps(result, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
