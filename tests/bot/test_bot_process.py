"""The unmodified `run_bot.py` as a real process against the stand-in Discord on 127.0.0.1.

The ask, add, remove, vote and permission flows also run against a bot whose articles are in a
real PostgreSQL + pgvector (``DATABASE_URL``; the ``any_bot`` fixture gives each test both bots).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.bot.standin import Call, Guild, Sent, StandInDiscord, snowflake
from tests.conftest import REPO

TOKEN = "standin.token.Zm9vYmFyLXNlY3JldC10b2tlbg"  # noqa: S105 - a fake token the logs must never show
ARTICLE = (
    "County clerks in Ohio will test every voting machine twice before the midterm elections, officials said.\n\n"
    "Secretary of State Frank LaRose said the Ohio audits would start in March and cost $4 million in state funds."
)


class Bot:
    """The running bot process and the stand-in it talks to."""

    def __init__(
        self,
        discord: StandInDiscord,
        proc: subprocess.Popen[bytes],
        log: Path,
        data_dir: Path,
        database_url: str | None = None,
    ) -> None:
        """Hold the pieces (``database_url``: the PostgreSQL database the bot keeps its articles in)."""
        self.discord, self.proc, self.log, self.data_dir = discord, proc, log, data_dir
        self.database_url = database_url
        self.a = next(g for g in discord.guilds.values() if g.name == "A")
        self.b = next(g for g in discord.guilds.values() if g.name == "B")

    def channel(self, name: str) -> int:
        """The id of one of server A's extra channels ("ask-here", "quiet")."""
        return next(channel_id for channel_id, called in self.a.channels.items() if called == name)

    def member(self, guild: Guild, *roles: Any) -> Any:
        """A fresh member (fresh, so the /ask cooldown of another test never applies)."""
        return self.discord.add_member(guild, f"user{time.monotonic_ns()}", *roles)

    def admin(self, guild: Guild) -> Any:
        """A member with Administrator through the admin role."""
        return self.member(guild, guild.admin_role)

    def moderator(self, guild: Guild) -> Any:
        """A member with Manage Messages through the moderator role."""
        return self.member(guild, guild.moderator_role)

    def ask(self, guild: Guild | None, question: str) -> tuple[Sent, Call]:
        """/ask from a fresh member; return the interaction and the bot's answer."""
        sent = self.discord.slash(guild, self.member(guild) if guild else self.member(self.a), "ask", question=question)
        return sent, self.discord.reply_to(sent)

    def db(self, sql: str) -> list[tuple]:
        """Read the bot's database directly (the SQLite file, or PostgreSQL)."""
        if self.database_url is not None:
            import psycopg

            with psycopg.connect(self.database_url, autocommit=True) as pg:
                return pg.execute(sql).fetchall()  # type: ignore[arg-type]  # the tests' own SQL
        with closing(sqlite3.connect(self.data_dir / "articles.sqlite3")) as db:
            return db.execute(sql).fetchall()


@contextmanager
def running_bot(base: Path, source_data: Path, **settings: str) -> Iterator[Bot]:
    """The stand-in with servers A and B, and the bot process over a copy of ``source_data``."""
    data_dir = base / "data"
    shutil.copytree(source_data, data_dir)
    discord = StandInDiscord()
    guild_a, guild_b = discord.add_guild("A"), discord.add_guild("B")
    discord.add_channel(guild_a, "ask-here")
    discord.add_channel(guild_a, "quiet")
    discord.start()
    log = base / "bot.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD", "MODERATOR", "ADMIN", "DATABASE_URL"))}
    env |= {
        "DISCORD_TOKEN": TOKEN,
        "DISCORD_API_BASE": discord.api_base,
        "DISCORD_GATEWAY_URL": discord.gateway_url,
        "BOT_DATA_DIR": str(data_dir),
        "MESSAGE_CONTENT_INTENT": "1",
        "ASK_COOLDOWN_SECONDS": "30",
        "MODERATOR_ROLE_IDS": f"{guild_a.curator_role.id},{guild_b.curator_role.id}",
        "LOG_LEVEL": "INFO",
        "ALLOW_PRIVATE_URLS": "1",  # the news site the tests serve is on 127.0.0.1
        "PYTHONUNBUFFERED": "1",
    } | settings
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "run_bot.py"], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while not (discord.identified.is_set() and discord.synced.is_set()):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the bot never connected:\n{log.read_text()}")
            time.sleep(0.1)
        yield Bot(discord, proc, log, data_dir, settings.get("DATABASE_URL"))
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        discord.stop()


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory, reuters_dir: Path) -> Iterator[Bot]:
    """The bot used by this module's tests (a 30 s /ask cooldown)."""
    with running_bot(tmp_path_factory.mktemp("bot"), reuters_dir) as running:
        yield running


