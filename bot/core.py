"""The one async boundary: every model, FAISS and SQLite call reaches the event loop through here.

Cogs hold an :class:`AsyncLibrary` and never touch :class:`index.library.Library`
directly, so no blocking work can run on the event loop and stall the gateway
heartbeat. Questions and reads run on a small pool of worker threads; moderators'
and admins' changes (adds, which may fetch a slow page, removals, rebuilds) on a
pool of their own, so however many of them are under way, questions never queue
behind them. The library serialises what must be serialised, so a rebuild leaves
the question workers free to answer from the old index.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from corpus.errors import StoreError
from corpus.ingest import Details
from corpus.records import DEFAULT_CHANNEL_MODE, Article, AuditEntry, Feed, StoredPassage
from index.answers import Answer
from index.feeds import PollReport
from index.gaps import Gap
from index.library import AddedArticle, Library, Progress, Stats
from index.timeline import Timeline

P = ParamSpec("P")
T = TypeVar("T")


log = logging.getLogger("bot")

#: How old this process's copy of the channel modes may grow before it is read again (seconds).
MODES_TTL_S = 30.0


async def _on(pool: ThreadPoolExecutor, call: Callable[[], T]) -> T:
    """Run ``call`` on one of ``pool``'s threads and await it, the event loop free meanwhile."""
    return await asyncio.get_running_loop().run_in_executor(pool, call)


