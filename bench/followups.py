"""Follow-up questions: are they answered better with the earlier question than alone.

    python -m bench.followups [--workdir DIR] [--misses]

``bench/data/followups.json`` holds pairs of questions typed the way members type, over the built-in
article and the Reuters corpus, where the second ("and when was that", "what about russia",
"who else said so") makes sense only after the first; each with the verbatim answer of the
follow-up (checked here to be in its article's text). Pairs are split into a tuning and a test
half by a hash of the first question: choose on ``tune``, report ``test``.

For every pair, per half and kind: hit@1 / hit@3 (the answer inside the first / any of three quotes)
of the follow-up asked alone, and asked with ``previous=`` the first question (``Library.ask``);
how often the first question is answered at all (context: a follow-up belongs to a conversation
that got somewhere); and how often the first question, a question with a subject of its own, gets
the same quotes when asked after another story's question (it should be searched alone).
``substitute`` is a variant measured beside them and not used by ``ask``: for "what about X" it
searches the earlier question with X in place of its subject.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.news import REUTERS, import_reuters
from corpus.builtin import builtin_article
from corpus.readers import RowError, read_import_file
from index.followups import followup_query, own_words
from index.library import Library

REPO = Path(__file__).resolve().parents[1]
PAIRS = REPO / "bench" / "data" / "followups.json"

#: "what about X", "how about X", "and X", "and about X", "and on X": X stands in for part of the earlier question.
_SUBSTITUTE = re.compile(
    r"^(?:(?:and |but |ok |so )?(?:what|how) about|and|but|and what about)\s+(?P<rest>.+?)[?.!\s]*$",
    re.IGNORECASE,
)
_PREPOSITIONS = frozenset("about on in at to for with from against over by".split())


def substitute(question: str, previous: str) -> str | None:
    """For "what about X" / "and on X": the earlier question with X in the place it replaces, or None.

    When X opens with a preposition the earlier question also holds ("how much on salaries" /
    "and on equipment"), X replaces what follows that preposition's last use. Otherwise X is the new
    subject: it replaces the earlier question's first word that names something (its subject in "what
    did hultquist say about iran"). None when the follow-up is not of this form.
    """
    match = _SUBSTITUTE.match(" ".join(question.split()))
    if match is None:
        return None
    rest = match.group("rest")
    head = rest.split()[0].casefold()
    if head not in _PREPOSITIONS and not own_words(head):  # "and when was that" is no stand-in
        return None
    words = previous.split()
    if head in _PREPOSITIONS:
        places = [i for i, w in enumerate(words) if w.casefold() == head]
        if places:
            return " ".join([*words[: places[-1]], rest])
    for i, word in enumerate(words):
        if own_words(word):
            return " ".join([*words[:i], rest, *words[i + 1 :]])
    return None


#: How each method turns (follow-up, earlier question) into the text searched.
Method = Callable[[str, str], str]
METHODS: dict[str, Method] = {
    "alone": lambda followup, first: followup,
    "substitute": lambda followup, first: substitute(followup, first) or followup_query(followup, first),
}


def half_of(first: str) -> str:
    """Which half a pair is in, "tune" or "test", by a hash of the first question (stable across runs and machines)."""
    return "tune" if hashlib.sha256(first.encode("utf-8")).digest()[0] % 2 == 0 else "test"


def load() -> list[dict[str, str]]:
    """The pairs, each with its half; refuses a pair whose answer is not in its article's text."""
    pairs: list[dict[str, str]] = json.loads(PAIRS.read_text(encoding="utf-8"))["pairs"]
    seed = builtin_article()
    texts = {seed.title: seed.text}
    texts |= {row[1].title: row[1].text for row in read_import_file(REUTERS) if not isinstance(row, RowError)}
    for pair in pairs:
        if pair["answer"] not in texts.get(pair["article"], ""):
            raise ValueError(f"the answer {pair['answer']!r} is not in the article {pair['article']!r}")
        pair["half"] = half_of(pair["first"])
    return pairs


def rank(library: Library, question: str, answer: str, previous: str | None = None) -> int | None:
    """Which of ``ask``'s three quotes holds ``answer`` (1-3), or None."""
    quotes = library.ask(question, k=3, previous=previous).quotes
    return next((i + 1 for i, q in enumerate(quotes) if answer in q.text), None)


def score(library: Library, pairs: list[dict[str, str]]) -> dict[str, Any]:
    """hit@1 and hit@3 of each method per half and kind, the first question's hit@1, and the misses."""
    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    misses = []
    for number, pair in enumerate(pairs):
        # A question with its own subject must be searched alone, even after another story's question.
        unrelated = next(p["first"] for p in pairs[number - 1 :: -1] if p["article"] != pair["article"])
        found = {
            name: rank(library, method(pair["followup"], pair["first"]), pair["answer"])
            for name, method in METHODS.items()
        }
        # The library's own path must search what the method says it does.
        found["ask(previous=)"] = rank(library, pair["followup"], pair["answer"], previous=pair["first"])
        first = library.ask(pair["first"], k=3)
        after = library.ask(pair["first"], k=3, previous=unrelated)
        same = [q.passage_id for q in first.quotes] == [q.passage_id for q in after.quotes]
        for key in ((pair["half"], pair["kind"]), (pair["half"], "all")):
            row = counts[key]
            row["n"] += 1
            row["first answered"] += first.answered
            row["first unchanged after another story"] += same
            for name, r in found.items():
                row[f"{name} hit@1"] += r == 1
                row[f"{name} hit@3"] += r is not None
        if found["ask(previous=)"] != 1:
            misses.append(pair | {"searched": followup_query(pair["followup"], pair["first"])} | found)
    return {"counts": counts, "misses": misses}


def table(result: dict[str, Any], half: str) -> str:
    """One half's figures as a Markdown table, a row per kind."""
    counts = result["counts"]
    kinds = sorted((k for h, k in counts if h == half and k != "all"), key=lambda k: -counts[half, k]["n"])
    columns = [c for c in counts[half, "all"] if c != "n"]
    lines = ["| kind | n | " + " | ".join(columns) + " |", "|---|---|" + "---|" * len(columns)]
    for kind in [*kinds, "all"]:
        row = counts[half, kind]
        lines.append(f"| {kind} | {row['n']} | " + " | ".join(f"{row[c] / row['n']:.2f}" for c in columns) + " |")
    return "\n".join(lines)


def main() -> None:
    """Run on a scratch (or kept) directory holding the Reuters corpus and print a table per half."""
    from tempfile import TemporaryDirectory

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--misses", action="store_true", help="print the follow-ups not answered first")
    args = parser.parse_args()
    pairs = load()
    with TemporaryDirectory() as tmp:
        library = Library.open((args.workdir or Path(tmp)) / "reuters")
        import_reuters(library)
        result = score(library, pairs)
        library.close()
    for half in ("tune", "test"):
        print(f"-- {half} half\n{table(result, half)}\n")
    if args.misses:
        for miss in result["misses"]:
            print(json.dumps(miss, ensure_ascii=False))


if __name__ == "__main__":
    main()
