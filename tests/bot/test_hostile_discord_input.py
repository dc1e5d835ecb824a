"""Hostile input through the real bot process and the stand-in Discord: refused privately in one sentence, never shown raw."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bot.standin import Call, Sent
from tests.bot.test_bot_process import Bot, embed_text, private_text, running_bot

TOO_BIG = 2**63  # one past SQLite's largest integer


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory, seeded_dir: Path) -> Iterator[Bot]:
    """The bot over the built-in article, with a 30 s question cooldown."""
    with running_bot(tmp_path_factory.mktemp("hostile"), seeded_dir) as running:
        yield running


def replies_to(bot: Bot, sent: Sent) -> list[Call]:
    """The channel messages the bot sent in reply to a message."""
    with bot.discord._lock:
        calls = list(bot.discord.calls)
    return [
        c
        for c in calls
        if c.path == f"/channels/{sent.channel_id}/messages"
        and int((c.body.get("message_reference") or {}).get("message_id", 0)) == sent.id
    ]


def buttons(answer: Call) -> list[str]:
    """The custom ids of an answer's buttons: More sources, 👍, 👎."""
    return [c["custom_id"] for row in answer.body["components"] for c in row["components"]]


def with_button(message: Call, custom_id: str) -> Call:
    """A copy of a message the bot sent whose first button carries ``custom_id`` (Discord only sends ids a message has)."""
    forged = copy.deepcopy(message.response)
    forged["components"][0]["components"][0]["custom_id"] = custom_id
    return Call(message.method, message.path, message.body, message.at, message.query, forged)


def test_vote_naming_another_servers_answer_is_refused(bot: Bot) -> None:
    """A 👍 whose custom id names server A's answer, pressed in server B, is refused and not recorded."""
    _, answer = bot.ask(bot.a, "who did Ratcliffe blame?")
    more, up, *_ = buttons(answer)
    answer_id = int(up.split(":")[1])
    outsider = bot.member(bot.b)
    assert "no longer known" in private_text(bot, bot.discord.press(bot.b, outsider, answer, up))
    assert "no longer known" in private_text(bot, bot.discord.press(bot.b, outsider, answer, more))
    assert bot.db(f"SELECT COUNT(*) FROM votes WHERE answer_id = {answer_id}") == [(0,)]
    insider = bot.member(bot.a)
    assert "recorded" in private_text(bot, bot.discord.press(bot.a, insider, answer, up))
    assert bot.db(f"SELECT user_id FROM votes WHERE answer_id = {answer_id}") == [(str(insider.id),)]


def test_ids_past_sqlites_integers_are_unknown_not_errors(bot: Bot) -> None:
    """Buttons, /article show and /article remove naming an id of 2^63 or more say it is unknown, privately."""
    _, answer = bot.ask(bot.a, "who did Ratcliffe blame?")
    for custom_id in (
        f"answer:{TOO_BIG}:up",
        f"answer:{TOO_BIG}:more",
        f"answer:{10**40}:down",
        f"answer:{TOO_BIG}:thread",
    ):
        reply = private_text(
            bot, bot.discord.press(bot.a, bot.member(bot.a), with_button(answer, custom_id), custom_id)
        )
        assert "that answer is no longer known" in reply, (custom_id, reply)
    for sub in ("show", "remove"):
        reply = private_text(bot, bot.discord.slash(bot.a, bot.moderator(bot.a), "article", sub, article=TOO_BIG))
        assert f"There is no article #{TOO_BIG}." in reply, (sub, reply)


def test_mentions_share_the_ask_cooldown_and_are_never_answered_in_public_when_refused(bot: Bot) -> None:
    """A throttled or empty mention gets no public reply, a mention counts against /ask, and no mention logs an error."""
    member = bot.member(bot.a)
    first = bot.discord.mention(bot.a, member, "who did Ratcliffe blame?")
    bot.discord.wait_for(lambda calls: replies_to(bot, first))
    throttled = bot.discord.mention(bot.a, member, "who did Ratcliffe blame?")
    empty = bot.discord.mention(bot.a, bot.member(bot.a), "   ")
    asked = bot.discord.slash(bot.a, member, "ask", question="who did Ratcliffe blame?")
    assert "try again in" in private_text(bot, asked)
    time.sleep(2)  # time enough for the replies that must not come
    assert replies_to(bot, throttled) == [] and replies_to(bot, empty) == []
    log = bot.log.read_text()
    assert "CommandNotFound" not in log and " ERROR " not in log


def test_titles_in_replies_are_escaped_and_refusals_fit_a_message(bot: Bot) -> None:
    """The "Added" reply shows a title's masked link as text; a 3,000-character date is refused in under 2,000 characters."""
    moderator = bot.moderator(bot.a)
    text = (
        "Poll workers in Dane County posted <t:0:R> on the board, and [the official count](https://evil.example/phish)"
        " was certified on Friday after a hand recount of every ballot."
    )
    title = "[Official results](https://evil.example/phish) *now*"
    reply = private_text(bot, bot.discord.slash(bot.a, moderator, "article", "add", text=text, title=title))
    assert (
        reply.startswith("Added article #")
        and "“\\[Official results\\](https://evil.example/phish) \\*now\\*”" in reply
    )
    _, answer = bot.ask(bot.a, "when was the dane county count certified")
    shown = embed_text(answer)
    assert "\\<t:0:R>" in shown and "\\[the official count\\](https://evil.example/phish)" in shown
    assert "\\[Official results\\]" in shown
    refused = private_text(
        bot, bot.discord.slash(bot.a, moderator, "article", "add", text=text + " Again.", date="2017-" + "9" * 3000)
    )
    assert "YYYY-MM-DD" in refused and len(refused) <= 2000


def test_malformed_host_is_refused_in_one_sentence(bot: Bot) -> None:
    """`/article add url:http://a..b/` is refused privately with a sentence, not "Something went wrong"."""
    for url in ("http://a..b/", "http://.example/", f"http://{'x' * 64}.example/"):
        reply = private_text(bot, bot.discord.slash(bot.a, bot.moderator(bot.a), "article", "add", url=url))
        assert reply.startswith("That is not a valid web address"), reply
