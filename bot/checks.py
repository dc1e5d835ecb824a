"""Who may do what. The bot enforces this itself in checks.

The command groups also set ``default_permissions`` so that Discord hides them
from members, but a server can change those, so they are never relied on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import discord
from discord import app_commands

if TYPE_CHECKING:
    from bot.app import NewsBot
    from index.settings import Settings

T = TypeVar("T")


class NotInServer(app_commands.CheckFailure):
    """The command only works inside a server."""

    message = "This command only works inside a server."


class NotModerator(app_commands.CheckFailure):
    """The user is not a moderator here."""

    message = "Only moderators (Manage Messages, or a moderator role) can change the articles."


class NotAdmin(app_commands.CheckFailure):
    """The user is not an admin here."""

    message = "Only admins (Administrator, Manage Server, or an admin role) can do that."


class SilentHere(app_commands.CheckFailure):
    """An admin set this channel to ``off``; the message says where to ask instead."""

    def __init__(self, elsewhere: list[int]) -> None:
        """Name up to five channels where the bot answers (those set to auto or mention)."""
        where = ", ".join(f"<#{channel_id}>" for channel_id in elsewhere[:5]) or "another channel"
        self.message = f"I don't answer questions in this channel; ask in {where}."
        super().__init__(self.message)


def answers_here() -> Callable[[T], T]:
    """Refuse a question in a channel whose mode is ``off``, saying where to ask."""

    async def predicate(interaction: discord.Interaction) -> bool:
        bot: NewsBot = interaction.client  # type: ignore[assignment]
        if interaction.guild_id is None or interaction.channel_id is None:
            return True
        if bot.core.channel_mode(interaction.channel_id) != "off":
            return True
        modes = await bot.core.channel_modes(guild_id=interaction.guild_id)
        raise SilentHere(sorted(channel for channel, mode in modes.items() if mode != "off"))

    return app_commands.check(predicate)


def _role_ids(interaction: discord.Interaction) -> set[int]:
    member = interaction.user
    return {role.id for role in member.roles} if isinstance(member, discord.Member) else set()


def may_administer(permissions: discord.Permissions, role_ids: set[int], admin_roles: frozenset[int]) -> bool:
    """Administrator or Manage Server, or one of the configured admin roles."""
    return permissions.administrator or permissions.manage_guild or bool(role_ids & admin_roles)


def may_moderate(
    permissions: discord.Permissions, role_ids: set[int], moderator_roles: frozenset[int], admin_roles: frozenset[int]
) -> bool:
    """Manage Messages or a moderator role; admins are moderators too."""
    return (
        permissions.manage_messages
        or bool(role_ids & moderator_roles)
        or may_administer(permissions, role_ids, admin_roles)
    )


def is_admin(interaction: discord.Interaction, settings_admin_roles: frozenset[int]) -> bool:
    """Whoever runs this command may administer the bot in this server."""
    return may_administer(interaction.permissions, _role_ids(interaction), settings_admin_roles)


def is_moderator(
    interaction: discord.Interaction, moderator_roles: frozenset[int], admin_roles: frozenset[int]
) -> bool:
    """Whoever runs this command may change the articles in this server."""
    return may_moderate(interaction.permissions, _role_ids(interaction), moderator_roles, admin_roles)


def _settings(interaction: discord.Interaction) -> Settings:
    bot: NewsBot = interaction.client  # type: ignore[assignment]
    return bot.settings


def moderator_only() -> Callable[[T], T]:
    """Refuse anyone who is not a moderator in this server, in a DM too."""

    async def predicate(interaction: discord.Interaction) -> bool:
        if interaction.guild_id is None:
            raise NotInServer
        settings = _settings(interaction)
        if not is_moderator(interaction, settings.moderator_role_ids, settings.admin_role_ids):
            raise NotModerator
        return True

    return app_commands.check(predicate)


def admin_only() -> Callable[[T], T]:
    """Refuse anyone who is not an admin in this server, in a DM too."""

    async def predicate(interaction: discord.Interaction) -> bool:
        if interaction.guild_id is None:
            raise NotInServer
        if not is_admin(interaction, _settings(interaction).admin_role_ids):
            raise NotAdmin
        return True

    return app_commands.check(predicate)
