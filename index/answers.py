"""Compose an answer from retrieved passages: pick, de-duplicate, mark the answering sentence."""

from __future__ import annotations

import calendar
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from corpus.chunking import Span, is_heading, sentences
from corpus.nearcopy import outlet_key
from corpus.records import StoredPassage


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
    #: Other outlets that published this story (wire copies recorded against the article), first recorded first.
    also_published: tuple[str, ...] = ()
    #: How many independent outlets carry the marked sentence's claim, this one included (see ``corroboration``).
    independent_outlets: int = 1

    @property
    def single_outlet(self) -> bool:
        """Whether only this quote's outlet carries its claim among the articles."""
        return self.independent_outlets <= 1

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
            "also_published": list(self.also_published),
            "independent_outlets": self.independent_outlets,
            "single_outlet": self.single_outlet,
        }


def refusal_sentence(missing: list[str], what: str, unmentioned: list[str] | None = None) -> str:
    """Why nothing is quoted: the words no article mentions when that is clear, else that ``what`` is not covered.

    ``unmentioned``: the places and years the question names that no article close to it mentions.
    """
    if missing:
        words = " or ".join(f"“{w}”" for w in missing[:3])
        return f"No article I know mentions {words}."
    if unmentioned:
        return f"None of the articles closest to this {what} mentions {' or '.join(unmentioned[:3])}."
    return f"The articles I know do not cover this {what}."


@dataclass(frozen=True, slots=True)
class Answer:
    """The quotes that answer a question, or ``answered=False`` when the articles do not cover it."""

    question: str
    answered: bool
    quotes: list[Quote] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # when refused: the question's words no article holds
    #: When refused: the places and years it names that none of the articles closest to it mention.
    unmentioned: list[str] = field(default_factory=list)
    #: For "what's the latest on ...": the first quote's date when it is old beside the newest article
    #: of all (``present``), so the member reads the answer as of then.
    as_of: str | None = None
    present: str | None = None

    @property
    def refusal(self) -> str:
        """The sentence a refused question gets, naming what no article mentions when that is clear."""
        return refusal_sentence(self.missing, "question", self.unmentioned)

    @property
    def as_of_note(self) -> str | None:
        """ "As of DATE ..." when the newest evidence on a "latest" question is old, else None."""
        if self.as_of is None:
            return None
        return f"As of {self.as_of}, the date of the first quote; the articles I know run to {self.present}."

    def to_json(self) -> dict[str, object]:
        """The answer as the CLI's ``--json`` prints it."""
        shown: dict[str, object] = {"question": self.question, "answered": self.answered}
        if not self.answered:
            shown["refusal"] = self.refusal
        if self.as_of is not None:
            shown["as_of"] = self.as_of
        return shown | {"quotes": [q.to_json() for q in self.quotes]}


_NON_WORD = re.compile(r"\W+")


def duplicate_key(text: str) -> str:
    """Text reduced to lower-case words, so copies differing in spacing or punctuation collide."""
    return _NON_WORD.sub(" ", text.casefold()).strip()


@dataclass(frozen=True, slots=True)
class Candidate:
    """A passage that may answer, with its fused score, the two scores it came from and its sentence vectors."""

    passage: StoredPassage
    score: float
    cosine: float  # of the passage's sentence nearest the question
    lexical: float  # BM25
    sentences: np.ndarray
    marked: Span | None = None  # the answering sentence, once the candidate was re-ranked


def drop_duplicates(candidates: list[Candidate], limit: int | None = None) -> list[Candidate]:
    """Keep the first (best) copy of each passage text, up to ``limit``: the same text in two articles is shown once."""
    seen: set[str] = set()
    kept: list[Candidate] = []
    for candidate in candidates:
        if limit is not None and len(kept) >= limit:
            break
        key = duplicate_key(candidate.passage.text)
        if key not in seen:
            seen.add(key)
            kept.append(candidate)
    return kept