@pytest.fixture(scope="module")
def pg_bot(tmp_path_factory: pytest.TempPathFactory, reuters_dir: Path, pg_server) -> Iterator[Bot]:
    """The same bot over a PostgreSQL database migrated from the same articles (DATABASE_URL set)."""
    import psycopg

    from corpus.postgres.migrate import migrate
    from index.factory import DATABASE

    name = f"bot_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(pg_server.get_uri(), autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]  # a made-up name
    url = str(pg_server.get_uri(name))
    migrate(reuters_dir / DATABASE, url)
    base = tmp_path_factory.mktemp("pgbot")
    (base / "empty").mkdir()  # nothing of the articles is in the data directory
    with running_bot(base, base / "empty", DATABASE_URL=url) as running:
        yield running


@pytest.fixture(params=["sqlite", "postgres"])
def any_bot(request: pytest.FixtureRequest) -> Bot:
    """Each bot in turn: the one over the SQLite file, then the one over PostgreSQL."""
    return request.getfixturevalue("bot" if request.param == "sqlite" else "pg_bot")


def embed_text(call: Call) -> str:
    """Every piece of text in a message's embeds."""
    parts = []
    for embed in call.body.get("embeds") or []:
        parts += [embed.get("title", ""), embed.get("description", ""), (embed.get("footer") or {}).get("text", "")]
        parts += [f"{f['name']}\n{f['value']}" for f in embed.get("fields", [])]
    return "\n".join(parts)


def callback(bot: Bot, sent: Sent) -> Call:
    """The interaction callback (the bot's first response)."""
    return bot.discord.wait_for(lambda calls: next((c for c in calls if f"/interactions/{sent.id}/" in c.path), None))


def private_text(bot: Bot, sent: Sent) -> str:
    """The ephemeral text the bot answered with (a type-4 callback or a followup), checking it is ephemeral."""
    call = bot.discord.reply_to(sent)
    data = call.body.get("data", call.body) if "/interactions/" in call.path else call.body
    first = callback(bot, sent)
    assert (first.body.get("data") or {}).get("flags", 0) & 64, "not ephemeral"
    return str(data.get("content", "")) + embed_text(call if "/webhooks" in call.path else Call("", "", data, 0, {}))


def within_limits(call: Call) -> None:
    """Discord's message limits: content 2,000; embed title 256, description 4,096, fields 1,024, total 6,000."""
    assert len(call.body.get("content") or "") <= 2000
    for embed in call.body.get("embeds") or []:
        total = (
            len(embed.get("title", ""))
            + len(embed.get("description", ""))
            + len((embed.get("footer") or {}).get("text", ""))
        )
        assert len(embed.get("title", "")) <= 256 and len(embed.get("description", "")) <= 4096
        for f in embed.get("fields", []):
            assert len(f["name"]) <= 256 and len(f["value"]) <= 1024
            total += len(f["name"]) + len(f["value"])
        assert total <= 6000


def test_ask_answers_seed_question(any_bot: Bot) -> None:
    """/ask defers at once, then follows up with the "Tehran and Moscow" quote, buttons and no pings."""
    bot = any_bot
    sent, answer = bot.ask(bot.a, "who did Ratcliffe blame?")
    first = callback(bot, sent)
    assert first.body["type"] == 5 and first.at - sent.at < 3
    assert "Tehran and Moscow" in embed_text(answer)
    assert answer.body["allowed_mentions"] == {"parse": []}
    embed = answer.body["embeds"][0]
    assert embed["title"] == "who did Ratcliffe blame?"
    assert "Washington accuses Tehran, Moscow" in embed_text(answer) and "articles" in embed["footer"]["text"]
    buttons = [c for row in answer.body["components"] for c in row["components"]]
    assert [b.get("label") or b["emoji"]["name"] for b in buttons] == ["More sources", "👍", "👎", "Thread"]
    within_limits(answer)


def test_off_topic_question_says_so(bot: Bot) -> None:
    """A question the articles do not cover gets one sentence saying so, naming the word no article holds, no quotes."""
    _, answer = bot.ask(bot.a, "how do I bake sourdough bread")
    assert answer.body["embeds"][0]["description"] == "No article I know mentions “bake” or “sourdough”."
    assert not answer.body["embeds"][0].get("fields")


def test_more_sources_and_votes_are_recorded(any_bot: Bot) -> None:
    """ "More sources" privately shows further passages; 👍 is stored with who voted and the passages shown."""
    bot = any_bot
    _, answer = bot.ask(bot.a, "what did the appeals court decide about the voter fraud commission")
    custom_ids = [c["custom_id"] for row in answer.body["components"] for c in row["components"]]
    voter = bot.member(bot.a)
    more = bot.discord.press(bot.a, voter, answer, custom_ids[0])
    shown = private_text(bot, more)
    assert "4. " in shown and shown not in embed_text(answer)
    vote = bot.discord.press(bot.a, voter, answer, custom_ids[1])
    assert "recorded" in private_text(bot, vote)
    answer_id = int(custom_ids[1].split(":")[1])
    assert bot.db(f"SELECT user_id, vote FROM votes WHERE answer_id = {answer_id}") == [(str(voter.id), 1)]
    question, passages = bot.db(f"SELECT question, passage_ids FROM answers WHERE id = {answer_id}")[0]
    assert question.startswith("what did the appeals court") and len(passages) > 2


