"""The server lexical search: BM25 computed in SQL from the terms the database keeps, spelling fixes from them.

PostgreSQL's own ``ts_rank`` is not BM25, so the ranking is FTS5's ``bm25()`` written out
(corpus/bm25.py) over the tables the database keeps current in each change's transaction (see
database.py): the heads of the question terms' lists in ``passage_terms`` (tf, length, in impact
order per server scope), ``vocabulary`` (n) and ``lexical_totals`` (N and the average length). As
in FTS5, every question word is its own OR-ed phrase, so two words with one stem count twice.

The spelling fixes and missing words follow :class:`corpus.sqlite.lexical.Fts5Search` step by
step, with ``vocabulary`` (stemmed terms and how many passages hold each) in place of fts5vocab
and ``bot_terms`` in place of the FTS5 tokenizer. The stems are Snowball's "porter", the original
Porter algorithm as FTS5's; 24 of the Reuters corpus's 15,142 words still stem differently (FTS5's
extra "-logi" and "-bli" rules; "us", "vs", "ms").
"""

from __future__ import annotations

import re

from corpus import bm25
from corpus.postgres.database import PgDatabase
from corpus.sqlite.lexical import SPELLING_MIN, STOP_WORDS, allowed_edits, closest_term, content_words, typing_slips

_QUERY_WORD = re.compile(r"\w+", re.UNICODE)

_SCORE = "{w} * {tf} * %(k1_1)s / ({tf} + %(k1)s * (%(one_b)s + %(b)s * {length} / totals.avgdl))"
_BM25 = f"""
WITH q AS (
    SELECT term, weight FROM unnest(%(terms)s::text[], %(weights)s::int[]) AS x(term, weight)
), totals AS (
    SELECT passages::float8 AS n, greatest(tokens, 1)::float8 / greatest(passages, 1) AS avgdl FROM lexical_totals
), idf AS (  -- cut: the term's list is longer than a question reads of it
    SELECT q.term, q.weight * greatest(ln((totals.n - v.docs + 0.5) / (v.docs + 0.5)), 1e-6) AS w,
           v.docs > %(depth)s AS cut
    FROM q JOIN vocabulary v ON v.term = q.term, totals
), heads AS (  -- the first LIST_DEPTH passages of each term's list, per scope, summed; exact: from whole lists
    SELECT l.passage_id, SUM(l.s) AS s, coalesce(SUM(l.s) FILTER (WHERE NOT l.cut), 0) AS exact
    FROM idf CROSS JOIN unnest(%(scopes)s::bigint[]) AS sc(scope) CROSS JOIN totals
    CROSS JOIN LATERAL (
        SELECT pt.passage_id, {_SCORE.format(w="idf.w", tf="pt.tf", length="pt.length")} AS s, idf.cut
        FROM passage_terms pt
        WHERE pt.term = idf.term AND pt.scope = sc.scope ORDER BY pt.impact DESC LIMIT %(depth)s
    ) l
    GROUP BY l.passage_id
    ORDER BY s DESC, l.passage_id
    LIMIT %(rescore)s
)
SELECT h.passage_id, h.exact + coalesce(s.score, 0) AS score
FROM heads h CROSS JOIN LATERAL (  -- the cut terms scored exactly in each head passage: one key lookup each
    SELECT SUM({_SCORE.format(w="idf.w", tf="pt.tf", length="pt.length")}) AS score
    FROM idf CROSS JOIN totals CROSS JOIN LATERAL (  -- LIMIT 1 (the key is unique) keeps it a key lookup
        SELECT r.tf, r.length FROM passage_terms r WHERE r.term = idf.term AND r.passage_id = h.passage_id LIMIT 1
    ) pt
    WHERE idf.cut
) s
ORDER BY score DESC, h.passage_id
LIMIT %(k)s
"""


