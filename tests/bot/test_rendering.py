"""Rendering: any passage becomes an embed inside Discord's limits, verbatim and with the answer in bold."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.rendering import (
    FIELD_VALUE_LIMIT,
    added_text,
    answer_embed,
    article_embed,
    article_list_embed,
    escape_text,
    marked_quote,
    quote_field,
    timeline_pages,
)
from corpus.records import Article
from index.answers import Answer, Quote
from index.timeline import TIMELINE_LIMIT, Timeline

text_strategy = st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=6000)


def embed_size_ok(embed) -> bool:
    """Every Discord embed limit at once."""
    data = embed.to_dict()
    fields = data.get("fields", [])
    return (
        len(data.get("title", "")) <= 256
        and len(data.get("description", "")) <= 4096
        and len(fields) <= 25
        and all(len(f["name"]) <= 256 and 0 < len(f["value"]) <= 1024 for f in fields)
        and len(data.get("footer", {}).get("text", "")) <= 2048
        and len(embed) <= 6000
    )


@st.composite
def quotes(draw: st.DrawFn) -> Quote:
    """A quote with arbitrary text, a highlight somewhere inside it and arbitrary metadata."""
    text = draw(text_strategy)
    start = draw(st.integers(0, len(text) - 1))
    end = draw(st.integers(start + 1, len(text)))
    return Quote(
        text=text,
        highlight_start=start,
        highlight_end=end,
        article_id=draw(st.integers(1, 10**9)),
        passage_id=1,
        title=draw(st.text(min_size=1, max_size=400)),
        source=draw(st.none() | st.text(max_size=300)),
        url=draw(st.none() | st.just("https://example.com/" + "a" * 300)),
        published=draw(st.none() | st.text(max_size=50)),
        score=0.5,
        also_published=tuple(draw(st.lists(st.text(min_size=1, max_size=300), max_size=30))),
        independent_outlets=draw(st.integers(1, 10**6)),
    )


@given(question=st.text(min_size=1, max_size=500), found=st.lists(quotes(), min_size=1, max_size=5))
def test_any_answer_fits_discords_limits(question: str, found: list[Quote]) -> None:
    """Whatever the passages, titles and outlets, the answer embed stays within every limit."""
    embed = answer_embed(Answer(question, True, found), article_count=12)
    assert embed_size_ok(embed)


@given(topic=st.text(min_size=1, max_size=500), found=st.lists(quotes(), max_size=TIMELINE_LIMIT))
def test_any_timeline_pages_fit_discords_limits_and_show_every_article(topic: str, found: list[Quote]) -> None:
    """Whatever the articles, every page stays within every limit and each article is on exactly one page."""
    pages = timeline_pages(Timeline(topic, found))
    assert all(embed_size_ok(page) for page in pages)
    assert sum(len(page.fields) for page in pages) == len(found)
    if found:
        numbers = [f"Page {n} of {len(pages)}" for n in range(1, len(pages) + 1)]
        assert [str(page.footer.text).split(" ·")[0] for page in pages] == numbers
    else:
        assert len(pages) == 1 and pages[0].description


def test_short_passage_shown_whole_with_answer_bold() -> None:
    """A passage that fits is shown in full, the answering sentence wrapped in bold, markdown escaped."""
    text = "First sentence here. The *answer* is Tehran and Moscow. Last one."
    start, end = text.index("The"), text.index("Moscow.") + 7
    assert marked_quote(text, start, end, 1000) == (
        "First sentence here. **The \\*answer\\* is Tehran and Moscow.** Last one."
    )


def test_long_passage_trimmed_at_words_around_the_answer() -> None:
    """A long passage is cut at word boundaries around the bold sentence, with ellipses, words intact."""
    words = " ".join(f"word{i}" for i in range(400))
    text = f"{words} The answer sentence sits in the middle. {words}"
    start = text.index("The answer")
    end = start + len("The answer sentence sits in the middle.")
    shown = marked_quote(text, start, end, 300)
    assert len(shown) <= 300 and shown.startswith("…") and shown.endswith("…")
    assert "**The answer sentence sits in the middle.**" in shown
    for piece in shown.strip("…").replace("**The answer sentence sits in the middle.**", " ").split():
        assert piece in words.split()  # no word was cut in half


def test_everyone_mention_is_kept_verbatim() -> None:
    """Quoted "@everyone" is shown as written (the bot's allowed_mentions keep it from pinging)."""
    text = "Someone wrote @everyone on the forum before the vote."
    assert "@everyone" in marked_quote(text, 0, len(text), FIELD_VALUE_LIMIT)


# What Discord reads as markdown, links and timestamps when not escaped with a backslash.
MARKUP = set("*_~`|[]<")


def live_markup(rendered: str) -> str:
    """The markup characters of ``rendered`` that Discord would act on (those no backslash escapes)."""
    live, escaped = [], False
    for c in rendered:
        if escaped:
            escaped = False
        elif c == "\\":
            escaped = True
        elif c in MARKUP:
            live.append(c)
    return "".join(live)


def unescaped(rendered: str) -> str:
    """What Discord shows for ``rendered``: escapes removed, bold markers dropped."""
    shown, escaped = [], False
    for c in rendered:
        if escaped:
            shown.append(c)
            escaped = False
        elif c == "\\":
            escaped = True
        elif c != "*":
            shown.append(c)
    return "".join(shown)


def test_two_masked_links_in_a_passage_stay_text() -> None:
    """Neither of two masked links in a passage becomes a link: every bracket is escaped and the text reads as written."""
    text = "See [a](https://good.example) and [https://good.example/verify](https://evil.example/phish) before voting."
    shown = marked_quote(text, 0, len(text), FIELD_VALUE_LIMIT)
    assert live_markup(shown) == "****" and unescaped(shown) == text


def test_masked_link_across_the_sentence_boundary_does_not_link_the_bold_sentence() -> None:
    """A link label that starts before the answering sentence and ends inside it leaves the bold sentence plain text."""
    text = "Officials said [the count was fine. The machines were audited twice](https://evil.example) in March."
    start = text.index("The machines")
    shown = marked_quote(text, start, len(text), FIELD_VALUE_LIMIT)
    assert live_markup(shown) == "****" and unescaped(shown) == text
    assert shown.index("**") < shown.index("\\]")  # the bold starts before the (escaped) end of the label


def test_timestamps_mentions_and_line_markup_show_as_written() -> None:
    """`<t:0:R>`, a mention, a heading, a quote line, a list line and a subtext line are shown as text."""
    text = "Posted <t:0:R> by <@123>:\n# Breaking\n> quoted\n- listed\n-# small\n1. first\nEnd."
    shown = marked_quote(text, 0, len(text), FIELD_VALUE_LIMIT)
    assert live_markup(shown) == "****" and unescaped(shown) == text
    for line in shown.strip("*").splitlines()[1:-1]:
        assert line.startswith("\\") or line[1:3] == "\\.", line  # each line's markup is escaped


def test_titles_and_outlets_are_escaped_everywhere_they_are_shown() -> None:
    """A title or outlet holding a masked link is plain text in the quote's field name, the article and the list."""
    title = "[Official results](https://evil.example/phish) *now*"
    quote = Quote("Turnout was high.", 0, 17, 1, 1, title, "[Outlet](https://evil.example)", None, None, 0.5)
    name, value = quote_field(1, quote)
    article = Article(7, title, "[Outlet](https://evil.example)", None, "<t:0:R>", None, "2024-01-01", 1, "h", 1)
    shown = [
        name,
        value,
        article_embed(article, []).title or "",
        article_list_embed([article], 0, 10).description or "",
    ]
    for text in shown:
        assert not set(live_markup(text).replace("**", "")) & MARKUP, text
    assert unescaped(name) == f"1. {title}"


# Pieces of hostile passages: masked links whole and in parts, sentence ends, line markup, mentions, timestamps.
PIECES = [
    "[", "]", "(", ")", "[label](https://good.example)", "](https://evil.example/phish)", "https://good.example/verify",
    "[https://good.example/verify](https://evil.example/phish)", ". ", "! ", "? ", "\n", "\n# ", "\n> ", "\n- ",
    "\n-# ", "\n1. ", "**", "*", "_", "__", "~~", "||", "`", "```", "\\", "<t:0:R>", "<@123>", "<#456>", "<@&7>",
    "@everyone", "word ", "The answer is ", "Tehran and Moscow", "  ",
]  # fmt: skip


@st.composite
def hostile_passages(draw: st.DrawFn) -> tuple[str, int, int]:
    """A passage built from hostile pieces, and a highlight whose edges fall anywhere in it (mid-link included)."""
    text = "".join(draw(st.lists(st.sampled_from(PIECES) | st.text(min_size=1, max_size=5), min_size=1, max_size=80)))
    start = draw(st.integers(0, len(text) - 1))
    return text, start, draw(st.integers(start + 1, len(text)))


def normalised(text: str) -> str:
    """Text with runs of whitespace as one space and no ellipsis at either end, to compare trimmed quotes."""
    return " ".join(text.split()).strip("…").strip()


@given(passage=hostile_passages(), limit=st.integers(40, FIELD_VALUE_LIMIT))
def test_no_link_or_markup_goes_live_wherever_the_bold_sentence_ends(passage: tuple[str, int, int], limit: int) -> None:
    """Links across the bold sentence's edges, mentions, timestamps, line markup: only the bold markers are live, and the words read as written."""
    text, start, end = passage
    shown = marked_quote(text, start, end, limit)
    assert len(shown) <= limit
    assert live_markup(shown) in {"", "****"}, shown
    assert normalised(unescaped(shown)) in normalised(text)
    if len(escape_text(text)) + 4 <= limit:  # room for all of it: shown whole, the answer in bold
        assert unescaped(shown) == text and live_markup(shown) == ("****" if text[start:end].strip() else "")


huge = st.one_of(st.text(max_size=50), st.integers(0, 6_000).map(lambda n: "[x](https://e.example) *" * (n // 24)))


@given(
    title=huge.filter(lambda t: t.strip()),
    source=st.none() | huge,
    published=st.none() | huge,
    question=huge.filter(lambda t: t.strip()),
)
def test_huge_titles_outlets_dates_and_questions_fit_and_stay_text(title, source, published, question) -> None:
    """Titles, outlets, dates and questions of any size, full of links: the embeds fit Discord's limits, nothing goes live."""
    quote = Quote("Turnout was high.", 0, 17, 1, 1, title, source, "https://example.com/a", published, 0.5)
    answer = answer_embed(Answer(question, True, [quote] * 5), article_count=3)
    article = Article(7, title, source, None, published, None, "2024-01-01", 1, "h", 1)
    shown = article_embed(article, []), article_list_embed([article] * 10, 0, 10)
    for embed in (answer, *shown):
        assert embed_size_ok(embed)
        data = embed.to_dict()
        texts = [data.get("title", ""), data.get("description", "")] + [
            f["name"] + f["value"] for f in data.get("fields", [])
        ]
        for text in texts:
            assert set(live_markup(text.replace("[read the article](https://example.com/a)", ""))) <= {"*"}, text


def test_outlets_under_a_quote_are_escaped_and_counted() -> None:
    """ "Also published by" shows each outlet verbatim but inert (no link, no markdown); the count follows."""
    quote = Quote(
        text="Officials said the machines passed.",
        highlight_start=0,
        highlight_end=35,
        article_id=2,
        passage_id=3,
        title="Audit",
        source="Reuters",
        url=None,
        published=None,
        score=1.0,
        also_published=("[The Sentinel](https://evil.example)", "**AP**"),
        independent_outlets=3,
    )
    _, value = quote_field(1, quote)
    assert "Also published by: \\[The Sentinel\\](https://evil.example), \\*\\*AP\\*\\*" in value
    assert value.endswith("Carried by 3 independent outlets.")
    single = quote_field(1, Quote(**{**{f: getattr(quote, f) for f in quote.__slots__}, "independent_outlets": 1}))[1]
    assert single.endswith("Only one outlet carries this.")


def test_a_merged_add_says_which_story_it_joined() -> None:
    """A moderator adding a wire copy is told the story's number and outlet and the outlet recorded, escaped."""
    from index.library import AddedArticle

    merged = AddedArticle(12, "Senators *act*", 3, merged=True, outlet="<@&123> News", first_outlet="Reuters")
    assert added_text(merged) == (
        "Already have this story as #12 (Reuters) “Senators \\*act\\*”; recorded \\<@&123> News as also"
        " publishing it (not stored again)."
    )


def test_an_answer_as_of_an_old_date_says_so_above_its_quotes() -> None:
    """A "latest" answer from old articles opens with "As of DATE"; a current one has no such line."""
    quote = Quote("The board certified the tally.", 0, 30, 1, 1, "Dunmore recount", None, None, "2017-12-06", 1.2)
    old = Answer("whats the latest on the dunmore recount", True, [quote], as_of="2017-12-06", present="2020-10-01")
    assert answer_embed(old, article_count=4).description == (
        "As of 2017-12-06, the date of the first quote; the articles I know run to 2020-10-01."
    )
    assert answer_embed(Answer("whats the latest", True, [quote]), article_count=4).description is None
