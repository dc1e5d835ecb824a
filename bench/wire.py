"""Wire copies: does the near-copy test merge syndicated copies and nothing else? On the Reuters corpus.

    python -m bench.wire

Every one of the 989 real Reuters articles (``reuters-politics-2017.csv.gz``) is stored, and
three kinds of new text are tested against it, exactly as ``add`` tests them
(``corpus/nearcopy.py``: LSH band hashes find the candidates, the exact shingle comparison
decides):

- **syndicated copies** (must merge): the article with its dateline replaced ("NEW YORK (AP) -"),
  an outlet or byline line above it, and a closing paragraph (a reporting credit, a copyright
  line, a "related coverage" pitch), in random combinations;
- **different stories on the same topic** (must not merge): for each article, the other article
  of the corpus whose MinHash resembles it most (the hardest real negative there is);
- **updated stories** (must not merge): the article with new paragraphs, taken from its
  nearest other article, making up 25%, 50% or 100% of its length, inserted after the lede and
  at the end.

It reports recall on the copies, how many negatives would be merged, precision over all the
pairs, and a sweep of the two thresholds (Jaccard and containment) the decision uses; the
shipped ones are those in ``corpus/nearcopy.py``. The natural near-duplicates the corpus already
holds (Reuters re-ran a few stories) are listed too.
"""

from __future__ import annotations

import csv
import gzip
import json
import random
import re
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np

from corpus import nearcopy
from corpus.chunking import chunk_article
from corpus.nearcopy import Resemblance, resemblance
from index.encoder import SentenceTransformerEncoder

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
OUTLETS = ["The Sentinel", "AP", "Daily Courier", "NYT", "The Guardian", "Star Tribune", "Yahoo News"]
CITIES = ["NEW YORK", "LONDON", "CHICAGO", "WASHINGTON", "SAN FRANCISCO", "MIAMI"]
HEADS = [
    "By {name}, {outlet}",
    "{outlet} staff and wire reports",
    "Published by {outlet} on {date}",
    "{name} | {outlet}",
]
TAILS = [
    "(Reporting by {name}; Additional reporting by Patricia Zengerle; Editing by Jonathan Oatis)",
    "Copyright 2017 {outlet}. All rights reserved. This material may not be published, broadcast,"
    " rewritten or redistributed.",
    "Related coverage: Read more about the investigation and the latest from Capitol Hill on {outlet}.",
    "This story was first published by Reuters and is republished by {outlet} under a syndication"
    " agreement. Follow {outlet} on social media for more news.",
    "{name} contributed to this report. Sign up for the {outlet} politics newsletter to get the day's"
    " top stories in your inbox every morning.",
]
NAMES = ["Jane Doe", "Ahmed Osman", "Lucia Ferraro", "Tom Hals", "Mei Lin"]
#: Nearest pairs of the corpus resembling each other this much are its own copies and updates, reported apart.
NATURAL = 0.3
_DATELINE = re.compile(r"^\s*[A-Z][A-Za-z.,' /-]*\(Reuters\)\s*-\s*")
_SENTENCE_END = re.compile(r"(?<=[.!?”\"])\s+(?=[A-Z“\"])")


