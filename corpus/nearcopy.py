"""Wire copies: whether a new article is a stored story published again by another outlet.

One wire story appears at dozens of outlets, each with its own dateline, outlet line, byline or
closing lines. Such a copy is stored once (``index/library.py``) and its outlet recorded against
the first copy. The method is MinHash with locality-sensitive hashing (datasketch):

- a text's **shingles** are its runs of :data:`SHINGLE_WORDS` words, lower-cased, NFKC-normalised
  and stripped of punctuation, so spacing, quotes and case do not matter;
- its **signature** is a 128-permutation MinHash of those shingles, cut into :data:`BANDS` bands
  of :data:`ROWS` values; each band's hash is stored with the article id (``article_bands``), so
  any process of either backend finds the stored articles that share a band with a new text in
  one indexed query, with no index held in memory;
- each such candidate is then **compared exactly**, shingle set against shingle set, from its
  stored text (:func:`resemblance`): the new text is a copy when the Jaccard similarity of the two
  sets is at least :data:`COPY_JACCARD` and each text holds at least :data:`COPY_CONTAINMENT` of
  the other's shingles.

An updated story (the same story with substantial new paragraphs) holds nearly all of the old
one, but the old one holds only part of it: its ``new_in_old`` falls under COPY_CONTAINMENT and it
is stored as a new article. The thresholds were chosen with ``python -m bench.wire`` on real
Reuters articles (see BENCHMARKS.md).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from datasketch import MinHash

from corpus.chunking import Span
from corpus.records import StoredPassage

#: A shingle is this many consecutive words.
SHINGLE_WORDS = 5
#: MinHash permutations, and their fixed seed (a stored band is only comparable under the same ones).
PERMUTATIONS = 128
SEED = 1
#: The LSH layout: BANDS x ROWS of the 128 values. datasketch's MinHashLSH picks (25, 5) as optimal for
#: a Jaccard threshold of 0.5 (tests/corpus/test_nearcopy.py checks it): candidates are sought well below
#: COPY_JACCARD, and the exact comparison decides.
LSH_THRESHOLD = 0.5
BANDS = 25
ROWS = 5
#: The exact decision (bench/wire.py, on real Reuters articles with synthetic syndicated copies).
COPY_JACCARD = 0.8
COPY_CONTAINMENT = 0.9
#: Which scheme the stored bands were made with; a database with another is re-indexed when opened.
SCHEME = f"minhash-affine32-{PERMUTATIONS}p-seed{SEED}-{SHINGLE_WORDS}w-{BANDS}x{ROWS}"
#: At most this many candidates (those sharing most bands first) are compared exactly.
MAX_CANDIDATES = 20

_WORD = re.compile(r"[^\W_]+")


def words(text: str) -> list[str]:
    """The text's words, NFKC-normalised and case-folded, punctuation dropped."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


@lru_cache(maxsize=256)
def shingles(text: str) -> frozenset[str]:
    """The text's runs of SHINGLE_WORDS words (a shorter text is one shingle)."""
    found = words(text)
    if len(found) <= SHINGLE_WORDS:
        return frozenset([" ".join(found)]) if found else frozenset()
    return frozenset(" ".join(found[i : i + SHINGLE_WORDS]) for i in range(len(found) - SHINGLE_WORDS + 1))


def signature(text: str) -> np.ndarray:
    """The text's MinHash: PERMUTATIONS values (uint32)."""
    minhash = MinHash(num_perm=PERMUTATIONS, seed=SEED)
    minhash.update_batch([s.encode() for s in sorted(shingles(text))])
    return np.asarray(minhash.hashvalues)


@lru_cache(maxsize=256)
def bands(text: str) -> tuple[tuple[int, int], ...]:
    """(band number, hash of that band's values) for each of the BANDS bands of the text's signature.

    The hash is the first 8 bytes of BLAKE2b over the band's values in big-endian order (as
    datasketch's MinHashLSH keys its buckets), read as a signed 64-bit integer so both
    databases store it as an ordinary integer.
    """
    values = signature(text)
    keyed = []
    for band in range(BANDS):
        chunk = values[band * ROWS : (band + 1) * ROWS]
        digest = hashlib.blake2b(bytes(chunk.byteswap().data), digest_size=8).digest()
        keyed.append((band, int.from_bytes(digest, "big", signed=True)))
    return tuple(keyed)


@dataclass(frozen=True, slots=True)
class Resemblance:
    """How much two texts share, shingle for shingle."""

    jaccard: float  # shared / either
    old_in_new: float  # the share of the stored text's shingles the new one holds
    new_in_old: float  # the share of the new text's shingles the stored one holds

    @property
    def is_copy(self) -> bool:
        """Whether the new text is the stored story published again (not a different or an updated story)."""
        return (
            self.jaccard >= COPY_JACCARD and self.old_in_new >= COPY_CONTAINMENT and self.new_in_old >= COPY_CONTAINMENT
        )


def resemblance(new: str, stored: str) -> Resemblance:
    """Exact Jaccard similarity and containments of the two texts' shingle sets."""
    a, b = shingles(new), shingles(stored)
    if not a or not b:
        return Resemblance(0.0, 0.0, 0.0)
    shared = len(a & b)
    return Resemblance(shared / len(a | b), shared / len(b), shared / len(a))


def same_outlet(a: str | None, b: str | None) -> bool:
    """Whether two outlet names are the same outlet ("Reuters", " reuters ", "The Reuters" alike)."""
    return outlet_key(a) == outlet_key(b)


def outlet_key(name: str | None) -> str:
    """An outlet's name as compared: its words, case-folded, without a leading "the" ("" when unknown)."""
    found = words(name or "")
    return " ".join(found[1:] if found[:1] == ["the"] else found)


def quotable_text(spans: Iterable[Span | StoredPassage]) -> str:
    """What is compared: the quotable passages (bylines, credits and pitches the chunker drops do not count)."""
    return "\n\n".join(span.text for span in spans)
