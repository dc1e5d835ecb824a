"""The parts the core is composed of, each behind a small typed interface.

:class:`index.library.Library` is handed one of each by :mod:`index.factory`, which picks the
backend from the settings; it never builds a concrete part itself. The embedded backend is
SQLite (``corpus/sqlite/``) with FAISS files beside it (``index/faiss_search.py``); a server
backend supplies the same four parts over one database.

- the **article store** holds articles, passages and their embeddings, and is the source of
  truth: every change is one transaction that bumps its generation number; it also keeps each
  article's near-copy band hashes and the other outlets' copies recorded against it;
- the **lexical search** ranks passages by the question's words (BM25);
- the **vector search** ranks passages by meaning, and answers from every change any process
  has committed (``catch_up``);
- the **activity log** keeps the answers shown, votes on them and the audit log;
- the **feed store** keeps the followed feeds, where their polling stands and which entries were seen.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from corpus.records import (
    Article,
    ArticleRows,
    AuditEntry,
    Changes,
    Copy,
    Feed,
    NewArticle,
    SeenEntry,
    StoredPassage,
    UnansweredQuestion,
)


class ArticleStore(Protocol):
    """Articles, passages and their embeddings: the source of truth."""

    def close(self) -> None:
        """Release the connection."""

    def generation(self) -> int:
        """How many changes have ever been committed."""

    def lineage(self) -> str:
        """The identity of this database (a restored copy gets a new one)."""

    def get_meta(self, key: str) -> str | None:
        """A stored setting, or None."""

    def set_meta(self, key: str, value: str) -> None:
        """Store a setting."""

    def find_duplicate(self, text: str, url: str | None, guild_id: int | None) -> int | None:
        """An article ``guild_id`` sees with the same text or canonical URL."""

    def near_copy_candidates(self, bands: Sequence[tuple[int, int]], guild_id: int | None) -> list[int]:
        """Articles ``guild_id`` sees sharing a MinHash band with a text (corpus/nearcopy.py), most shared first."""

    def record_copy(self, article_id: int, copy: NewArticle, similarity: float) -> int:
        """Record another outlet's copy of a stored story against it, in one transaction; the record's id."""

    def copies(self, article_ids: Iterable[int], guild_id: int | None) -> dict[int, list[Copy]]:
        """The recorded copies of these articles that ``guild_id`` sees, oldest first, by article id."""

    def index_near_copies(self) -> int:
        """Make every article's band hashes if the stored ones are missing or of another scheme; how many."""

    def add_articles(self, batch: Sequence[ArticleRows], model: str) -> list[tuple[int, list[int]]]:
        """Store articles with passages and embeddings in one transaction; (id, passage ids) each."""

    def replace_article(self, article_id: int, rows: ArticleRows, model: str) -> tuple[list[int], list[int]]:
        """Swap an article's text and passages in one transaction; (old, new) passage ids."""

    def remove_article(self, article_id: int, guild_id: int | None) -> tuple[Article, list[int]] | None:
        """Delete an article ``guild_id`` sees; it and its passage ids, or None."""

    def get_article(self, article_id: int, guild_id: int | None) -> Article | None:
        """One article ``guild_id`` sees."""

    def list_articles(self, guild_id: int | None) -> list[Article]:
        """Every article ``guild_id`` sees, oldest first."""

    def count_articles(self, guild_id: int | None) -> int:
        """How many articles ``guild_id`` sees."""

    def article_texts(self, article_ids: Iterable[int]) -> dict[int, str]:
        """The full texts of these articles, keyed by id (one removed meanwhile is left out)."""

    def article_passages(self, article_id: int) -> list[StoredPassage]:
        """An article's passages in reading order."""

    def passages_by_id(self, passage_ids: Iterable[int]) -> dict[int, StoredPassage]:
        """The passages that still exist, by id."""

    def visible_passages(self, passage_ids: Iterable[int], guild_id: int | None) -> dict[int, StoredPassage]:
        """The passages ``guild_id`` may see, by id."""

    def visible_ids(self, passage_ids: Iterable[int], guild_id: int | None) -> set[int]:
        """Which of these passages ``guild_id`` may see."""

    def all_passage_texts(self) -> list[tuple[int, str]]:
        """Every passage's id and text (for re-embedding)."""

    def snapshot(self, model: str) -> tuple[int, np.ndarray, np.ndarray]:
        """(generation, passage ids, vectors) of every embedding by ``model``, read at one moment."""

    def changes_since(self, generation: int, model: str) -> Changes | None:
        """What happened to the embedded passages after ``generation``; None when no longer known."""

    def trim_log(self) -> None:
        """Forget the oldest changes once there are many."""

    def embedding_models(self) -> dict[str, int]:
        """How many passages each model has embedded."""

    def replace_embeddings(
        self, passage_ids: np.ndarray, vectors: np.ndarray, sentence_vectors: Sequence[np.ndarray], model: str
    ) -> None:
        """Swap in new embeddings for every passage in one transaction."""

    def sentence_vectors(self, passage_ids: Sequence[int], model: str) -> dict[int, np.ndarray]:
        """Each passage's stored sentence vectors, by id."""

    def lede_vectors(self, article_ids: Iterable[int], model: str) -> dict[int, np.ndarray]:
        """The vector of each article's first passage, by article id."""

    def publication_dates(self) -> list[str]:
        """Every distinct publication date the articles carry."""

    def counts(self) -> tuple[int, int]:
        """(articles, passages)."""

    def backup_to(self, target: Path) -> None:
        """A consistent copy, taken while writers carry on."""

    def integrity_check(self) -> str:
        """The engine's own verdict: "ok" when healthy."""


