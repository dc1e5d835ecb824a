"""Members ask: ``/ask``, mentions, the answer's buttons, and ``/help``."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import answers_here
from bot.pages import Pages
from bot.rendering import (
    COLOUR,
    answer_embed,
    escape_text,
    message_text,
    no_more_sources_embed,
    shorten,
    timeline_pages,
)
from corpus.errors import BadInput
from index.answers import Answer

if TYPE_CHECKING:
    from bot.app import NewsBot

log = logging.getLogger("bot")
T = TypeVar("T")
#: A thread's name, from its question (Discord allows 100 characters).
THREAD_NAME_LIMIT = 90
QUESTION_WORDS = frozenset(
    "who whom whose what whats what's when where why how which did does do is are was were can could will would"
    " should has have had any anyone".split()
)
_URL = re.compile(r"https?://\S+")

HELP = """\
**/ask** `question` — I answer with word-for-word quotes from the articles, the answering sentence in bold.
Add `private:True` to see the answer alone; its **Share** button posts it for everyone.
**/timeline** `topic` — the dated articles on a topic, oldest first, each with its sentence on it.
You can also mention me with a question, when the server's admins have enabled that.
**More sources** shows the next passages; 👍 / 👎 tell the moderators whether the answer helped.

Moderators (Manage Messages, or a moderator role):
**/article add** `url` | `file` (.txt, .md, .html) | `text` — plus optional `title`, `source`, `date`, `replace`
**/article remove** `article` · **/article list** · **/article show** `article`
**/feed add** `url` — follow an RSS or Atom feed · **/feed list** · **/feed remove** `feed`
**/index gaps** `days` — the questions nobody answered, grouped, most asked first
React 📰 to a message with a link to add that article.

Admins (Administrator, Manage Server, or an admin role):
**/index rebuild** — re-embed every passage (questions keep being answered meanwhile)
**/index stats** — articles, passages, model
**/index audit** — who added, removed or rebuilt what, and when
**/channel** `mode` — in this channel: auto (every question, in a thread), mention (the default) or off"""


class QuestionCooldown:
    """One question per user every ``seconds``, however it is asked: /ask and mentions count alike."""

    def __init__(self, seconds: float) -> None:
        """Nobody has asked yet."""
        self.seconds = seconds
        self._next: dict[int, float] = {}  # user id -> when they may ask again (monotonic clock)

    def retry_after(self, user_id: int) -> float:
        """0 when ``user_id`` may ask now (and the question is counted), else how many seconds to wait."""
        if self.seconds <= 0:
            return 0.0
        now = time.monotonic()
        wait = self._next.get(user_id, 0.0) - now
        if wait > 0:
            return wait
        if len(self._next) > 10_000:  # forget the users who may ask again anyway
            self._next = {user: at for user, at in self._next.items() if at > now}
        self._next[user_id] = now + self.seconds
        return 0.0


def one_question_at_a_time() -> Callable[[T], T]:
    """Refuse /ask within the cooldown of the user's last question (a mention counts too)."""

    async def predicate(interaction: discord.Interaction) -> bool:
        bot: NewsBot = interaction.client  # type: ignore[assignment]
        cog = bot.get_cog("Questions")
        if isinstance(cog, Questions):
            retry = cog.cooldown.retry_after(interaction.user.id)
            if retry:
                raise app_commands.CommandOnCooldown(app_commands.Cooldown(1, cog.cooldown.seconds), retry)
        return True

    return app_commands.check(predicate)