def text_sentences(text: str) -> list[Span]:
    """A passage's sentences, with spans relative to the passage text (the whole text if it has none)."""
    return list(_split(text))


#: A blank line ends a sentence: a heading without a full stop is not the start of the next one.
_PARAGRAPH_BREAK = re.compile(r"\s*\n[^\S\n]*\n\s*")


@lru_cache(maxsize=16_384)
def _split(text: str) -> tuple[Span, ...]:
    spans = []
    for span in sentences(text):
        start = span.start
        for gap in _PARAGRAPH_BREAK.finditer(text, span.start, span.end):
            spans.append(Span(start, gap.start(), text[start : gap.start()]))
            start = gap.end()
        spans.append(Span(start, span.end, text[start : span.end]))
    return tuple(spans) or (Span(0, len(text), text),)


#: How the marking signals add up (chosen on SQuAD v2.0 dev, not on the reported v1.1 set; bench/marking.py).
WORD_WEIGHT = 0.5
NEIGHBOUR_WEIGHT = 0.1
KIND_WEIGHT = 0.1
#: ... and for "when" a date counts twice that: a date-less sentence on the event seldom says when
#: (news dev set, tuning half; the SQuAD v2.0 dev half's marking 0.8745 -> 0.8756, MRR@10 0.9254 -> 0.9256).
DATE_KIND_WEIGHT = 0.2
#: Choosing the bold sentence for "what did X say" and "how many", holding a quotation or a number counts
#: this much more (news dev set, tuning half; bench/news.py). Only the choice: in ranking passages it
#: would also lift the confidence of unanswerable questions. For names and dates it marked worse on the
#: SQuAD v2.0 dev half (bench/marking.py), so they stay as they were; for "which senator ..." a name
#: right after "senator" gets it (``named_as_asked``: news tuning half bold@1 0.465 -> 0.479, the SQuAD
#: v2.0 dev half's which-questions 111 of 119 marked either way).
MARK_KIND_EXTRA = 0.3
_MARK_EXTRA_KINDS = frozenset({"quote", "number"})

_WORD = re.compile(r"[^\W_]+")
_STOP = frozenset(
    "a about after also an and are as at be been being by can could did do does for from had has have he her him his"
    " how i in into is it may might must not over should"
    " its me my of on or our she so than that the their them then there these they this those to us was we"
    " were what when where which who whom whose why will with would you your".split()
)
_WHEN = re.compile(r"\bwhen\b|\b(what|which) (year|date|day|month|decade|century)\b")
_HOW_COUNTED = "many|much|long|old|far|big|large"
_HOW_MANY = re.compile(rf"\bhow ({_HOW_COUNTED})\b|\bwhat (percent|percentage|share|proportion|number|amount)\b")
_WHO = re.compile(
    r"\bwho(m|se)?\b|\bwhich (?!(is|was|are|were|did|does|do|has|have|had|will|would|can|could)\b)\w+"
    r"|\bwhat (is|was|are|were) (the )?names?\b"
)
#: "what did X say / tell / tweet / call ...": a quotation answers.
_SAY = re.compile(
    r"\bwhat (did|does|do|has|have|had|will|would) (?P<speaker>.+?) "
    r"(?P<verb>say|said|tell|told|tweet|tweeted|call|called|write|wrote|admit|claim)\b"
)
_QUOTED = re.compile(r"[“”\"]")
_DATE = re.compile(
    r"\b(1[0-9]{3}|20[0-9]{2})s?\b|\b(jan|feb|march|april|may|june|july|aug|sept?|oct|nov|dec)[a-z]*\.?\s+\d|"
    r"\b(january|february|march|april|june|july|august|september|october|november|december)\b",
    re.IGNORECASE,
)
_NUMBER = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|dozen|hundred|thousand|million|billion)\b"
)
#: "how many", "how much", ...: the word after "how" shapes the question; no article need hold it.
_HOW_WORD = re.compile(rf"\bhow ({_HOW_COUNTED}|often|soon)\b")
_NAME = re.compile(r"\b[A-Z][a-z]+")
#: The question's first question word says what it asks ("what show was he on when he..." asks for no date).
_ASKS = re.compile(r"\b(when|who|whom|whose|which|what|where|why|how)\b")
#: Words of emphasis in chat ("who exactly", "did they actually"): they shape a question, no article need hold them.
_EMPHASIS = frozenset("exactly actually really basically literally even ever anyway supposedly apparently".split())
#: "whos", "whats", "who's": chat's contractions of a question word and "is".
_CONTRACTED = re.compile(r"\b(who|what|where|when|how)(?:'s|’s|s)\b")
#: Capitalised words that name no one: the wire's name, months and days.
_NO_NAME = frozenset(
    ["reuters"] + [m.casefold() for m in calendar.month_name[1:]] + [d.casefold() for d in calendar.day_name]
)
_COUNTED = re.compile(r"\bhow many (\w+)")
_COUNT_OF = r"(\d[\d,.]*|\b(one|two|three|four|five|six|seven|eight|nine|ten|dozen))(\s+\S+){{0,2}}?\s+{}"


