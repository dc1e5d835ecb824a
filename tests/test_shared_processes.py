"""A real bot process and CLI processes on one data directory, SIGKILLed at random moments: one truth survives.

The bot (`python run_bot.py`, against the stand-in Discord) keeps running while CLI processes add,
import, remove, rebuild, back up and restore on its data directory; some of them, and sometimes the
bot, are SIGKILLed at a random moment and the bot is started again. What is checked, and how:

- After every round (so after every kill and restart) and at the end, in the test process: SQLite's
  integrity check and FTS5's, a fresh Library's FAISS ids equal the database's passage ids (caught
  up without re-embedding), the saved index file holds exactly them too, every acknowledged add is
  listed and quotable, every acknowledged remove is gone and its name in no passage, every
  acknowledged import's articles are stored.
- The running bot, through the stand-in: after each acknowledged CLI add it quotes the new article
  (the quote's text is verbatim from it) without a restart; ``/index stats`` shows as many indexed
  passages as the database holds; no answer asked after a remove was acknowledged quotes that
  article; ``restore`` is refused (exit 1, "is open in another process", nothing changed).
- Found by meaning, in the bot: the bot runs with ``MIN_SCORE=-10``, so it never abstains and every
  question gets its three best quotes (a question sharing no word with the articles is otherwise, and
  rightly, not answered; abstention is tested elsewhere). An article about a raccoon gnawing a
  tabulator's cables is then asked about with MEANING_QUESTION, which shares no content word with it,
  nor with any other stored passage: the bot can only have found it through the FAISS index it caught
  up from the CLI's change. It is also asked a question whose only shared word is the article's
  made-up name, which it must quote first.
- Found by meaning, in the test process: ``Library.candidates`` finds every acknowledged raccoon
  article for MEANING_QUESTION through the vector index alone (its lexical score is 0).

On PostgreSQL (``DATABASE_URL``, a real server with pgvector, given to the bot and every CLI
process) the same rounds run but for backup and restore, which PostgreSQL leaves to ``pg_dump`` and
``pg_restore``: the truth is read from the database (tests/test_durability.py's ``postgres_truth``:
every article whole with its passages and embeddings, the lexical index exactly the passages', no
session of a killed process left on the server), the vector search is the database's own, so what
is checked of FAISS there is that the bot and a fresh Library search every stored passage.

``KILLS_SHARED`` sets how many SIGKILLs to land on each backend (bot and CLI together; default 4, about
3 minutes each on 2 cores); a longer run: ``KILLS_SHARED=60 pytest tests/test_shared_processes.py -s``.
"""

from __future__ import annotations

import copy
import csv
import gzip
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corpus.readers import read_import_file
from corpus.records import content_hash
from index.factory import DATABASE
from index.faiss_search import faiss_index
from index.library import Library
from index.vectors import MANIFEST, load_index
from tests.bot.standin import Call, Guild, StandInDiscord
from tests.bot.test_bot_process import TOKEN, Bot
from tests.conftest import REPO, REUTERS
from tests.test_durability import postgres_truth

KILLS = int(os.environ.get("KILLS_SHARED", "4"))
SEED = int(os.environ.get("KILLS_SHARED_SEED", "20261126"))
# No stored passage holds any of its content words (rodents, gnaw, cords, gadget: none is in the Reuters
# file, the built-in article or the synthetic articles; checked each round), so only the dense index can
# find an answer.
MEANING_QUESTION = "did rodents gnaw cords of the gadget"
BOT_MIN_SCORE = "-10"  # never abstain: what is checked is what the bot finds
# How long each command takes here before it is killed or done (updated from the runs that finish):
# kills land anywhere in it, and half of them in its last stretch, where the writes happen.
EXPECTED_SECONDS = {
    "add": 15.0,
    "import": 25.0,
    "remove": 2.0,
    "rebuild": 25.0,
    "backup": 2.0,
    "restore": 3.0,  # refused, the bot running
    "restore_down": 5.0,  # done, the bot stopped
}
WEIGHTS = {"add": 3, "add_meaning": 1, "bot_add": 1, "import": 1, "remove": 2, "rebuild": 1, "backup": 1, "restore": 1}


