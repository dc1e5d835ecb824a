"""The bot as several shards: real bot processes, each with its own shards, over one database, through the stand-in.

Discord sends a guild's events only to the session of the shard ``(guild_id >> 22) % shard_count``,
so each process answers its own guilds; what they share is the database (here one PostgreSQL),
so an article added or removed anywhere is seen by every process at once.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from index.factory import DATABASE
from tests.bot.standin import Call, Guild, Member, Sent, StandInDiscord, shard_of
from tests.bot.test_bot_process import TOKEN
from tests.conftest import REPO

ARTICLE_TITLE = "Quillfeather County recount"
ARTICLE = (
    "Quillfeather County certified its ballots on Friday after a full hand recount, the county election board said.\n\n"
    "Officials in Quillfeather County said the hand recount matched the machine totals within three votes."
)
QUESTION = "did Quillfeather County certify its ballots after the recount"
BOT_ARTICLE_TITLE = "Brackenmoor audit"
BOT_ARTICLE = (
    "Brackenmoor election officials finished a risk-limiting audit of the ballots on Tuesday, the state said.\n\n"
    "The Brackenmoor audit found no discrepancy between the paper ballots and the reported results."
)
BOT_QUESTION = "what did the Brackenmoor audit find"
BUILT_IN_QUESTION = "who did Ratcliffe blame?"


@dataclass
class ShardProcess:
    """One bot process and the shards it runs."""

    shard_ids: tuple[int, ...]
    proc: subprocess.Popen[bytes]
    log: Path

    def log_text(self) -> str:
        """What the process has logged so far."""
        return self.log.read_text(errors="replace")


class Shards:
    """The stand-in Discord and the bot processes that serve its guilds, each over the same database."""

    def __init__(self, base: Path, env: dict[str, str], shard_count: int) -> None:
        """Hold the pieces; guilds are added before :meth:`start`."""
        self.base, self.shard_count = base, shard_count
        self.discord = StandInDiscord()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD", "MODERATOR", "ADMIN", "SHARD"))}
        self.env |= {"LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1", "ASK_COOLDOWN_SECONDS": "0"} | env
        self.processes: dict[str, ShardProcess] = {}

    def start_stand_in(self) -> None:
        """Listen (guilds are added before this)."""
        self.discord.start()
        self.env |= {
            "DISCORD_TOKEN": TOKEN,
            "DISCORD_API_BASE": self.discord.api_base,
            "DISCORD_GATEWAY_URL": self.discord.gateway_url,
        }

    def launch(self, name: str, shard_ids: tuple[int, ...], **settings: str) -> ShardProcess:
        """Start a bot process (``settings`` add to its environment); :meth:`wait_for_shards` waits for it."""
        data_dir = self.base / f"data-{name}"
        data_dir.mkdir(exist_ok=True)
        log = self.base / f"bot-{name}.log"
        env = self.env | {"BOT_DATA_DIR": str(data_dir)} | settings
        with open(log, "ab") as out:
            proc = subprocess.Popen([sys.executable, "run_bot.py"], cwd=REPO, env=env, stdout=out, stderr=out)
        self.processes[name] = ShardProcess(shard_ids, proc, log)
        return self.processes[name]

    def wait_for_shards(self, *names: str) -> None:
        """Wait until every shard of these processes has identified and received its guilds."""
        wanted = {(s, self.shard_count) for name in names for s in self.processes[name].shard_ids}
        deadline = time.monotonic() + 180
        while not wanted <= self.discord.shards_connected():
            for name in names:
                process = self.processes[name]
                if process.proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"shards {process.shard_ids} never connected:\n{process.log_text()[-4000:]}")
            time.sleep(0.1)

    def wait_for_log(self, name: str, line: str) -> None:
        """Wait until a process has logged ``line`` (it logs once all its shards are ready)."""
        process = self.processes[name]
        deadline = time.monotonic() + 60
        while line not in process.log_text():
            assert time.monotonic() < deadline, f"never logged {line!r}:\n{process.log_text()[-4000:]}"
            time.sleep(0.1)

    def kill(self, name: str) -> None:
        """SIGKILL one bot process."""
        process = self.processes[name]
        process.proc.send_signal(signal.SIGKILL)
        process.proc.wait()
        deadline = time.monotonic() + 30
        while any((s, self.shard_count) in self.discord.shards_connected() for s in process.shard_ids):
            assert time.monotonic() < deadline, "the stand-in never saw the killed process's sessions close"
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop every process (SIGTERM, then SIGKILL), then the stand-in."""
        for process in self.processes.values():
            if process.proc.poll() is None:
                process.proc.terminate()
                try:
                    process.proc.wait(20)
                except subprocess.TimeoutExpired:
                    process.proc.kill()
                    process.proc.wait()
        self.discord.stop()

    def member(self, guild: Guild, *roles: Any) -> Member:
        """A fresh member of ``guild``."""
        return self.discord.add_member(guild, f"user{time.monotonic_ns()}", *roles)

    def ask_all(self, guilds: list[Guild], question: str) -> list[tuple[Sent, Call]]:
        """/ask the same question in every guild at once (all sent before any answer is awaited)."""
        sent = [self.discord.slash(guild, self.member(guild), "ask", question=question) for guild in guilds]
        return [(one, self.discord.reply_to(one)) for one in sent]

    def cli(self, *argv: str) -> str:
        """Run ``python run_bot.py ARGV`` over the same database; its standard output (it must succeed)."""
        result = subprocess.run(
            [sys.executable, "run_bot.py", *argv, "--data-dir", str(self.base / "data-cli")],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout


def titles(call: Call) -> list[str]:
    """The titles of the articles an answer quotes."""
    return [f["name"].split(". ", 1)[1] for embed in call.body.get("embeds") or [] for f in embed.get("fields", [])]


def quoted_text(call: Call) -> list[str]:
    """The text of each quote in an answer."""
    return [f["value"] for embed in call.body.get("embeds") or [] for f in embed.get("fields", [])]


def answered_once(shards: Shards, sent: Sent) -> None:
    """The interaction reached one session only, and one process answered it: one callback, no second."""
    assert sent.delivered == 1
    callbacks = [c for c in shards.discord.calls_for(sent) if c.path.startswith("/interactions/")]
    assert len(callbacks) == 1, callbacks


def command_line(guild: Guild) -> str:
    """What a process logs for a command from ``guild`` once it has answered it (after the reply)."""
    return f"guild={guild.id} "


def logged(process: ShardProcess, guild: Guild) -> bool:
    """Whether a process logged a command from ``guild``."""
    return command_line(guild) in process.log_text()


def new_database(pg_server: Any, seeded_dir: Path, base: Path) -> str:
    """A fresh PostgreSQL database holding the built-in article (migrated from the seeded SQLite directory)."""
    import psycopg

    from corpus.postgres.migrate import migrate

    name = f"test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(pg_server.get_uri(), autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    url = str(pg_server.get_uri(name))
    source = base / "seeded"
    shutil.copytree(seeded_dir, source)
    migrate(source / DATABASE, url)
    return url


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory: pytest.TempPathFactory, pg_server: Any, seeded_dir: Path) -> Iterator[Shards]:
    """Shards 0 and 1 of 2 as two bot processes over one PostgreSQL; guilds A0 and C0 on shard 0, B1 on shard 1."""
    base = tmp_path_factory.mktemp("shards")
    url = new_database(pg_server, seeded_dir, base)
    shards = Shards(base, {"DATABASE_URL": url, "SHARD_COUNT": "2"}, shard_count=2)
    shards.discord.add_guild("A0", shard=(0, 2))
    shards.discord.add_guild("C0", shard=(0, 2))
    shards.discord.add_guild("B1", shard=(1, 2))
    shards.start_stand_in()
    try:
        shards.launch("zero", (0,), SHARD_IDS="0")
        shards.launch("one", (1,), SHARD_IDS="1")
        shards.wait_for_shards("zero", "one")
        yield shards
    finally:
        shards.stop()


