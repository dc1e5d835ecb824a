"""BM25 as FTS5's ``bm25()`` computes it, and the term lists both backends rank from.

Each backend keeps, for every term, its passages ordered by ``impact`` (the term-frequency part
of BM25 at REFERENCE_LENGTH tokens), per server scope (0: the global articles). A question reads
the first LIST_DEPTH passages of each of its terms' lists, sums what it read, and scores the best
RESCORE x k of those exactly with every question term. While no question term is in more than
LIST_DEPTH passages this is FTS5's ranking to the last digit; beyond, a passage that is in no
term's head is not found, which is what keeps a question at a million passages within
milliseconds (bench/scale_backends.py measures both).
"""

from __future__ import annotations

import math

#: BM25's k1 and b, as FTS5's bm25() has them.
K1, B = 1.2, 0.75
#: The length (tokens) at which a posting's impact is computed: near the passages' average, so a
#: term's list is in (almost) the order of its BM25 weight; the scores use the true average.
REFERENCE_LENGTH = 100.0
#: How much of each question term's list (per scope) a question reads.
LIST_DEPTH = 1000
#: How many passages per answer wanted are scored exactly with every question term.
RESCORE = 4


def impact(tf: str, length: str) -> str:
    """SQL for a posting's place in its term's list, from the SQL of its tf and its passage's length."""
    return f"{tf} * {K1 + 1} / ({tf} + {K1} * ({1 - B} + {B} * {length} / {REFERENCE_LENGTH}))"


def idf(passages: int, docs: int) -> float:
    """FTS5's inverse document frequency of a term ``docs`` of ``passages`` passages hold (never below 1e-6)."""
    return max(math.log((passages - docs + 0.5) / (docs + 0.5)), 1e-6)


def weight(idf_: float, tf: int, length: int, average: float) -> float:
    """One term's BM25 score in one passage of ``length`` tokens."""
    return idf_ * tf * (K1 + 1) / (tf + K1 * (1 - B + B * length / average))
