"""The errors every layer raises and every shell turns into one sentence for the user.

:class:`BadInput` is the user's mistake (an empty question, an unknown id, a page with no
article); :class:`StoreError` is the data directory's trouble (a full disk, a damaged or busy
database). The CLI prints either as ``error: ...`` and exits 1; the bot answers privately.
"""

from __future__ import annotations


class BadInput(ValueError):
    """Input that cannot be used as given; the message is one sentence for the user."""


class StoreError(Exception):
    """The database cannot be used; the message names the file and what to do."""


class DuplicateArticle(BadInput):
    """The article is already stored (same text or same URL, or a near copy from an outlet it already names)."""

    def __init__(self, article_id: int, *, near: bool = False) -> None:
        """Name the existing article; ``near``: it is the same story nearly word for word, from the same outlet."""
        detail = " (the same story from the same outlet, nearly word for word)" if near else ""
        super().__init__(f"already in the articles as #{article_id}{detail}")
        self.article_id = article_id


class UnknownArticle(BadInput):
    """No article with that id is visible here."""

    def __init__(self, article_id: int) -> None:
        """Name the missing id."""
        super().__init__(f"there is no article #{article_id}")
        self.article_id = article_id
