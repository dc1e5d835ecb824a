"""Split an article into passages that can be quoted verbatim.

Every passage and sentence carries its exact character span in the article, so
``article_text[start:end] == passage.text`` always holds and a quote is never
reworded.

What becomes a passage is decided by what a piece of text is, not by its length
alone (each rule was measured on trafilatura's annotated news pages; see
BENCHMARKS.md and ``python -m bench.extraction``):

- page chrome goes: link labels ("Read more: ...", "Related"), newsletter, app,
  social and feedback pitches, paywall notices, copyright lines, bylines and
  photo credits ("Open Now", "Follow us on Google News");
- a complete sentence stays, however short; one under ``MIN_WORDS`` words is
  kept with the paragraph before it (or, first in its run, the one after it);
- a heading (a short line that is not a sentence, a lead-in ending in a colon,
  a short list item, or a line repeating the headline) stays attached to the
  text it heads, so it is searchable and quoted with it; a heading that heads
  nothing goes, and before the first paragraph only the last ``MAX_HEADINGS``
  of a run stay (the rest is a menu or breadcrumbs);
- consecutive list items are one paragraph.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum

#: A line of this many words or more reads as text even without a full stop (a pull quote); a shorter one
#: that is not a sentence is a heading or a fragment.
MIN_WORDS = 8
#: A complete sentence needs this many words: "Yes." alone is not a passage, "He resigned." is.
MIN_SENTENCE_WORDS = 2
#: Of a run of headings before the first paragraph, only this many (a headline and its dek) head it.
MAX_HEADINGS = 2
#: Passages are packed from whole sentences up to this many tokens...
TARGET_TOKENS = 160
#: ...and never exceed this, which leaves room for [CLS]/[SEP] under the model's 256.
MAX_TOKENS = 254
#: A passage's length in characters is capped too: the tokenizer turns a 1 MB "word" into one token.
MAX_CHARS = 2000
#: A block of at most this many sentences that ends with a pitch is all pitch.
PITCH_SENTENCES = 3
#: A paywalled page: a paywall notice, and more than this share of its words is the notice, what follows
#: it, chrome and pitches.
PAYWALL_SHARE = 0.5

TokenCounter = Callable[[str], int]

# A whole line that is page chrome: buttons, link labels, share bars, footers. Only short lines
# (see is_boilerplate), so a sentence that merely starts with "Related" stays.
_BOILERPLATE = re.compile(
    r"""^\W*(
        open\ now | watch\ now | listen\ now | read\ more | read\ next | read\ also | also\ read | see\ also
      | continue\ reading | keep\ reading | advertisement | advert | sponsored(\ content)? | promoted(\ content)?
      | skip\ to\ (main\ )?content | back\ to\ top | scroll\ to\ top
      | follow\ us\b.* | share\ (this|on|via)\b.* | share | tweet | print | e-?mail | whatsapp | facebook
      | twitter | linkedin | pinterest | reddit | copy\ link | subscribe\b.* | sign[ -]?up\b.* | log\ ?in | sign\ ?in
      | (click|tap)\ here\b.* | related(\ \w+)?(\ articles|\ stories|\ coverage|\ content|\ posts|\ reading|\ links
        |\ topics|\ videos|\ news)? | more\ (stories|news|articles|videos)(\ from\ .*)?
      | you\ (may|might)\ (also\ )?like.*
      | recommended(\ for\ you|\ reading|\ stories)? | most\ (read|popular|viewed|shared) | top\ stories
      | trending(\ now|\ stories)? | editors?['’]?s?\ (picks?|recommendations?|choice) | don['’]?t\ miss | must\ read
      | next\ (article|story|post)
      | previous\ (article|story|post) | ((leave|post|add|show|view|hide|load)\ (a\ |more\ )?)?comments?
      | \d+\ comments? | (story|article)\ continues\ (below|after)\b.* | continue\ reading\ below
      | (accept|manage)\ (all\ )?cookies.* | we\ use\ cookies\b.* | all\ rights\ reserved.* | (copyright|©|\(c\))\ .*
      | (photo|image|video|picture|photograph)s?(\ credit)?s?:.* | loading(\.\.\.|…)?
      | .{0,60}\bnewsletter | sign-?up\ successful | thanks?(\ you)?\ for\ (signing\ up|subscribing)
      | posted(\ on|\ by|\ in)?\b.* | (published|updated|last\ updated|first\ published|written)(\ on|\ at|\ by)?\b.*
    )\W*$""",
    re.IGNORECASE | re.VERBOSE,
)
# A label and a link to another page: "Read more: Looted colonial art: ...", "Related: ...", "WATCH: ...".
_LINK_LINE = re.compile(
    r"""^\W*(read\ more|read\ next|read\ also|also\ read|related(\ \w+)?|see\ also|more|watch|listen|video
      |podcast|recommended|don['’]?t\ miss|must\ read|most\ read|trending|in\ pictures|photos|gallery
      |editors?['’]?s?\ (picks?|recommendations?))\s*[:|»›>]""",
    re.IGNORECASE | re.VERBOSE,
)
# Lines that are metadata, not text: a post's filing line ("Category : Press Releases", "Tags: ..."),
# bylines, photo credits and captions' credit lines.
_FILING = re.compile(r"\b(categor(y|ies)|tags?|filed\ under|keywords)\s*:", re.IGNORECASE)
_BYLINE = re.compile(r"^\W*By\s+[A-Z]")
_CREDIT = re.compile(
    r"""(^\W*(photo|picture|image|photograph|credit|illustration|graphic)s?(\ credit)?(\ by)?\s*[:/]
      | \((photo|picture|image|photograph|credit)s?(\ by|:)[^)]*\)\W*$ | ^\W*\(credit:)""",
    re.IGNORECASE | re.VERBOSE,
)

# One sentence that sells something instead of telling the news: newsletter, app, social and
# feedback pitches, paywall notices, affiliate and copyright notices. The forms are those real
# sites use (trafilatura's corpus, see BENCHMARKS.md). Each needs the pitch's own wording, an
# imperative at the start of the sentence or the reader addressed as "you", so that reporting
# stays: "the FBI got a tip", "results may not be published before polls close", "the app for
# Android had flaws", "400,000 new subscribers" (none of the 15,701 Reuters sentences matches).
_PAYWALL = re.compile(
    r"""\b(to|please)\ (view|read|continue\ reading|access|see|unlock|keep\ reading)\ (the|this)\ (full|whole
        |entire|rest\ of\ the|complete)?\s?(story|article|report|piece)\b.{0,40}\b(subscribe|subscription|log\ ?in
        |sign\ ?in|member)
      | \b(subscribe|subscription|log\ ?in|sign\ ?in)\b.{0,60}\bfor\ the\ (full|whole|entire|complete)\ (story|article)
      | \byou(['’]re|\ are)\ already\ a\ (subscriber|member)\b | \bsubscribe\ (now\ )?to\ (continue|keep)\ reading
      | \b(this|the)\ (article|story|content|page)\ is\ (only\ )?(available|reserved|exclusive)\ (to|for)\ (paid\
        |premium\ |our\ |registered\ )?(subscribers|members)
      | \byou(['’]ve|\ have)\ (reached|read|used)\ (your|all|\d+)\b.{0,40}\b(free\ )?(articles|stories|limit)
      | \byou(['’]ll|\ will)\ get\ unlimited\ (digital\ )?access\b
      | ^(join|subscribe|renew|become\ a\ (member|subscriber))\b.{0,30}\b(now|today)\b""",
    re.IGNORECASE | re.VERBOSE,
)
_PITCH = re.compile(
    r"""\b(sign(ing)?[ -]?up|subscrib(e|ing))\ (to|for)\ (our|my|the\ free|a\ free|the\ daily|the\ weekly)\b.{0,40}
        \b(newsletters?|e-?mails?|briefings?|digest|edition)\b
      | \bnewsletter\b.{0,120}\bsign[ -]?up\ (here|now|today)\b | ^(sign[ -]?up|subscribe)\b
      | \bnever\ miss\b.{0,60}\b(sign(ing)?[ -]?up|subscrib(e|ing))\b
      | ^(get|receive)\b.{0,60}\b(daily|weekly|newsletter|edition|briefing|top\ stories|latest\ news)\b.{0,40}
        \b(by|via|in\ your)\ e-?mail\b
      | \bfree\ sign[ -]?up\b | ^enter\ your\ e-?mail\b
      | \bby\ (signing\ up|subscribing|clicking|registering|submitting)\b.{0,80}\byou\ (agree|consent)
      | ^download\ (the|our)\b.{0,40}\bapp\b
      | \bdownload\ (the|our)\b.{0,40}\bapps?\ for\ (ios|android|iphone)
      | \bif\ you(['’]re|\ are)\ (on|using|reading\ this\ on)\ the\b.{0,40}\bapp\b.{0,10}\b(click|tap)
      | ^(follow|join|find|connect\ with)\b.{0,60}\bon\ (twitter|facebook|instagram|linkedin|youtube|tiktok
        |telegram|whatsapp|threads|mastodon|bluesky|github|google\ news|flipboard)\b | ^like\ us\b
      | ^join\ (our|the)\b.{0,40}\b(facebook|whatsapp|telegram|discord|reddit|signal)\ (group|channel|community)\b
      | \bsend\ us\ (a\ message|an\ e-?mail|a\ tip|your\ tips?)\b | ^(got|have)\ a\ (news\ )?tip\b
      | \bwe\ want\ to\ hear\ (from\ you|what\ you\ think)\b | \bsubmit\ (a|your)\ letter\ to\ the\ editor\b
      | \bletters?\ to\ the\ editor\ (via|here|using)\b | ^advertise\ with\b
      | \b(this|the)\ (post|article|page|story)\ (may\ )?contains?\ (references\ to\ products|affiliate\ links)
      | \bwe\ may\ (receive|earn|get)\ (a\ )?(small\ )?(compensation|commission)\b
      | \b(is|are)\ the\ copyrighted\ property\b | \bwritten\ permission\ must\ be\ obtained\b
      | ^(this|the)\ (material|content|article)\ may\ not\ be\ (re)?published\b | \ball\ rights\ reserved\b
      | ^(©|copyright\ ©?\s*\d{4}|\(c\)\ \d{4}) | ^our\ standards:""",
    re.IGNORECASE | re.VERBOSE,
)
# Ads are sometimes spelt with Cyrillic and Greek look-alike letters ("Аdvеrtіѕе wіth uѕ") so that
# filters miss them; pitches are matched on the Latin letters they imitate.
_LOOKALIKES = str.maketrans(
    "АВЕКМНОРСТХаеорсухіјѕԁɡһӏոԛԝΑΒΕΖΗΙΚΜΝΟΡΤΥΧον",
    "ABEKMHOPCTXaeopcyxijsdghlnqwABEZHIKMNOPTYXov",
)
# What a newsletter pitch goes on to say to the reader ("Simply pop your email into the box ...",
# "You can unsubscribe at any time"): only right after a pitch, and only in the second person.
_PITCH_GOES_ON = re.compile(
    r"""^(?=.*\b(you|your)\b).*\b(e-?mails?|inbox|unsubscribe|newsletters?|subscri\w*|sign(ing)?[ -]?up
      |privacy\ (policy|notice)|data\ will)\b""",
    re.IGNORECASE | re.VERBOSE,
)
_WORD = re.compile(r"\w+")
_LIST_ITEM = re.compile(r"^\s*([-•*·▪–—]\s|\d{1,3}[.)]\s)")
_CLOSERS = "\"'”’)]»"

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


def word_count(text: str) -> int:
    """Count the words in ``text``."""
    return len(_WORD.findall(text))


def is_boilerplate(line: str) -> bool:
    """Return True for a line of page chrome: "Watch now", "Read more: ...", a byline, a photo credit."""
    line = _LIST_ITEM.sub("", line.strip(), count=1)
    words = word_count(line)
    # A sentence that opens like a label ("Updated voter rolls were sent to counties.") is text.
    if words <= 12 and _BOILERPLATE.match(line) and (words <= 3 or not ends_sentence(line)):
        return True
    if words <= 30 and _LINK_LINE.match(line):
        return True
    if words <= 12 and not ends_sentence(line) and _BYLINE.match(line):
        return True
    if words <= 20 and _FILING.search(line):
        return True
    return bool(_CREDIT.search(line)) and words <= 20


def is_paywall(sentence: str) -> bool:
    """Return True for a sentence of a paywall notice ("To view the full story, please subscribe ...")."""
    return bool(_PAYWALL.search(sentence.translate(_LOOKALIKES)))


def is_pitch(sentence: str) -> bool:
    """Return True for a sentence that is a pitch: newsletter, app, social, feedback, paywall, copyright."""
    sentence = sentence.translate(_LOOKALIKES)
    return bool(_PITCH.search(sentence) or _PAYWALL.search(sentence))


def is_list_item(line: str) -> bool:
    """True for a line that starts like a list item: "- ", "• ", "— ", "1. ", "2) "."""
    return bool(_LIST_ITEM.match(line))


def ends_sentence(text: str) -> bool:
    """True when ``text`` ends as a sentence does: a full stop, ! ? or …, perhaps inside quotes or brackets."""
    return text.rstrip().rstrip(_CLOSERS).endswith((".", "!", "?", "…"))


def is_heading(line: str) -> bool:
    """True for a heading: a short line (under MIN_WORDS words) that is no sentence and no list item, or a lead-in."""
    line = line.strip()
    if not line or _LIST_ITEM.match(line) or word_count(line) >= MIN_WORDS:
        return False
    return line.endswith(":") or not ends_sentence(line)


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink ``[start, end)`` to exclude surrounding whitespace."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


class _Kind(Enum):
    TEXT = "text"  # a sentence or a long line: a passage of its own
    SHORT = "short"  # a complete sentence under MIN_WORDS words: kept with its neighbour
    HEADING = "heading"  # kept only in front of the text it heads
    ITEM = "item"  # a list item: kept with the items around it
    FRAGMENT = "fragment"  # a lone word, a name: dropped


@dataclass(slots=True)
class _Piece:
    start: int
    end: int
    kind: _Kind
    #: Only whitespace lies between this piece and the one before (nothing was dropped between them).
    joined: bool
    #: A pitch ending in a colon was dropped just before: the list it introduces goes too.
    after_pitch: bool = False


def _kind(text: str, start: int, end: int, norm_title: str | None) -> _Kind:
    """What a piece is: a paragraph of text, a short sentence, a heading, a list item or a fragment."""
    chunk = text[start:end]
    words = word_count(chunk)
    if norm_title and " ".join(_WORD.findall(chunk.lower())) == norm_title:
        return _Kind.HEADING
    if _LIST_ITEM.match(chunk):
        return _Kind.ITEM
    if words >= MIN_WORDS:
        return _Kind.TEXT
    if chunk.endswith(":"):
        return _Kind.HEADING  # a lead-in heads the list or paragraph after it
    if ends_sentence(chunk):
        return _Kind.SHORT if words >= MIN_SENTENCE_WORDS else _Kind.FRAGMENT
    # A short line that holds a sentence and a bit more ("Yes. This is an idea") is text too.
    if len(sentences(text, start, end)) > 1:
        return _Kind.SHORT
    return _Kind.HEADING if words else _Kind.FRAGMENT


def _pieces(text: str, title: str | None) -> Iterator[_Piece]:
    """The article's blocks (runs of lines between blank lines) less chrome lines and pitches, classified."""
    norm_title = " ".join(_WORD.findall(title.lower())) if title else None
    dropped_since = False  # something was dropped after the previous kept piece
    pitch_colon = False  # the pitch just dropped ends in a colon: the list after it is its offer
    in_pitch = False  # the last thing seen was a pitch: what follows may still be talking to the reader
    behind_paywall = False  # a paywall notice ends the article: what follows it is the offer

    def block(start: int, end: int) -> Iterator[_Piece]:
        nonlocal dropped_since, pitch_colon, in_pitch, behind_paywall
        start, end = _strip_span(text, start, end)
        if start >= end or behind_paywall:
            return
        said = sentences(text, start, end)
        paywall = next((s for s in said if is_paywall(s.text)), None)
        if paywall is not None:
            # "To view the full story, please subscribe ...": the story stops here, and what follows
            # (prices, perks, "already a subscriber? log in") is the offer.
            behind_paywall, said = True, [s for s in said if s.start < paywall.start]
            end = paywall.start
            if not said:
                return
        if said and (
            is_pitch(said[0].text)
            or (len(said) <= PITCH_SENTENCES and is_pitch(said[-1].text))
            or (in_pitch and _PITCH_GOES_ON.search(said[0].text.translate(_LOOKALIKES)))
        ):
            # A block that opens with a pitch is the pitch ("Follow The Gleaner on Twitter ... Send us a
            # message on WhatsApp"); its other sentences go with it. So does a short block that ends with
            # one ("Do you want to be informed of DiEM25's actions? Sign up here"), and the blocks after a
            # pitch that go on telling the reader about it ("You can unsubscribe from this service ...").
            dropped_since, in_pitch = True, True
            pitch_colon = text[start:end].rstrip().endswith(":")
            return
        run_start = start
        for sentence in [*said, None]:
            if sentence is not None and not is_pitch(sentence.text):
                continue
            s, e = _strip_span(text, run_start, sentence.start if sentence else end)
            if s < e:
                yield _Piece(s, e, _kind(text, s, e, norm_title), not dropped_since, pitch_colon)
                dropped_since, pitch_colon, in_pitch = False, False, False
            if sentence is not None:
                dropped_since, run_start = True, sentence.end

    run_start: int | None = None
    run_end = 0
    pos = 0
    previous = ""
    for line in text.splitlines(keepends=True):
        line_start, pos = pos, pos + len(line)
        content = line.strip()
        # A line that looks like a list item continues its paragraph unless the line before it ended
        # one: "the formula O\n2. Diatomic oxygen ..." is chemistry, not a list.
        item = is_list_item(content) and (run_start is None or ends_sentence(previous) or previous.endswith(":"))
        previous = content
        if not content or is_boilerplate(content) or item:
            if run_start is not None:
                yield from block(run_start, run_end)
            run_start = None
            if content and is_boilerplate(content):
                dropped_since, in_pitch = True, in_pitch or is_pitch(content)
            elif content:  # each list item is its own block, so a list can be told from its lead-in
                yield from block(line_start, pos)
            continue
        if run_start is None:
            run_start = line_start
        run_end = pos
    if run_start is not None:
        yield from block(run_start, run_end)


def paragraphs(text: str, *, title: str | None = None) -> list[Span]:
    """Return the article's content paragraphs, each with its headings, short sentences and list items.

    Chrome lines and pitch sentences are dropped and split the text around them.
    A heading (or a lead-in, or a line repeating ``title``) is kept only at the
    start of the text it heads; a short sentence joins the paragraph before it,
    or the one after it when it opens a run; consecutive list items are one
    paragraph, kept when they hold a sentence or ``MIN_WORDS`` words in all.
    """
    groups: list[list[_Piece]] = []  # each becomes one paragraph
    headings: list[_Piece] = []
    items: list[_Piece] = []

    def flush_items() -> None:
        if not items:
            return
        words = sum(word_count(text[p.start : p.end]) for p in items)
        sentence = any(ends_sentence(text[p.start : p.end]) for p in items)
        if items[0].after_pitch:
            headings.clear()
        elif words >= MIN_WORDS or sentence:
            add([*items], _Kind.ITEM)
        else:  # a short item or two ("5. Kristi Dosh") numbers the section after it
            if headings and not items[0].joined:
                headings.clear()
            headings.extend(items)
        items.clear()

    def add(group: list[_Piece], kind: _Kind) -> None:
        first = group[0]
        # Short lines between paragraphs are the article's own (code, a table, an address); before
        # the first paragraph, only the last two of a run head it (a headline and its dek, not the
        # breadcrumbs and menu above them).
        if headings and first.joined:
            group = [*(headings if groups else headings[-MAX_HEADINGS:]), *group]
        headings.clear()
        if kind is _Kind.SHORT and groups and _adjacent(text, groups[-1], group):
            groups[-1].extend(group)  # a short sentence continues the paragraph before it
            return
        lead_in = groups and text[groups[-1][-1].start : groups[-1][-1].end].endswith(":")
        if kind is _Kind.ITEM and lead_in and _adjacent(text, groups[-1], group):
            groups[-1].extend(group)  # a list goes with the sentence that introduces it, however long
            return
        groups.append(group)

    for piece in _pieces(text, title):
        if piece.kind is _Kind.ITEM:
            if items and not (piece.joined and "\n\n" not in text[items[-1].end : piece.start]):
                flush_items()  # a list is a run of items; a blank line or dropped text ends it
            if not items and headings and not piece.joined:
                headings.clear()
            items.append(piece)
            continue
        flush_items()
        if piece.kind is _Kind.HEADING:
            if headings and not piece.joined:
                headings.clear()
            headings.append(piece)
        elif piece.kind is _Kind.FRAGMENT:
            headings.clear()
        else:
            if headings and not piece.joined:
                headings.clear()
            add([piece], piece.kind)
    flush_items()
    # A short sentence that opened a run was kept alone; it joins the paragraph right after it.
    merged: list[list[_Piece]] = []
    for group in groups:
        if merged and _is_short(merged[-1]) and group[0].joined and _adjacent(text, merged[-1], group):
            merged[-1].extend(group)
        else:
            merged.append(group)
    return [Span(g[0].start, g[-1].end, text[g[0].start : g[-1].end]) for g in merged]


def _is_short(group: list[_Piece]) -> bool:
    return all(p.kind in (_Kind.SHORT, _Kind.HEADING) for p in group)


def _adjacent(text: str, before: list[_Piece], after: list[_Piece]) -> bool:
    return not text[before[-1].end : after[0].start].strip()


def paywalled(text: str, *, title: str | None = None) -> bool:
    """True when the text is mostly a paywall notice: one is there, and most words are not article text."""
    if not any(is_paywall(s.text) for s in sentences(text)):
        return False
    total = word_count(text)
    kept = sum(word_count(p.text) for p in paragraphs(text, title=title))
    return total > 0 and kept < (1 - PAYWALL_SHARE) * total


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