@dataclass(frozen=True)
class Synthetic:
    """An article only one round adds, named with a made-up word so its quotes can be told apart."""

    name: str
    title: str
    text: str
    question: str
    guild_id: int | None = None
    meaning: bool = False


def recount(round_number: int, guild_id: int | None = None) -> Synthetic:
    """A county recount article, asked about with words it holds."""
    name = f"Zarqovia{round_number}"
    text = (
        f"The county of {name} certified its ballots on Friday after a full hand recount, the election board"
        f" of {name} said in a statement. Officials in {name} said the recount matched the machine totals"
        " within three votes."
    )
    return Synthetic(name, f"{name} recount", text, f"did {name} certify its ballots", guild_id)


def raccoon(round_number: int) -> Synthetic:
    """An article MEANING_QUESTION is about, sharing no content word with it."""
    name = f"Velmora{round_number}"
    text = (
        f"A raccoon chewed through the cables of the ballot-tabulating machine in the basement of the town hall"
        f" of {name}, the clerk said. Technicians in {name} replaced the cables before the polls opened."
    )
    return Synthetic(name, f"{name} raccoon", text, f"did a raccoon chew the cables in {name}", meaning=True)


def name_only_question(article: Synthetic) -> str:
    """MEANING_QUESTION with the article's made-up name: the one word it shares with the article."""
    return f"{MEANING_QUESTION} in {article.name}"