def load_reuters(path: Path | None = None) -> list[dict[str, str]]:
    """The Reuters articles as rows (title, text, subject, date)."""
    csv.field_size_limit(1 << 30)
    with gzip.open(path or SHARED / "reuters-politics-2017.csv.gz", "rt", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def syndicated(text: str, rng: random.Random) -> str:
    """A syndicated copy: a new dateline, an outlet line above, a closing paragraph below (each in most copies)."""
    outlet, name = rng.choice(OUTLETS), rng.choice(NAMES)
    body = _DATELINE.sub(f"{rng.choice(CITIES)} ({outlet}) - ", text.strip(), count=1)
    head = rng.choice(HEADS).format(outlet=outlet, name=name, date="Dec. 31, 2017")
    tails = rng.sample(TAILS, rng.choice([1, 1, 2]))
    return "\n\n".join([head, body, *(t.format(outlet=outlet, name=name) for t in tails)])


def sentences(text: str) -> list[str]:
    """The text's sentences (Reuters texts are one line)."""
    return [s for s in _SENTENCE_END.split(text.strip()) if s]


def updated(text: str, others: list[str], share: float) -> str:
    """The story with new sentences of ``others`` worth ``share`` of its words, after the lede and at the end."""
    own, extra = sentences(text), [s for other in others for s in sentences(other)]
    wanted = share * len(text.split())
    added: list[str] = []
    while extra and sum(len(s.split()) for s in added) < wanted:
        added.append(extra.pop(0))
    half = len(added) // 2
    return "\n\n".join([own[0], " ".join(added[:half]), " ".join(own[1:]), " ".join(added[half:])])


def nearest_others(texts: list[str], n: int = 5) -> list[list[int]]:
    """For each text, the ``n`` other texts whose MinHash signatures agree with it most, nearest first."""
    signatures = np.vstack([nearcopy.signature(t) for t in texts])
    best = []
    for i in range(len(texts)):
        agree = (signatures == signatures[i]).mean(axis=1)
        agree[i] = -1
        best.append([int(j) for j in np.argsort(-agree, kind="stable")[:n]])
    return best


class Bands:
    """The stored articles' band hashes, as the article_bands table holds them."""

    def __init__(self, texts: list[str]) -> None:
        """Index every text's bands."""
        self.buckets: dict[tuple[int, int], set[int]] = defaultdict(set)
        for i, text in enumerate(texts):
            for key in nearcopy.bands(text):
                self.buckets[key].add(i)

    def candidates(self, text: str) -> set[int]:
        """The stored texts sharing a band with ``text``."""
        found: set[int] = set()
        for key in nearcopy.bands(text):
            found |= self.buckets.get(key, set())
        return found


def decide(r: Resemblance, jaccard: float, containment: float) -> bool:
    """The decision with other thresholds (for the sweep)."""
    return r.jaccard >= jaccard and r.old_in_new >= containment and r.new_in_old >= containment


def quotable(text: str, title: str, count_tokens: Callable[[str], int]) -> str:
    """What ``add`` compares: the passages the chunker keeps (bylines, credits and pitches dropped)."""
    return nearcopy.quotable_text(chunk_article(text, count_tokens, title=title))


def run(workdir: Path | None = None) -> dict[str, object]:
    """Build the pairs, test each as ``add`` would, report the figures."""
    started = time.perf_counter()
    rows = load_reuters()
    raw = [r["text"] for r in rows]
    encoder = SentenceTransformerEncoder()
    count_tokens = encoder.count_tokens
    texts = [quotable(r["text"], r["title"], count_tokens) for r in rows]
    rng = random.Random(2017)
    index = Bands(texts)
    nearest = nearest_others(texts)
    # (kind, stored index, new text)
    pairs: list[tuple[str, int, str]] = []
    for i, text in enumerate(raw):
        title = rows[i]["title"]
        pairs.append(("syndicated copy", i, quotable(syndicated(text, rng), title, count_tokens)))
        others = [j for j in nearest[i] if resemblance(texts[j], texts[i]).jaccard < NATURAL]
        if len(others) < len(nearest[i]):
            continue  # the corpus's own copies and updates are reported apart, below
        pairs.append(("different story, same topic", i, texts[others[0]]))
        for share in (0.25, 0.5, 1.0):
            new = updated(text, [raw[j] for j in others], share)
            pairs.append((f"updated story (+{int(share * 100)}% new text)", i, quotable(new, title, count_tokens)))
    measured = []
    for kind, stored, new in pairs:
        found = index.candidates(new)
        measured.append((kind, stored in found, resemblance(new, texts[stored]), len(found)))
    by_kind: dict[str, dict[str, object]] = {}
    for kind in dict.fromkeys(k for k, *_ in measured):
        mine = [(hit, r, n) for k, hit, r, n in measured if k == kind]
        merged = sum(hit and r.is_copy for hit, r, _ in mine)
        by_kind[kind] = {
            "pairs": len(mine),
            "LSH candidate": round(sum(hit for hit, _, _ in mine) / len(mine), 4),
            "merged": merged,
            "merged share": round(merged / len(mine), 4),
            "Jaccard p5/p50/p95": [
                round(float(np.percentile([r.jaccard for _, r, _ in mine], q)), 3) for q in (5, 50, 95)
            ],
            "new text held by the stored, p5/p50/p95": [
                round(float(np.percentile([r.new_in_old for _, r, _ in mine], q)), 3) for q in (5, 50, 95)
            ],
            "candidates per query, mean": round(float(np.mean([n for _, _, n in mine])), 2),
        }
    positives = [(hit, r) for k, hit, r, _ in measured if k == "syndicated copy"]
    negatives = [(hit, r) for k, hit, r, _ in measured if k != "syndicated copy"]
    true_merges = sum(hit and r.is_copy for hit, r in positives)
    false_merges = sum(hit and r.is_copy for hit, r in negatives)
    sweep = []
    for jaccard in (0.5, 0.6, 0.7, 0.8, 0.9):
        for containment in (0.7, 0.8, 0.9):
            tp = sum(hit and decide(r, jaccard, containment) for hit, r in positives)
            fp = sum(hit and decide(r, jaccard, containment) for hit, r in negatives)
            sweep.append(
                {
                    "jaccard": jaccard,
                    "containment": containment,
                    "recall": round(tp / len(positives), 4),
                    "false merges": fp,
                    "precision": round(tp / (tp + fp), 4) if tp + fp else None,
                }
            )
    natural = []
    for i, j in enumerate(n[0] for n in nearest):
        r = resemblance(texts[i], texts[j])
        if i < j and r.jaccard >= NATURAL:
            natural.append(
                {
                    "a": rows[i]["title"][:80],
                    "b": rows[j]["title"][:80],
                    "jaccard": round(r.jaccard, 3),
                    "a_in_b": round(r.new_in_old, 3),
                    "b_in_a": round(r.old_in_new, 3),
                    "merged": r.is_copy,
                }
            )
    return {
        "corpus": f"{len(texts)} Reuters articles (reuters-politics-2017.csv.gz)",
        "method": nearcopy.SCHEME,
        "thresholds": {
            "LSH (candidates)": nearcopy.LSH_THRESHOLD,
            "Jaccard": nearcopy.COPY_JACCARD,
            "containment, both ways": nearcopy.COPY_CONTAINMENT,
        },
        "recall (copies merged)": round(true_merges / len(positives), 4),
        "false merges (of negatives)": f"{false_merges} of {len(negatives)}",
        "precision": round(true_merges / (true_merges + false_merges), 4) if true_merges + false_merges else None,
        "per kind": by_kind,
        "sweep": sweep,
        f"natural near-duplicates in the corpus (Jaccard >= {NATURAL})": natural,
        "claim sentence pairs (corroboration; read and label them)": claims(rows, nearest, encoder),
        "seconds": round(time.perf_counter() - started, 1),
    }


def claims(rows: list[dict[str, str]], nearest: list[list[int]], encoder: SentenceTransformerEncoder) -> list[dict]:
    """The sentence pairs corroboration compares, from versions of one story in the corpus, to read and label.

    For each pair of nearest articles resembling each other partly (Jaccard 0.3 to 0.8: one story
    told twice), each sentence of the first with the sentence of the second sharing most content
    words with it (at least 30% of the shorter one's, and not word for word the same): both
    shares and the cosine of the two sentences read alone, as ``ask`` computes them.
    """
    from corpus.chunking import sentences as split
    from index.answers import _claim_terms

    found = []
    for i, near in enumerate(nearest):
        j = near[0]
        if not 0.3 <= resemblance(rows[i]["text"], rows[j]["text"]).jaccard < 0.8 or i > j:
            continue
        ours, theirs = [s.text for s in split(rows[i]["text"])], [s.text for s in split(rows[j]["text"])]
        for sentence in ours:
            terms = _claim_terms(sentence)
            shares = [len(terms & _claim_terms(t)) / max(1, min(len(terms), len(_claim_terms(t)))) for t in theirs]
            best = int(np.argmax(shares)) if shares else -1
            if best < 0 or shares[best] < 0.3 or _claim_terms(theirs[best]) == terms:
                continue
            a, b = encoder.encode([sentence, theirs[best]])
            found.append(
                {"shared": round(shares[best], 2), "cosine": round(float(a @ b), 3), "a": sentence, "b": theirs[best]}
            )
    return found


def main() -> None:
    """Print the figures."""
    print(json.dumps(run(), indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