def guild(shards: Shards, name: str) -> Guild:
    """The stand-in's guild called ``name``."""
    return next(g for g in shards.discord.guilds.values() if g.name == name)


def test_each_process_answers_only_its_own_guilds(two_processes: Shards) -> None:
    """A question in a guild of shard 0 is answered by the shard-0 process alone, and one of shard 1 by the other."""
    shards = two_processes
    zero, one = shards.processes["zero"], shards.processes["one"]
    a0, c0, b1 = guild(shards, "A0"), guild(shards, "C0"), guild(shards, "B1")
    assert [shard_of(g.id, 2) for g in (a0, c0, b1)] == [0, 0, 1]
    for sent, answer in shards.ask_all([a0, c0, b1], BUILT_IN_QUESTION):
        answered_once(shards, sent)
        assert titles(answer), answer.body
    for name, served in (("zero", a0), ("zero", c0), ("one", b1)):
        shards.wait_for_log(name, command_line(served))
    assert not logged(zero, b1) and not logged(one, a0) and not logged(one, c0)
    shards.wait_for_log("zero", "serving shard 0 of 2: 2 servers")
    shards.wait_for_log("one", "serving shard 1 of 2: 1 server")


def test_an_article_from_the_cli_is_quoted_by_both_then_never_after_its_removal(
    two_processes: Shards, tmp_path: Path
) -> None:
    """An article added from the CLI is quoted by both processes at once; once removed, by neither, ever."""
    shards = two_processes
    a0, b1 = guild(shards, "A0"), guild(shards, "B1")
    source = tmp_path / "article.txt"
    source.write_text(ARTICLE, encoding="utf-8")
    added = shards.cli("add", str(source), "--title", ARTICLE_TITLE)
    assert added.startswith("Added article #"), added
    article_id = added.split("#")[1].split(" ")[0]
    for sent, answer in shards.ask_all([a0, b1], QUESTION):
        answered_once(shards, sent)
        assert titles(answer)[:1] == [ARTICLE_TITLE], answer.body
    assert shards.cli("remove", article_id).startswith(f"Removed article #{article_id}")
    for _ in range(3):
        for sent, answer in shards.ask_all([a0, b1], QUESTION):
            answered_once(shards, sent)
            assert ARTICLE_TITLE not in titles(answer), answer.body
            assert not any("Quillfeather" in quote for quote in quoted_text(answer)), answer.body