def reuters_slices(tmp_path: Path, count: int, size: int = 5) -> list[Path]:
    """Small CSV files of real Reuters articles, a different slice for each import round."""
    csv.field_size_limit(1 << 30)
    with gzip.open(REUTERS, "rt", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    paths = []
    for i in range(count):
        path = tmp_path / f"slice{i}.csv"
        start = (i * size) % (len(rows) - size)
        with open(path, "w", encoding="utf-8", newline="") as out:
            writer = csv.DictWriter(out, fieldnames=["title", "text", "subject", "date"])
            writer.writeheader()
            writer.writerows(rows[start : start + size])
        paths.append(path)
    return paths


@dataclass
class Ledger:
    """What the processes acknowledged, so what must hold."""

    live: dict[int, Synthetic] = field(default_factory=dict)  # article id -> the acknowledged add
    removed: dict[int, Synthetic] = field(default_factory=dict)  # article id -> the acknowledged remove
    imported: set[str] = field(default_factory=set)  # content hashes of articles an acknowledged import stored
    #: Removes killed before they answered: committed or not, so neither kept nor gone is required.
    unsure: dict[int, Synthetic] = field(default_factory=dict)


# -- the bot process ------------------------------------------------------------------


class SharedBot:
    """The stand-in Discord and the real bot process over ``data_dir``, which can be killed and started again."""

    def __init__(self, base: Path, data_dir: Path, database_url: str | None = None) -> None:
        """Start the stand-in with servers A and B (the bot starts with :meth:`start`), on ``database_url`` if given."""
        self.discord = StandInDiscord()
        self.guild_a, self.guild_b = self.discord.add_guild("A"), self.discord.add_guild("B")
        self.discord.start()
        self.data_dir, self.log = data_dir, base / "bot.log"
        self.env = {
            k: v for k, v in os.environ.items() if not k.startswith(("DISCORD", "MODERATOR", "ADMIN", "DATABASE_URL"))
        }
        self.env |= {"DATABASE_URL": database_url} if database_url else {}
        self.env |= {  # as tests/bot/test_bot_process.py's running_bot sets it, with no cooldown
            "DISCORD_TOKEN": TOKEN,
            "DISCORD_API_BASE": self.discord.api_base,
            "DISCORD_GATEWAY_URL": self.discord.gateway_url,
            "BOT_DATA_DIR": str(data_dir),
            "ASK_COOLDOWN_SECONDS": "0",
            "MIN_SCORE": BOT_MIN_SCORE,
            "MODERATOR_ROLE_IDS": f"{self.guild_a.curator_role.id},{self.guild_b.curator_role.id}",
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.starts = 0

    @property
    def alive(self) -> bool:
        """Whether the bot process is running."""
        return self.proc is not None and self.proc.poll() is None

    @property
    def bot(self) -> Bot:
        """The helpers of tests/bot/test_bot_process.py over the current process."""
        assert self.proc is not None
        return Bot(self.discord, self.proc, self.log, self.data_dir)

    def start(self) -> None:
        """Start a new bot process and wait until it has connected and synced its commands."""
        self.discord.identified.clear()
        self.discord.synced.clear()
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "run_bot.py"], cwd=REPO, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 180
        while not (self.discord.identified.is_set() and self.discord.synced.is_set()):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the bot never connected:\n{self.log.read_text(errors='replace')[-4000:]}")
            time.sleep(0.1)
        self.started_at = time.monotonic()
        self.starts += 1

    def kill(self) -> None:
        """SIGKILL the bot process."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        """Stop the bot gracefully (SIGTERM), as an operator would."""
        if self.alive:
            assert self.proc is not None
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def close(self) -> None:
        """Stop the bot and the stand-in."""
        self.stop()
        self.discord.stop()


def quotes(call: Call) -> list[tuple[str, str]]:
    """(title, quoted text with the bold marks, escapes and ellipses of the rendering undone) of each quote."""
    found = []
    for embed in call.body.get("embeds") or []:
        for f in embed.get("fields", []):
            title = f["name"].split(". ", 1)[1]
            text = re.sub(r"\\(.)", r"\1", f["value"].rsplit("\n— ", 1)[0].replace("**", ""))
            found.append((title, text))
    return found


def verbatim(quoted: str, text: str) -> bool:
    """Whether every piece of a (possibly trimmed) quote is word for word in ``text``."""
    pieces = [p.strip() for p in quoted.split("…") if p.strip()]
    return bool(pieces) and all(p in text for p in pieces)


def check_answer(found: list[tuple[str, str]], made: dict[str, Synthetic], forbidden: dict[str, Synthetic]) -> None:
    """Each quote of a synthetic article is verbatim from it; none is from an article removed before the question."""
    for title, text in found:
        assert title not in forbidden, f"the bot quoted {title!r} after its removal was acknowledged"
        assert not any(re.search(rf"\b{s.name}\b", text) for s in forbidden.values()), text
        if title in made:
            assert verbatim(text, made[title].text), f"{text!r} is not verbatim from {title!r}"


def bot_stats(bot: Bot, guild: Guild) -> dict[str, str]:
    """The fields of ``/index stats`` asked by an admin."""
    sent = bot.discord.slash(guild, bot.member(guild, guild.admin_role), "index", "stats")
    call = bot.discord.reply_to(sent)
    data = call.body.get("data", call.body) if "/interactions/" in call.path else call.body
    return {f["name"]: f["value"] for embed in data.get("embeds") or [] for f in embed.get("fields", [])}


# -- what must hold after every restart -----------------------------------------------


def db_rows(
    data_dir: Path, sql: str, args: tuple[Any, ...] = (), database_url: str | None = None
) -> list[tuple[Any, ...]]:
    """Read the database directly: the SQLite file in ``data_dir``, or the PostgreSQL one at ``database_url``."""
    if database_url is not None:
        import psycopg

        with psycopg.connect(database_url, autocommit=True) as pg:
            return pg.execute(sql.replace("?", "%s"), args or None).fetchall()  # type: ignore[arg-type]
    with closing(sqlite3.connect(data_dir / DATABASE, timeout=30)) as db:
        return db.execute(sql, args).fetchall()


def lineage(data_dir: Path) -> str | None:
    """The database's identity (a restored database gets a new one), or None when there is no database."""
    if not (data_dir / DATABASE).exists():
        return None
    rows = db_rows(data_dir, "SELECT value FROM meta WHERE key = 'lineage'")
    return str(rows[0][0]) if rows else None


def check_consistent(
    data_dir: Path, encoder: Any, ledger: Ledger, database_url: str | None = None, *, bot_running: bool = False
) -> int:
    """Healthy stores, every acknowledged change, indexes equal to the database, meaning found; return the passages."""
    before = encoder.encoded
    if database_url is not None:  # read before the Library below opens its own session
        passage_ids = postgres_truth(database_url, encoder.name, running=int(bot_running))
    library = Library.open(data_dir, encoder, database_url=database_url)
    try:
        if database_url is None:
            index_ids = set(faiss_index(library.vectors).ids().tolist())
        assert encoder.encoded == before, "catching the index up re-embedded passages"
        assert library.store.integrity_check() == "ok"
        articles = {r[0]: r[1] for r in db_rows(data_dir, "SELECT id, title FROM articles", (), database_url)}
        hashes = {r[0] for r in db_rows(data_dir, "SELECT content_hash FROM articles", (), database_url)}
        raccoons = sum(title.startswith("Velmora") for title in articles.values())
        if database_url is None:
            with closing(sqlite3.connect(data_dir / DATABASE, timeout=30)) as db:
                with db:
                    db.execute("INSERT INTO passages_fts(passages_fts) VALUES ('integrity-check')")
                fts_rows = db.execute("SELECT COUNT(*) FROM passages_fts").fetchone()[0]
                passage_ids = {r[0] for r in db.execute("SELECT id FROM passages")}
            assert index_ids == passage_ids, f"FAISS {len(index_ids)} ids, database {len(passage_ids)} passages"
            assert fts_rows == len(passage_ids)
            saved, generation = load_index(data_dir, model=encoder.name, lineage=library.store.lineage())
            assert generation == library.store.generation(), "the saved index is behind after a catch-up"
            assert set(saved.ids().tolist()) == passage_ids, (
                "the saved index file does not hold the database's passages"
            )
        else:  # the database is the vector index: it searches every stored passage, and nothing is in the data directory
            assert library.vectors.size() == len(passage_ids)
            assert not (data_dir / DATABASE).exists() and not (data_dir / MANIFEST).exists()
        listed = {
            g: {a.id for a in library.list_articles(guild_id=g)} for g in {a.guild_id for a in ledger.live.values()}
        }
        for article_id, article in ledger.live.items():
            assert articles.get(article_id) == article.title, f"acknowledged add #{article_id} {article.title} lost"
            assert article_id in listed[article.guild_id], f"acknowledged add #{article_id} is not listed"
            answer = library.ask(article.question, guild_id=article.guild_id)
            assert any(q.article_id == article_id for q in answer.quotes), f"#{article_id} is not quotable"
        for article_id, article in ledger.removed.items():
            assert article_id not in articles, f"acknowledged remove #{article_id} came back"
            assert not library.lexical.search(article.name, 5, None), f"{article.name} is still in a passage"
        assert ledger.imported <= hashes, "an acknowledged import's article is missing"
        # No stored passage holds a word of the question (nor a near spelling): only FAISS can find an answer.
        assert library.spelled(MEANING_QUESTION) == MEANING_QUESTION
        assert not library.lexical.search(MEANING_QUESTION, 5, None)
        query = encoder.encode([MEANING_QUESTION])[0]
        found = library.candidates(library.spelled(MEANING_QUESTION), query, raccoons + 3, None)
        for article_id, article in ledger.live.items():
            if article.meaning:
                assert any(c.passage.article_id == article_id and c.lexical == 0 for c in found), (
                    f"#{article_id} is not found by meaning through the vector index"
                )
        return len(passage_ids)
    finally:
        library.close()


# -- the test -------------------------------------------------------------------------


@dataclass
class Run:
    """One CLI process's outcome."""

    rc: int
    out: str
    err: str
    seconds: float

    @property
    def killed(self) -> bool:
        """Whether our SIGKILL ended it."""
        return self.rc == -signal.SIGKILL


def run_cli(
    argv: list[str], data_dir: Path, env: dict[str, str], kill_at: float | None, events: list[tuple[float, Callable]]
) -> Run:
    """Run ``python run_bot.py ARGV``; SIGKILL it at ``kill_at`` s; do each event at its time meanwhile (or after)."""
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "run_bot.py", *argv, "--data-dir", str(data_dir)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    pending = sorted(events, key=lambda e: e[0])
    while proc.poll() is None:
        now = time.monotonic() - started
        while pending and pending[0][0] <= now:
            pending.pop(0)[1]()
        if kill_at is not None and now >= kill_at:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.02)
    out, err = proc.communicate()
    seconds = time.monotonic() - started
    for _, action in pending:
        action()
    return Run(proc.returncode, out, err, seconds)


