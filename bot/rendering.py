"""Turn answers and articles into Discord embeds that always fit Discord's limits.

Quotes stay verbatim: markdown characters are escaped (so they show as written),
the answering sentence is bolded, and a long passage is trimmed at word
boundaries around that sentence with an ellipsis, never reworded.
"""

from __future__ import annotations

import discord
from discord.utils import escape_markdown

from corpus.store import Article, StoredPassage
from index.answers import Answer, Quote

TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
EMBED_TOTAL_LIMIT = 6000
CONTENT_LIMIT = 2000
COLOUR = discord.Colour(0x2B6CB0)
ELLIPSIS = "…"


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
        marked = f"**{escape_markdown(highlight)}**" if highlight.strip() else escape_markdown(highlight)
        rendered = escape_markdown(before) + marked + escape_markdown(after)
        if len(rendered) <= limit:
            return rendered
        budget -= len(rendered) - limit + 8


def _safe_url(url: str | None) -> str | None:
    if url and url.startswith(("https://", "http://")) and " " not in url and ")" not in url and len(url) <= 400:
        return url
    return None


def source_line(quote: Quote | StoredPassage | Article) -> str:
    """Outlet, date and link of an article, for under a quote."""
    parts = [escape_markdown(quote.source or "outlet unknown")]
    if quote.published:
        parts.append(escape_markdown(quote.published))
    url = _safe_url(quote.url)
    if url:
        parts.append(f"[read the article]({url})")
    return " · ".join(parts)


def quote_field(number: int, quote: Quote) -> tuple[str, str]:
    """One quote as an embed field: the article title, then the marked passage and its source."""
    name = shorten(f"{number}. {quote.title}", FIELD_NAME_LIMIT)
    footer = "\n— " + source_line(quote)
    body = marked_quote(quote.text, quote.highlight_start, quote.highlight_end, FIELD_VALUE_LIMIT - len(footer))
    return name, body + footer


def answer_embed(answer: Answer, *, article_count: int, first_number: int = 1) -> discord.Embed:
    """The answer to a question: its quotes, or one sentence saying the articles do not cover it."""
    embed = discord.Embed(title=shorten(answer.question, TITLE_LIMIT), colour=COLOUR)
    if not answer.answered or not answer.quotes:
        embed.description = escape_markdown(answer.refusal)
    for number, quote in enumerate(answer.quotes, start=first_number):
        name, value = quote_field(number, quote)
        embed.add_field(name=name, value=value, inline=False)
    noun = "article" if article_count == 1 else "articles"
    embed.set_footer(text=f"Quoted word for word from the {article_count} {noun} this server's bot knows.")
    return embed


def no_more_sources_embed(question: str) -> discord.Embed:
    """What "More sources" shows when nothing else is relevant."""
    return discord.Embed(
        title=shorten(question, TITLE_LIMIT),
        description="No other passages answer this question.",
        colour=COLOUR,
    )


def article_embed(article: Article, passages: list[StoredPassage]) -> discord.Embed:
    """One article's metadata and the start of its passages."""
    embed = discord.Embed(title=shorten(f"#{article.id} {article.title}", TITLE_LIMIT), colour=COLOUR)
    embed.description = source_line(article)
    embed.add_field(name="Passages", value=str(len(passages)))
    embed.add_field(name="Added", value=shorten(f"{article.added_at[:10]} by {article.added_by or 'the admins'}", 200))
    room = EMBED_TOTAL_LIMIT - len(embed) - 200
    for passage in passages[:5]:
        value = shorten(escape_markdown(passage.text), min(FIELD_VALUE_LIMIT, room))
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
        outlet = escape_markdown(article.source or "outlet unknown")
        title = escape_markdown(shorten(article.title, 150))
        lines.append(f"**#{article.id}** {title} — {outlet}, {article.published or 'undated'}")
    embed = discord.Embed(
        title=f"Articles ({len(articles)})",
        description="\n".join(lines) or "No articles yet.",
        colour=COLOUR,
    )
    embed.set_footer(text=f"Page {page + 1} of {pages}")
    return embed
