"""The Discord bot: connection, command sync, one error handler, one log line per command."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import discord
import yarl
from discord import app_commands
from discord.ext import commands

from bot.checks import NotAdmin, NotInServer, NotModerator, SilentHere
from bot.core import AsyncLibrary
from bot.health import watch_event_loop
from bot.rendering import escape_text, message_text
from corpus.errors import BadInput
from corpus.readers import plural
from index.library import Library
from index.settings import Settings

log = logging.getLogger("bot")

COGS = ("bot.cogs.questions", "bot.cogs.articles", "bot.cogs.admin", "bot.cogs.channels", "bot.cogs.feeds")


def describe(interaction: discord.Interaction) -> str:
    """Server, user and command of an interaction, for the log (never message text or tokens)."""
    name = interaction.command.qualified_name if interaction.command else interaction.data.get("custom_id", "?")  # type: ignore[union-attr]
    return f"guild={interaction.guild_id or 'DM'} user={interaction.user.id} command={name}"


def elapsed_ms(interaction: discord.Interaction) -> int:
    """Milliseconds since Discord created the interaction."""
    return int((discord.utils.utcnow() - interaction.created_at).total_seconds() * 1000)


AUDITED_GROUPS = {"article", "index", "channel", "feed"}


async def audit(interaction: discord.Interaction, outcome: str, detail: str | None = None) -> None:
    """Record a moderator or admin command, whatever its outcome (reading ones included)."""
    command = interaction.command
    if command is None or command.qualified_name.split(" ")[0] not in AUDITED_GROUPS:
        return
    namespace = interaction.namespace
    target = next(
        (
            str(getattr(value, "filename", None) or getattr(value, "id", value))
            for key in ("article", "feed", "url", "file", "title", "channel")
            if (value := getattr(namespace, key, None)) is not None
        ),
        None,
    )
    if (mode := getattr(namespace, "mode", None)) is not None:
        detail = f"mode {mode}" + (f"; {detail}" if detail else "")
    bot: NewsBot = interaction.client  # type: ignore[assignment]
    try:
        await bot.core.record_action(
            actor=str(interaction.user.id),
            guild_id=interaction.guild_id,
            action=command.qualified_name,
            target=target,
            outcome=outcome,
            detail=detail,
        )
    except Exception:  # the audit log must never break the command it records
        log.exception("%s could not be recorded in the audit log", describe(interaction))


def as_sentence(message: str) -> str:
    """The core's message as a sentence: capitalised (unless it starts with a file name) and ended."""
    first = message.split(" ", 1)[0]
    if first.isalpha():
        message = message[:1].upper() + message[1:]
    return message if message.endswith((".", "!", "?")) else message + "."


async def reply_privately(interaction: discord.Interaction, text: str) -> None:
    """Say ``text`` to the user alone, whether or not the interaction was already answered."""
    text = message_text(text)
    if interaction.response.is_done():
        await interaction.followup.send(text, ephemeral=True)
    else:
        await interaction.response.send_message(text, ephemeral=True)


class NewsTree(app_commands.CommandTree["NewsBot"]):
    """The command tree, with the one error handler.

    Priority: typed check failures (not in a server, not a moderator, not an
    admin), then cooldowns, then bad input from the core (its message is the
    user's sentence), then anything else (logged with a traceback, a generic
    sentence for the user).
    """

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        """Turn any failure into a short private sentence for the user and a log line for the operator."""
        cause = error.original if isinstance(error, app_commands.CommandInvokeError) else error
        if isinstance(cause, NotInServer | NotModerator | NotAdmin | SilentHere):
            text, outcome = cause.message, "refused"
        elif isinstance(cause, app_commands.CommandOnCooldown):
            text, outcome = f"Slow down a little: try again in {max(1, round(cause.retry_after))} s.", "cooldown"
        elif isinstance(cause, BadInput):  # its sentence may quote what the user typed
            text, outcome = escape_text(as_sentence(str(cause))), "bad-input"
        elif isinstance(cause, app_commands.CheckFailure):
            text, outcome = "You cannot use this command here.", "refused"
        else:
            log.error("%s failed", describe(interaction), exc_info=cause)
            text, outcome = "Something went wrong on my side; the admins can find it in the log.", "error"
        log.info("%s latency_ms=%d outcome=%s", describe(interaction), elapsed_ms(interaction), outcome)
        await audit(interaction, outcome, text)
        try:
            await reply_privately(interaction, text)
        except discord.HTTPException:
            log.warning("%s could not be told about the failure", describe(interaction))


