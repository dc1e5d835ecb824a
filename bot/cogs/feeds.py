"""Moderators follow RSS and Atom feeds: ``/feed add|list|remove``; the bot polls them by itself.

The poll loop checks every minute which feeds are due (each is polled every FEED_POLL_MINUTES,
sooner while it has entries left) and calls the core on its own worker thread through
:class:`bot.core.AsyncLibrary`, so a poll never holds up the event loop or a question.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import moderator_only
from bot.rendering import COLOUR, escaped, shorten
from corpus.records import Feed

if TYPE_CHECKING:
    from bot.app import NewsBot

log = logging.getLogger("bot.feeds")

#: How often the loop looks for due feeds, in seconds (each feed keeps its own FEED_POLL_MINUTES).
CHECK_EVERY_S = 60.0
_DESCRIPTION_LIMIT = 4096


def feed_line(feed: Feed) -> str:
    """One feed for /feed list: id, title, address, articles added, and trouble if it is failing."""
    name = escaped(feed.title or "untitled feed", 80)
    line = f"**#{feed.id}** {name} — `{shorten(feed.url, 120).replace('`', '')}` — {feed.articles} articles"
    if feed.last_polled_at:
        line += f", polled {feed.last_polled_at[:16].replace('T', ' ')} UTC"
    if feed.failures:
        line += f"\n  ⚠ failing ({feed.failures}×): {escaped(feed.last_error or '', 150)}"
    return line


class Feeds(commands.Cog):
    """Following feeds, and the loop that polls them."""

    feed = app_commands.Group(
        name="feed",
        description="Follow RSS and Atom feeds: their new articles are added by themselves (moderators).",
        default_permissions=discord.Permissions(manage_messages=True),
        guild_only=True,
    )

    def __init__(self, bot: NewsBot) -> None:
        """Keep the bot; the poll loop starts when the cog is loaded."""
        self.bot = bot
        self._wake = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None

    async def cog_load(self) -> None:
        """Start polling."""
        self._loop = asyncio.create_task(self._poll_forever(), name="feed-poller")

    async def cog_unload(self) -> None:
        """Stop polling."""
        if self._loop is not None:
            self._loop.cancel()

    async def _poll_forever(self) -> None:
        """Poll what is due, then wait a minute or until a feed is added."""
        while True:
            self._wake.clear()
            try:
                report = await self.bot.core.poll_feeds()
                for poll in report.polls:
                    log.info("feed #%d guild=%s: %s", poll.feed.id, poll.feed.guild_id, poll.summary())
            except asyncio.CancelledError:
                raise
            except Exception:  # one bad poll must not end the polling
                log.exception("the feed poll failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), CHECK_EVERY_S)

    @feed.command(name="add", description="Follow an RSS or Atom feed: its new articles are added for this server.")
    @app_commands.describe(url="The feed's address (RSS or Atom)")
    @moderator_only()
    async def add(self, interaction: discord.Interaction, url: str) -> None:
        """Follow a feed for this server and poll it at once."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        feed = await self.bot.core.follow_feed(url, guild_id=interaction.guild_id, added_by=str(interaction.user.id))
        self._wake.set()
        title = f" “{escaped(feed.title, 200)}”" if feed.title else ""
        minutes = self.bot.settings.feed_poll_minutes
        await interaction.followup.send(
            f"Following feed #{feed.id}{title}. Its new articles are added in a minute or two, then every"
            f" {minutes:g} minutes; /feed list shows how it is doing.",
            ephemeral=True,
        )

    @feed.command(name="list", description="The feeds this server follows.")
    @moderator_only()
    async def list_feeds(self, interaction: discord.Interaction) -> None:
        """The server's feeds, privately."""
        feeds = await self.bot.core.list_feeds(guild_id=interaction.guild_id)
        lines: list[str] = []
        size = 0
        for feed in feeds:
            line = feed_line(feed)
            if size + len(line) + 40 > _DESCRIPTION_LIMIT:
                lines.append(f"… and {len(feeds) - len(lines)} more")
                break
            lines.append(line)
            size += len(line) + 1
        embed = discord.Embed(
            title="Feeds", description="\n".join(lines) or "This server follows no feeds yet.", colour=COLOUR
        )
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @feed.command(name="remove", description="Stop following a feed; the articles it added stay.")
    @app_commands.describe(feed="The feed (start typing its title)")
    @moderator_only()
    async def remove(self, interaction: discord.Interaction, feed: int) -> None:
        """Stop following one of this server's feeds."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        removed = await self.bot.core.unfollow_feed(feed, guild_id=interaction.guild_id)
        await interaction.followup.send(
            f"Stopped following feed #{removed.id} “{escaped(removed.title or removed.url, 200)}”."
            " The articles it added stay.",
            ephemeral=True,
        )

    @remove.autocomplete("feed")
    async def remove_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[int]]:
        """The server's feeds whose title or address matches what is typed."""
        feeds = await self.bot.core.list_feeds(guild_id=interaction.guild_id)
        needle = current.lower().lstrip("#")
        matches = [
            f for f in feeds if needle in (f.title or "").lower() or needle in f.url.lower() or needle == str(f.id)
        ]
        return [
            app_commands.Choice(name=shorten(f"#{f.id} {f.title or f.url}", 100), value=f.id) for f in matches[-25:]
        ]


async def setup(bot: NewsBot) -> None:
    """Add the cog."""
    await bot.add_cog(Feeds(bot))
