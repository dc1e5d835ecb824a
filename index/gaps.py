"""Knowledge gaps: the questions members asked that the articles did not answer, grouped when they ask the same thing.

:meth:`index.library.Library.gaps` reads the refused and voted-down questions from the activity
log; this module groups them by meaning, so moderators see which articles are missing and how
often each was wanted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from corpus.records import UnansweredQuestion

#: Two questions ask the same thing at this cosine or more (bench/gaps.py: on 30 pairs asking the same
#: thing and 30 asking related but different things, 0.82 groups 0.80 of the first and keeps 0.90 of the
#: second apart; a wrong merge would hide a gap, a missed one only splits its count).
GAP_SIMILARITY = 0.82
#: At most this many of the newest unanswered questions are read (time and memory stay bounded).
GAP_SCAN = 2000
#: At most this many groups are shown.
GAP_LIMIT = 20


@dataclass(slots=True)
class Gap:
    """One thing members asked for and did not get: its newest wording, how often, and the other wordings."""

    question: str
    asked: int = 0
    refused: int = 0
    voted_down: int = 0
    last_asked: str = ""
    wordings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        """As ``gaps --json`` prints it."""
        return {
            "question": self.question,
            "asked": self.asked,
            "refused": self.refused,
            "voted_down": self.voted_down,
            "last_asked": self.last_asked,
            "wordings": self.wordings,
        }


def group_questions(questions: list[UnansweredQuestion], vectors: np.ndarray) -> list[Gap]:
    """Group questions (newest first) whose vectors are within GAP_SIMILARITY of a group's first, most asked first.

    Each group is named by its newest wording and keeps up to three other distinct wordings.
    """
    gaps: list[Gap] = []
    heads: list[np.ndarray] = []
    for question, vector in zip(questions, vectors, strict=True):
        similarity = np.asarray([float(head @ vector) for head in heads])
        index = int(np.argmax(similarity)) if heads and similarity.max() >= GAP_SIMILARITY else None
        if index is None:
            gaps.append(Gap(question.question, last_asked=question.asked_at))
            heads.append(vector)
            index = len(gaps) - 1
        gap = gaps[index]
        gap.asked += 1
        gap.refused += question.refused
        gap.voted_down += not question.refused
        wording = " ".join(question.question.split())
        known = {gap.question.casefold(), *(w.casefold() for w in gap.wordings)}
        if wording.casefold() not in known and len(gap.wordings) < 3:
            gap.wordings.append(wording)
    return sorted(gaps, key=lambda g: (g.asked, g.last_asked), reverse=True)
