"""Split an article into passages that can be quoted verbatim.

Every passage and sentence carries its exact character span in the article, so
``article_text[start:end] == passage.text`` always holds and a quote is never
reworded. Page chrome ("Open Now", "Follow us on Google News") and tiny
fragments never become passages.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

#: Fewer words than this and a paragraph is a fragment (a button, a byline, a heading).
MIN_WORDS = 8
#: Passages are packed from whole sentences up to this many tokens...
TARGET_TOKENS = 160
#: ...and never exceed this, which leaves room for [CLS]/[SEP] under the model's 256.
MAX_TOKENS = 254
#: A passage's length in characters is capped too: the tokenizer turns a 1 MB "word" into one token.
MAX_CHARS = 2000

TokenCounter = Callable[[str], int]

_BOILERPLATE = re.compile(
    r"""^\W*(
        open\ now | watch\ now | listen\ now | read\ more | read\ next | see\ also
      | advertisement | sponsored(\ content)? | skip\ to\ (main\ )?content
      | follow\ us(\ on\ .*)? | share\ (this|on)\b.* | subscribe\b.* | sign\ up\b.*
      | (click|tap)\ here\b.* | related(\ articles|\ stories|\ coverage)?
      | (accept|manage)\ (all\ )?cookies.* | we\ use\ cookies\b.*
      | all\ rights\ reserved.* | (copyright|©|\(c\))\ .* | back\ to\ top
      | (photo|image|video)(\ credit)?:.* | loading(\.\.\.|…)?
    )\W*$""",
    re.IGNORECASE | re.VERBOSE,
)
_WORD = re.compile(r"\w+")

# Abbreviations after which a full stop does not end a sentence.
_ABBREVIATIONS = frozenset(
    (
        "mr mrs ms dr prof sen rep gov gen lt col sgt capt adm maj st jr sr inc corp co ltd no vs etc e.g i.e a.m p.m"
        " jan feb mar apr jun jul aug sep sept oct nov dec u.s u.k u.n u.s.a e.u d.c n.y calif fla mass pa va wash"
        " ariz mich ga ky tenn la ok approx dept est fig govt mt ft"
    ).split()
)
# A sentence ends at . ! ? (or …), plus closing quotes/brackets, before whitespace.
_SENTENCE_END = re.compile(r"""[.!?…]+["'”’)\]]*(?=\s)""")


@dataclass(frozen=True, slots=True)
class Span:
    """A stretch of the article: ``text == article[start:end]``."""

    start: int
    end: int
    text: str


def is_boilerplate(line: str) -> bool:
    """Return True for page chrome such as "Watch now" or "Follow us on Google News"."""
    words = _WORD.findall(line)
    return len(words) <= 12 and bool(_BOILERPLATE.match(line.strip()))


def word_count(text: str) -> int:
    """Count the words in ``text``."""
    return len(_WORD.findall(text))


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink ``[start, end)`` to exclude surrounding whitespace."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def paragraphs(text: str, *, title: str | None = None) -> list[Span]:
    """Return the article's content paragraphs: runs of lines between blank lines.

    Boilerplate lines split a paragraph and are dropped; so are fragments under
    ``MIN_WORDS`` words and a line repeating the article's title (the title is
    shown with every quote anyway).
    """
    norm_title = " ".join(_WORD.findall(title.lower())) if title else None
    result: list[Span] = []
    run_start: int | None = None
    run_end = 0

    def close_run() -> None:
        if run_start is None:
            return
        start, end = _strip_span(text, run_start, run_end)
        chunk = text[start:end]
        if word_count(chunk) < MIN_WORDS:
            return
        if norm_title and " ".join(_WORD.findall(chunk.lower())) == norm_title:
            return
        result.append(Span(start, end, chunk))

    pos = 0
    for line in text.splitlines(keepends=True):
        line_start, pos = pos, pos + len(line)
        content = line.strip()
        if not content or is_boilerplate(content):
            close_run()
            run_start = None
            continue
        if run_start is None:
            run_start = line_start
        run_end = pos
    close_run()
    return result