class LexicalSearch(Protocol):
    """Passages ranked by the question's words."""

    def search(self, question: str, k: int, guild_id: int | None) -> list[tuple[int, float]]:
        """The ``k`` best (passage id, BM25) that ``guild_id`` may see, best first."""

    def spelling_fixes(self, question: str) -> dict[str, str]:
        """Misspelt words mapped to the term the passages hold that was meant: a typing slip first, else the closest."""

    def missing_words(self, question: str) -> list[str]:
        """The question's content words that no passage holds."""


class VectorSearch(Protocol):
    """Passages ranked by meaning, reflecting every committed change of every process."""

    def search(self, vector: np.ndarray, k: int, guild_id: int | None) -> list[tuple[int, float]]:
        """The ``k`` nearest (passage id, cosine) that ``guild_id`` may see, best first."""

    def size(self) -> int:
        """How many passages are searchable."""

    def catch_up(self) -> None:
        """Take in every change committed since the last call, by any process."""

    def commit(self) -> None:
        """After this process changed the articles: catch up and persist whatever must be."""

    def reload(self) -> None:
        """After every passage was re-embedded: start afresh from the stored embeddings."""

    def close(self) -> None:
        """Release what the search holds of its own (a connection)."""


class ActivityLog(Protocol):
    """What the bot showed, what people thought of it, what moderators and admins did and set, and its threads."""

    def log_answer(self, guild_id: int | None, user_id: str | None, question: str, passage_ids: list[int]) -> int:
        """Record a shown answer; its id."""

    def logged_answer(self, answer_id: int) -> tuple[int | None, str, list[int]] | None:
        """(guild, question, passage ids shown) of a recorded answer."""

    def record_vote(self, answer_id: int, user_id: str, vote: int) -> None:
        """Store or change one person's vote."""

    def votes(self, answer_id: int) -> dict[str, int]:
        """Every vote on an answer, by user."""

    def unanswered(
        self, guild_id: int | None, since: str, *, limit: int, everywhere: bool = False
    ) -> list[UnansweredQuestion]:
        """Questions asked in one server (or everywhere) since ``since``, refused or voted down, newest first."""

    def log_action(
        self,
        *,
        guild_id: int | None,
        actor: str,
        action: str,
        target: str | None,
        outcome: str,
        detail: str | None = None,
    ) -> None:
        """Record who did what, where, and how it ended."""

    def audit_log(self, guild_id: int | None, *, limit: int = 50, everywhere: bool = False) -> list[AuditEntry]:
        """The latest actions, newest first."""

    def set_channel_mode(self, guild_id: int, channel_id: int, mode: str, set_by: str) -> None:
        """Store how the bot listens in a channel."""

    def channel_modes(self, guild_id: int | None, channel_id: int | None = None) -> dict[int, str]:
        """The modes set in a server (or for one channel of it, or everywhere when ``guild_id`` is None), by channel."""

    def remember_thread(self, thread_id: int, guild_id: int | None, channel_id: int | None, question: str) -> None:
        """Record a thread the bot started, or the latest question asked in it."""

    def thread_question(self, thread_id: int) -> str | None:
        """The latest question of a thread the bot started, or None for any other channel."""


class FeedStore(Protocol):
    """The followed feeds, where their polling stands, and every entry a poll has dealt with.

    Times are ISO 8601 in UTC with seconds (``2024-05-01T10:00:00+00:00``), so they compare as text.
    None of these changes the articles: the generation is not bumped.
    """

    def add_feed(
        self, url: str, url_key: str, title: str | None, guild_id: int | None, added_by: str | None, now: str
    ) -> int:
        """Follow a feed, due at once; its id."""

    def find_feed(self, url_key: str, guild_id: int | None) -> int | None:
        """The feed of this server with this canonical URL."""

    def get_feed(self, feed_id: int) -> Feed | None:
        """One feed."""

    def list_feeds(self, guild_id: int | None, *, everywhere: bool = False) -> list[Feed]:
        """The feeds of one server (or every feed), oldest first."""

    def remove_feed(self, feed_id: int) -> None:
        """Stop following a feed and forget its entries (its articles stay)."""

    def due_feeds(self, now: str) -> list[Feed]:
        """The feeds whose next poll is due, the longest due first."""

    def claim_feed(self, feed_id: int, now: str, until: str, *, force: bool = False) -> bool:
        """Take a feed for one poll (due, or any with ``force``) by pushing its next poll to ``until``, atomically.

        False when another poll took it first; a poll that dies lets the claim lapse at ``until``.
        """

    def finish_poll(
        self,
        feed_id: int,
        *,
        now: str,
        next_poll_at: str,
        failures: int,
        error: str | None,
        etag: str | None,
        last_modified: str | None,
        title: str | None,
    ) -> None:
        """Record how a poll ended and when the next is due."""

    def seen_entries(self, feed_id: int, entry_ids: Sequence[str], links: Sequence[str]) -> list[SeenEntry]:
        """The entries of this feed already dealt with that have one of these ids or canonical links."""

    def mark_entry(self, feed_id: int, entry: SeenEntry, *, detail: str | None, now: str) -> None:
        """Record what became of an entry (replacing an earlier try)."""


@dataclass(frozen=True, slots=True)
class Parts:
    """One of each part, over one data set."""

    store: ArticleStore
    lexical: LexicalSearch
    vectors: VectorSearch
    activity: ActivityLog
    feeds: FeedStore

    def close(self) -> None:
        """Close the vector search's own connection (where it has one), then the store's."""
        try:
            self.vectors.close()
        finally:
            self.store.close()
