"""The embedded lexical search: BM25 over SQLite FTS5, spelling fixes from its vocabulary."""

from __future__ import annotations

import re

from corpus.sqlite.database import TOKENIZER, Database, visible_ids

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


def lexical_query(text: str) -> str | None:
    """An FTS5 query matching any content word of ``text`` (each quoted, so no word is an operator)."""
    words = [w for w in _QUERY_WORD.findall(text.casefold()) if w not in STOP_WORDS]
    unique = list(dict.fromkeys(words))[:32]
    return " OR ".join(f'"{w}"' for w in unique) or None


class Fts5Search:
    """Passages ranked by the question's words (BM25), in the same SQLite file as the passages."""

    def __init__(self, db: Database) -> None:
        """Search the passages of ``db``."""
        self.db = db
        self._known_words: set[str] = set()  # question words some passage holds (spelling_fixes)
        with db.lock:
            # The lexical index's vocabulary (stemmed terms and how many passages hold each), for spelling.
            db.connection.execute(
                "CREATE VIRTUAL TABLE IF NOT EXISTS temp.passages_vocab USING fts5vocab(main, passages_fts, row)"
            )
            # A scratch table with the same tokenizer, to stem a misspelt word the way FTS5 stems passages.
            db.connection.execute(
                f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.stemmer USING fts5(t, tokenize='{TOKENIZER}')"
            )
            db.connection.execute(
                "CREATE VIRTUAL TABLE IF NOT EXISTS temp.stems USING fts5vocab(temp, stemmer, instance)"
            )

    def ranking(self, question: str, k: int) -> list[tuple[int, float]]:
        """The ``k`` passages of every server that best match the question's words (BM25), best first.

        Callers filter what a server may see (joining the articles inside the ranked query costs
        more than the ranking itself).
        """
        query = lexical_query(question)
        if query is None:
            return []
        rows = self.db.query(
            "SELECT rowid, -bm25(passages_fts) FROM passages_fts WHERE passages_fts MATCH ?"
            " ORDER BY bm25(passages_fts) LIMIT ?",
            (query, k),
        )
        return [(int(i), float(score)) for i, score in rows]

    def spelling_fixes(self, question: str) -> dict[str, str]:
        """Misspelt words of the question mapped to the closest term the articles hold ("ratclife": "ratcliff").

        Only words that no passage holds are looked at. Each is stemmed as FTS5 stems passages and
        compared with the stemmed terms of the lexical index that share its first two letters: one
        edit away for a stem of seven letters or more, two from ten (shorter stems have too many
        neighbours to guess), the most common term on a tie.
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
            self.db.connection.execute("INSERT INTO temp.stemmer(rowid, t) VALUES (1, ?)", (" ".join(unknown),))
            stems = [str(r[0]) for r in self.db.connection.execute("SELECT term FROM temp.stems ORDER BY offset")]
            self.db.connection.execute("DELETE FROM temp.stemmer")
        fixes: dict[str, str] = {}
        for word, stem in zip(unknown, stems, strict=False):
            allowed = allowed_edits(stem)
            if not allowed:
                continue
            rows = self.db.query(
                "SELECT term, doc FROM temp.passages_vocab"
                " WHERE term >= ? AND term < ? AND length(term) BETWEEN ? AND ?",
                (stem[:2], stem[:2] + "\uffff", len(stem) - allowed, len(stem) + allowed),
            )
            best = closest_term(stem, rows, allowed)
            if best is not None:
                fixes[word] = best
            elif (near := self._one_edit_away(word)) is not None:
                fixes[word] = near
        return fixes

    def _one_edit_away(self, word: str) -> str | None:
        """The most common indexed term ``word`` becomes with two neighbours swapped, or a letter put back.

        For misspellings whose stem strays from the right word's stem ("electoin" is no stem of
        "election"): each variant is stemmed as the passages were, then looked up. Only the two
        slips typing makes most; other edits turned real names into other words ("iceland" into
        "ireland"). A letter is put back only in words of eight letters or more.
        """
        variants = typing_slips(word)
        with self.db.lock:
            self.db.connection.execute(
                "INSERT INTO temp.stemmer(rowid, t) VALUES (1, ?)", (" ".join(sorted(variants)),)
            )
            stems = {str(r[0]) for r in self.db.connection.execute("SELECT DISTINCT term FROM temp.stems")}
            self.db.connection.execute("DELETE FROM temp.stemmer")
        stems = {t for t in stems if len(t) >= 3}
        if not stems:
            return None
        marks = ",".join("?" * len(stems))
        rows = self.db.query(f"SELECT term, doc FROM temp.passages_vocab WHERE term IN ({marks})", sorted(stems))
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

    def search(self, question: str, k: int, guild_id: int | None) -> list[tuple[int, float]]:
        """The ``k`` passages visible to ``guild_id`` that best match the question's words (BM25), best first."""
        fetch = k
        while True:  # deeper only when this server may not see enough of what was found
            rows = self.ranking(question, fetch)
            visible = visible_ids(self.db, [pid for pid, _ in rows], guild_id)
            hits = [(pid, score) for pid, score in rows if pid in visible]
            if len(hits) >= k or len(rows) < fetch:
                return hits[:k]
            fetch *= 4


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
    """``word`` with two neighbouring letters swapped, and, from eight letters, with one letter put back."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    variants = {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    if len(word) >= 8:
        variants |= {a + c + b for a, b in splits for c in "abcdefghijklmnopqrstuvwxyz"}
    variants.discard(word)
    return variants