_SUFFIX = re.compile(r"(?<=\w{3})(ings?|ed|es|e|s|ly)$")


@lru_cache(maxsize=65_536)
def _terms(text: str) -> frozenset[str]:
    """Content words, case-folded, a common ending dropped, so "pleaded" meets "plead" and "ballots" "ballot".

    Cached: the same passages' sentences come back question after question.
    """
    words = (w for w in _WORD.findall(text.casefold()) if w not in _STOP)
    return frozenset(w if w.endswith("ss") else _SUFFIX.sub("", w) for w in words)


def content_words(text: str) -> frozenset[str]:
    """The content words of ``text`` as marking compares them (case-folded, a common ending dropped)."""
    return _terms(text)


def shaping_words(question: str) -> frozenset[str]:
    """The question's words that only shape what it asks, not what it is about.

    "many" of "how many", "whats", the verb of "what did X say / tell" and words of emphasis
    ("exactly"): a small collection may hold none of them ("said" is no form of "say" to the
    lexical index's stemmer).
    """
    asked = question.casefold()
    words = set(_HOW_WORD.findall(asked)) | {m.group() for m in _CONTRACTED.finditer(asked)}
    words |= _EMPHASIS.intersection(_WORD.findall(asked))
    if said := _SAY.search(asked):
        words.add(said.group("verb"))
    return frozenset(words)


def speaker(question: str) -> str | None:
    """Whose words "what did X say / tell / call ..." asks for: X."""
    said = _SAY.search(question.casefold())
    return said.group("speaker") if said else None


def unnamed(actor: str, missing: list[str]) -> list[str]:
    """The words naming ``actor`` when every one of them is among the ``missing`` ones (no article holds it).

    Every word: "the GOP" is named by an article that writes "Republican", though none writes "GOP".
    """
    words = [w for w in _WORD.findall(actor.casefold()) if w not in _STOP and len(w) >= 3]
    return words if words and all(w in missing for w in words) else []


def word_coverage(question: str, text: str) -> float:
    """The share of the question's content words that ``text`` holds (0 for a question without any)."""
    asked = _terms(question)
    return len(asked & _terms(text)) / len(asked) if asked else 0.0


@dataclass(frozen=True, slots=True)
class _Expected:
    """What kind of answer a question asks for: "date", "number", "name" or nothing."""

    kind: str | None
    count_of: re.Pattern[str] | None = None  # "how many votes": a number followed by "vote..."
    named: frozenset[str] = frozenset()  # names the question itself gives
    #: "which senator ...": the words naming what is asked for; a name right after one answers ("Senator Ben Cardin").
    nouns: frozenset[str] = frozenset()