def test_moderator_adds_article_then_ask_quotes_it_only_in_that_server(any_bot: Bot) -> None:
    """A moderator's article is quoted in server A, and is invisible and unremovable in server B."""
    bot = any_bot
    one_line = ARTICLE.replace("\n\n", " ")  # a slash-command string option has no line breaks
    sent = bot.discord.slash(
        bot.a, bot.moderator(bot.a), "article", "add", text=one_line, title="Ohio audits", source="Dispatch"
    )
    reply = private_text(bot, sent)
    assert reply.startswith("Added article #") and "Ohio audits" in reply and "(1 passage)" in reply
    article_id = int(reply.split("#")[1].split(" ")[0])
    _, in_a = bot.ask(bot.a, "how much will the ohio audits cost")
    assert "$4 million" in embed_text(in_a) and "Dispatch" in embed_text(in_a)
    _, in_b = bot.ask(bot.b, "how much will the ohio audits cost")
    assert "$4 million" not in embed_text(in_b)
    listed = private_text(bot, bot.discord.slash(bot.b, bot.moderator(bot.b), "article", "list"))
    assert "Ohio audits" not in listed and "Washington accuses" in listed
    refused = private_text(bot, bot.discord.slash(bot.b, bot.moderator(bot.b), "article", "remove", article=article_id))
    assert f"no article #{article_id}" in refused
    assert bot.db(f"SELECT title FROM articles WHERE id = {article_id}") == [("Ohio audits",)]


def test_moderator_adds_by_url_and_html_file(bot: Bot) -> None:
    """`url:` fetches the page and keeps its article text and metadata; a tracking-parameter copy is a duplicate."""
    from tests.corpus.test_fetching import ARTICLE_HTML

    url = bot.discord.add_page("georgia.html", ARTICLE_HTML)
    reply = private_text(bot, bot.discord.slash(bot.a, bot.moderator(bot.a), "article", "add", url=url))
    assert reply.startswith("Added article #") and "Georgia to replace touchscreen voting machines" in reply
    _, answer = bot.ask(bot.a, "what do critics say about georgia's new voting machines")
    text = embed_text(answer)
    assert "barcode that voters cannot read" in text and "The Atlanta Ledger" in text and "2019-03-28" in text
    assert "cookies" not in text and "Falcons" not in text
    again = private_text(
        bot, bot.discord.slash(bot.a, bot.moderator(bot.a), "article", "add", url=url + "?utm_source=x")
    )
    assert again.startswith("Already in the articles as #")
    html = ARTICLE_HTML.replace("Georgia", "Alabama").replace("Raffensperger", "Merrill")
    attachment = bot.discord.add_attachment("alabama.html", html.encode("cp1252"), "text/html")
    reply = private_text(bot, bot.discord.slash(bot.a, bot.moderator(bot.a), "article", "add", file=attachment))
    assert "Alabama to replace touchscreen voting machines" in reply


def test_a_moderators_news_reaction_adds_the_linked_article(bot: Bot) -> None:
    """📰 from a moderator on a message with a link adds the page for the server and says so; a member's does nothing."""
    from tests.corpus.feed_site import STORIES, article_html

    url = bot.discord.add_page("ashford.html", article_html(STORIES[0]))  # no near copy of another test's page
    shared = bot.discord.message(bot.a, bot.member(bot.a), f"worth a read <{url}>")
    started = time.monotonic()
    bot.discord.react(bot.a, bot.member(bot.a), shared, "📰")  # a member's reaction: ignored
    bot.discord.react(bot.a, bot.moderator(bot.a), shared, "👍")  # another emoji: ignored
    bot.discord.react(bot.a, bot.moderator(bot.a), shared, "📰")
    reply = bot.discord.posted_in(bot.a.channel_id, after=started)
    assert reply.body["content"].startswith("Added article #") and STORIES[0].title in reply.body["content"]
    assert int(reply.body["message_reference"]["message_id"]) == shared.id
    assert reply.body["allowed_mentions"]["parse"] == [] and not reply.body["allowed_mentions"]["replied_user"]
    assert len([c for c in bot.discord.calls if c.path.endswith("/messages") and c.at >= started]) == 1
    _, answer = bot.ask(bot.a, "how many ballots did ashford count by hand")
    assert "4,212 paper ballots" in embed_text(answer)
    _, elsewhere = bot.ask(bot.b, "how many ballots did ashford count by hand")
    assert "4,212 paper ballots" not in embed_text(elsewhere)
    later = time.monotonic()
    bot.discord.react(bot.a, bot.moderator(bot.a), shared, "📰")
    again = bot.discord.posted_in(bot.a.channel_id, after=later)
    assert again.body["content"].startswith("Not added: already in the articles as #")
    chatter = bot.discord.message(bot.a, bot.member(bot.a), "no link in this one")
    latest = time.monotonic()
    bot.discord.react(bot.a, bot.moderator(bot.a), chatter, "📰")
    none = bot.discord.posted_in(bot.a.channel_id, after=latest)
    assert none.body["content"] == "Not added: that message holds no web address to add."
    actions = [row[0] for row in bot.db("SELECT outcome FROM audit WHERE action = 'article add (📰)' ORDER BY id")]
    assert actions[-3:] == ["ok", "bad-input", "bad-input"]