def test_a_sigkill_loses_no_acknowledged_change_and_the_other_shard_keeps_answering(two_processes: Shards) -> None:
    """SIGKILL of the shard-0 process right after it acknowledged an add: the add is kept, shard 1 keeps answering."""
    shards = two_processes
    a0, b1 = guild(shards, "A0"), guild(shards, "B1")
    moderator = shards.member(a0, a0.moderator_role)
    sent = shards.discord.slash(a0, moderator, "article", "add", text=BOT_ARTICLE, title=BOT_ARTICLE_TITLE)
    reply = str(shards.discord.reply_to(sent).body.get("content", ""))
    shards.kill("zero")
    assert reply.startswith("Added article #"), reply
    article_id = reply.split("#")[1].split(" ")[0]

    # Shard 1 goes on answering its guild; shard 0's guilds get no answer while no process runs it.
    for sent, answer in shards.ask_all([b1], BUILT_IN_QUESTION):
        answered_once(shards, sent)
        assert titles(answer), answer.body
    assert shards.discord.slash(a0, shards.member(a0), "ask", question=BUILT_IN_QUESTION).delivered == 0

    # The acknowledged add is in the database, for guild A0 only, and quotable there.
    shown = shards.cli("show", article_id, "--guild", str(a0.id))
    assert BOT_ARTICLE_TITLE in shown
    assert BOT_ARTICLE_TITLE in shards.cli("ask", BOT_QUESTION, "--guild", str(a0.id))

    # The operator starts shard 0 again: it quotes the article in A0, and shard 1 still answers B1 without it.
    shards.launch("zero-again", (0,), SHARD_IDS="0")
    shards.wait_for_shards("zero-again", "one")
    (_, in_a0), (_, in_b1) = shards.ask_all([a0, b1], BOT_QUESTION)
    assert titles(in_a0)[:1] == [BOT_ARTICLE_TITLE], in_a0.body
    assert BOT_ARTICLE_TITLE not in titles(in_b1)


