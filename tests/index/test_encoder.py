"""The encoder lets a question in between the batches of a rebuild or an import."""

from __future__ import annotations

import threading
import time

import numpy as np

from index.encoder import QuestionsFirst, SentenceTransformerEncoder


def test_a_waiting_question_goes_before_the_next_batch() -> None:
    """A batch that was waiting first still lets a question that waits in before it."""
    turns = QuestionsFirst()
    order: list[str] = []

    def use(kind: str) -> None:
        with turns.short() if kind == "question" else turns.batch():
            order.append(kind)

    holding = turns.batch()
    holding.__enter__()
    next_batch = threading.Thread(target=use, args=("batch",))
    next_batch.start()
    time.sleep(0.05)  # the batch is waiting before the question arrives
    question = threading.Thread(target=use, args=("question",))
    question.start()
    while turns._short_waiting == 0:  # wait until the question is queued
        time.sleep(0.001)
    holding.__exit__(None, None, None)
    next_batch.join(5)
    question.join(5)
    assert order == ["question", "batch"]


def test_a_question_asked_during_a_long_embedding_is_answered_before_it_ends(
    encoder: SentenceTransformerEncoder,
) -> None:
    """A rebuild embeds many batches; a question waits for the current one only, and gets the same vector."""
    text = "County clerks will audit the paper ballots by hand before the results are certified. " * 6
    passages = [f"{i} {text}" for i in range(160)]
    spans = [[(0, len(p))] for p in passages]
    expected = encoder.encode(["who audits the ballots"])[0]
    finished: dict[str, float] = {}

    def rebuild() -> None:
        encoder.encode_passages(passages, spans, batch_size=8)
        finished["rebuild"] = time.monotonic()

    worker = threading.Thread(target=rebuild)
    worker.start()
    time.sleep(0.2)  # the first batches are running
    vector = encoder.encode(["who audits the ballots"])[0]
    finished["question"] = time.monotonic()
    worker.join(120)
    assert finished["question"] < finished["rebuild"]
    assert np.allclose(vector, expected, atol=1e-3)
