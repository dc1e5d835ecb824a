"""A topic's timeline: the articles that matter on it, oldest first, each with the sentence that does.

:meth:`index.library.Library.timeline` finds the passages with the same retrieval as ``ask``
and keeps the best one of each article; this module orders them and shapes what the shells show.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from index.answers import Quote, refusal_sentence
from index.questions import published_date

#: At most this many articles make a timeline (Discord shows them in pages).
TIMELINE_LIMIT = 40


@dataclass(frozen=True, slots=True)
class Timeline:
    """The dated quotes on a topic, oldest first (undated ones last), or a refusal."""

    topic: str
    entries: list[Quote] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # when empty: the topic's words no article holds

    @property
    def refusal(self) -> str:
        """What an empty timeline says, naming what no article mentions when that is clear."""
        return refusal_sentence(self.missing, "topic")

    def to_json(self) -> dict[str, object]:
        """The timeline as the CLI's ``--json`` prints it."""
        shown: dict[str, object] = {"topic": self.topic, "found": bool(self.entries)}
        if not self.entries:
            shown["refusal"] = self.refusal
        return shown | {"entries": [entry.to_json() for entry in self.entries]}


def in_date_order(quotes: list[Quote]) -> list[Quote]:
    """Oldest first by publication date; undated quotes last, in the order they came (best first)."""

    def when(quote: Quote) -> tuple[bool, date]:
        day = published_date(quote.published)
        return (day is None, day or date.max)

    return sorted(quotes, key=when)
