"""Turn answers and articles into Discord embeds that always fit Discord's limits.

Quotes stay verbatim: every character Discord would read as markdown, a link,
a mention or a timestamp is escaped (so it shows as written), the answering
sentence is bolded, and a long passage is trimmed at word boundaries around
that sentence with an ellipsis, never reworded. Titles, outlets and dates are
escaped the same way wherever they are shown.
"""

from __future__ import annotations

import discord

from corpus.readers import plural
from corpus.records import Article, StoredPassage
from index.answers import Answer, Quote
from index.gaps import Gap
from index.library import AddedArticle
from index.timeline import Timeline

TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
EMBED_TOTAL_LIMIT = 6000
CONTENT_LIMIT = 2000
#: How much of an outlet and of a date is shown (they are stored up to MAX_FIELD_CHARS).
SOURCE_LIMIT = 100
DATE_LIMIT = 40
#: A timeline page holds at most this many articles, each sentence at most this long.
TIMELINE_PER_PAGE = 6
TIMELINE_SENTENCE_LIMIT = 500
#: How much of the "Also published by" list is shown.
OUTLETS_LIMIT = 200
COLOUR = discord.Colour(0x2B6CB0)
ELLIPSIS = "…"
#: What a page footer may take ("Page 10 of 10 · 40 articles, oldest first").
FOOTER_ROOM = 80


# Markdown anywhere in a line: emphasis, code, spoilers, masked links, and <...> mentions and timestamps.
_MARKUP_ANYWHERE = frozenset("\\*_~`|[]<")
# Markdown only at the start of a line: headings, block quotes, lists, subtext.
_MARKUP_AT_LINE_START = frozenset("#>-+")


def _escape_with_offsets(text: str) -> tuple[str, list[int]]:
    """``text`` with a backslash before every markdown character, and where each of its characters starts there.

    The offsets (one more than the characters, for the end) let the caller bold a span of the
    escaped text, so the whole quote is escaped at once and a construct that spans the bold
    sentence's edge is escaped like any other.
    """
    out: list[str] = []
    starts: list[int] = []
    size = 0
    line_start = True  # only spaces so far on this line
    numbered = False  # only digits so far on this line, after any spaces ("1." starts a list)
    for c in text:
        starts.append(size)
        escape = c in _MARKUP_ANYWHERE or (line_start and c in _MARKUP_AT_LINE_START) or (numbered and c == ".")
        piece = "\\" + c if escape else c
        out.append(piece)
        size += len(piece)
        if c == "\n":
            line_start, numbered = True, False
        elif c in " \t" and line_start:
            pass
        elif c.isascii() and c.isdigit() and (line_start or numbered):
            line_start, numbered = False, True
        else:
            line_start = numbered = False
    starts.append(size)
    return "".join(out), starts


def escape_text(text: str) -> str:
    """``text`` as Discord should show it, character for character: nothing in it is read as markdown."""
    return _escape_with_offsets(text)[0]


def escaped(text: str, limit: int) -> str:
    """``text`` on one line, cut at a word boundary and escaped, within ``limit`` characters."""
    size = limit
    while True:
        shown = escape_text(shorten(text, size))
        if len(shown) <= limit:
            return shown
        size -= len(shown) - limit


def message_text(text: str) -> str:
    """A message's content within Discord's 2,000 characters (Discord refuses a longer one, and nobody sees it)."""
    return text if len(text) <= CONTENT_LIMIT else shorten(text, CONTENT_LIMIT)


def shorten(text: str, limit: int) -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters, with an ellipsis when cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip() + ELLIPSIS