@lru_cache(maxsize=1024)
def _expected(question: str) -> _Expected:
    """What the question's first question word asks for; "where" and "who" want a name it does not give."""
    asked = _CONTRACTED.sub(r"\1 is", question.casefold())
    first = _ASKS.search(asked)
    if first is None:
        return _Expected(None)
    asked = asked[first.start() :]
    if _WHEN.match(asked):
        return _Expected("date")
    if _HOW_MANY.match(asked):
        counted = _COUNTED.search(asked)
        pattern = re.compile(_COUNT_OF.format(re.escape(counted.group(1)[:4])), re.IGNORECASE) if counted else None
        return _Expected("number", pattern)
    if _SAY.match(asked):
        return _Expected("quote")
    if _WHO.match(asked) or asked.startswith("where"):
        which = _WHICH_NOUNS.match(asked)
        nouns = _terms(_leading_nouns(which.group("nouns"))) if which else frozenset()
        return _Expected("name", named=_terms(question), nouns=nouns)
    return _Expected(None)


#: "which senate intel chairman did ...": the words after "which", up to a verb or a little word.
_WHICH_NOUNS = re.compile(r"which (?P<nouns>(?:(?!(?:got|gets|get)\b)\w+(?<!ed)(?: |$|(?=[?!.,;:](?:\s|$)))){1,4})")
_TOKEN = re.compile(r"[\w’'.-]+")


def _leading_nouns(words: str) -> str:
    """The words up to the first little word ("in", "did", "is"): "country in 1985" is "country"."""
    kept = []
    for word in words.split():
        if word in _STOP:
            break
        kept.append(word)
    return " ".join(kept)


def named_as_asked(question: str, sentence: str) -> bool:
    """For "which senator ...": whether a name the question lacks follows one of its nouns ("Senator Ben Cardin")."""
    expected = _expected(question)
    if not expected.nouns:
        return False
    tokens = _TOKEN.findall(sentence)
    for i, token in enumerate(tokens):
        if not _terms(token) & expected.nouns:
            continue
        for j in range(i + 1, min(i + 5, len(tokens) - 1)):
            first, last = tokens[j], tokens[j + 1]
            if (
                first[:1].isupper()
                and last[:1].isupper()
                and first[1:2].islower()
                and last[1:2].islower()
                and not (_terms(first) | _terms(last)) <= expected.named
                and first.casefold() not in _NO_NAME
                and last.casefold() not in _NO_NAME
            ):
                return True
    return False


def _has_expected_kind(question: str, sentence: str) -> float:
    """Whether the sentence holds the kind of thing the question asks for: a date, a number, a name.

    For "how many votes" a number followed (within two words) by "vote..." counts fully, any other
    number half.
    """
    expected = _expected(question)
    if expected.kind == "date":
        return float(bool(_DATE.search(sentence)))
    if expected.kind == "number":
        if expected.count_of is not None and expected.count_of.search(sentence):
            return 1.0
        return (0.5 if expected.count_of is not None else 1.0) * bool(_NUMBER.search(sentence))
    if expected.kind == "quote":
        return float(bool(_QUOTED.search(sentence)))
    if expected.kind == "name":  # a capitalised word past the first that the question does not hold, in any case
        return float(
            any(w.casefold() not in _NO_NAME and not _terms(w) <= expected.named for w in _NAME.findall(sentence[1:]))
        )
    return 0.0


#: How much a sentence in which the question's actor acts ("who did X blame": X blames) counts, and is
#: taken off one in which X is acted upon or only owns something (news dev set, tuning half; bench/news.py).
ACTOR_WEIGHT = 0.2
#: Verbs of saying, blaming and dealing with people: the actions "who did X ..." asks about.
_ACTS = frozenset(
    _SUFFIX.sub("", w)
    for w in "say said says claim accus accuse blame told tell thank hire hired fire fired sue sued endorse criticize"
    " charge warn urge ask call praise attack name nominate appoint meet met interview subpoena".split()
)