class AsyncLibrary:
    """Awaitable versions of the :class:`Library` calls the bot uses."""

    def __init__(self, library: Library, *, workers: int = 3) -> None:
        """Wrap ``library`` with ``workers`` threads."""
        self.library = library
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="core")
        # Changes take a write lock one at a time anyway: two threads let one fetch a page while another writes.
        self._changes = ThreadPoolExecutor(max_workers=2, thread_name_prefix="changes")
        # Feed polls run for minutes: on a thread of their own, so questions keep every worker.
        self._feed_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="feeds")
        self._modes: dict[int, str] = {}  # channel id -> mode, as last read (see channel_mode)
        self._modes_read_at = float("-inf")
        self._modes_refresh: asyncio.Task[None] | None = None
        self._stop_polling = threading.Event()

    async def _run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return await _on(self._pool, functools.partial(fn, *args, **kwargs))

    async def _change(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return await _on(self._changes, functools.partial(fn, *args, **kwargs))

    def close(self) -> None:
        """Finish running calls (a feed poll stops after its current entry), then close the database."""
        self._stop_polling.set()
        self._feed_pool.shutdown(wait=True, cancel_futures=True)
        self._changes.shutdown(wait=True)
        self._pool.shutdown(wait=True)
        self.library.close()

    async def warm_up(self) -> Stats:
        """Load the model and the index before the first question arrives."""
        await self._run(self.library.encoder.encode, ["warm up"])
        await self.refresh_channel_modes()
        stats = await self._run(self.library.stats)
        # The model's libraries leave some 400,000 objects that live as long as the process; a full
        # garbage collection walking them held every thread, the event loop's too, for 0.7-1 s
        # (measured with the Reuters corpus open). Frozen, later collections walk only newer objects.
        gc.freeze()
        return stats

    async def ask(self, question: str, *, guild_id: int | None, k: int = 3, previous: str | None = None) -> Answer:
        """Answer a question for one server (a follow-up of ``previous`` in a conversation)."""
        return await self._run(self.library.ask, question, k=k, guild_id=guild_id, previous=previous)

    async def timeline(self, topic: str, *, guild_id: int | None) -> Timeline:
        """A topic's dated articles for one server, oldest first."""
        return await self._run(self.library.timeline, topic, guild_id=guild_id)

    async def gaps(self, *, guild_id: int | None, days: int) -> list[Gap]:
        """One server's unanswered questions, grouped, most asked first."""
        return await self._run(self.library.gaps, guild_id=guild_id, days=days)

    async def set_channel_mode(self, *, guild_id: int, channel_id: int, mode: str, actor: str) -> None:
        """Set how the bot listens in a channel (this process's copy of the modes follows at once)."""
        await self._run(self.library.set_channel_mode, guild_id=guild_id, channel_id=channel_id, mode=mode, actor=actor)
        self._modes[channel_id] = mode

    def channel_mode(self, channel_id: int) -> str:
        """How the bot listens in a channel, from this process's copy of the modes: it never waits.

        A question's acknowledgement depends on it, and the worker threads may be busy with a
        rebuild. The copy is refreshed in the background once it is MODES_TTL_S old, so a change
        made by another process (a shard, the CLI) is seen within that time.
        """
        stale = time.monotonic() - self._modes_read_at > MODES_TTL_S
        if stale and (self._modes_refresh is None or self._modes_refresh.done()):
            self._modes_refresh = asyncio.get_running_loop().create_task(self.refresh_channel_modes())
        return self._modes.get(channel_id, DEFAULT_CHANNEL_MODE)

    async def refresh_channel_modes(self) -> None:
        """Read every channel's mode into this process's copy."""
        read_at = time.monotonic()
        try:
            self._modes = await self._run(self.library.channel_modes, guild_id=None)
        except RuntimeError:  # the workers were shut down: the bot is stopping, the old copy will do
            return
        except StoreError as exc:  # the database did not answer: keep the old copy, try again next time
            log.warning("could not read the channel modes: %s", exc)
            return
        self._modes_read_at = read_at

    async def channel_modes(self, *, guild_id: int) -> dict[int, str]:
        """The modes set in a server, by channel."""
        return await self._run(self.library.channel_modes, guild_id=guild_id)

    async def remember_thread(
        self, thread_id: int, *, guild_id: int | None, channel_id: int | None, question: str
    ) -> None:
        """Record a thread the bot started, or its latest question."""
        await self._run(
            self.library.remember_thread, thread_id, guild_id=guild_id, channel_id=channel_id, question=question
        )

    async def open_thread(self, answer_id: int, thread_id: int, *, guild_id: int | None, channel_id: int | None) -> str:
        """Remember a thread opened from a shown answer; its question."""
        return await self._run(self.library.open_thread, answer_id, thread_id, guild_id=guild_id, channel_id=channel_id)

    async def thread_question(self, thread_id: int) -> str | None:
        """The latest question of a thread the bot started, or None."""
        return await self._run(self.library.thread_question, thread_id)

    async def log_answer(self, answer: Answer, *, guild_id: int | None, user_id: str) -> int:
        """Remember an answer that was shown; return its id."""
        return await self._run(self.library.log_answer, answer, guild_id=guild_id, user_id=user_id)

    async def more_sources(self, answer_id: int, *, guild_id: int | None) -> Answer:
        """The next quotes for a shown answer."""
        return await self._run(self.library.more_sources, answer_id, guild_id=guild_id)

    async def record_vote(self, answer_id: int, *, guild_id: int | None, user_id: str, vote: int) -> None:
        """Record a 👍 or 👎 on an answer shown in this server."""
        await self._run(self.library.record_vote, answer_id, guild_id=guild_id, user_id=user_id, vote=vote)

    def check_upload(self, name: str, size: int) -> None:
        """Refuse an attachment by its name and declared size, before downloading it (no I/O)."""
        self.library.check_upload(name, size)

    async def add_text(self, text: str, details: Details, *, replace: bool = False) -> AddedArticle:
        """Add pasted text."""
        return await self._change(self.library.add_text, text, details, replace=replace)

    async def add_upload(self, name: str, data: bytes, details: Details, *, replace: bool = False) -> AddedArticle:
        """Add an attachment's bytes."""
        return await self._change(self.library.add_upload, name, data, details, replace=replace)

    async def add_url(self, url: str, details: Details, *, replace: bool = False) -> AddedArticle:
        """Add a web page's article (fetched and extracted on a worker thread)."""
        return await self._change(self.library.add_url, url, details, replace=replace)

    async def remove_article(self, article_id: int, *, guild_id: int | None) -> Article:
        """Remove an article visible to the server."""
        return await self._change(self.library.remove_article, article_id, guild_id=guild_id)

    async def list_articles(self, *, guild_id: int | None) -> list[Article]:
        """The articles a server sees."""
        return await self._run(self.library.list_articles, guild_id=guild_id)

    async def get_article(self, article_id: int, *, guild_id: int | None) -> tuple[Article, list[StoredPassage]]:
        """One article and its passages."""
        return await self._run(self.library.get_article, article_id, guild_id=guild_id)

    async def count_articles(self, *, guild_id: int | None) -> int:
        """How many articles a server sees."""
        return await self._run(self.library.count_articles, guild_id=guild_id)

    async def record_action(
        self, *, actor: str, guild_id: int | None, action: str, target: str | None, outcome: str, detail: str | None
    ) -> None:
        """Add an entry to the audit log."""
        await self._run(
            self.library.record_action,
            actor=actor,
            guild_id=guild_id,
            action=action,
            target=target,
            outcome=outcome,
            detail=detail,
        )

    async def audit_log(self, *, guild_id: int | None, limit: int = 20) -> list[AuditEntry]:
        """The server's latest moderator and admin actions."""
        return await self._run(self.library.audit_log, guild_id=guild_id, limit=limit)

    async def stats(self) -> Stats:
        """Counts, model, data directory."""
        return await self._run(self.library.stats)

    async def rebuild(self, progress: Progress | None = None) -> int:
        """Re-embed everything; questions keep being answered from the old index meanwhile."""
        return await self._change(self.library.rebuild, progress)

    async def follow_feed(self, url: str, *, guild_id: int | None, added_by: str) -> Feed:
        """Follow a feed for a server (fetched and read once, to refuse what is not a feed)."""
        return await self._change(self.library.follow_feed, url, guild_id=guild_id, added_by=added_by)

    async def unfollow_feed(self, feed_id: int, *, guild_id: int | None) -> Feed:
        """Stop following one of the server's feeds."""
        return await self._change(self.library.unfollow_feed, feed_id, guild_id=guild_id)

    async def list_feeds(self, *, guild_id: int | None) -> list[Feed]:
        """The feeds a server follows."""
        return await self._run(self.library.list_feeds, guild_id=guild_id)

    async def poll_feeds(self) -> PollReport:
        """Poll the feeds that are due, on the feed thread; each new entry is added like /article add url:."""
        poll = functools.partial(self.library.poll_feeds, actor="bot", stop=self._stop_polling)
        return await _on(self._feed_pool, poll)