def _window(text: str, start: int, end: int, budget: int) -> tuple[str, str, str]:
    """Before, highlight and after, cut at word boundaries to about ``budget`` characters."""
    if end - start >= budget:
        return "", shorten(text[start:end], budget), ELLIPSIS if end < len(text) else ""
    spare = budget - (end - start)
    right = min(len(text), end + spare // 2)
    left = max(0, start - (spare - (right - end)))
    right = min(len(text), end + (spare - (start - left)))
    while 0 < left < start and not text[left - 1].isspace():
        left += 1  # start on a whole word
    while end < right < len(text) and not text[right].isspace():
        right -= 1  # end on a whole word
    before = (ELLIPSIS if left > 0 else "") + text[left:start]
    after = text[end:right] + (ELLIPSIS if right < len(text) else "")
    return before, text[start:end], after


def marked_quote(text: str, start: int, end: int, limit: int) -> str:
    """The passage, markdown-escaped, its answering sentence bold, within ``limit`` characters."""
    budget = limit
    while True:
        before, highlight, after = _window(text, start, end, budget)
        rendered, starts = _escape_with_offsets(before + highlight + after)
        if highlight.strip():
            left, right = starts[len(before)], starts[len(before) + len(highlight)]
            rendered = f"{rendered[:left]}**{rendered[left:right]}**{rendered[right:]}"
        if len(rendered) <= limit:
            return rendered
        budget -= len(rendered) - limit + 8


def _safe_url(url: str | None) -> str | None:
    if url and url.startswith(("https://", "http://")) and " " not in url and ")" not in url and len(url) <= 400:
        return url
    return None


def source_line(quote: Quote | StoredPassage | Article) -> str:
    """Outlet, date and link of an article, for under a quote."""
    parts = [escaped(quote.source or "outlet unknown", SOURCE_LIMIT)]
    if quote.published:
        parts.append(escaped(quote.published, DATE_LIMIT))
    url = _safe_url(quote.url)
    if url:
        parts.append(f"[read the article]({url})")
    return " · ".join(parts)


def outlets_line(quote: Quote) -> str:
    """Who else published the story, and how many independent outlets carry the marked claim (escaped)."""
    lines = []
    if quote.also_published:
        lines.append("Also published by: " + escaped(", ".join(quote.also_published), OUTLETS_LIMIT))
    if quote.single_outlet:
        lines.append("Only one outlet carries this.")
    else:
        lines.append(f"Carried by {quote.independent_outlets} independent outlets.")
    return "\n".join(lines)


def added_text(added: AddedArticle) -> str:
    """What a moderator is told after an add: the new article, or the stored story a wire copy was merged into."""
    if added.merged:
        first = f" ({escaped(added.first_outlet, SOURCE_LIMIT)})" if added.first_outlet else ""
        return (
            f"Already have this story as #{added.id}{first} “{escaped(added.title, 200)}”; recorded"
            f" {escaped(added.outlet or 'outlet unknown', SOURCE_LIMIT)} as also publishing it (not stored again)."
        )
    verb = "Replaced" if added.replaced else "Added"
    return f"{verb} article #{added.id} “{escaped(added.title, 200)}” ({plural(added.passages, 'passage')})."


def quote_field(number: int, quote: Quote) -> tuple[str, str]:
    """One quote as an embed field: the article title, then the marked passage, its source and its outlets."""
    name = f"{number}. {escaped(quote.title, FIELD_NAME_LIMIT - len(str(number)) - 2)}"
    footer = "\n— " + source_line(quote) + "\n" + outlets_line(quote)
    body = marked_quote(quote.text, quote.highlight_start, quote.highlight_end, FIELD_VALUE_LIMIT - len(footer))
    return name, body + footer


def answer_embed(answer: Answer, *, article_count: int, first_number: int = 1) -> discord.Embed:
    """The answer to a question: its quotes, or one sentence saying the articles do not cover it."""
    embed = discord.Embed(title=escaped(answer.question, TITLE_LIMIT), colour=COLOUR)
    if not answer.answered or not answer.quotes:
        embed.description = escaped(answer.refusal, DESCRIPTION_LIMIT)
    elif answer.as_of_note:
        embed.description = escaped(answer.as_of_note, DESCRIPTION_LIMIT)
    for number, quote in enumerate(answer.quotes, start=first_number):
        name, value = quote_field(number, quote)
        embed.add_field(name=name, value=value, inline=False)
    embed.set_footer(text=f"Quoted word for word from the {plural(article_count, 'article')} this server's bot knows.")
    return embed


def no_more_sources_embed(question: str) -> discord.Embed:
    """What "More sources" shows when nothing else is relevant."""
    return discord.Embed(
        title=escaped(question, TITLE_LIMIT),
        description="No other passages answer this question.",
        colour=COLOUR,
    )


def article_embed(article: Article, passages: list[StoredPassage]) -> discord.Embed:
    """One article's metadata and the start of its passages."""
    number = f"#{article.id} "
    embed = discord.Embed(title=number + escaped(article.title, TITLE_LIMIT - len(number)), colour=COLOUR)
    embed.description = source_line(article)
    embed.add_field(name="Passages", value=str(len(passages)))
    embed.add_field(name="Added", value=escaped(f"{article.added_at[:10]} by {article.added_by or 'the admins'}", 200))
    room = EMBED_TOTAL_LIMIT - len(embed) - 200
    for passage in passages[:5]:
        value = escaped(passage.text, min(FIELD_VALUE_LIMIT, room))
        if room < 100:
            break
        embed.add_field(name=f"Passage {passage.position + 1}", value=value, inline=False)
        room -= len(value) + 20
    return embed


def article_list_embed(articles: list[Article], page: int, per_page: int) -> discord.Embed:
    """One page of the article list."""
    pages = max(1, -(-len(articles) // per_page))
    page = min(max(page, 0), pages - 1)
    lines = []
    for article in articles[page * per_page : (page + 1) * per_page]:
        outlet = escaped(article.source or "outlet unknown", SOURCE_LIMIT)
        title = escaped(article.title, 150)
        lines.append(f"**#{article.id}** {title} — {outlet}, {escaped(article.published or 'undated', DATE_LIMIT)}")
    embed = discord.Embed(
        title=f"Articles ({len(articles)})",
        description="\n".join(lines) or "No articles yet.",
        colour=COLOUR,
    )
    embed.set_footer(text=f"Page {page + 1} of {pages}")
    return embed


def timeline_pages(timeline: Timeline) -> list[discord.Embed]:
    """A topic's timeline as pages of embeds, oldest first, each page within Discord's limits.

    One field per article: its date and title, then its sentence nearest the topic (verbatim,
    escaped, trimmed at a word boundary) and its outlet and link.
    """
    title = escaped(f"Timeline: {timeline.topic}", TITLE_LIMIT)
    if not timeline.entries:
        return [discord.Embed(title=title, description=escaped(timeline.refusal, DESCRIPTION_LIMIT), colour=COLOUR)]
    fields = []
    for quote in timeline.entries:
        when = escaped(quote.published or "undated", DATE_LIMIT)
        name = f"{when} · {escaped(quote.title, FIELD_NAME_LIMIT - len(when) - 3)}"
        footer = "\n— " + source_line(quote)
        sentence = escaped(quote.highlight, min(TIMELINE_SENTENCE_LIMIT, FIELD_VALUE_LIMIT - len(footer)))
        fields.append((name, sentence + footer))
    pages: list[list[tuple[str, str]]] = [[]]
    room = EMBED_TOTAL_LIMIT - len(title) - FOOTER_ROOM
    used = 0
    for name, value in fields:
        size = len(name) + len(value)
        if pages[-1] and (len(pages[-1]) >= TIMELINE_PER_PAGE or used + size > room):
            pages.append([])
            used = 0
        pages[-1].append((name, value))
        used += size
    embeds = []
    for number, page in enumerate(pages, start=1):
        embed = discord.Embed(title=title, colour=COLOUR)
        for name, value in page:
            embed.add_field(name=name, value=value, inline=False)
        embed.set_footer(
            text=f"Page {number} of {len(pages)} · {plural(len(timeline.entries), 'article')}, oldest first"
        )
        embeds.append(embed)
    return embeds


def gaps_embed(gaps: list[Gap], days: int) -> discord.Embed:
    """The questions nobody answered, grouped, most asked first, within one embed's description."""
    lines: list[str] = []
    size = 0
    for gap in gaps:
        line = (
            f"**{gap.asked}×** {escaped(gap.question, 200)} ({gap.refused} refused, {gap.voted_down} 👎;"
            f" last {escaped(gap.last_asked[:10], DATE_LIMIT)})"
        )
        line += "".join(f"\n   also: {escaped(w, 150)}" for w in gap.wordings)
        if size + len(line) + 1 > DESCRIPTION_LIMIT:
            break
        lines.append(line)
        size += len(line) + 1
    return discord.Embed(
        title=f"Unanswered questions, last {plural(days, 'day')}",
        description="\n".join(lines) or "Every question was answered.",
        colour=COLOUR,
    )