def test_oversized_or_binary_attachments_refused(bot: Bot) -> None:
    """An attachment over MAX_FILE_BYTES is refused from its declared size, never downloaded; binary is refused."""
    big = bot.discord.add_attachment("huge.txt", b"a" * 2_100_000, "text/plain")
    refused = private_text(bot, bot.discord.slash(bot.a, bot.moderator(bot.a), "article", "add", file=big))
    assert "huge.txt is 2.1 MB; the limit is 2.0 MB" in refused and "huge.txt" not in bot.discord.downloads
    blob = bot.discord.add_attachment("blob.txt", b"\x00\x01\x02\x03" * 500, "text/plain")
    assert "binary" in private_text(bot, bot.discord.slash(bot.a, bot.moderator(bot.a), "article", "add", file=blob))
    pdf = bot.discord.add_attachment("report.pdf", b"%PDF-1.7", "application/pdf")
    assert "only .txt, .md and .html" in private_text(
        bot, bot.discord.slash(bot.a, bot.moderator(bot.a), "article", "add", file=pdf)
    )


def test_remove_autocompletes_this_servers_titles(bot: Bot) -> None:
    """Typing in `article:` suggests this server's own articles by title, never another server's or the shared one."""
    moderator = bot.moderator(bot.a)
    text = "Ohio counties finished their tallies on Thursday, two days ahead of the state's certification deadline."
    added = private_text(bot, bot.discord.slash(bot.a, moderator, "article", "add", text=text, title="Ohio tallies"))
    assert added.startswith("Added article #"), added  # its own text, so no earlier test's article makes it a duplicate
    typed = {
        "id": str(snowflake()),
        "name": "article",
        "type": 1,
        "options": [
            {"name": "remove", "type": 1, "options": [{"name": "article", "type": 4, "value": "ohio", "focused": True}]}
        ],
    }
    sent = bot.discord.interaction(bot.a, moderator, typed, kind=4)
    answer = callback(bot, sent)
    assert answer.body["type"] == 8
    names = [c["name"] for c in answer.body["data"]["choices"]]
    assert names and all("Ohio" in n for n in names) and any(n.endswith("Ohio tallies") for n in names)
    in_b = callback(bot, bot.discord.interaction(bot.b, bot.moderator(bot.b), typed, kind=4))
    assert in_b.body["data"]["choices"] == []


def test_members_cannot_change_articles(any_bot: Bot) -> None:
    """A member's add or remove is refused privately and the database is unchanged."""
    bot = any_bot
    before = bot.db("SELECT COUNT(*), (SELECT value FROM meta WHERE key='generation') FROM articles")
    member = bot.member(bot.a)
    added = private_text(bot, bot.discord.slash(bot.a, member, "article", "add", text=ARTICLE + " Extra.", title="X"))
    removed = private_text(bot, bot.discord.slash(bot.a, member, "article", "remove", article=1))
    rebuilt = private_text(bot, bot.discord.slash(bot.a, bot.moderator(bot.a), "index", "rebuild"))
    assert "Only moderators" in added and "Only moderators" in removed and "Only admins" in rebuilt
    dm = private_text(bot, bot.discord.slash(None, member, "article", "add", text=ARTICLE + " DM.", title="DM"))
    assert "only works inside a server" in dm
    assert bot.db("SELECT COUNT(*), (SELECT value FROM meta WHERE key='generation') FROM articles") == before


def test_moderator_by_role_adds_file_and_removal_is_final(any_bot: Bot) -> None:
    """A member with a MODERATOR_ROLE_IDS role adds a .txt attachment; once removed it is never quoted again."""
    bot = any_bot
    curator = bot.member(bot.a, bot.a.curator_role)
    text = (
        "# Georgia paper ballots\n\nGeorgia will replace its touchscreen voting machines with hand-marked"
        " paper ballots by 2020, the legislature decided."
    )
    attachment = bot.discord.add_attachment("georgia.txt", text.encode("utf-16"), "text/plain")
    reply = private_text(bot, bot.discord.slash(bot.a, curator, "article", "add", file=attachment))
    assert "Georgia paper ballots" in reply
    article_id = int(reply.split("#")[1].split(" ")[0])
    assert "the legislature decided" in embed_text(
        bot.ask(bot.a, "what will georgia replace its voting machines with")[1]
    )
    removed = private_text(bot, bot.discord.slash(bot.a, curator, "article", "remove", article=article_id))
    assert "will not be quoted again" in removed
    assert "the legislature decided" not in embed_text(
        bot.ask(bot.a, "what will georgia replace its voting machines with")[1]
    )


