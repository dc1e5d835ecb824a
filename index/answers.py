"""Compose an answer from retrieved passages: pick, de-duplicate, mark the answering sentence."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from corpus.chunking import Span, sentences
from corpus.store import StoredPassage


@dataclass(frozen=True, slots=True)
class Quote:
    """One verbatim passage and the sentence in it that best answers the question."""

    text: str
    highlight_start: int
    highlight_end: int
    article_id: int
    passage_id: int
    title: str
    source: str | None
    url: str | None
    published: str | None
    score: float

    @property
    def highlight(self) -> str:
        """The answering sentence, verbatim."""
        return self.text[self.highlight_start : self.highlight_end]

    def to_json(self) -> dict[str, object]:
        """The quote as the CLI's ``--json`` prints it."""
        return {
            "text": self.text,
            "highlight": self.highlight,
            "article_id": self.article_id,
            "title": self.title,
            "source": self.source,
            "url": self.url,
            "published": self.published,
            "score": round(self.score, 4),
        }


@dataclass(frozen=True, slots=True)
class Answer:
    """The quotes that answer a question, or ``answered=False`` when the articles do not cover it."""

    question: str
    answered: bool
    quotes: list[Quote] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        """The answer as the CLI's ``--json`` prints it."""
        return {"question": self.question, "answered": self.answered, "quotes": [q.to_json() for q in self.quotes]}


_NON_WORD = re.compile(r"\W+")


def duplicate_key(text: str) -> str:
    """Text reduced to lower-case words, so copies differing in spacing or punctuation collide."""
    return _NON_WORD.sub(" ", text.casefold()).strip()


@dataclass(frozen=True, slots=True)
class Candidate:
    """A passage that may answer, with its fused score and the two scores it came from."""

    passage: StoredPassage
    score: float
    cosine: float
    lexical: float


def drop_duplicates(candidates: list[Candidate]) -> list[Candidate]:
    """Keep the first (best) copy of each passage text: the same text in two articles is shown once."""
    seen: set[str] = set()
    kept = []
    for candidate in candidates:
        key = duplicate_key(candidate.passage.text)
        if key not in seen:
            seen.add(key)
            kept.append(candidate)
    return kept


def passage_sentences(passage: StoredPassage) -> list[Span]:
    """The passage's sentences, with spans relative to the passage text."""
    return sentences(passage.text) or [Span(0, len(passage.text), passage.text)]


def mark_best_sentence(question: np.ndarray, spans: list[Span], vectors: np.ndarray) -> Span:
    """The sentence whose embedding is closest to the question's."""
    return spans[int(np.argmax(vectors @ question))]


def make_quote(passage: StoredPassage, score: float, sentence: Span) -> Quote:
    """A quote of ``passage`` with ``sentence`` marked."""
    return Quote(
        text=passage.text,
        highlight_start=sentence.start,
        highlight_end=sentence.end,
        article_id=passage.article_id,
        passage_id=passage.id,
        title=passage.title,
        source=passage.source,
        url=passage.url,
        published=passage.published,
        score=score,
    )
