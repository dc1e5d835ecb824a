"""The embedded lexical search: FTS5's BM25 from the term lists, spelling fixes from the vocabulary."""

from __future__ import annotations

import re

from corpus import bm25
from corpus.sqlite.database import Database

# Words too common to say anything about which passage answers.
STOP_WORDS = frozenset(
    "a about above after again against all am an and any are as at be because been before being below between"
    " both but by can could did do does doing down during each few for from further had has have having he her"
    " here hers him his how i if in into is it its itself just me more most my no nor not now of off on once only"
    " or other our ours out over own same she should so some such than that the their theirs them then there"
    " these they this those through to too under until up very was we were what when where which while who whom"
    " why will with would you your yours".split()
)
_QUERY_WORD = re.compile(r"\w+", re.UNICODE)

#: Misspelt words and stems this long or longer are corrected by one edit, two from ten letters
#: (news development set, tuning half; bench/news.py).
SPELLING_MIN = 5


def content_words(text: str) -> list[str]:
    """The question's words that can say which passage answers (at most 32, each once, in order)."""
    words = [w for w in _QUERY_WORD.findall(text.casefold()) if w not in STOP_WORDS]
    return list(dict.fromkeys(words))[:32]


class Fts5Search:
    """Passages ranked by the question's words (BM25), in the same SQLite file as the passages.

    FTS5's own ``bm25()`` reads every passage holding any question word (0.4 s a question at a
    million passages), so the ranking reads the heads of the question terms' lists in
    ``passage_terms`` instead (corpus/bm25.py), with FTS5's scores. FTS5 stays for stemming the
    question as the passages were stemmed (the database's ``temp.scratch`` table) and for finding
    whether a word is held at all.
    """

    def __init__(self, db: Database) -> None:
        """Search the passages of ``db``."""
        self.db = db
        self._known_words: set[str] = set()  # question words some passage holds (spelling_fixes)

    def _terms(self, question: str) -> dict[str, int]:
        """The question's terms, each with how many of its words became it (FTS5 counts each word's phrase)."""
        words = content_words(question)
        if not words:
            return {}
        with self.db.lock:
            self.db.connection.execute("INSERT INTO temp.scratch(rowid, t) VALUES (1, ?)", (" ".join(words),))
            rows = self.db.connection.execute("SELECT term, count(*) FROM temp.scratch_terms GROUP BY term").fetchall()
            self.db.connection.execute("DELETE FROM temp.scratch")
        return {str(term): int(n) for term, n in rows}

    def search(self, question: str, k: int, guild_id: int | None) -> list[tuple[int, float]]:
        """The ``k`` passages visible to ``guild_id`` that best match the question's words (BM25), best first."""
        weights = self._terms(question)
        if not weights or k <= 0:
            return []
        marks = ",".join("?" * len(weights))
        with self.db.lock:  # one snapshot of the counts and the lists
            self.db.connection.execute("BEGIN")
            try:
                docs = dict(
                    self.db.connection.execute(
                        f"SELECT term, docs FROM vocabulary WHERE term IN ({marks})", list(weights)
                    )
                )
                passages, tokens = self.db.connection.execute("SELECT passages, tokens FROM lexical_totals").fetchone()
                if not docs or not passages:
                    return []
                average = max(tokens, 1) / passages
                weight = {t: weights[t] * bm25.idf(passages, n) for t, n in docs.items()}
                scopes = [0] if guild_id is None else [0, guild_id]
                lists = [(t, scope) for t in docs for scope in scopes]
                # A list read whole gives its passages' exact share; only the cut lists are looked up again.
                cut = [t for t, n in docs.items() if n > bm25.LIST_DEPTH]
                head = " UNION ALL ".join(
                    "SELECT * FROM (SELECT passage_id, ? * tf * ? / (tf + ? * (? + ? * length / ?)) AS s, ? AS whole"
                    " FROM passage_terms WHERE term = ? AND scope = ? ORDER BY impact DESC LIMIT ?)"
                    for _ in lists
                )
                params: list[object] = []
                for t, scope in lists:
                    params += [weight[t], bm25.K1 + 1, bm25.K1, 1 - bm25.B, bm25.B, average, t not in cut]
                    params += [t, scope, bm25.LIST_DEPTH]
                best = self.db.connection.execute(
                    f"SELECT passage_id, sum(s) AS score, sum(s * whole) FROM ({head}) GROUP BY passage_id"
                    " ORDER BY score DESC, passage_id LIMIT ?",
                    [*params, bm25.RESCORE * k],
                ).fetchall()
                if not cut:  # every list was read whole: exact
                    return [(int(pid), float(score)) for pid, score, _ in best[:k]]
                rows = self.db.connection.execute(
                    "SELECT passage_id, term, tf, length FROM passage_terms INDEXED BY passage_terms_lookup"
                    f" WHERE passage_id IN ({','.join('?' * len(best))}) AND term IN ({','.join('?' * len(cut))})",
                    [*(pid for pid, _, _ in best), *cut],
                ).fetchall()
            finally:
                self.db.connection.execute("COMMIT")
        scores = {int(pid): float(exact) for pid, _, exact in best}
        for pid, term, tf, length in rows:
            scores[int(pid)] += bm25.weight(weight[term], int(tf), int(length), average)
        ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
        return ranked[:k]

    def spelling_fixes(self, question: str) -> dict[str, str]:
        """Misspelt words of the question mapped to the term the articles hold that was meant ("ratclife": "ratcliff").

        Only words that no passage holds are looked at. The two slips typing makes most come first
        (``_one_edit_away``: "electon" is "election", not the rarer "electronic" one edit from its
        stem); otherwise each word is stemmed as FTS5 stems passages and compared with the stemmed
        terms of the lexical index that share its first two letters: one edit away for a stem of
        SPELLING_MIN letters or more, two from ten (shorter stems have too many neighbours to
        guess), the most common term on a tie.
        """
        unknown = []
        for word in dict.fromkeys(_QUERY_WORD.findall(question.casefold())):
            if len(word) < SPELLING_MIN or not word.isalpha() or word in STOP_WORDS or word in self._known_words:
                continue
            if self.db.query("SELECT rowid FROM passages_fts WHERE passages_fts MATCH ? LIMIT 1", (f'"{word}"',)):
                if len(self._known_words) > 100_000:  # a word removed since is merely not corrected
                    self._known_words.clear()
                self._known_words.add(word)
            else:
                unknown.append(word)
        if not unknown:
            return {}
        with self.db.lock:
            self.db.connection.execute("INSERT INTO temp.scratch(rowid, t) VALUES (1, ?)", (" ".join(unknown),))
            stems = [
                str(r[0]) for r in self.db.connection.execute("SELECT term FROM temp.scratch_terms ORDER BY offset")
            ]
            self.db.connection.execute("DELETE FROM temp.scratch")
        fixes: dict[str, str] = {}
        for word, stem in zip(unknown, stems, strict=False):
            if (near := self._one_edit_away(word)) is not None:
                fixes[word] = near
                continue
            allowed = allowed_edits(stem)
            if not allowed:
                continue
            rows = self.db.query(
                "SELECT term, docs FROM vocabulary WHERE term >= ? AND term < ? AND length(term) BETWEEN ? AND ?",
                (stem[:2], stem[:2] + "\uffff", len(stem) - allowed, len(stem) + allowed),
            )
            best = closest_term(stem, rows, allowed)
            if best is not None:
                fixes[word] = best
        return fixes

    def _one_edit_away(self, word: str) -> str | None:
        """The most common indexed term ``word`` becomes with two neighbours swapped, or a letter put back.

        For misspellings whose stem strays from the right word's stem ("electoin" is no stem of
        "election"): each variant is stemmed as the passages were, then looked up. Only the two
        slips typing makes most; other edits turned real names into other words ("iceland" into
        "ireland"). A letter is put back only in words of seven letters or more.
        """
        variants = typing_slips(word)
        with self.db.lock:
            self.db.connection.execute(
                "INSERT INTO temp.scratch(rowid, t) VALUES (1, ?)", (" ".join(sorted(variants)),)
            )
            stems = {str(r[0]) for r in self.db.connection.execute("SELECT DISTINCT term FROM temp.scratch_terms")}
            self.db.connection.execute("DELETE FROM temp.scratch")
        stems = {t for t in stems if len(t) >= 3}
        if not stems:
            return None
        marks = ",".join("?" * len(stems))
        rows = self.db.query(f"SELECT term, docs FROM vocabulary WHERE term IN ({marks})", sorted(stems))
        return max(rows, key=lambda r: (r[1], r[0]))[0] if rows else None

    def missing_words(self, question: str) -> list[str]:
        """The question's content words that no passage holds (after spelling fixes), in question order.

        Names, places and events the articles never mention show up here ("bolsonaro", "liberia").
        """
        missing = []
        for word in dict.fromkeys(_QUERY_WORD.findall(question.casefold())):
            if len(word) < 3 or word in STOP_WORDS or word in self._known_words:
                continue
            if self.db.query("SELECT rowid FROM passages_fts WHERE passages_fts MATCH ? LIMIT 1", (f'"{word}"',)):
                self._known_words.add(word)
            else:
                missing.append(word)
        return missing


def edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance of ``a`` and ``b``, or ``limit + 1`` once it is sure to exceed ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def allowed_edits(stem: str) -> int:
    """How many edits a misspelt stem may be from the term it is corrected to: none below SPELLING_MIN letters."""
    return 2 if len(stem) >= 10 else 1 if len(stem) >= SPELLING_MIN else 0


def closest_term(stem: str, terms: list[tuple[str, int]], allowed: int) -> str | None:
    """Of (term, passages holding it), the nearest to ``stem`` within ``allowed`` edits, the most common on a tie."""
    scored = [(edit_distance(stem, term, allowed), -docs, term) for term, docs in terms]
    best = min((s for s in scored if s[0] <= allowed), default=None)
    return str(best[2]) if best is not None else None


def typing_slips(word: str) -> set[str]:
    """``word`` with two neighbouring letters swapped, and, from seven letters, with one letter put back."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    variants = {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    if len(word) >= 7:
        variants |= {a + c + b for a, b in splits for c in "abcdefghijklmnopqrstuvwxyz"}
    variants.discard(word)
    return variants
