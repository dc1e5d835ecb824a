"""Who may do what: moderators and admins by Discord permission or configured role, refused in DMs.

The Discord objects are autospecs of the real discord.py classes, so a check that reads an
attribute Discord does not have fails here; permissions are real ``discord.Permissions``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from unittest.mock import create_autospec

import discord
import pytest

from bot.app import NewsBot
from bot.checks import NotAdmin, NotInServer, NotModerator, admin_only, is_admin, is_moderator, moderator_only
from index.settings import Settings

MODERATOR_ROLE, ADMIN_ROLE, OTHER_ROLE = 111, 222, 333


def interaction(
    *, roles: tuple[int, ...] = (), guild_id: int | None = 42, in_guild: bool = True, **permissions: bool
) -> Any:
    """An interaction from a member with these role ids and channel permissions (a plain user in a DM)."""
    fake = create_autospec(discord.Interaction, instance=True)
    fake.permissions = discord.Permissions(**permissions)
    fake.guild_id = guild_id
    if in_guild:
        member = create_autospec(discord.Member, instance=True)
        member.roles = [_role(role_id) for role_id in roles]
        fake.user = member
    else:
        fake.user = create_autospec(discord.User, instance=True)
    bot = create_autospec(NewsBot, instance=True)
    bot.settings = Settings(moderator_role_ids=frozenset({MODERATOR_ROLE}), admin_role_ids=frozenset({ADMIN_ROLE}))
    fake.client = bot
    return fake


def _role(role_id: int) -> Any:
    role = create_autospec(discord.Role, instance=True)
    role.id = role_id
    return role


def predicate(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """The predicate a check decorator attaches to a command."""

    async def command(interaction: discord.Interaction) -> None:
        """A command to decorate."""

    check(command)
    (found,) = command.__discord_app_commands_checks__  # type: ignore[attr-defined]
    return found


MODS, ADMINS = frozenset({MODERATOR_ROLE}), frozenset({ADMIN_ROLE})


@pytest.mark.parametrize(
    ("who", "moderator", "admin"),
    [
        ({}, False, False),
        ({"roles": (OTHER_ROLE,)}, False, False),
        ({"send_messages": True, "kick_members": True}, False, False),
        ({"manage_messages": True}, True, False),
        ({"roles": (MODERATOR_ROLE,)}, True, False),
        ({"administrator": True}, True, True),
        ({"manage_guild": True}, True, True),
        ({"roles": (ADMIN_ROLE,)}, True, True),
        ({"roles": (OTHER_ROLE, ADMIN_ROLE)}, True, True),
    ],
)
def test_permission_decisions(who: dict[str, Any], moderator: bool, admin: bool) -> None:
    """Moderator: Manage Messages or a moderator role (or admin); admin: Administrator, Manage Server or an admin role."""
    asking = interaction(**who)
    assert is_moderator(asking, MODS, ADMINS) is moderator
    assert is_admin(asking, ADMINS) is admin


def test_roles_count_only_when_configured() -> None:
    """The same member is no moderator or admin once their role is not among the configured ids."""
    asking = interaction(roles=(MODERATOR_ROLE, ADMIN_ROLE))
    assert is_moderator(asking, MODS, ADMINS) and is_admin(asking, ADMINS)
    assert not is_moderator(asking, frozenset(), frozenset()) and not is_admin(asking, frozenset())


def test_a_user_outside_a_server_has_no_roles() -> None:
    """A discord.User (no member roles) is judged by permissions alone."""
    asking = interaction(in_guild=False)
    assert not is_moderator(asking, MODS, ADMINS) and not is_admin(asking, ADMINS)


@pytest.mark.parametrize(
    ("check", "who", "refusal"),
    [
        (moderator_only, {}, NotModerator),
        (moderator_only, {"roles": (OTHER_ROLE,)}, NotModerator),
        (moderator_only, {"guild_id": None, "manage_messages": True}, NotInServer),
        (admin_only, {"manage_messages": True}, NotAdmin),
        (admin_only, {"roles": (MODERATOR_ROLE,)}, NotAdmin),
        (admin_only, {"guild_id": None, "administrator": True}, NotInServer),
    ],
)
def test_checks_refuse_with_their_sentence(check: Callable[[], Any], who: dict[str, Any], refusal: type) -> None:
    """The command checks read the bot's settings and refuse with the typed failure the error handler words."""
    with pytest.raises(refusal):
        asyncio.run(predicate(check())(interaction(**who)))


@pytest.mark.parametrize(
    ("check", "who"),
    [
        (moderator_only, {"manage_messages": True}),
        (moderator_only, {"roles": (MODERATOR_ROLE,)}),
        (moderator_only, {"roles": (ADMIN_ROLE,)}),
        (admin_only, {"manage_guild": True}),
        (admin_only, {"roles": (ADMIN_ROLE,)}),
    ],
)
def test_checks_let_the_right_members_through(check: Callable[[], Any], who: dict[str, Any]) -> None:
    """Moderators pass moderator_only, admins both, by permission or by a configured role."""
    assert asyncio.run(predicate(check())(interaction(**who))) is True