class MoreSources(discord.ui.DynamicItem[discord.ui.Button], template=r"answer:(?P<id>\d+):more"):
    """The "More sources" button: the next passages, shown only to whoever pressed it."""

    def __init__(self, answer_id: int) -> None:
        """A button that refers to a logged answer (it keeps working after a restart)."""
        super().__init__(
            discord.ui.Button(
                label="More sources", style=discord.ButtonStyle.secondary, custom_id=f"answer:{answer_id}:more"
            )
        )
        self.answer_id = answer_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item, match: re.Match[str]):
        """Rebuild the button from its custom id."""
        return cls(int(match["id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        """Send the next passages privately."""
        bot: NewsBot = interaction.client  # type: ignore[assignment]
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            answer = await bot.core.more_sources(self.answer_id, guild_id=interaction.guild_id)
        except BadInput as exc:
            await interaction.followup.send(message_text(escape_text(f"{exc}.")), ephemeral=True)
            return
        count = await bot.core.count_articles(guild_id=interaction.guild_id)
        embed = (
            answer_embed(answer, article_count=count, first_number=4)
            if answer.quotes
            else no_more_sources_embed(answer.question)
        )
        await interaction.followup.send(embed=embed, ephemeral=True)


class Vote(discord.ui.DynamicItem[discord.ui.Button], template=r"answer:(?P<id>\d+):(?P<vote>up|down)"):
    """👍 / 👎 on an answer: recorded with who voted, the question and the passages shown."""

    def __init__(self, answer_id: int, vote: str) -> None:
        """A vote button for a logged answer."""
        emoji = "👍" if vote == "up" else "👎"
        super().__init__(
            discord.ui.Button(emoji=emoji, style=discord.ButtonStyle.secondary, custom_id=f"answer:{answer_id}:{vote}")
        )
        self.answer_id, self.vote = answer_id, vote

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item, match: re.Match[str]):
        """Rebuild the button from its custom id."""
        return cls(int(match["id"]), match["vote"])

    async def callback(self, interaction: discord.Interaction) -> None:
        """Record the vote and thank the voter privately."""
        bot: NewsBot = interaction.client  # type: ignore[assignment]
        value = 1 if self.vote == "up" else -1
        try:
            await bot.core.record_vote(
                self.answer_id, guild_id=interaction.guild_id, user_id=str(interaction.user.id), vote=value
            )
        except BadInput as exc:
            await interaction.response.send_message(message_text(escape_text(f"{exc}.")), ephemeral=True)
            return
        await interaction.response.send_message(
            f"Thanks, your {'👍' if value > 0 else '👎'} is recorded.", ephemeral=True
        )


class Share(discord.ui.DynamicItem[discord.ui.Button], template=r"answer:(?P<id>\d+):share"):
    """The "Share" button under a private answer: posts the same answer in the channel for everyone."""

    def __init__(self, answer_id: int) -> None:
        """A button that refers to a logged answer."""
        super().__init__(
            discord.ui.Button(label="Share", style=discord.ButtonStyle.primary, custom_id=f"answer:{answer_id}:share")
        )
        self.answer_id = answer_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item, match: re.Match[str]):
        """Rebuild the button from its custom id."""
        return cls(int(match["id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        """Post the private answer's embeds, as the asker saw them, publicly with the usual buttons.

        Discord sends the message the button is on with the press, so what is shared is exactly
        what was shown, even if the articles changed since. Only the asker sees a private answer,
        so only the asker can share it.
        """
        embeds = interaction.message.embeds if interaction.message is not None else []
        if not embeds:
            await interaction.response.send_message("This answer can no longer be shared; ask again.", ephemeral=True)
            return
        await interaction.response.send_message(embeds=embeds, view=answer_view(self.answer_id))


class OpenThread(discord.ui.DynamicItem[discord.ui.Button], template=r"answer:(?P<id>\d+):thread"):
    """The "Thread" button under a public answer: a thread from it, where follow-ups need no mention."""

    def __init__(self, answer_id: int) -> None:
        """A button that refers to a logged answer."""
        super().__init__(
            discord.ui.Button(
                label="Thread", style=discord.ButtonStyle.secondary, custom_id=f"answer:{answer_id}:thread"
            )
        )
        self.answer_id = answer_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item, match: re.Match[str]):
        """Rebuild the button from its custom id."""
        return cls(int(match["id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        """Open a thread from the answer (once) and tell whoever pressed it, privately."""
        bot: NewsBot = interaction.client  # type: ignore[assignment]
        message = interaction.message
        if message is None or interaction.guild is None or isinstance(interaction.channel, discord.Thread):
            await interaction.response.send_message(
                "A thread can only be opened in a server's channel.", ephemeral=True
            )
            return
        if message.thread is not None or await bot.core.thread_question(message.id) is not None:
            await interaction.response.send_message(f"The thread is <#{message.id}>.", ephemeral=True)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            question = await bot.core.open_thread(
                self.answer_id, message.id, guild_id=interaction.guild_id, channel_id=interaction.channel_id
            )
        except BadInput as exc:
            await interaction.followup.send(message_text(escape_text(f"{exc}.")), ephemeral=True)
            return
        thread = await message.create_thread(name=shorten(question, THREAD_NAME_LIMIT), auto_archive_duration=1440)
        await interaction.followup.send(
            f"Opened <#{thread.id}>: ask follow-ups there, no mention needed.", ephemeral=True
        )


def answer_view(answer_id: int, *, share: bool = False, thread: bool = False) -> discord.ui.View:
    """The buttons under an answer (Share under a private one, Thread under a public one outside threads)."""
    view = discord.ui.View(timeout=None)
    if share:
        view.add_item(Share(answer_id))
    view.add_item(MoreSources(answer_id))
    view.add_item(Vote(answer_id, "up"))
    view.add_item(Vote(answer_id, "down"))
    if thread:
        view.add_item(OpenThread(answer_id))
    return view


class Questions(commands.Cog):
    """Answering members' questions."""

    def __init__(self, bot: NewsBot) -> None:
        """Keep the bot and the one cooldown that /ask and mentions share."""
        self.bot = bot
        self.cooldown = QuestionCooldown(bot.settings.ask_cooldown_seconds)

    async def _answer(
        self, question: str, guild_id: int | None, user_id: int, *, previous: str | None = None
    ) -> tuple[Answer, discord.Embed, int]:
        answer = await self.bot.core.ask(question, guild_id=guild_id, previous=previous)
        answer_id = await self.bot.core.log_answer(answer, guild_id=guild_id, user_id=str(user_id))
        count = await self.bot.core.count_articles(guild_id=guild_id)
        return answer, answer_embed(answer, article_count=count), answer_id

    @app_commands.command(name="ask", description="Ask a question; I answer with quotes from the news articles.")
    @app_commands.describe(
        question="Your question, e.g. who did Ratcliffe blame?",
        private="Answer only me (a Share button can post it for everyone)",
    )
    @answers_here()
    @one_question_at_a_time()
    async def ask(
        self, interaction: discord.Interaction, question: app_commands.Range[str, 1, 300], private: bool = False
    ) -> None:
        """Answer in the channel with quotes (or only to the asker), or say the articles do not cover it."""
        await interaction.response.defer(thinking=True, ephemeral=private)
        answer, embed, answer_id = await self._answer(question, interaction.guild_id, interaction.user.id)
        if not answer.answered:
            await interaction.followup.send(embed=embed, ephemeral=private)
        elif private:
            await interaction.followup.send(embed=embed, view=answer_view(answer_id, share=True), ephemeral=True)
        else:
            in_thread = isinstance(interaction.channel, discord.Thread) or interaction.guild_id is None
            await interaction.followup.send(embed=embed, view=answer_view(answer_id, thread=not in_thread))

    @app_commands.command(name="timeline", description="The dated articles on a topic, oldest first.")
    @app_commands.describe(topic="What the timeline is about, e.g. voting machine security")
    @answers_here()
    @one_question_at_a_time()
    async def timeline(self, interaction: discord.Interaction, topic: app_commands.Range[str, 1, 300]) -> None:
        """Post the timeline's first page; its buttons page on for whoever asked."""
        await interaction.response.defer(thinking=True)
        timeline = await self.bot.core.timeline(topic, guild_id=interaction.guild_id)
        embeds = timeline_pages(timeline)
        if len(embeds) == 1:
            await interaction.followup.send(embed=embeds[0])
            return
        view = Pages(interaction.user.id, embeds, "/timeline")
        await interaction.followup.send(embed=view.embed(), view=view)

    @app_commands.command(name="help", description="What I do and which commands there are.")
    async def help(self, interaction: discord.Interaction) -> None:
        """Show the commands, privately."""
        embed = discord.Embed(title="Election-security news bot", description=HELP, colour=COLOUR)
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """Answer mentions, every question in an ``auto`` channel, and every follow-up in the bot's threads.

        Needs MESSAGE_CONTENT_INTENT. In a thread the bot started, each member's message is a
        follow-up, read with the thread's last question. In an ``auto`` channel a message that
        looks like a question is answered in a new thread; in ``off`` the bot stays silent, even
        when mentioned. An empty or throttled message gets no reply: a reply is public, so a
        refusal would let anyone make the bot post as often as they like.
        """
        me = self.bot.user
        if not self.bot.settings.message_content_intent or message.author.bot or me is None:
            return
        question = re.sub(rf"<@!?{me.id}>", " ", message.content).strip()
        mentioned = me in message.mentions
        guild_id = message.guild.id if message.guild else None
        previous = None
        if isinstance(message.channel, discord.Thread):
            previous = await self.bot.core.thread_question(message.channel.id)
        if previous is None:
            if not question or not (mentioned or looks_like_a_question(question)):
                return  # most chatter never costs a database read
            mode = self.bot.core.channel_mode(message.channel.id) if guild_id is not None else "mention"
            if mode == "off" or not (mentioned or mode == "auto"):
                return
        if not question or self._throttled(message):
            return
        try:
            answer, embed, answer_id = await self._answer(question, guild_id, message.author.id, previous=previous)
        except BadInput as exc:
            await message.reply(message_text(escape_text(f"{exc}.")), mention_author=False)
            return
        view = answer_view(answer_id) if answer.answered else discord.utils.MISSING
        if previous is not None:  # a follow-up: answered in its thread, which now leans on it
            await message.channel.send(embed=embed, view=view)
            await self.bot.core.remember_thread(
                message.channel.id, guild_id=guild_id, channel_id=None, question=question
            )
        elif not mentioned:  # a question in an auto channel: answered in a thread of its own
            thread = await message.create_thread(name=shorten(question, THREAD_NAME_LIMIT), auto_archive_duration=1440)
            await self.bot.core.remember_thread(
                thread.id, guild_id=guild_id, channel_id=message.channel.id, question=question
            )
            await thread.send(embed=embed, view=view)
        else:
            if answer.answered and not isinstance(message.channel, discord.Thread) and guild_id is not None:
                view = answer_view(answer_id, thread=True)
            await message.reply(embed=embed, view=view, mention_author=False)

    def _throttled(self, message: discord.Message) -> bool:
        retry = self.cooldown.retry_after(message.author.id)
        if retry:
            log.info(
                "guild=%s user=%s message throttled for %.0f s",
                message.guild and message.guild.id,
                message.author.id,
                retry,
            )
        return bool(retry)


def looks_like_a_question(text: str) -> bool:
    """Whether a message in an ``auto`` channel asks something: a question mark, or a question's first word.

    Chatter ("lol same", "thanks!", a bare link) is left alone; three words at least.
    """
    words = _URL.sub(" ", text).split()
    if len(words) < 3:
        return False
    return text.rstrip().endswith("?") or words[0].casefold().strip(",.!") in QUESTION_WORDS


async def setup(bot: NewsBot) -> None:
    """Add the cog and the persistent answer buttons."""
    bot.add_dynamic_items(MoreSources, Vote, Share, OpenThread)
    await bot.add_cog(Questions(bot))