def acting(actor: str, verb: str | None, sentence: str) -> int:
    """+1 when ``actor`` acts in the sentence (a verb of saying or dealing follows the name), -1 when acted upon.

    +2 when the verb's object is a name ("Ratcliffe claimed that Tehran and Moscow...": "who did
    Ratcliffe blame" asks for a name); "Democrats ... accuse Ratcliffe" and "Ratcliffe's statements
    sparked..." -1; 0 when the sentence does not name the actor.
    """
    names = _terms(actor)
    acts = _ACTS | (_terms(verb) if verb else frozenset())
    words = [w if w.endswith("ss") else _SUFFIX.sub("", w) for w in _WORD.findall(sentence.casefold())]
    at = next((i for i, w in enumerate(words) if w in names), None)
    if at is None or not names:
        return 0
    end = at
    while end + 1 < len(words) and words[end + 1] in names:
        end += 1
    if end + 1 < len(words) and words[end + 1] == "s":  # "Ratcliffe's statements": owned, not acting
        return -1
    if any(w in acts for w in words[:at]):
        return -1
    verb_at = next((i for i in range(end + 1, min(end + 8, len(words))) if words[i] in acts), None)
    if verb_at is None:
        return 0
    # "who did X blame" asks for the one blamed: best when a name is the verb's object ("claimed that Tehran").
    shown = _WORD.findall(sentence)
    after = [w for w in shown[verb_at + 1 : verb_at + 4] if w.casefold() not in ("that", "the")][:1]
    return 2 if after and after[0][0].isupper() and after[0].casefold() not in names else 1


def sentence_scores(
    question: str,
    query: np.ndarray,
    spans: list[Span],
    vectors: np.ndarray,
    extras: float = 1.0,
    actor: tuple[str, str | None] | None = None,
) -> np.ndarray:
    """How well each sentence answers the question (``extras`` scales all but the cosine).

    Each sentence scores its cosine to the question (its vector was pooled in the context of
    its passage), plus the share of the question's words it holds, each word weighted by how
    rare it is among the passage's sentences, plus a little for the words its neighbours hold
    ("He said..." after the sentence that names him) and for holding the kind of thing asked
    for (a date for "when", counting DATE_KIND_WEIGHT, a number for "how many", a name for "who").
    """
    asked = _terms(question)
    held = [_terms(s.text) for s in spans]
    weight = {t: math.log((len(spans) + 1) / (sum(t in h for h in held) + 0.5)) for t in asked}
    total = sum(weight.values()) or 1.0
    words = np.asarray([sum(weight[t] for t in asked & h) / total for h in held])
    neighbours = np.zeros_like(words)
    neighbours[1:] += words[:-1]
    neighbours[:-1] += words[1:]
    kinds = np.asarray([_has_expected_kind(question, s.text) for s in spans])
    acts = np.asarray([acting(actor[0], actor[1], s.text) for s in spans]) if actor else 0.0
    kind = DATE_KIND_WEIGHT if _expected(question).kind == "date" else KIND_WEIGHT
    return np.asarray(
        vectors @ query
        + extras * (WORD_WEIGHT * words + NEIGHBOUR_WEIGHT * neighbours + kind * kinds + ACTOR_WEIGHT * acts)
    )


def marked_sentence(question: str, spans: list[Span], scores: np.ndarray) -> Span:
    """The sentence to mark, of sentences scored by :func:`sentence_scores`.

    For "what did X say" and "how many", holding a quotation or a number counts MARK_KIND_EXTRA
    more here than in ranking passages: the wire's lede, which restates the question ("Ryan said on
    Sunday that Mueller should not be fired"), loses the bold to the sentence quoting him. For
    "which senator ...", so does a name right after one of the question's nouns ("Senator Ben
    Cardin"): the lede restating "a senator" names someone else. A heading (a short line that is
    no sentence) is never marked while the passage holds anything else.
    """
    expected = _expected(question)
    headings = [is_heading(s.text) for s in spans]  # bold only in a passage of nothing else
    if not all(headings):
        scores = np.where(headings, -np.inf, scores)
    if expected.nouns:  # "which senator": "Senator Ben Cardin"
        extra = np.asarray([named_as_asked(question, s.text) for s in spans], dtype=float)
    elif expected.kind in _MARK_EXTRA_KINDS:
        extra = np.asarray([_has_expected_kind(question, s.text) for s in spans])
    else:
        return spans[int(np.argmax(scores))]
    return spans[int(np.argmax(scores + MARK_KIND_EXTRA * extra))]