def _is_abbreviation(text: str, dot: int) -> bool:
    """True when the full stop at ``dot`` belongs to an abbreviation or an initial."""
    start = dot
    while start > 0 and (text[start - 1].isalpha() or text[start - 1] == "."):
        start -= 1
    token = text[start:dot].lower().strip(".")
    if not token:
        return False
    return token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha())


def sentences(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Split ``text[start:end]`` into sentences, each with its exact span in ``text``."""
    end = len(text) if end is None else end
    result: list[Span] = []
    cursor = start
    for match in _SENTENCE_END.finditer(text, start, end):
        stop = match.end()
        if (
            text[match.start()] == "."
            and match.group().rstrip("\"'”’)]") == "."
            and _is_abbreviation(text, match.start())
        ):
            continue
        # A sentence continues when the next word starts in lower case ("e.g. this").
        nxt = stop
        while nxt < end and text[nxt].isspace():
            nxt += 1
        if nxt < end and text[nxt].islower():
            continue
        s, e = _strip_span(text, cursor, stop)
        if s < e:
            result.append(Span(s, e, text[s:e]))
        cursor = stop
    s, e = _strip_span(text, cursor, end)
    if s < e:
        result.append(Span(s, e, text[s:e]))
    return result


def _split_oversized(text: str, span: Span, count_tokens: TokenCounter, limit: int) -> Iterator[Span]:
    """Cut one over-long sentence at whitespace (or, failing that, anywhere) to fit ``limit``."""
    start = span.start
    while start < span.end:
        # Grow a window word by word; binary search keeps this linear-ish on 1 MB lines.
        lo, hi = start + 1, min(span.end, start + MAX_CHARS)
        best = start
        while lo <= hi:
            mid = (lo + hi) // 2
            if count_tokens(text[start:mid]) <= limit:
                best, lo = mid, mid + 1
            else:
                hi = mid - 1
        if best == span.end or not text[start:best].strip():
            cut = best
        else:
            space = text.rfind(" ", start, best + 1)
            cut = space if space > start else max(best, start + 1)
        s, e = _strip_span(text, start, cut)
        if s < e:
            yield Span(s, e, text[s:e])
        start = cut


def chunk_article(
    text: str,
    count_tokens: TokenCounter,
    *,
    title: str | None = None,
    target_tokens: int = TARGET_TOKENS,
    max_tokens: int = MAX_TOKENS,
) -> list[Span]:
    """Split an article into passages: paragraphs, or sentence windows for long ones.

    A paragraph within ``target_tokens`` is one passage. A longer one (and an
    article with no paragraph breaks at all) is packed greedily from whole
    sentences up to ``target_tokens``; a single sentence over ``max_tokens`` is
    cut at word boundaries. No passage exceeds ``max_tokens``.
    """
    passages: list[Span] = []
    for para in paragraphs(text, title=title):
        if len(para.text) <= MAX_CHARS and count_tokens(para.text) <= target_tokens:
            passages.append(para)
            continue
        pieces: list[Span] = []
        for sentence in sentences(text, para.start, para.end):
            if len(sentence.text) > MAX_CHARS or count_tokens(sentence.text) > max_tokens:
                pieces.extend(_split_oversized(text, sentence, count_tokens, max_tokens))
            else:
                pieces.append(sentence)
        window: list[Span] = []
        window_tokens = 0
        for piece in pieces:
            tokens = count_tokens(piece.text)
            too_long = piece.end - window[0].start > MAX_CHARS if window else False
            if window and (window_tokens + tokens > target_tokens or too_long):
                passages.append(_join(text, window))
                window, window_tokens = [], 0
            window.append(piece)
            window_tokens += tokens
        if window:
            passages.append(_join(text, window))
    return passages


def _join(text: str, pieces: list[Span]) -> Span:
    """The span covering ``pieces``, verbatim, including the spaces between them."""
    start, end = pieces[0].start, pieces[-1].end
    return Span(start, end, text[start:end])
