"""Previous / Next buttons over pages of embeds, for whoever asked for them."""

from __future__ import annotations

import discord


class Pages(discord.ui.View):
    """Pages through ``embeds``; only ``owner_id`` may turn them, others are told how to get their own."""

    def __init__(self, owner_id: int, embeds: list[discord.Embed], command: str, page: int = 0) -> None:
        """Show ``embeds[page]`` first; ``command`` is what others should run ("/article list")."""
        super().__init__(timeout=600)
        self.owner_id, self.embeds, self.command = owner_id, embeds, command
        self.page = min(max(page, 0), len(embeds) - 1)
        self._sync()

    def _sync(self) -> None:
        self.previous.disabled = self.page <= 0
        self.next.disabled = self.page >= len(self.embeds) - 1

    def embed(self) -> discord.Embed:
        """The current page."""
        return self.embeds[self.page]

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Only whoever asked may page."""
        if interaction.user.id != self.owner_id:
            await interaction.response.send_message(f"Run {self.command} to page yourself.", ephemeral=True)
            return False
        return True

    async def _turn(self, interaction: discord.Interaction, step: int) -> None:
        self.page = min(max(self.page + step, 0), len(self.embeds) - 1)
        self._sync()
        await interaction.response.edit_message(embed=self.embed(), view=self)

    @discord.ui.button(label="Previous", style=discord.ButtonStyle.secondary)
    async def previous(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        """One page back."""
        await self._turn(interaction, -1)

    @discord.ui.button(label="Next", style=discord.ButtonStyle.secondary)
    async def next(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        """One page on."""
        await self._turn(interaction, 1)
