"""Discord cogs: each a thin shell over the core, reached through :class:`bot.core.AsyncLibrary`."""
