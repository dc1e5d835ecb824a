"""The one async boundary (bot/core.py) over a real Library and the real model: the event loop never waits on the core."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from bot.core import AsyncLibrary
from corpus.errors import UnknownArticle
from index.library import Library

QUESTION = "who did Ratcliffe blame?"
WAIT_S = 60  # far longer than any step here takes; only reached when the loop is blocked


def test_a_slow_call_runs_off_the_event_loop(library: Library, monkeypatch: pytest.MonkeyPatch) -> None:
    """While a core call runs, it is on a worker thread and the event loop keeps ticking (it could not finish otherwise)."""
    ask = library.ask
    ticked = threading.Event()
    threads: list[int] = []

    def slow_ask(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.get_ident())
        # Finishes only once the loop has ticked: had this run on the loop's thread, nothing could tick.
        assert ticked.wait(WAIT_S), "the event loop did not tick while the call ran"
        return ask(*args, **kwargs)

    monkeypatch.setattr(library, "ask", slow_ask)

    async def scenario() -> tuple[Any, int, int]:
        core = AsyncLibrary(library)
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while ticks < 5:
                await asyncio.sleep(0.01)
                ticks += 1
            ticked.set()

        answer, _ = await asyncio.gather(core.ask(QUESTION, guild_id=None), ticker())
        return answer, ticks, threading.get_ident()

    answer, ticks, loop_thread = asyncio.run(scenario())
    assert answer.answered and "Ratcliffe" in answer.quotes[0].text
    assert ticks == 5 and threads and threads[0] != loop_thread


def test_questions_are_answered_while_a_rebuild_runs(library: Library) -> None:
    """A rebuild paused half-way on its worker does not stop /ask: the question is answered from the index meanwhile."""
    answered = threading.Event()
    seen: list[tuple[int, int]] = []

    def progress(done: int, total: int) -> None:  # on the rebuild's worker thread, mid-rebuild
        seen.append((done, total))
        assert answered.wait(WAIT_S), "no question was answered while the rebuild ran"

    async def scenario() -> tuple[int, Any]:
        core = AsyncLibrary(library)
        rebuild = asyncio.create_task(core.rebuild(progress))
        while not seen:  # the rebuild has embedded everything and now waits in progress()
            await asyncio.sleep(0.01)
        answer = await core.ask(QUESTION, guild_id=None)
        answered.set()
        return await rebuild, answer

    count, answer = asyncio.run(scenario())
    assert answer.answered and "Ratcliffe" in answer.quotes[0].text
    assert count == library.stats().passages == seen[-1][1] > 0


def test_questions_do_not_queue_behind_changes_that_fill_every_worker(library: Library) -> None:
    """Three rebuilds under way at once, more than there are question workers: /ask is still answered at once."""
    answered = threading.Event()
    started: list[int] = []

    def progress(done: int, total: int) -> None:  # each rebuild waits here, holding its thread, until answered
        started.append(threading.get_ident())
        assert answered.wait(WAIT_S), "the question waited behind the rebuilds"

    async def scenario() -> tuple[list[int], Any]:
        core = AsyncLibrary(library, workers=3)
        rebuilds = [asyncio.create_task(core.rebuild(progress)) for _ in range(3)]
        while not started:  # the first rebuild holds its thread; the others hold theirs or wait for one
            await asyncio.sleep(0.01)
        answer = await core.ask(QUESTION, guild_id=None)
        answered.set()
        return list(await asyncio.gather(*rebuilds)), answer

    counts, answer = asyncio.run(scenario())
    assert answer.answered and "Ratcliffe" in answer.quotes[0].text
    assert counts == [library.stats().passages] * 3


def test_errors_reach_the_caller_unchanged(library: Library) -> None:
    """A refusal raised on a worker thread reaches the awaiting cog as the same typed error, message and all."""

    async def scenario() -> None:
        await AsyncLibrary(library).remove_article(987_654, guild_id=None)

    with pytest.raises(UnknownArticle, match="there is no article #987654") as refused:
        asyncio.run(scenario())
    assert refused.value.article_id == 987_654


def test_close_lets_a_running_call_finish_before_closing_the_database(
    library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    """close() waits for the call in flight, which answers from the open database, and only then closes it."""
    events: list[str] = []
    started = threading.Event()
    stats, close = library.stats, library.close

    def slow_stats() -> Any:
        started.set()
        time.sleep(0.3)
        result = stats()
        events.append("call finished")
        return result

    def recorded_close() -> None:
        events.append("database closed")
        close()

    monkeypatch.setattr(library, "stats", slow_stats)
    monkeypatch.setattr(library, "close", recorded_close)

    async def scenario() -> Any:
        core = AsyncLibrary(library)
        call = asyncio.create_task(core.stats())
        while not started.is_set():
            await asyncio.sleep(0.01)
        core.close()  # as NewsBot.close does, after disconnecting
        return await call

    result = asyncio.run(scenario())
    assert result.articles == 1 and result.passages > 0
    assert events == ["call finished", "database closed"]


def test_warm_up_loads_the_model_and_reports_the_articles(library: Library) -> None:
    """warm_up embeds once on a worker (the model is loaded before the first question) and returns the counts."""
    encoded = library.encoder.encoded  # type: ignore[attr-defined]  # the conftest's counting encoder
    stats = asyncio.run(AsyncLibrary(library).warm_up())
    assert stats.articles == 1 and stats.passages == library.stats().passages
    assert library.encoder.encoded == encoded + 1  # type: ignore[attr-defined]


def test_channel_modes_are_read_without_waiting_and_follow_other_processes(
    library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A mode set here is seen at once; one set by another process is seen once the copy is older than its TTL."""
    import bot.core

    async def scenario() -> list[str]:
        core = AsyncLibrary(library)
        await core.warm_up()
        seen = [core.channel_mode(7)]
        await core.set_channel_mode(guild_id=1, channel_id=7, mode="auto", actor="admin")
        seen.append(core.channel_mode(7))
        library.set_channel_mode(guild_id=1, channel_id=7, mode="off", actor="cli")  # as another process would
        seen.append(core.channel_mode(7))  # still the copy: the TTL has not passed
        monkeypatch.setattr(bot.core, "MODES_TTL_S", 0.0)
        core.channel_mode(7)  # starts a refresh in the background
        assert core._modes_refresh is not None
        await core._modes_refresh
        seen.append(core.channel_mode(7))
        core._pool.shutdown(wait=True)
        return seen

    assert asyncio.run(scenario()) == ["mention", "auto", "auto", "off"]