class Scenario:
    """The rounds of the test: what runs, what was acknowledged, what the bot must answer."""

    def __init__(
        self, tmp_path: Path, data_dir: Path, encoder: Any, shared: SharedBot, database_url: str | None = None
    ) -> None:
        """Plan the rounds over ``data_dir`` (or the PostgreSQL database at ``database_url``), served by ``shared``."""
        self.rng = random.Random(SEED)
        self.database_url = database_url
        # PostgreSQL leaves backups to pg_dump: those rounds run only on SQLite.
        self.weights = {k: w for k, w in WEIGHTS.items() if database_url is None or k not in ("backup", "restore")}
        self.tmp_path, self.data_dir, self.encoder, self.shared = tmp_path, data_dir, encoder, shared
        self.max_rounds = KILLS * 4 + 12
        self.slices = reuters_slices(tmp_path, self.max_rounds + 1)
        self.cli_env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD", "DATABASE_URL"))}
        self.cli_env |= {"PYTHONUNBUFFERED": "1"} | ({"DATABASE_URL": database_url} if database_url else {})
        self.expected = dict(EXPECTED_SECONDS)
        self.ledger = Ledger()
        self.made: dict[str, Synthetic] = {}  # title -> every synthetic article a round tried to add
        self.backup: tuple[Path, Ledger] | None = None
        self.counts = dict.fromkeys(
            "cli_kills bot_kills cli_adds bot_adds removes imports rebuilds backups refused restores"
            " quoted_running meaning_running concurrent_asks".split(),
            0,
        )
        # The first rounds cover every operation once: the first two are never killed (so the running bot
        # quotes a CLI add, by meaning too, and a backup exists), and one of the others kills the bot,
        # which is followed by a restore while it is down.
        rest = ["add", "restore", "remove", "import", "rebuild", "bot_add", "add_meaning"]
        self.rng.shuffle(rest)
        self.schedule = [op for op in ["add_meaning", "backup", *rest] if op in self.weights]
        self.forced_bot_kill = self.rng.randint(3, len(self.schedule))
        self.round = 0

    @property
    def kills(self) -> int:
        """SIGKILLs landed so far."""
        return self.counts["cli_kills"] + self.counts["bot_kills"]

    def more(self) -> bool:
        """Whether to play another round."""
        return self.round < self.max_rounds and (self.round < len(self.schedule) or self.kills < KILLS)

    # -- the bot ------------------------------------------------------------------------

    def forbidden(self) -> dict[str, Synthetic]:
        """The articles whose removal was acknowledged: no answer asked from now on may quote them."""
        return {s.title: s for s in self.ledger.removed.values()}

    def guild_of(self, article: Synthetic) -> Guild:
        """Where to ask about ``article``: its own server, or either for a global one."""
        shared = self.shared
        return shared.guild_a if article.guild_id else self.rng.choice([shared.guild_a, shared.guild_b])

    def ask(self, guild: Guild, question: str) -> list[tuple[str, str]]:
        """/ask through the stand-in; every quote is checked (verbatim, never a removed article)."""
        banned = self.forbidden()
        _, answer = self.shared.bot.ask(guild, question)
        found = quotes(answer)
        check_answer(found, self.made, banned)
        return found

    def bot_quotes(self, article_id: int, article: Synthetic) -> None:
        """The bot quotes the article first for its question; a raccoon one by meaning too."""
        guild = self.guild_of(article)
        found = self.ask(guild, article.question)
        assert found and found[0][0] == article.title, f"#{article_id}: the bot answered {found}"
        if article.meaning:
            found = self.ask(guild, MEANING_QUESTION)
            assert article.title in [t for t, _ in found], f"#{article_id} not found by meaning: {found}"
            found = self.ask(guild, name_only_question(article))
            assert found and found[0][0] == article.title, f"#{article_id}: by its name and meaning: {found}"

    def check_bot_index(self) -> None:
        """The running bot's own index holds as many passages as the database."""
        stats = bot_stats(self.shared.bot, self.shared.guild_a)
        passages = db_rows(self.data_dir, "SELECT COUNT(*) FROM passages", (), self.database_url)[0][0]
        assert stats["Index size"] == stats["Passages"] == str(passages), stats

    def check(self) -> int:
        """Everything that must hold, from the test process."""
        return check_consistent(
            self.data_dir, self.encoder, self.ledger, self.database_url, bot_running=self.shared.alive
        )

    # -- one round ----------------------------------------------------------------------

    def next_operation(self) -> str:
        """The scheduled or a random operation, where it can run."""
        self.round += 1
        if self.round <= len(self.schedule):
            operation = self.schedule[self.round - 1]
        else:
            operation = self.rng.choices(list(self.weights), weights=list(self.weights.values()))[0]
        titles = db_rows(self.data_dir, "SELECT title FROM articles", (), self.database_url)
        raccoons = sum(str(t).startswith("Velmora") for (t,) in titles)
        if operation == "add_meaning" and raccoons > 2:
            operation = "add"  # at most three raccoon articles, so a new one is among the bot's three quotes
        if (operation == "remove" and not self.ledger.live) or (operation == "restore" and self.backup is None):
            operation = "add"
        if operation == "restore" and self.round == self.forced_bot_kill:
            self.forced_bot_kill += 1  # a restore must meet the running bot, to be refused
        return operation

    def play_round(self) -> None:
        """One operation, maybe a kill of it and of the bot, then every check."""
        operation = self.next_operation()
        quiet = self.round <= 2
        kill_bot = (
            not quiet and operation != "restore" and (self.round == self.forced_bot_kill or self.rng.random() < 0.2)
        )
        bot_before = self.shared.started_at
        if operation == "bot_add":
            added = self.bot_add(kill_bot)
        else:
            added = self.cli_operation(operation, quiet=quiet, kill_bot=kill_bot)
        if added is not None:
            self.ledger.live[added[0]] = added[1]
        if not self.shared.alive:
            self.restart_bot()
        if added is not None and added[0] in self.ledger.live:
            self.bot_quotes(*added)
            if self.shared.started_at == bot_before and added[1].guild_id is None:
                self.counts["quoted_running"] += 1  # the same bot process, which loaded its index before the add
                self.counts["meaning_running"] += added[1].meaning
        self.check_bot_index()
        self.check()

    def bot_add(self, kill_bot: bool) -> tuple[int, Synthetic] | None:
        """A moderator adds an article through the bot (the bot writes and saves), maybe SIGKILLing the bot meanwhile."""
        article = recount(self.round, self.shared.guild_a.id)
        self.made[article.title] = article
        bot = self.shared.bot
        sent = bot.discord.slash(
            self.shared.guild_a,
            bot.moderator(self.shared.guild_a),
            "article",
            "add",
            text=article.text,
            title=article.title,
        )
        if kill_bot:
            time.sleep(self.rng.uniform(0.0, 1.5))
            self.shared.kill()
            self.counts["bot_kills"] += 1
            replies = [c for c in self.shared.discord.calls_for(sent) if c.path.startswith("/webhooks")]
        else:
            replies = [bot.discord.reply_to(sent)]
        reply = str(replies[0].body.get("content", "")) if replies else ""
        if not reply.startswith("Added article #"):
            return None
        self.counts["bot_adds"] += 1
        return int(reply.split("#")[1].split(" ")[0]), article

    def cli_operation(self, operation: str, *, quiet: bool, kill_bot: bool) -> tuple[int, Synthetic] | None:
        """A CLI process, maybe SIGKILLed at a random moment; the bot maybe killed and asked meanwhile."""
        rng, ledger = self.rng, self.ledger
        article = victim = None
        victim_id = 0
        state_before: tuple[Any, ...] = ()
        snapshot = Ledger()
        target = self.tmp_path / f"backup{self.round}.sqlite3"
        if operation in ("add", "add_meaning"):
            article = raccoon(self.round) if operation == "add_meaning" else recount(self.round)
            self.made[article.title] = article
            path = self.tmp_path / f"round{self.round}.txt"
            path.write_text(article.text, encoding="utf-8")
            argv, kind = ["add", str(path), "--title", article.title], "add"
        elif operation == "import":
            argv, kind = ["import", str(self.slices[self.round]), "-q"], "import"
        elif operation == "remove":
            victim_id, victim = rng.choice(sorted(ledger.live.items(), key=lambda x: x[0]))
            argv = ["remove", str(victim_id)] + (["--guild", str(victim.guild_id)] if victim.guild_id else [])
            kind = "remove"
        elif operation == "rebuild":
            argv, kind = ["rebuild", "-q"], "rebuild"
        elif operation == "backup":
            argv, kind = ["backup", str(target)], "backup"
            snapshot = copy.deepcopy(ledger)
        else:  # restore while the bot runs: refused, and nothing changes
            assert self.backup is not None
            argv, kind = ["restore", str(self.backup[0])], "restore"
            state_before = restore_state(self.data_dir)
        kill_at = None
        if not quiet and rng.random() < 0.5:
            kill_at = self.expected[kind] * (rng.uniform(0.05, 1.0) if rng.random() < 0.5 else rng.uniform(0.7, 1.02))
        events: list[tuple[float, Callable[[], None]]] = []
        asked: list[tuple[Any, int, Synthetic, dict[str, Synthetic]]] = []
        if kill_bot:
            events.append((rng.uniform(0.0, self.expected[kind]), self.kill_bot))
        if not quiet and rng.random() < 0.6:
            events.append((rng.uniform(0.0, self.expected[kind]), lambda: self.concurrent_ask(asked)))
        run = run_cli(argv, self.data_dir, self.cli_env, kill_at, events)
        if run.killed:
            self.counts["cli_kills"] += 1
        else:
            self.expected[kind] = run.seconds
            assert run.rc == (1 if kind == "restore" else 0), f"{argv}: {run.rc}\n{run.err[-2000:]}"
        added = None
        if kind == "add" and run.out.startswith("Added article #"):
            assert article is not None
            added = (int(run.out.split("#")[1].split(" ")[0]), article)
            self.counts["cli_adds"] += 1
        elif kind == "remove" and run.out.startswith("Removed article #"):
            assert victim is not None
            ledger.removed[victim_id] = ledger.live.pop(victim_id)
            self.counts["removes"] += 1
            if self.shared.alive:  # the running bot caught up with the removal: it no longer quotes the article
                self.ask(self.guild_of(victim), victim.question)
        elif kind == "remove" and run.killed:  # perhaps after its commit, before it said so
            ledger.unsure[victim_id] = ledger.live.pop(victim_id)
        elif kind == "import" and run.out.startswith("Imported "):
            stored = {r[0] for r in db_rows(self.data_dir, "SELECT content_hash FROM articles", (), self.database_url)}
            rows = [r for r in read_import_file(self.slices[self.round]) if isinstance(r, tuple)]
            mine = {content_hash(a.text) for _, a in rows} & stored
            assert len(mine) >= int(run.out.split()[1]), run.out
            ledger.imported |= mine
            self.counts["imports"] += 1
        elif kind == "rebuild" and run.out.startswith("Rebuilt the index"):
            self.counts["rebuilds"] += 1
        elif kind == "backup" and run.out.startswith("Backed up"):
            self.backup = (target, snapshot)
            self.counts["backups"] += 1
        elif kind == "restore":
            if not run.killed:
                assert "is open in another process" in run.err and "Nothing was restored" in run.err, run.err
                self.counts["refused"] += 1
            assert restore_state(self.data_dir) == state_before, "a refused restore changed the data directory"
        # What the bot answered while the CLI process worked: verbatim, and never a removed article.
        for sent, article_id, asked_about, banned in asked:
            if self.shared.alive:
                found = quotes(self.shared.discord.reply_to(sent))
                check_answer(found, self.made, banned)
                self.counts["concurrent_asks"] += 1
                if article_id in ledger.live:  # not removed meanwhile
                    assert asked_about.title in [t for t, _ in found], f"#{article_id} not quoted meanwhile: {found}"
        return added

    def kill_bot(self) -> None:
        """SIGKILL the bot, if it still runs."""
        if self.shared.alive:
            self.shared.kill()
            self.counts["bot_kills"] += 1

    def concurrent_ask(self, asked: list[tuple[Any, int, Synthetic, dict[str, Synthetic]]]) -> None:
        """Ask about an acknowledged article while a CLI process works (its answer is read afterwards)."""
        if self.shared.alive and self.ledger.live:
            article_id, article = self.rng.choice(sorted(self.ledger.live.items(), key=lambda x: x[0]))
            guild = self.guild_of(article)
            sent = self.shared.discord.slash(guild, self.shared.bot.member(guild), "ask", question=article.question)
            asked.append((sent, article_id, article, self.forbidden()))

    def restart_bot(self) -> None:
        """After the bot was killed: check, maybe restore the backup (maybe killed too), check, start it again."""
        self.check()  # what the restarted bot will start from
        if self.backup is not None and (self.counts["restores"] == 0 or self.rng.random() < 0.5):
            before = lineage(self.data_dir)
            kill_at = None
            if self.counts["restores"] and self.rng.random() < 0.3:  # the first restore is never killed
                kill_at = self.expected["restore_down"] * self.rng.uniform(0.05, 1.02)
            run = run_cli(["restore", str(self.backup[0])], self.data_dir, self.cli_env, kill_at, [])
            if run.killed:
                self.counts["cli_kills"] += 1
            else:
                self.expected["restore_down"] = run.seconds
                assert run.rc == 0 and run.out.startswith("Restored "), run.err
            after = lineage(self.data_dir)
            assert after is not None, f"a restore killed at {kill_at} s left no database: {os.listdir(self.data_dir)}"
            if after != before:  # swapped in: what the backup holds is what must hold now
                self.ledger = copy.deepcopy(self.backup[1])
                self.counts["restores"] += 1
            self.check()
        self.shared.start()

    def summary(self, passages: int, seconds: float) -> str:
        """The one line the test prints."""
        c = self.counts
        return (
            f"{self.round} rounds, {self.kills} SIGKILLs ({c['cli_kills']} CLI, {c['bot_kills']} bot,"
            f" {self.shared.starts} bot starts); acknowledged: {c['cli_adds']} CLI adds, {c['bot_adds']} bot adds,"
            f" {c['removes']} removes, {c['imports']} imports, {c['rebuilds']} rebuilds, {c['backups']} backups,"
            f" {c['restores']} restores; {c['refused']} restores refused while the bot ran; the running bot quoted"
            f" {c['quoted_running']} CLI adds ({c['meaning_running']} by meaning) and answered {c['concurrent_asks']}"
            f" questions during CLI work; {passages} passages, all consistent after each round, {seconds:.0f} s"
        )