def test_quoted_everyone_cannot_ping(bot: Bot) -> None:
    """A quote containing @everyone and a role mention is shown verbatim and pings nobody."""
    role = bot.a.moderator_role.id
    text = (
        f"Protesters posted @everyone and <@&{role}> on the county election board forum before the certification vote."
    )
    private_text(bot, bot.discord.slash(bot.a, bot.moderator(bot.a), "article", "add", text=text, title="Forum posts"))
    _, answer = bot.ask(bot.a, "what did protesters post on the county election board forum")
    assert "@everyone" in embed_text(answer)
    assert answer.body["allowed_mentions"] == {"parse": []}


def test_fifty_thousand_character_article_stays_within_limits(bot: Bot) -> None:
    """A 50,000-character article (one line) is added, and its quotes fit every Discord limit."""
    sentence = (
        "Election officials in Maricopa County said the ballot tabulators passed their logic and accuracy test again. "
    )
    text = (sentence * (50_000 // len(sentence) + 1))[:50_000]
    attachment = bot.discord.add_attachment("long.txt", text.encode(), "text/plain")
    reply = private_text(
        bot, bot.discord.slash(bot.a, bot.moderator(bot.a), "article", "add", file=attachment, title="Long")
    )
    assert "Added article" in reply
    _, answer = bot.ask(bot.a, "did the maricopa tabulators pass the logic and accuracy test")
    assert "Maricopa" in embed_text(answer)
    within_limits(answer)


def test_article_list_pages_with_buttons(bot: Bot) -> None:
    """/article list shows ten articles a page; Next turns the page in place for the moderator who asked."""
    moderator = bot.moderator(bot.a)
    listed = bot.discord.slash(bot.a, moderator, "article", "list")
    first = callback(bot, listed)
    assert first.body["data"]["flags"] & 64 and "Page 1 of" in str(first.body)
    next_id = first.body["data"]["components"][0]["components"][1]["custom_id"]
    turned = bot.discord.press(bot.a, moderator, first, next_id)
    update = callback(bot, turned)
    assert update.body["type"] == 7 and "Page 2 of" in str(update.body)


def test_timeline_pages_oldest_first_for_whoever_asked(bot: Bot) -> None:
    """/timeline posts dated articles oldest first within Discord's limits; only the asker turns its pages."""
    asker = bot.member(bot.a)
    sent = bot.discord.slash(bot.a, asker, "timeline", topic="russian interference in the 2016 election")
    first = bot.discord.reply_to(sent)
    within_limits(first)
    embed = first.body["embeds"][0]
    assert embed["title"] == "Timeline: russian interference in the 2016 election"
    assert embed["footer"]["text"].startswith("Page 1 of ")
    dates = [field["name"].split(" · ")[0] for field in embed["fields"]]
    assert dates == sorted(dates) and all(d.startswith("2017-") for d in dates)
    assert first.body["allowed_mentions"]["parse"] == []
    next_id = first.body["components"][0]["components"][1]["custom_id"]
    other = bot.discord.press(bot.a, bot.member(bot.a), first, next_id)
    assert "Run /timeline to page yourself." in private_text(bot, other)
    turned = callback(bot, bot.discord.press(bot.a, asker, first, next_id))
    assert turned.body["type"] == 7 and turned.body["data"]["embeds"][0]["footer"]["text"].startswith("Page 2 of ")
    later = [field["name"].split(" · ")[0] for field in turned.body["data"]["embeds"][0]["fields"]]
    assert later and min(later) >= max(dates)


def test_moderators_see_the_questions_nobody_answered(bot: Bot) -> None:
    """Members' refused questions show up grouped in /index gaps for a moderator, privately; a member is refused."""
    for question in ("who won the 2019 runoff in argentina", "who won argentina's 2019 runoff"):
        _, refused = bot.ask(bot.b, question)
        assert not refused.body["embeds"][0].get("fields"), embed_text(refused)  # refused: no quotes
    shown = private_text(bot, bot.discord.slash(bot.b, bot.moderator(bot.b), "index", "gaps", days=7))
    assert "Unanswered questions, last 7 days" in shown and "**2×** who won argentina's 2019 runoff" in shown
    assert "also: who won the 2019 runoff in argentina" in shown
    elsewhere = private_text(bot, bot.discord.slash(bot.a, bot.moderator(bot.a), "index", "gaps"))
    assert "argentina" not in elsewhere
    denied = private_text(bot, bot.discord.slash(bot.b, bot.member(bot.b), "index", "gaps"))
    assert "Only moderators" in denied and "argentina" not in denied


def test_a_private_answer_is_shared_as_shown(bot: Bot) -> None:
    """/ask private:True answers only the asker; Share posts the same embed publicly with the usual buttons."""
    asker = bot.member(bot.a)
    sent = bot.discord.slash(bot.a, asker, "ask", question="who did Ratcliffe blame?", private=True)
    answer = bot.discord.reply_to(sent)
    assert callback(bot, sent).body["data"]["flags"] & 64 and answer.body["flags"] & 64
    assert "Tehran and Moscow" in embed_text(answer)
    buttons = [c["custom_id"] for c in answer.body["components"][0]["components"]]
    assert buttons[0].endswith(":share") and buttons[1].endswith(":more")
    shared = callback(bot, bot.discord.press(bot.a, asker, answer, buttons[0]))
    assert shared.body["type"] == 4 and not shared.body["data"].get("flags", 0) & 64
    assert shared.body["data"]["embeds"] == answer.body["embeds"]
    assert [c["custom_id"] for c in shared.body["data"]["components"][0]["components"]] == buttons[1:]
    assert shared.body["data"]["allowed_mentions"] == {"parse": []}


def set_mode(bot: Bot, channel_id: int, mode: str) -> str:
    """An admin of server A runs /channel mode: in that channel; the private reply."""
    return private_text(bot, bot.discord.slash(bot.a, bot.admin(bot.a), "channel", channel_id=channel_id, mode=mode))


def test_an_auto_channel_answers_questions_in_threads_and_follow_ups_need_no_mention(bot: Bot) -> None:
    """In auto: a question gets a thread with its answer, chatter nothing; in the thread a follow-up leans on it."""
    ask_here = bot.channel("ask-here")
    assert "is now **auto**" in set_mode(bot, ask_here, "auto")
    started = time.monotonic()
    chatter = bot.discord.message(bot.a, bot.member(bot.a), "lol same here", channel_id=ask_here)
    asked = bot.discord.message(bot.a, bot.member(bot.a), "who did Ratcliffe blame?", channel_id=ask_here)
    thread = bot.discord.wait_for(
        lambda calls: next((c for c in calls if c.path.endswith("/threads") and c.at >= started), None)
    )
    assert thread.path == f"/channels/{ask_here}/messages/{asked.id}/threads"  # none for the chatter
    assert f"/messages/{chatter.id}/" not in str([c.path for c in bot.discord.calls])
    assert thread.body["name"] == "who did Ratcliffe blame?"
    answer = bot.discord.posted_in(asked.id, after=started)  # a thread started from a message takes its id
    assert "Tehran and Moscow" in embed_text(answer) and answer.body["allowed_mentions"] == {"parse": []}
    within_limits(answer)
    later = time.monotonic()
    bot.discord.message(bot.a, bot.member(bot.a), "why are democrats angry with him", channel_id=asked.id)
    follow_up = bot.discord.posted_in(asked.id, after=later)
    assert "Ratcliffe" in embed_text(follow_up) and follow_up.body["allowed_mentions"] == {"parse": []}


def test_the_thread_button_opens_a_thread_where_follow_ups_need_no_mention(bot: Bot) -> None:
    """Thread under an answer opens a thread from it (once); a member's follow-up there is answered in it."""
    asker = bot.member(bot.a)
    _, answer = bot.ask(bot.a, "who is john ratcliffe")
    buttons = [c["custom_id"] for c in answer.body["components"][0]["components"]]
    assert buttons[-1].endswith(":thread")
    message_id = int(answer.response["id"])
    opened = private_text(bot, bot.discord.press(bot.a, asker, answer, buttons[-1]))
    assert opened == f"Opened <#{message_id}>: ask follow-ups there, no mention needed."
    assert [c for c in bot.discord.calls if c.path == f"/channels/{bot.a.channel_id}/messages/{message_id}/threads"]
    again = private_text(bot, bot.discord.press(bot.a, bot.member(bot.a), answer, buttons[-1]))
    assert again == f"The thread is <#{message_id}>."
    later = time.monotonic()
    bot.discord.message(bot.a, bot.member(bot.a), "why are democrats angry with him", channel_id=message_id)
    follow_up = bot.discord.posted_in(message_id, after=later)
    assert "Ratcliffe" in embed_text(follow_up)
    assert not any(c["custom_id"].endswith(":thread") for c in follow_up.body["components"][0]["components"])


def test_an_off_channel_stays_silent_and_ask_there_says_where_to_ask(bot: Bot) -> None:
    """In off: a mention gets nothing and /ask a private pointer to the channels that answer; members cannot set modes."""
    quiet, ask_here = bot.channel("quiet"), bot.channel("ask-here")
    set_mode(bot, ask_here, "auto")
    assert "is now **off**" in set_mode(bot, quiet, "off")
    started = time.monotonic()
    bot.discord.mention(bot.a, bot.member(bot.a), "who did Ratcliffe blame?", channel_id=quiet)
    pointed = private_text(bot, bot.discord.slash(bot.a, bot.member(bot.a), "ask", channel_id=quiet, question="who?"))
    assert pointed == f"I don't answer questions in this channel; ask in <#{ask_here}>."
    assert not [c for c in bot.discord.calls if c.path == f"/channels/{quiet}/messages" and c.at >= started]
    listed = private_text(bot, bot.discord.slash(bot.a, bot.admin(bot.a), "channel"))
    assert f"<#{quiet}> **off**" in listed and f"<#{ask_here}> **auto**" in listed
    refused = private_text(bot, bot.discord.slash(bot.a, bot.member(bot.a), "channel", channel_id=quiet, mode="auto"))
    assert "Only admins" in refused
    assert "is now **mention**" in set_mode(bot, quiet, "mention")


def test_mention_is_answered_as_a_reply(bot: Bot) -> None:
    """ "@Bot who did Ratcliffe blame?" gets a reply with the quote that pings nobody."""
    sent = bot.discord.mention(bot.a, bot.member(bot.a), "who did Ratcliffe blame?")
    reply = bot.discord.wait_for(
        lambda calls: next(
            (
                c
                for c in calls
                if c.path == f"/channels/{sent.channel_id}/messages"
                and int((c.body.get("message_reference") or {}).get("message_id", 0)) == sent.id
            ),
            None,
        )
    )
    assert int(reply.body["message_reference"]["message_id"]) == sent.id
    assert "Tehran and Moscow" in embed_text(reply)
    assert reply.body["allowed_mentions"] == {"parse": [], "replied_user": False}


def test_cooldown_answers_with_try_again(bot: Bot) -> None:
    """A second /ask within the cooldown is refused privately with "try again in N s"."""
    member = bot.member(bot.a)
    first = bot.discord.slash(bot.a, member, "ask", question="who did Ratcliffe blame?")
    bot.discord.reply_to(first)
    second = bot.discord.slash(bot.a, member, "ask", question="who did Ratcliffe blame?")
    assert "try again in" in private_text(bot, second)


def test_rebuild_while_questions_keep_being_answered(bot: Bot) -> None:
    """During /index rebuild, every question gets its first response inside 3 s and a real answer."""
    admin = bot.member(bot.a, bot.a.admin_role)
    rebuild = bot.discord.slash(bot.a, admin, "index", "rebuild")
    bot.discord.wait_for(
        lambda calls: any("Rebuilding the index" in str(c.body) for c in calls if rebuild.token in c.path), 60
    )
    for _ in range(5):
        sent, answer = bot.ask(bot.a, "who is sponsoring the SAVE act")
        assert callback(bot, sent).at - sent.at < 3
        assert "Heinrich" in embed_text(answer)
    final = bot.discord.wait_for(
        lambda calls: next((c for c in calls if rebuild.token in c.path and "Rebuilt the index" in str(c.body)), None),
        300,
    )
    assert "passages re-embedded" in final.body["content"]
    stats = private_text(bot, bot.discord.slash(bot.a, admin, "index", "stats"))
    assert "Passages" in stats and "all-MiniLM-L6-v2" in stats


def test_backup_while_the_bot_runs_and_audit_shows_actions(bot: Bot, tmp_path: Path) -> None:
    """`backup` copies the live database consistently; /index audit shows moderators' actions, refusals too."""
    from tests.test_cli import run_cli

    backup = tmp_path / "live.sqlite3"
    result = run_cli("backup", str(backup), data_dir=bot.data_dir)
    assert result.returncode == 0 and result.stdout.startswith("Backed up ")
    with sqlite3.connect(backup) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert (
            db.execute("SELECT COUNT(*) FROM articles").fetchone()[0] == bot.db("SELECT COUNT(*) FROM articles")[0][0]
        )
    audit = private_text(bot, bot.discord.slash(bot.a, bot.member(bot.a, bot.a.admin_role), "index", "audit"))
    assert "article add" in audit and "— ok" in audit and "— refused" in audit
    refused = private_text(bot, bot.discord.slash(bot.a, bot.moderator(bot.a), "index", "audit"))
    assert "Only admins" in refused


def test_authorization_matrix(bot: Bot) -> None:
    """Every moderator and admin command for each kind of user: only the intended succeed; refusals change nothing."""
    a = bot.a
    people = {
        "member": bot.member(a),
        "moderator by permission": bot.member(a, a.moderator_role),
        "moderator by role": bot.member(a, a.curator_role),
        "admin": bot.member(a, a.admin_role),
        "DM": bot.member(a, a.admin_role),
    }
    moderators = {"moderator by permission", "moderator by role", "admin"}
    commands = [
        ("article", "add", moderators),
        ("article", "list", moderators),
        ("article", "show", moderators),
        ("article", "remove", moderators),
        ("index", "stats", {"admin"}),
        ("index", "audit", {"admin"}),
        ("index", "gaps", moderators),
        ("channel", "", {"admin"}),  # without a mode: the list, which changes nothing
    ]
    state = "SELECT COUNT(*), (SELECT value FROM meta WHERE key='generation') FROM articles"
    for group, sub, intended in commands:
        for who, person in people.items():
            options: dict[str, Any] = {}
            if sub == "add":
                options = {"text": f"Poll workers were trained twice on the new machines, {who} wrote.", "title": who}
            elif sub in {"show", "remove"}:
                options = {"article": 1}
            before = bot.db(state)
            where = None if who == "DM" else a
            reply = private_text(bot, bot.discord.slash(where, person, group, *[sub][: bool(sub)], **options))
            if who == "DM":
                assert "only works inside a server" in reply, (sub, who, reply)
            elif who not in intended:
                moderated = group == "article" or sub == "gaps"
                assert ("Only moderators" if moderated else "Only admins") in reply, (sub, who, reply)
            else:
                assert "Only moderators" not in reply and "Only admins" not in reply, (sub, who, reply)
            if sub == "add" and who in intended:
                assert bot.db(state)[0][0] == before[0][0] + 1, (sub, who)
            else:
                assert bot.db(state) == before, (sub, who)
            if sub == "remove" and who in intended:
                assert "shared by every server" in reply  # the built-in article is no server's to remove
    # A moderator of server B cannot see or remove server A's articles.
    own = int(bot.db(f"SELECT MAX(id) FROM articles WHERE guild_id = {a.id}")[0][0])
    outsider = bot.member(bot.b, bot.b.moderator_role)
    before = bot.db(state)
    for sub in ("show", "remove"):
        assert f"no article #{own}" in private_text(
            bot, bot.discord.slash(bot.b, outsider, "article", sub, article=own)
        )
    assert bot.db(state) == before


def test_bad_token_is_refused_without_showing_it(tmp_path: Path) -> None:
    """A token Discord rejects ends the bot with one line that never contains the token."""
    discord = StandInDiscord()
    discord.reject_token = True
    discord.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISCORD")}
    env |= {
        "DISCORD_TOKEN": TOKEN,
        "DISCORD_API_BASE": discord.api_base,
        "DISCORD_GATEWAY_URL": discord.gateway_url,
        "BOT_DATA_DIR": str(tmp_path / "data"),
        "LOG_LEVEL": "DEBUG",
    }
    try:
        proc = subprocess.run(
            [sys.executable, "run_bot.py"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
        )
    finally:
        discord.stop()
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == "error: Discord refused the token: check DISCORD_TOKEN"
    assert TOKEN not in proc.stdout + proc.stderr and TOKEN.split(".")[-1] not in proc.stdout + proc.stderr


def test_help_lists_commands(bot: Bot) -> None:
    """/help answers privately with every command."""
    text = private_text(bot, bot.discord.slash(bot.a, bot.member(bot.a), "help"))
    for command in (
        "/ask",
        "/timeline",
        "/article add",
        "/article remove",
        "/article list",
        "/article show",
        "/index rebuild",
    ):
        assert command in text


def test_logs_one_line_per_command_no_token_no_blocked_heartbeat(bot: Bot) -> None:
    """The log has a line per command with latency and outcome, never the token, never a blocked heartbeat."""
    log = bot.log.read_text()
    assert "command=ask latency_ms=" in log and "outcome=ok" in log and "outcome=refused" in log
    assert TOKEN not in log and TOKEN.split(".")[-1] not in log
    assert "heartbeat blocked" not in log
    deadline = time.monotonic() + 30
    while len(bot.discord.heartbeats) < 12 and time.monotonic() < deadline:  # the module may have run fast
        time.sleep(0.5)
    gaps = [b - a for a, b in zip(bot.discord.heartbeats, bot.discord.heartbeats[1:], strict=False)]
    assert len(gaps) > 10 and max(gaps) < 3


def test_syndicated_copy_is_merged_and_shown_as_also_published(bot: Bot) -> None:
    """A moderator's copy of a stored Reuters story is merged, and the server's answer says who also published it."""
    from tests.corpus.test_nearcopy import SAVE_ACT, syndicated
    from tests.index.test_wire import QUESTION

    [(article_id, text)] = bot.db(f"SELECT id, text FROM articles WHERE title = '{SAVE_ACT}'")
    copy = syndicated(text).replace("\n\n", " ")  # a slash-command string option has no line breaks
    sent = bot.discord.slash(
        bot.a,
        bot.moderator(bot.a),
        "article",
        "add",
        text=copy,
        title="Senators seek safer voting",
        source="@everyone Sentinel",
    )
    reply = private_text(bot, sent)
    assert reply.startswith(f"Already have this story as #{article_id} (Reuters)") and "also publishing it" in reply
    assert bot.db(f"SELECT COUNT(*) FROM articles WHERE title = '{SAVE_ACT}'") == [(1,)]
    _, in_a = bot.ask(bot.a, QUESTION)
    shown = embed_text(in_a)
    assert "Also published by: @everyone Sentinel" in shown and "Only one outlet carries this." in shown
    assert in_a.body["allowed_mentions"] == {"parse": []}
    within_limits(in_a)
    _, in_b = bot.ask(bot.b, QUESTION)
    assert "Also published by" not in embed_text(in_b) and "outlet" in embed_text(in_b)
