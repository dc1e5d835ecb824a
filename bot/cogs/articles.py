"""Moderators curate the articles: ``/article add|remove|list|show``."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import may_moderate, moderator_only
from bot.pages import Pages
from bot.rendering import added_text, article_embed, article_list_embed, escaped, shorten
from corpus.errors import BadInput, StoreError
from corpus.ingest import Details

if TYPE_CHECKING:
    from bot.app import NewsBot

PER_PAGE = 10
#: A moderator's reaction with this emoji to a message holding a link adds the linked article.
NEWS_EMOJI = "📰"
_LINK = re.compile(r"https?://[^\s<>|]+")
log = logging.getLogger("bot")


class Articles(commands.Cog):
    """Adding, removing, listing and showing articles."""

    article = app_commands.Group(
        name="article",
        description="Add, remove and look at the articles I quote (moderators).",
        default_permissions=discord.Permissions(manage_messages=True),
        guild_only=True,
    )

    def __init__(self, bot: NewsBot) -> None:
        """Keep the bot."""
        self.bot = bot

    async def _own_articles(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[int]]:
        articles = await self.bot.core.list_articles(guild_id=interaction.guild_id)
        needle = current.lower().lstrip("#")
        matches = [a for a in articles if needle in a.title.lower() or needle == str(a.id)]
        # Discord shows choice names as plain text: cut to its 100 characters, not escaped (a backslash would show).
        return [app_commands.Choice(name=shorten(f"#{a.id} {a.title}", 100), value=a.id) for a in matches[-25:]]

    @article.command(name="add", description="Add an article: a link, an attached .txt/.md/.html file, or pasted text.")
    @app_commands.describe(
        text="The article's text, pasted",
        file="A .txt, .md or .html file with the article",
        url="The article's address; I fetch the page and keep its main text",
        title="Title (default: the page's title, or the file's first line)",
        source="Outlet, e.g. Reuters (default: the site's name)",
        date="Publication date, YYYY-MM-DD (default: the page's date)",
        replace="Update the article with the same link or text instead of refusing it",
    )
    @moderator_only()
    async def add(
        self,
        interaction: discord.Interaction,
        text: str | None = None,
        file: discord.Attachment | None = None,
        url: str | None = None,
        title: str | None = None,
        source: str | None = None,
        date: str | None = None,
        replace: bool = False,
    ) -> None:
        """Add an article to this server's articles and say what was added."""
        if sum(x is not None for x in (text, file, url)) != 1:
            raise BadInput("give exactly one of text, file or url")
        core = self.bot.core
        details = Details(title, source, date, url, str(interaction.user.id), interaction.guild_id)
        if file is not None:
            core.check_upload(file.filename, file.size)  # before downloading anything
        await interaction.response.defer(ephemeral=True, thinking=True)
        if url is not None:
            added = await core.add_url(url, details, replace=replace)
        elif file is not None:
            added = await core.add_upload(file.filename, await file.read(), details, replace=replace)
        else:
            added = await core.add_text(text or "", details, replace=replace)
        await interaction.followup.send(added_text(added), ephemeral=True)

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        """A moderator's 📰 on a message with a link adds that article for the server, as /article add url: does.

        The bot answers in the message's channel (or thread) with what was added or why not, and
        records it in the audit log. Anyone else's 📰, and any other emoji, does nothing.
        """
        member, me = payload.member, self.bot.user
        if payload.guild_id is None or member is None or member.bot or str(payload.emoji) != NEWS_EMOJI or me is None:
            return
        channel = self.bot.get_channel(payload.channel_id)
        if not isinstance(channel, discord.TextChannel | discord.Thread):
            return
        settings = self.bot.settings
        roles = {role.id for role in member.roles}
        if not may_moderate(
            channel.permissions_for(member), roles, settings.moderator_role_ids, settings.admin_role_ids
        ):
            log.info("guild=%s user=%s 📰 ignored: not a moderator", payload.guild_id, member.id)
            return
        message = await channel.fetch_message(payload.message_id)
        link = _LINK.search(message.content)
        outcome, detail = "ok", None
        try:
            if link is None:
                raise BadInput("that message holds no web address to add")
            url = link.group().rstrip(").,>")
            details = Details(None, None, None, url, str(member.id), payload.guild_id)
            text = added_text(await self.bot.core.add_url(url, details))
        except (BadInput, StoreError) as exc:
            outcome, detail = "bad-input", str(exc)
            text = escaped(f"Not added: {exc}.", 1900)
        await self.bot.core.record_action(
            actor=str(member.id),
            guild_id=payload.guild_id,
            action="article add (📰)",
            target=link.group() if link else None,
            outcome=outcome,
            detail=detail,
        )
        await message.reply(text, mention_author=False)

    @article.command(name="remove", description="Remove an article: it will never be quoted again.")
    @app_commands.describe(article="The article (start typing its title)")
    @moderator_only()
    async def remove(self, interaction: discord.Interaction, article: int) -> None:
        """Remove one of this server's articles."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        removed = await self.bot.core.remove_article(article, guild_id=interaction.guild_id)
        await interaction.followup.send(
            f"Removed article #{removed.id} “{escaped(removed.title, 200)}”. It will not be quoted again.",
            ephemeral=True,
        )

    @remove.autocomplete("article")
    async def remove_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[int]]:
        """Only the server's own articles whose title matches what is typed."""
        choices = await self._own_articles(interaction, current)
        owned = {a.id for a in await self.bot.core.list_articles(guild_id=interaction.guild_id) if a.guild_id}
        return [c for c in choices if c.value in owned]

    @article.command(name="list", description="List the articles this server's bot quotes.")
    @moderator_only()
    async def list_articles(self, interaction: discord.Interaction) -> None:
        """A paged list, privately."""
        articles = await self.bot.core.list_articles(guild_id=interaction.guild_id)
        pages = max(1, -(-len(articles) // PER_PAGE))
        embeds = [article_list_embed(articles, page, PER_PAGE) for page in range(pages)]
        view = Pages(interaction.user.id, embeds, "/article list")
        await interaction.response.send_message(embed=view.embed(), view=view, ephemeral=True)

    @article.command(name="show", description="Show an article's details and passages.")
    @app_commands.describe(article="The article (start typing its title)")
    @moderator_only()
    async def show(self, interaction: discord.Interaction, article: int) -> None:
        """One article, privately."""
        found, passages = await self.bot.core.get_article(article, guild_id=interaction.guild_id)
        await interaction.response.send_message(embed=article_embed(found, passages), ephemeral=True)

    @show.autocomplete("article")
    async def show_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[int]]:
        """Articles whose title matches what is typed."""
        return await self._own_articles(interaction, current)


async def setup(bot: NewsBot) -> None:
    """Add the cog."""
    await bot.add_cog(Articles(bot))