def test_bot_and_cli_processes_share_one_data_directory_through_sigkills(
    tmp_path: Path, seeded_dir: Path, encoder, backend: str | None
) -> None:
    """Bot and CLI processes on one store (each backend), SIGKILLed at random: acks hold, bot quotes CLI adds."""
    data_dir = tmp_path / "data"
    if backend is None:
        shutil.copytree(seeded_dir, data_dir)
    else:  # a fresh database, given the built-in article by a first start
        Library.open(data_dir, encoder, database_url=backend).close()
    started = time.monotonic()
    shared = SharedBot(tmp_path, data_dir, backend)
    try:
        scenario = Scenario(tmp_path, data_dir, encoder, shared, backend)
        shared.start()
        scenario.check()
        scenario.check_bot_index()
        while scenario.more():
            scenario.play_round()
        shared.stop()
        passages = scenario.check()  # after the bot stopped: found by meaning, every change held
    finally:
        shared.close()
    print(f"\n{'postgres' if backend else 'sqlite'}: " + scenario.summary(passages, time.monotonic() - started))
    c = scenario.counts
    assert scenario.kills >= KILLS
    assert c["quoted_running"] >= 1 and c["meaning_running"] >= 1 and shared.starts >= 2
    if backend is None:  # backup and restore are the SQLite backend's (PostgreSQL: pg_dump and pg_restore)
        assert c["refused"] >= 1 and c["restores"] >= 1


def restore_state(data_dir: Path) -> tuple[Any, ...]:
    """What a refused restore must leave as it was: the database's identity, articles and passages, the index."""
    manifest = data_dir / MANIFEST
    return (
        lineage(data_dir),
        db_rows(data_dir, "SELECT id, title FROM articles ORDER BY id"),
        db_rows(data_dir, "SELECT id FROM passages ORDER BY id"),
        manifest.read_bytes() if manifest.exists() else None,
        sorted(p.name for p in data_dir.glob("*before-restore*")),
    )