class PgLexicalSearch:
    """Passages ranked by the question's words (BM25), computed inside PostgreSQL."""

    def __init__(self, db: PgDatabase) -> None:
        """Search the passages of ``db``."""
        self.db = db
        self._known_words: set[str] = set()  # question words some passage holds (spelling_fixes)

    def _stems(self, words: list[str]) -> list[list[str]]:
        """Each word's terms, as the passages' terms were made."""
        if not words:
            return []
        rows = self.db.query(
            "SELECT n, t.lexeme FROM unnest(%s::text[]) WITH ORDINALITY AS u(w, n), unnest(bot_terms(u.w)) t"
            " ORDER BY n, t.positions[1]",
            (words,),
        )
        stems: list[list[str]] = [[] for _ in words]
        for n, lexeme in rows:
            stems[int(n) - 1].append(str(lexeme))
        return stems

    def search(self, question: str, k: int, guild_id: int | None) -> list[tuple[int, float]]:
        """The ``k`` passages visible to ``guild_id`` that best match the question's words (BM25), best first."""
        weights: dict[str, int] = {}
        for terms in self._stems(content_words(question)):
            for term in dict.fromkeys(terms):
                weights[term] = weights.get(term, 0) + 1
        if not weights or k <= 0:
            return []
        rows = self.db.query(
            _BM25,
            {
                "terms": list(weights),
                "weights": list(weights.values()),
                "scopes": [0] if guild_id is None else [0, guild_id],
                "depth": bm25.LIST_DEPTH,
                "rescore": bm25.RESCORE * k,
                "k": k,
                "k1": bm25.K1,
                "k1_1": bm25.K1 + 1,
                "b": bm25.B,
                "one_b": 1 - bm25.B,
            },
        )
        return [(int(i), float(score)) for i, score in rows]

    def _held(self, word: str) -> bool:
        """Whether some passage holds ``word`` (every term it becomes)."""
        rows = self.db.query(
            "SELECT bool_and(v.term IS NOT NULL)"
            " FROM unnest(bot_terms(%s)) t LEFT JOIN vocabulary v ON v.term = t.lexeme",
            (word,),
        )
        return bool(rows and rows[0][0])

    def spelling_fixes(self, question: str) -> dict[str, str]:
        """Misspelt words of the question mapped to the term the articles hold that was meant ("ratclife": "ratcliff").

        As :meth:`corpus.sqlite.lexical.Fts5Search.spelling_fixes`: only words no passage holds are
        looked at; a typing slip first, else the closest of the terms sharing the stem's first two
        letters.
        """
        unknown = []
        for word in dict.fromkeys(_QUERY_WORD.findall(question.casefold())):
            if len(word) < SPELLING_MIN or not word.isalpha() or word in STOP_WORDS or word in self._known_words:
                continue
            if self._held(word):
                if len(self._known_words) > 100_000:  # a word removed since is merely not corrected
                    self._known_words.clear()
                self._known_words.add(word)
            else:
                unknown.append(word)
        if not unknown:
            return {}
        fixes: dict[str, str] = {}
        for word, stems in zip(unknown, self._stems(unknown), strict=True):
            if (near := self._one_edit_away(word)) is not None:
                fixes[word] = near
                continue
            if not stems:
                continue
            stem = stems[0]
            allowed = allowed_edits(stem)
            if not allowed:
                continue
            rows = self.db.query(
                "SELECT term, docs FROM vocabulary WHERE term >= %s AND term < %s AND length(term) BETWEEN %s AND %s",
                (stem[:2], stem[:2] + "\uffff", len(stem) - allowed, len(stem) + allowed),
            )
            best = closest_term(stem, rows, allowed)
            if best is not None:
                fixes[word] = best
        return fixes

    def _one_edit_away(self, word: str) -> str | None:
        """The most common term ``word`` becomes with two neighbours swapped, or a letter put back (as FTS5's)."""
        variants = typing_slips(word)
        rows = self.db.query(
            "SELECT v.term, v.docs FROM vocabulary v"
            " WHERE v.term IN (SELECT t.lexeme FROM unnest(bot_terms(%s)) t WHERE length(t.lexeme) >= 3)",
            (" ".join(sorted(variants)),),
        )
        return str(max(rows, key=lambda r: (r[1], r[0]))[0]) if rows else None

    def missing_words(self, question: str) -> list[str]:
        """The question's content words that no passage holds (after spelling fixes), in question order."""
        missing = []
        for word in dict.fromkeys(_QUERY_WORD.findall(question.casefold())):
            if len(word) < 3 or word in STOP_WORDS or word in self._known_words:
                continue
            if self._held(word):
                self._known_words.add(word)
            else:
                missing.append(word)
        return missing
