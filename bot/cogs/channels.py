"""Admins choose how the bot listens in each channel: ``/channel mode:``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import admin_only
from bot.rendering import COLOUR

if TYPE_CHECKING:
    from bot.app import NewsBot

MODES = {
    "auto": "answers every question asked in it, each in a thread of its own (needs the Message Content intent)",
    "mention": "answers /ask and mentions (the default)",
    "off": "stays silent, /ask included, and says where to ask instead",
}


class Channels(commands.Cog):
    """Per-channel modes."""

    def __init__(self, bot: NewsBot) -> None:
        """Keep the bot."""
        self.bot = bot

    @app_commands.command(name="channel", description="How I listen in a channel (admins); without a mode, the list.")
    @app_commands.describe(
        mode="auto: answer every question in a thread; mention: /ask and mentions; off: silent",
        channel="The channel (default: this one)",
    )
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    @admin_only()
    async def channel(
        self,
        interaction: discord.Interaction,
        mode: Literal["auto", "mention", "off"] | None = None,
        channel: discord.TextChannel | None = None,
    ) -> None:
        """Set a channel's mode, or list the modes set in this server, privately."""
        assert interaction.guild_id is not None  # admin_only refuses DMs
        if mode is None:
            modes = await self.bot.core.channel_modes(guild_id=interaction.guild_id)
            lines = [f"<#{channel_id}> **{mode}**: {MODES[mode]}" for channel_id, mode in sorted(modes.items())]
            embed = discord.Embed(
                title="Channel modes",
                description="\n".join(lines) or "No channel has a mode set: I answer /ask and mentions everywhere.",
                colour=COLOUR,
            )
            await interaction.response.send_message(embed=embed, ephemeral=True)
            return
        target = channel.id if channel is not None else interaction.channel_id
        assert target is not None
        await self.bot.core.set_channel_mode(
            guild_id=interaction.guild_id, channel_id=target, mode=mode, actor=str(interaction.user.id)
        )
        await interaction.response.send_message(f"<#{target}> is now **{mode}**: I {MODES[mode]}.", ephemeral=True)


async def setup(bot: NewsBot) -> None:
    """Add the cog."""
    await bot.add_cog(Channels(bot))