@pytest.mark.parametrize("how", ["SHARD_COUNT=2", "recommended by Discord"])
def test_one_process_runs_every_shard_when_no_ids_are_given(tmp_path: Path, seeded_dir: Path, how: str) -> None:
    """With SHARD_COUNT=2 and no SHARD_IDS, or nothing set and Discord recommending 2, one process answers on both."""
    data_dir = tmp_path / "data-solo"
    shutil.copytree(seeded_dir, data_dir)
    settings = {"SHARD_COUNT": "2"} if how == "SHARD_COUNT=2" else {}
    shards = Shards(tmp_path, settings, shard_count=2)
    on_zero, on_one = shards.discord.add_guild("A0", shard=(0, 2)), shards.discord.add_guild("B1", shard=(1, 2))
    shards.discord.recommended_shards = 2
    shards.start_stand_in()
    try:
        shards.launch("solo", (0, 1))
        shards.wait_for_shards("solo")
        for sent, answer in shards.ask_all([on_zero, on_one], BUILT_IN_QUESTION):
            answered_once(shards, sent)
            assert titles(answer), answer.body
        shards.wait_for_log("solo", command_line(on_zero))
        shards.wait_for_log("solo", command_line(on_one))
        shards.wait_for_log("solo", "serving shards 0, 1 of 2: 2 servers")
        asked_discord = any(c.path == "/gateway/bot" for c in shards.discord.calls)
        assert asked_discord == (how == "recommended by Discord")
    finally:
        shards.stop()


async def _identify_as(url: str, shard: list[Any] | None) -> tuple[list[dict[str, Any]], int | None]:
    """IDENTIFY to the stand-in's gateway with ``shard``: the events until it goes quiet, and its close code."""
    import aiohttp

    identify: dict[str, Any] = {"token": TOKEN, "intents": 0, "properties": {}}
    if shard is not None:
        identify["shard"] = shard
    events: list[dict[str, Any]] = []
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        assert (await ws.receive_json())["op"] == 10
        await ws.send_json({"op": 2, "d": identify})
        while True:
            try:
                message = await ws.receive(timeout=2)
            except TimeoutError:
                break
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            events.append(message.json())
        return events, ws.close_code


def test_the_stand_in_gateway_routes_guilds_by_shard_as_discord_does() -> None:
    """READY echoes the shard and lists only its guilds, GUILD_CREATE follows for those alone; a bad shard gets 4010."""
    import asyncio

    discord = StandInDiscord()
    on_zero = [discord.add_guild(f"Z{n}", shard=(0, 3)) for n in range(2)]
    on_two = discord.add_guild("T", shard=(2, 3))
    discord.start()
    try:
        events, _ = asyncio.run(_identify_as(discord.gateway_url, [2, 3]))
        ready = events[0]["d"]
        assert events[0]["t"] == "READY" and ready["shard"] == [2, 3]
        assert ready["guilds"] == [{"id": str(on_two.id), "unavailable": True}]
        assert [(e["t"], e["d"]["id"]) for e in events[1:]] == [("GUILD_CREATE", str(on_two.id))]
        events, _ = asyncio.run(_identify_as(discord.gateway_url, None))  # unsharded: every guild, no shard field
        assert "shard" not in events[0]["d"] and len(events[0]["d"]["guilds"]) == 3
        assert {e["d"]["id"] for e in events[1:]} == {str(g.id) for g in [*on_zero, on_two]}
        for bad in ([3, 3], [0, 0], [-1, 2], ["0", 2]):
            events, code = asyncio.run(_identify_as(discord.gateway_url, bad))
            assert events == [] and code == 4010, (bad, code)
        assert discord.gateway_json(bot=True)["shards"] == 1  # three guilds: Discord recommends one shard
    finally:
        discord.stop()