def describe_shards(shard_ids: list[int] | range | None, shard_count: int | None) -> str:
    """Which shards a process runs, for the log: "shards 0, 1 of 2", or "as many shards as Discord recommends"."""
    if shard_count is None:
        return "as many shards as Discord recommends"
    ids = list(shard_ids if shard_ids is not None else range(shard_count))
    return f"shard{'s' if len(ids) > 1 else ''} {', '.join(map(str, ids))} of {shard_count}"


class NewsBot(commands.AutoShardedBot):
    """The bot: a thin shell over the core, reached only through :class:`AsyncLibrary`.

    Sharded as discord.py's AutoShardedBot: SHARD_COUNT and SHARD_IDS choose this process's shards
    (unset: all the shards Discord recommends). Several processes, each with its own shards, serve
    one application over one database; Discord sends each the events of its own guilds only.
    """

    def __init__(self, settings: Settings, core: AsyncLibrary) -> None:
        """Configure intents, shards and defaults; nothing connects yet."""
        intents = discord.Intents.default()
        intents.message_content = settings.message_content_intent
        shards: dict[str, Any] = {"shard_count": settings.shard_count}  # None: as many as Discord recommends
        if settings.shard_ids is not None:  # unset: every shard of the count
            shards["shard_ids"] = list(settings.shard_ids)
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            tree_cls=NewsTree,
            help_command=None,
            allowed_mentions=discord.AllowedMentions.none(),
            **shards,
        )
        self.settings = settings
        self.core = core
        self.started = time.monotonic()

    async def setup_hook(self) -> None:
        """Load the model and index off the event loop, add the cogs, sync the commands."""
        stats = await self.core.warm_up()
        log.info("ready to answer from %d articles (%d passages)", stats.articles, stats.passages)
        for cog in COGS:
            await self.load_extension(cog)
        # Watched from here on: the model load above runs before the gateway connects.
        self._health = asyncio.create_task(watch_event_loop(self.settings.lag_report_seconds), name="event-loop-lag")
        if self.settings.dev_guild_id:
            guild = discord.Object(self.settings.dev_guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("synced %d commands to the test server %s", len(synced), self.settings.dev_guild_id)
        else:
            synced = await self.tree.sync()
            log.info("synced %d commands globally (they can take up to an hour to appear)", len(synced))

    async def on_shard_ready(self, shard_id: int) -> None:
        """One log line per shard that has received its guilds."""
        servers = sum(1 for guild in self.guilds if guild.shard_id == shard_id)
        log.info("shard %d of %s ready: %s", shard_id, self.shard_count, plural(servers, "server"))

    async def on_ready(self) -> None:
        """One log line when every shard of this process is ready."""
        log.info(
            "serving %s: %s", describe_shards(self.shard_ids, self.shard_count), plural(len(self.guilds), "server")
        )

    async def on_message(self, message: discord.Message) -> None:
        """Nothing: the bot has no prefix commands, and the Questions cog answers mentions.

        (commands.Bot would read every mention as a command and log CommandNotFound as an error.)
        """

    async def on_app_command_completion(self, interaction: discord.Interaction, command: app_commands.Command) -> None:
        """One log line per successful command, and an audit entry for moderator and admin ones."""
        log.info("%s latency_ms=%d outcome=ok", describe(interaction), elapsed_ms(interaction))
        await audit(interaction, "ok")

    async def close(self) -> None:
        """Disconnect, then let running core calls finish and close the database."""
        await super().close()
        self.core.close()


def run_bot(data_dir: Path, library: Library, settings: Settings) -> int:
    """Connect to Discord with the configured token and serve until stopped."""
    if settings.discord_token is None:
        raise BadInput("DISCORD_TOKEN is not set")
    if settings.discord_api_base:
        discord.http.Route.BASE = settings.discord_api_base.rstrip("/")
    if settings.discord_gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)
    bot = NewsBot(settings, AsyncLibrary(library))
    log.info("starting %s with data directory %s", describe_shards(bot.shard_ids, bot.shard_count), data_dir)
    try:
        bot.run(settings.discord_token.get_secret_value(), log_handler=None)  # the one place it is unwrapped
    except discord.LoginFailure:
        raise BadInput("Discord refused the token: check DISCORD_TOKEN") from None
    return 0
