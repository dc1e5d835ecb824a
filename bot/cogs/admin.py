"""Looking after the index: admins `/index rebuild|stats|audit`, moderators `/index gaps`."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import admin_only, moderator_only
from bot.rendering import COLOUR, escaped, gaps_embed
from corpus.errors import BadInput

if TYPE_CHECKING:
    from bot.app import NewsBot

PROGRESS_EVERY_S = 3.0


class Admin(commands.Cog):
    """Rebuilding and inspecting the index."""

    index = app_commands.Group(
        name="index",
        description="Rebuild and inspect the index (admins).",
        default_permissions=discord.Permissions(manage_guild=True),
        guild_only=True,
    )

    def __init__(self, bot: NewsBot) -> None:
        """Keep the bot; one rebuild at a time."""
        self.bot = bot
        self._rebuilding = asyncio.Lock()

    @index.command(name="rebuild", description="Re-embed every passage; questions keep being answered meanwhile.")
    @admin_only()
    async def rebuild(self, interaction: discord.Interaction) -> None:
        """Rebuild, editing the message with progress every few seconds."""
        if self._rebuilding.locked():
            raise BadInput("a rebuild is already running")
        async with self._rebuilding:
            await interaction.response.defer(thinking=True)
            progress = {"done": 0, "total": 0}

            def report(done: int, total: int) -> None:  # called on a worker thread; plain stores only
                progress["done"], progress["total"] = done, total

            started = time.monotonic()
            task = asyncio.create_task(self.bot.core.rebuild(report))
            while True:
                done, _ = await asyncio.wait({task}, timeout=PROGRESS_EVERY_S)
                if done:
                    break
                await interaction.edit_original_response(
                    content=f"Rebuilding the index: {progress['done']} of {progress['total']} passages re-embedded…"
                )
            count = task.result()
            stats = await self.bot.core.stats()
            await interaction.edit_original_response(
                content=f"Rebuilt the index: {count} passages re-embedded with {stats.model} "
                f"in {time.monotonic() - started:.0f} s."
            )

    @index.command(name="audit", description="The latest moderator and admin actions in this server.")
    @admin_only()
    async def audit(self, interaction: discord.Interaction) -> None:
        """Who did what and when, privately."""
        entries = await self.bot.core.audit_log(guild_id=interaction.guild_id, limit=20)
        lines = [
            f"`{e.at[:16].replace('T', ' ')}` <@{e.actor}> **{e.action}** {escaped(e.target or '', 60)} — {e.outcome}"
            for e in entries
        ]
        embed = discord.Embed(title="Audit log", description="\n".join(lines) or "Nothing recorded yet.", colour=COLOUR)
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @index.command(name="gaps", description="Questions members asked that no article answered (moderators).")
    @app_commands.describe(days="How far back, in days (default 30)")
    @moderator_only()
    async def gaps(self, interaction: discord.Interaction, days: app_commands.Range[int, 1, 3650] = 30) -> None:
        """The refused and voted-down questions, grouped, privately."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        gaps = await self.bot.core.gaps(guild_id=interaction.guild_id, days=days)
        await interaction.followup.send(embed=gaps_embed(gaps, days), ephemeral=True)

    @index.command(name="stats", description="Articles, passages, index size and model.")
    @admin_only()
    async def stats(self, interaction: discord.Interaction) -> None:
        """The numbers, privately."""
        stats = await self.bot.core.stats()
        here = await self.bot.core.count_articles(guild_id=interaction.guild_id)
        embed = discord.Embed(title="Index", colour=COLOUR)
        embed.add_field(name="Articles this server sees", value=str(here))
        embed.add_field(name="Articles in all", value=str(stats.articles))
        embed.add_field(name="Passages", value=str(stats.passages))
        embed.add_field(name="Index size", value=str(stats.indexed))
        embed.add_field(name="Model", value=stats.model, inline=False)
        embed.add_field(name="Uptime", value=f"{(time.monotonic() - self.bot.started) / 3600:.1f} h")
        await interaction.response.send_message(embed=embed, ephemeral=True)


async def setup(bot: NewsBot) -> None:
    """Add the cog."""
    await bot.add_cog(Admin(bot))
