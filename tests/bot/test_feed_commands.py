"""/feed through the real bot process and the stand-in Discord, with the feed and its pages on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bot.test_bot_process import Bot, embed_text, private_text, running_bot
from tests.corpus.feed_site import STORIES, FeedSite, Item, rss, serve_site


@pytest.fixture(scope="module")
def site() -> Iterator[FeedSite]:
    """The local news site."""
    yield from serve_site()


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory, seeded_dir: Path) -> Iterator[Bot]:
    """The bot over the built-in article (ALLOW_PRIVATE_URLS=1, as the site is on 127.0.0.1)."""
    with running_bot(tmp_path_factory.mktemp("feedbot"), seeded_dir) as running:
        yield running


def wait_until(check, what: str, timeout: float = 180) -> None:
    """Wait for ``check()`` to hold (the bot works in the background)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.2)


def test_moderators_follow_a_feed_and_questions_are_answered_while_it_polls(bot: Bot, site: FeedSite) -> None:
    """/feed add polls at once in the background; a question asked mid-poll is answered; the pages become quotable."""
    stories = STORIES[:3]
    items = [Item(site.page(f"/news/{s.slug}.html", s, gated=True), s.title, s.slug, s.published) for s in stories]
    url = site.feed("/rss.xml", rss(items))
    reply = private_text(bot, bot.discord.slash(bot.a, bot.moderator(bot.a), "feed", "add", url=url))
    assert reply.startswith("Following feed #1 “The County Ledger: elections”."), reply
    wait_until(lambda: any(site.hits(f"/news/{s.slug}.html") for s in stories), "the poll fetching a page")
    _, answer = bot.ask(bot.a, "who did Ratcliffe blame?")  # while the poll waits on the held-back page
    assert "Tehran and Moscow" in embed_text(answer)
    assert not bot.db("SELECT id FROM articles WHERE added_by = 'feed #1'")  # the poll had not finished
    site.gate.set()
    wait_until(lambda: len(bot.db("SELECT id FROM articles WHERE added_by = 'feed #1'")) == 3, "three articles")
    _, in_a = bot.ask(bot.a, "how many paper ballots did ashford county count by hand")
    assert "4,212 paper ballots" in embed_text(in_a) and "The County Ledger" in embed_text(in_a)
    _, in_b = bot.ask(bot.b, "how many paper ballots did ashford county count by hand")
    assert "4,212" not in embed_text(in_b)  # the feed's articles are server A's
    listed = private_text(bot, bot.discord.slash(bot.a, bot.moderator(bot.a), "feed", "list"))
    assert "The County Ledger: elections" in listed and "3 articles" in listed
    assert "no feeds" in private_text(bot, bot.discord.slash(bot.b, bot.moderator(bot.b), "feed", "list"))
    polls = bot.db("SELECT actor, outcome, detail FROM audit WHERE action = 'feed poll'")
    assert polls[0][:2] == ("bot", "ok") and polls[0][2].startswith("3 added")


def test_members_cannot_follow_or_remove_and_removal_keeps_the_articles(bot: Bot, site: FeedSite) -> None:
    """A member's /feed add and remove are refused privately; a moderator's remove stops the feed, not its articles."""
    site.gate.set()
    url = site.feed("/atom-less.xml", rss([Item(site.page("/news/fair.html", STORIES[5]), STORIES[5].title, "fair")]))
    member = bot.member(bot.a)
    assert "Only moderators" in private_text(bot, bot.discord.slash(bot.a, member, "feed", "add", url=url))
    assert "Only moderators" in private_text(bot, bot.discord.slash(bot.a, member, "feed", "remove", feed=1))
    assert "only works inside a server" in private_text(bot, bot.discord.slash(None, member, "feed", "list"))
    refused = bot.db("SELECT outcome FROM audit WHERE action = 'feed add' ORDER BY id DESC LIMIT 1")
    assert refused == [("refused",)]
    other = private_text(bot, bot.discord.slash(bot.b, bot.moderator(bot.b), "feed", "remove", feed=1))
    assert "There is no feed #1" in other
    articles = len(bot.db("SELECT id FROM articles"))
    removed = private_text(bot, bot.discord.slash(bot.a, bot.moderator(bot.a), "feed", "remove", feed=1))
    assert removed.startswith("Stopped following feed #1") and "articles it added stay" in removed
    assert bot.db("SELECT COUNT(*) FROM feeds") == [(0,)] and len(bot.db("SELECT id FROM articles")) == articles
