"""Moderators curate the articles: ``/article add|remove|list|show``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import moderator_only
from bot.pages import Pages
from bot.rendering import article_embed, article_list_embed, escaped, shorten
from corpus.errors import BadInput
from corpus.ingest import Details
from corpus.readers import plural

if TYPE_CHECKING:
    from bot.app import NewsBot

PER_PAGE = 10


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
        verb = "Replaced" if added.replaced else "Added"
        await interaction.followup.send(
            f"{verb} article #{added.id} “{escaped(added.title, 200)}” ({plural(added.passages, 'passage')}).",
            ephemeral=True,
        )

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