def mark_best_sentence(
    question: str,
    query: np.ndarray,
    spans: list[Span],
    vectors: np.ndarray,
    actor: tuple[str, str | None] | None = None,
) -> Span:
    """The sentence that best answers the question (see :func:`sentence_scores` and :func:`marked_sentence`)."""
    return marked_sentence(question, spans, sentence_scores(question, query, spans, vectors, actor=actor))


def make_quote(
    passage: StoredPassage,
    score: float,
    sentence: Span,
    *,
    also_published: tuple[str, ...] = (),
    independent_outlets: int = 1,
) -> Quote:
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
        also_published=also_published,
        independent_outlets=independent_outlets,
    )


#: Another story holds the marked sentence's claim when one of its sentences holds at least CLAIM_OVERLAP of the
#: marked sentence's content words and, read on its own by the model, has at least CLAIM_COSINE with the marked
#: sentence read on its own (chosen on real Reuters cases; README, "Wire copies and corroboration"). Sentence
#: vectors stored for marking are pooled in their passage's context, which moves the same sentence in two
#: articles apart, so the few sentences compared are encoded alone; the cosine alone does not separate a
#: restated claim ("The bill will be introduced by..." / "The SAVE Act will be introduced by...": 0.66) from
#: another claim on the same story (0.68), the shared words do.
CLAIM_COSINE = 0.6
CLAIM_OVERLAP = 0.7
#: ... one per article, among the articles of this many of the question's best candidates.
CLAIM_DEPTH = 20


def claim_holders(candidate: Candidate, sentence: Span, pool: list[Candidate]) -> list[tuple[int, str | None, str]]:
    """Other articles that may hold the marked sentence's claim: (article id, outlet, its closest sentence).

    For each other article among the first CLAIM_DEPTH candidates, its sentence (never a heading)
    sharing most content words with the marked sentence, if the two share at least CLAIM_OVERLAP of the
    shorter one's; the caller compares these with the marked sentence by meaning. Articles of the
    quoted article's own outlet are left out: they cannot add an outlet to the count, so they need not
    be read (a collection of one wire's stories costs no model call here).
    """
    asked = _claim_terms(sentence.text)
    own = outlet_key(candidate.passage.source)
    best: dict[int, tuple[float, StoredPassage, str]] = {}
    for other in pool[:CLAIM_DEPTH]:
        article_id = other.passage.article_id
        if article_id == candidate.passage.article_id or not asked or (own and outlet_key(other.passage.source) == own):
            continue
        for span in text_sentences(other.passage.text):
            if is_heading(span.text):  # "Dunmore recount" shares every word with many a claim, and states none
                continue
            held = _claim_terms(span.text)
            share = len(asked & held) / max(1, min(len(asked), len(held)))
            if share >= CLAIM_OVERLAP and share > best.get(article_id, (0.0,))[0]:
                best[article_id] = (share, other.passage, span.text)
    return [(article_id, passage.source, text) for article_id, (_, passage, text) in best.items()]


def _claim_terms(text: str) -> frozenset[str]:
    """A sentence's content words of two letters or more (the shorter sentence's are what must be shared)."""
    return frozenset(w for w in _terms(text) if len(w) > 1)


def count_outlets(first: tuple[int, str | None], others: list[tuple[int, str | None]]) -> int:
    """How many independent outlets the quoted article and the other articles holding its claim make.

    The quoted article counts once, however many outlets published copies of it (a wire story
    merged with its copies is one story); two stories of one outlet are one outlet; an article
    without an outlet counts as its own.
    """
    return len({outlet_key(source) or f"#{article_id}" for article_id, source in [first, *others]})
