"""The command line as a user runs it: real processes, real data directories, one-line errors.

The tests of what the commands store and read (``ask``, ``add``, ``list``, ``show``, ``remove``,
``import``, ``stats``, ``audit``) run on both backends through the ``store`` fixture: the SQLite
file in the data directory, and a real PostgreSQL + pgvector named by ``DATABASE_URL`` in the
command's environment, as an operator sets it. ``backup`` and ``restore`` copy only the SQLite
file: on PostgreSQL they are refused with a sentence naming ``pg_dump`` / ``pg_restore``.
"""

from __future__ import annotations

import gzip
import json
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest

from index.factory import DATABASE
from index.library import Library
from tests.conftest import REPO

ARTICLE = (
    "County clerks in Ohio will test every voting machine twice before the midterm elections, officials said.\n\n"
    "Secretary of State Frank LaRose said the Ohio audits would start in March and cost $4 million in state funds."
)


def run_cli(
    *args: str,
    data_dir: Path,
    stdin: str | bytes | None = None,
    settings: dict[str, str] | None = None,
    timeout: float = 300,
    memory: int | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``python run_bot.py ARGS --data-dir DIR`` like a user would (with extra environment ``settings``).

    ``memory`` caps the process's address space in bytes, so a command that reads without bound
    fails fast instead of filling the machine.
    """
    env = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"}
    env["LOG_LEVEL"] = "WARNING"
    env.update(settings or {})
    data = stdin.encode() if isinstance(stdin, str) else stdin

    def cap_memory() -> None:
        assert memory is not None
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    proc = subprocess.run(
        [sys.executable, "run_bot.py", *args, "--data-dir", str(data_dir)],
        cwd=REPO,
        input=data,
        capture_output=True,
        env=env,
        timeout=timeout,
        check=False,
        preexec_fn=None if memory is None else cap_memory,
    )
    return subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout.decode(), proc.stderr.decode())


def db_state(data_dir: Path) -> tuple[int, int, str]:
    """(articles, passages, generation) read straight from the SQLite file."""
    with sqlite3.connect(data_dir / "articles.sqlite3") as db:
        articles, passages = db.execute(
            "SELECT (SELECT COUNT(*) FROM articles), (SELECT COUNT(*) FROM passages)"
        ).fetchone()
        generation = db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0]
    return articles, passages, generation


@pytest.fixture
def data_dir(tmp_path: Path, seeded_dir: Path) -> Path:
    """A private copy of a data directory holding the built-in article."""
    path = tmp_path / "data"
    shutil.copytree(seeded_dir, path)
    return path


@dataclass(frozen=True)
class Store:
    """Where the commands keep the articles: the data directory's SQLite file, or the PostgreSQL database at ``url``."""

    data_dir: Path
    url: str | None = None

    def run(self, *args: str, settings: dict[str, str] | None = None, **options) -> subprocess.CompletedProcess[str]:
        """``run_cli`` on this store (``DATABASE_URL`` set for PostgreSQL)."""
        database = {"DATABASE_URL": self.url} if self.url else {}
        return run_cli(*args, data_dir=self.data_dir, settings=database | (settings or {}), **options)

    def open(self, encoder) -> Library:
        """The core over this store, in the test process."""
        return Library.open(self.data_dir, encoder, database_url=self.url)

    def state(self) -> tuple[int, int, str]:
        """(articles, passages, generation) read straight from the database."""
        if self.url is None:
            return db_state(self.data_dir)
        import psycopg

        with psycopg.connect(self.url) as db:
            row = db.execute(
                "SELECT (SELECT COUNT(*) FROM articles), (SELECT COUNT(*) FROM passages),"
                " (SELECT value FROM meta WHERE key = 'generation')"
            ).fetchone()
        assert row is not None
        return int(row[0]), int(row[1]), str(row[2])


@pytest.fixture
def store(tmp_path: Path, seeded_dir: Path, backend: str | None) -> Store:
    """The built-in article on each backend: a copied data directory, or a database migrated from it."""
    if backend is None:
        path = tmp_path / "data"
        shutil.copytree(seeded_dir, path)
        return Store(path)
    from corpus.postgres.migrate import migrate

    migrate(seeded_dir / DATABASE, backend)
    return Store(tmp_path / "data", backend)  # an empty data directory: nothing of the articles lives there


def test_readme_command_on_fresh_directory(tmp_path: Path) -> None:
    """The README's first command, on an empty data directory, quotes "Tehran and Moscow" with the answer in bold."""
    result = run_cli("ask", "who did Ratcliffe blame?", data_dir=tmp_path / "fresh")
    assert result.returncode == 0, result.stderr
    assert "Tehran and Moscow" in result.stdout
    assert "**In a press conference announced at the last minute" in result.stdout
    assert "Washington accuses Tehran, Moscow of attempts to interfere in the campaign" in result.stdout


def test_ask_many_questions_from_stdin_as_json(store: Store) -> None:
    """`ask - --json` answers one question per line, one JSON object each, abstaining on noise (each backend)."""
    result = store.run(
        "ask",
        "-",
        "--json",
        "-k",
        "2",
        stdin="who did Ratcliffe blame?\n\nhow do I bake sourdough bread\n",
    )
    assert result.returncode == 0, result.stderr
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first["answered"] is True and len(first["quotes"]) == 2
    assert set(first["quotes"][0]) == {
        "text",
        "highlight",
        "article_id",
        "title",
        "source",
        "url",
        "published",
        "score",
        "also_published",
        "independent_outlets",
        "single_outlet",
    }
    assert second == {
        "question": "how do I bake sourdough bread",
        "answered": False,
        "refusal": "No article I know mentions “bake” or “sourdough”.",
        "quotes": [],
    }


def test_ask_after_an_earlier_question_answers_the_follow_up(data_dir: Path) -> None:
    """`ask FOLLOW-UP --after EARLIER` quotes the answer the follow-up alone does not get; a blank one is refused."""
    earlier = "which group were the threatening emails sent in the name of"
    result = run_cli("ask", "what did they tell people to do", "--after", earlier, "--json", data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["question"] == "what did they tell people to do"
    assert answer["answered"] is True and "vote for Trump" in answer["quotes"][0]["text"]
    blank = run_cli("ask", "what did they tell people to do", "--after", " ", data_dir=data_dir)
    assert blank.returncode != 0
    assert blank.stderr.strip() == "error: the earlier question (--after) is empty"


def test_add_list_ask_remove_round_trip(store: Store, tmp_path: Path, encoder) -> None:
    """A moderator adds a file with metadata, it is listed and quoted with it, then removed for good (each backend)."""
    path = tmp_path / "ohio.md"
    path.write_text("# Ohio to test voting machines twice\n\n" + ARTICLE, encoding="utf-8")
    added = store.run(
        "add",
        str(path),
        "--source",
        "Columbus Dispatch",
        "--url",
        "https://example.com/ohio",
        "--date",
        "2018-01-15",
    )
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "Added article #2 (2 passages): Ohio to test voting machines twice"
    listed = [json.loads(line) for line in store.run("list", "--json").stdout.splitlines()]
    assert [a["id"] for a in listed] == [1, 2] and listed[1]["source"] == "Columbus Dispatch"
    library = store.open(encoder)
    quote = library.ask("how much will the ohio audits cost").quotes[0]
    assert "$4 million" in quote.text and quote.url == "https://example.com/ohio" and quote.published == "2018-01-15"
    library.close()
    removed = store.run("remove", "2")
    assert (
        removed.returncode == 0 and removed.stdout.strip() == "Removed article #2: Ohio to test voting machines twice"
    )
    answer = json.loads(store.run("ask", "how much will the ohio audits cost", "--json").stdout)
    assert all("LaRose" not in q["text"] for q in answer["quotes"])
    assert store.run("show", "2").stderr == "error: there is no article #2\n"


def test_acknowledged_add_survives_kill(store: Store, tmp_path: Path, encoder) -> None:
    """Once `add` has printed success, SIGKILL cannot lose the article: listed and quoted after restart (each backend)."""
    path = tmp_path / "ohio.txt"
    path.write_text(ARTICLE, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | (
        {"DATABASE_URL": store.url} if store.url else {}
    )
    proc = subprocess.Popen(
        [sys.executable, "run_bot.py", "add", str(path), "--title", "Ohio audits", "--data-dir", str(store.data_dir)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert line.startswith("Added article #2")
    library = store.open(encoder)
    assert library.store.integrity_check() == "ok"
    assert [a.title for a in library.list_articles()] == [
        "Washington accuses Tehran, Moscow of attempts to interfere in the campaign",
        "Ohio audits",
    ]
    assert library.vectors.size() == library.store.counts()[1]
    assert "LaRose" in "".join(q.text for q in library.ask("who is the ohio secretary of state").quotes)
    library.close()


def test_import_reports_bad_rows_and_duplicates(store: Store, tmp_path: Path) -> None:
    """`import` takes good rows, counts duplicates and names bad rows by line, with a progress bar (each backend)."""
    path = tmp_path / "mixed.csv"
    path.write_text(
        "title,text,date\n"
        f'"Ohio audits","{ARTICLE}","January 15, 2018"\n'
        '"Empty","",\n'
        f'"Ohio audits again","{ARTICLE}",\n'
        '"Turnout","Turnout in the special election reached 40 percent, the highest in a decade, officials said.",\n',
        encoding="utf-8",
    )
    result = store.run("import", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Imported 2 articles (3 passages); skipped 1 duplicates and 1 bad rows."
    assert "line 5: skipped: the text is empty" in result.stderr
    assert "import" in result.stderr and "100%" in result.stderr  # the progress bar
    assert store.state()[:2] == (3, 12)


BINARY = b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 4


@pytest.mark.parametrize(
    ("args", "files", "message"),
    [
        (["add", "{tmp}/missing.txt"], {}, "no such file"),
        (["add", "{tmp}/empty.txt"], {"empty.txt": b"  \n\n "}, "is empty"),
        (["add", "{tmp}/blob.txt"], {"blob.txt": BINARY}, "is a binary file"),
        (["add", "{tmp}/photo.png"], {"photo.png": BINARY}, "only .txt, .md and .html files"),
        (["add", "{tmp}/a.txt", "--date", "next tuesday"], {"a.txt": ARTICLE.encode()}, "YYYY-MM-DD"),
        (
            ["add", "{tmp}/a.txt", "--title", "T" * 1001],
            {"a.txt": ARTICLE.encode()},
            "the title is longer than 1,000 characters",
        ),
        (["add", "{tmp}/a.txt", "--date", "2017-" + "9" * 3000], {"a.txt": ARTICLE.encode()}, "'2017-99999"),
        (
            ["add", "{tmp}/chrome.txt"],
            {"chrome.txt": b"Open Now\nWatch now\n\nFollow us on Google News"},
            "no passages",
        ),
        (["add", str(REPO / "corpus" / "seed-article.txt")], {}, "already in the articles as #1"),
        (["add", "-"], {}, "standard input is empty"),
        (["add", "http://a..b/"], {}, "not a valid web address"),
        (["add", "http://.example/"], {}, "not a valid web address"),
        (["add", f"http://{'x' * 64}.example/"], {}, "not a valid web address"),
        (["remove", "999"], {}, "there is no article #999"),
        (["show", "999"], {}, "there is no article #999"),
        (["remove", str(2**63)], {}, f"there is no article #{2**63}"),
        (["show", str(2**64)], {}, f"there is no article #{2**64}"),
        (["import", "{tmp}/blob.csv"], {"blob.csv": BINARY}, "is a binary file"),
        (["import", "{tmp}/cols.csv"], {"cols.csv": b"name,body\nx,y\n"}, "no 'title' and 'text' columns"),
        (["import", "{tmp}/missing.csv"], {}, "no such file"),
        (["ask", "   "], {}, "the question is empty"),
        (["ask", "who?", "-k", "0"], {}, "at least one quote"),
        (["ask", "-"], {}, "no questions on standard input"),
        (["timeline", "  "], {}, "the topic is empty"),
        (["timeline", "ballots", "--limit", "0"], {}, "a timeline shows 1 to 40 articles"),
    ],
)
def test_bad_input_one_line_error_changes_nothing(
    data_dir: Path, tmp_path: Path, args: list[str], files: dict[str, bytes], message: str
) -> None:
    """Bad input exits 1 with one `error:` line and leaves the database exactly as it was."""
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    before = db_state(data_dir)
    result = run_cli(*(a.format(tmp=tmp_path) for a in args), data_dir=data_dir, stdin="")
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert message in result.stderr and len(result.stderr) < 400  # a message never grows with its input
    assert result.stdout == ""
    assert db_state(data_dir) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", str(REPO / "corpus" / "seed-article.txt")], "already in the articles as #1"),
        (["remove", "999"], "there is no article #999"),
        (["show", "999"], "there is no article #999"),
        (["remove", str(2**63)], f"there is no article #{2**63}"),
        (["show", str(2**64)], f"there is no article #{2**64}"),
        (["ask", "who?", "-k", "0"], "at least one quote"),
    ],
)
def test_bad_input_changes_nothing_in_postgresql(
    database_url: str, seeded_dir: Path, tmp_path: Path, args, message
) -> None:
    """On PostgreSQL too, a refused add, remove, show or ask is one `error:` line and leaves the database as it was."""
    from corpus.postgres.migrate import migrate

    migrate(seeded_dir / DATABASE, database_url)
    store = Store(tmp_path / "data", database_url)
    before = store.state()
    result = store.run(*args, stdin="")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert message in result.stderr
    assert store.state() == before


def test_backup_and_restore_are_refused_for_postgresql(database_url: str, seeded_dir: Path, tmp_path: Path) -> None:
    """With DATABASE_URL set, `backup` and `restore` say to use pg_dump / pg_restore, write nothing and change nothing."""
    from corpus.postgres.migrate import migrate

    migrate(seeded_dir / DATABASE, database_url)
    store = Store(tmp_path / "data", database_url)
    before = store.state()
    backup = store.run("backup", str(tmp_path / "copy.sqlite3"))
    restore = store.run("restore", str(seeded_dir / DATABASE))
    assert backup.returncode == restore.returncode == 1 and backup.stdout == restore.stdout == ""
    assert backup.stderr.startswith("error: ") and "`pg_dump -Fc`" in backup.stderr, backup.stderr
    assert restore.stderr.startswith("error: ") and "`pg_restore`" in restore.stderr, restore.stderr
    assert not (tmp_path / "copy.sqlite3").exists() and not (tmp_path / "data" / DATABASE).exists()
    assert store.state() == before
    audit = [json.loads(line) for line in store.run("audit", "--json").stdout.splitlines()]
    assert [(e["action"], e["outcome"]) for e in audit] == [("restore", "refused"), ("backup", "refused")]


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("MODEL_PRECISION", "fp8", "MODEL_PRECISION must be one of auto, float32, bfloat16"),
        ("MIN_SCORE", "high", "MIN_SCORE"),
    ],
)
def test_bad_setting_is_one_line_error(data_dir: Path, setting: str, value: str, message: str) -> None:
    """A mistyped setting stops the command with one line naming it, before anything is touched."""
    before = db_state(data_dir)
    result = run_cli("ask", "who did Ratcliffe blame?", data_dir=data_dir, settings={setting: value})
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert message in result.stderr
    assert db_state(data_dir) == before


def test_stats_json(store: Store) -> None:
    """`stats --json` reports articles, passages, index size, model and data directory (each backend)."""
    stats = json.loads(store.run("stats", "--json").stdout)
    assert stats["articles"] == 1 and stats["passages"] == stats["index_size"] == 9
    assert stats["model"] == "sentence-transformers/all-MiniLM-L6-v2" and stats["data_dir"] == str(store.data_dir)


def test_no_command_without_token_says_how(tmp_path: Path) -> None:
    """With no command and no DISCORD_TOKEN, two lines say how to set it and how to use `ask`."""
    result = run_cli(data_dir=tmp_path / "d")
    assert result.returncode == 0
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2 and "DISCORD_TOKEN" in lines[0] and "ask" in lines[1]


def test_help_lists_every_command(tmp_path: Path) -> None:
    """`--help` names every command."""
    result = run_cli("--help", data_dir=tmp_path)
    for command in ("ask", "add", "import", "remove", "list", "show", "stats", "rebuild"):
        assert command in result.stdout


def test_audit_log_records_actions_and_refusals(store: Store, tmp_path: Path) -> None:
    """Every command-line change is in `audit`, with who, what and the outcome, refusals included (each backend)."""
    path = tmp_path / "ohio.txt"
    path.write_text(ARTICLE, encoding="utf-8")
    assert store.run("add", str(path), "--title", "Ohio audits").returncode == 0
    assert store.run("remove", "999").returncode == 1
    assert store.run("remove", "2").returncode == 0
    entries = [json.loads(line) for line in store.run("audit", "--json").stdout.splitlines()]
    assert [(e["action"], e["target"], e["outcome"]) for e in entries] == [
        ("remove", "2", "ok"),
        ("remove", "999", "refused"),
        ("add", str(path), "ok"),
    ]
    assert entries[1]["detail"] == "there is no article #999"
    assert all(e["actor"].startswith("cli:") and e["at"] for e in entries)


def test_backup_and_restore_round_trip(data_dir: Path, tmp_path: Path) -> None:
    """A backup restored over later changes brings back exactly the backed-up articles, and answers from them."""
    path = tmp_path / "ohio.txt"
    path.write_text(ARTICLE, encoding="utf-8")
    assert run_cli("add", str(path), "--title", "Ohio audits", data_dir=data_dir).returncode == 0
    backup = tmp_path / "articles-backup.sqlite3"
    made = run_cli("backup", str(backup), data_dir=data_dir)
    assert made.returncode == 0 and made.stdout.strip() == f"Backed up 2 articles (11 passages) to {backup}."
    assert run_cli("remove", "2", data_dir=data_dir).returncode == 0
    restored = run_cli("restore", str(backup), data_dir=data_dir)
    assert restored.returncode == 0, restored.stderr
    assert restored.stdout.startswith(f"Restored 2 articles (11 passages) from {backup}.")
    assert "The previous database is kept as" in restored.stdout
    listed = [json.loads(line)["title"] for line in run_cli("list", "--json", data_dir=data_dir).stdout.splitlines()]
    assert listed == ["Washington accuses Tehran, Moscow of attempts to interfere in the campaign", "Ohio audits"]
    answer = json.loads(run_cli("ask", "who is the ohio secretary of state", "--json", data_dir=data_dir).stdout)
    assert any("LaRose" in q["text"] for q in answer["quotes"])


def test_restore_refuses_a_damaged_or_foreign_file(data_dir: Path, tmp_path: Path) -> None:
    """A file that is not a healthy backup of this bot is refused and the current database stays."""
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"SQLite format 3\x00" + b"\x00" * 4000)
    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE notes (x)")
    before = db_state(data_dir)
    for bad in (junk, other, tmp_path / "missing.sqlite3"):
        result = run_cli("restore", str(bad), data_dir=data_dir)
        assert result.returncode == 1 and result.stderr.startswith("error: "), result.stderr
    assert db_state(data_dir) == before


def copy_database(data_dir: Path, target: Path) -> Path:
    """A copy of the data directory's database made with SQLite's backup API, as `backup` makes it."""
    with closing(sqlite3.connect(data_dir / "articles.sqlite3")) as source, closing(sqlite3.connect(target)) as copy:
        source.backup(copy)
    return target


def refused_whole(result: subprocess.CompletedProcess[str], data_dir: Path, before: tuple[int, int, str]) -> None:
    """A refused restore: one `error:` line, exit 1, the database as it was and no restore leftovers."""
    assert result.returncode == 1 and result.stdout == "", result.stdout
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert db_state(data_dir) == before
    assert sorted(p.name for p in data_dir.iterdir() if "restor" in p.name) == []


def test_restore_refuses_a_backup_carrying_a_trigger(data_dir: Path, tmp_path: Path) -> None:
    """A backup with an extra trigger (one that wipes the articles on every audit entry) is refused and changes nothing."""
    backup = copy_database(data_dir, tmp_path / "trigger.sqlite3")
    with closing(sqlite3.connect(backup)) as db:
        db.execute("CREATE TRIGGER wipe AFTER INSERT ON audit BEGIN DELETE FROM articles; END")
        db.commit()
    before = db_state(data_dir)
    result = run_cli("restore", str(backup), data_dir=data_dir)
    refused_whole(result, data_dir, before)
    assert "trigger wipe" in result.stderr
    assert run_cli("remove", "999", data_dir=data_dir).returncode == 1  # an audit entry: the articles stay
    assert db_state(data_dir)[:2] == before[:2]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            "DROP TABLE audit; CREATE VIEW audit AS SELECT 1 AS id, '' AS at, NULL AS guild_id, '' AS actor,"
            " '' AS action, NULL AS target, '' AS outcome, NULL AS detail",
            "view audit",
        ),
        ("ALTER TABLE articles ADD COLUMN owner TEXT NOT NULL DEFAULT 'x'", "table articles"),
        ("ALTER TABLE articles DROP COLUMN source", "table articles"),
        ("UPDATE embeddings SET dim = 3, vector = substr(vector, 1, 12)", "3 dimensions"),
        ("UPDATE embeddings SET model = 'other/model'", "'other/model'"),
        ("UPDATE embeddings SET vector = substr(vector, 1, 40)", "damaged embeddings"),
    ],
    ids=["audit-view", "extra-not-null-column", "missing-column", "wrong-dimension", "other-model", "short-vector"],
)
def test_restore_refuses_schema_incompatible_backups(data_dir: Path, tmp_path: Path, change: str, message: str) -> None:
    """A backup whose schema or embeddings differ from what this bot makes is refused, and every command still works."""
    backup = copy_database(data_dir, tmp_path / "changed.sqlite3")
    with closing(sqlite3.connect(backup)) as db:
        db.executescript(change)
    before = db_state(data_dir)
    result = run_cli("restore", str(backup), data_dir=data_dir)
    refused_whole(result, data_dir, before)
    assert message in result.stderr


def test_restore_takes_a_path_holding_hash_and_question_marks(data_dir: Path, tmp_path: Path) -> None:
    """A backup named `a#b?c.sqlite3` restores, and no file named after part of it appears."""
    backup = tmp_path / "a#b?c.sqlite3"
    assert run_cli("backup", str(backup), data_dir=data_dir).returncode == 0
    result = run_cli("restore", str(backup), data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Restored 1 articles (9 passages) from {backup}.")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a#b?c.sqlite3", "data"]


def test_restore_refuses_a_truncated_backup_and_leaves_nothing_beside_it(data_dir: Path, tmp_path: Path) -> None:
    """A truncated backup is refused as damaged, and no -wal or -shm file is left beside it."""
    backup = copy_database(data_dir, tmp_path / "whole.sqlite3")
    truncated = tmp_path / "truncated.sqlite3"
    truncated.write_bytes(backup.read_bytes()[:20_000])
    before = db_state(data_dir)
    result = run_cli("restore", str(truncated), data_dir=data_dir)
    refused_whole(result, data_dir, before)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "truncated.sqlite3", "whole.sqlite3"]


GIB = 1 << 30


@pytest.fixture(scope="module")
def gzip_bomb(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """About 1.5 MB of gzip that unpacks to 1.5 GB of NUL bytes (24 members of 64 MB each)."""
    return gzip.compress(bytes(64 << 20), compresslevel=9) * 24


@pytest.mark.parametrize("command", ["add", "import"])
def test_devices_and_fifos_are_refused_without_reading(data_dir: Path, tmp_path: Path, command: str) -> None:
    """`add` and `import` of /dev/zero (through a .txt name) or of a FIFO say so at once and change nothing."""
    (tmp_path / "zero.txt").symlink_to("/dev/zero")
    os.mkfifo(tmp_path / "pipe.txt")
    before = db_state(data_dir)
    for name in ("zero.txt", "pipe.txt"):
        result = run_cli(command, str(tmp_path / name), data_dir=data_dir, timeout=60, memory=GIB)
        assert result.returncode == 1 and result.stdout == ""
        assert result.stderr == f"error: {tmp_path / name} is not a regular file\n", result.stderr
    assert db_state(data_dir) == before


def test_gzip_bombs_are_refused_past_the_limit_without_unpacking_them(
    data_dir: Path, tmp_path: Path, gzip_bomb: bytes
) -> None:
    """A 1.5 MB gzip that unpacks to 1.5 GB is refused by `add` and `import` within 1 GB of memory."""
    (tmp_path / "bomb.txt").write_bytes(gzip_bomb)
    (tmp_path / "bomb.csv.gz").write_bytes(gzip_bomb)
    before = db_state(data_dir)
    added = run_cli("add", str(tmp_path / "bomb.txt"), data_dir=data_dir, memory=GIB)
    assert added.stderr == f"error: {tmp_path / 'bomb.txt'} is larger than the 2.0 MB limit\n", added.stderr
    imported = run_cli("import", str(tmp_path / "bomb.csv.gz"), data_dir=data_dir, memory=GIB)
    assert imported.stderr == f"error: {tmp_path / 'bomb.csv.gz'} is larger than the 200.0 MB limit\n", imported.stderr
    assert added.returncode == imported.returncode == 1 and db_state(data_dir) == before


def test_standard_input_is_read_up_to_the_limit(data_dir: Path) -> None:
    """`add -` refuses more than MAX_FILE_BYTES on standard input in one line."""
    result = run_cli("add", "-", data_dir=data_dir, stdin=b"a" * 2_000_001, memory=GIB)
    assert result.returncode == 1 and result.stderr == "error: standard input is larger than the 2.0 MB limit\n"


def test_control_characters_never_reach_the_terminal(store: Store, tmp_path: Path) -> None:
    r"""ANSI escapes in a title and a text are printed as visible `\x1b` by add, list, show and ask (each backend)."""
    path = tmp_path / "ansi.txt"
    text = ARTICLE.replace("$4 million", "$4 million\x1b[2J\x07")
    path.write_text(text, encoding="utf-8")
    added = store.run("add", str(path), "--title", "Ohio audits \x1b[31mred\x1b[0m")
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "Added article #2 (2 passages): Ohio audits \\x1b[31mred\\x1b[0m"
    listed = store.run("list")
    shown = store.run("show", "2")
    asked = store.run("ask", "how much will the ohio audits cost")
    for result in (added, listed, shown, asked):
        assert result.returncode == 0 and "\x1b" not in result.stdout and "\x07" not in result.stdout, result.stdout
    assert "\\x1b[2J\\x07" in shown.stdout and "\\x1b[2J\\x07" in asked.stdout and "\\x1b[31m" in listed.stdout


@pytest.mark.parametrize("command", ["list", "stats", "audit"])
def test_output_into_a_closed_pipe_ends_quietly(data_dir: Path, command: str) -> None:
    """Piped into a reader that has stopped (as `head` does), `list`, `stats` and `audit` end with status 0 and no traceback."""
    assert run_cli("remove", "999", data_dir=data_dir).returncode == 1  # an audit entry to print
    read, write = os.pipe()
    os.close(read)  # the reader is gone: every write to the pipe fails with EPIPE
    try:
        proc = subprocess.run(
            [sys.executable, "run_bot.py", command, "--data-dir", str(data_dir)],
            cwd=REPO,
            stdout=write,
            stderr=subprocess.PIPE,
            timeout=300,
            check=False,
        )
    finally:
        os.close(write)
    assert proc.returncode == 0 and proc.stderr == b"", proc.stderr.decode()


def test_a_fresh_data_directory_answers_without_a_warning(tmp_path: Path, backend: str | None) -> None:
    """The README's first command on a new data directory, or an empty database, quotes the built-in article quietly."""
    store = Store(tmp_path / "fresh", backend)
    result = store.run("ask", "who did Ratcliffe blame?")
    assert result.returncode == 0 and result.stderr == ""
    assert "**In a press conference" in result.stdout and "Tehran and Moscow" in result.stdout
    assert store.state()[:2] == (1, 9)


def test_first_starts_at_once_on_an_empty_database_store_the_built_in_article_once(
    database_url: str, tmp_path: Path
) -> None:
    """Three commands started together on an empty PostgreSQL database (a bot and its shards, say) add one built-in article."""
    store = Store(tmp_path / "data", database_url)
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | {"DATABASE_URL": database_url}
    procs = [
        subprocess.Popen(
            [sys.executable, "run_bot.py", "stats", "--json", "--data-dir", str(tmp_path / f"d{i}")],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(3)
    ]
    results = [proc.communicate(timeout=300) for proc in procs]
    assert all(proc.returncode == 0 for proc in procs), results
    assert store.state()[:2] == (1, 9)
    assert [json.loads(out)["articles"] for out, _ in results] == [1, 1, 1]


def test_timeline_lists_the_articles_on_a_topic_oldest_first(data_dir: Path, tmp_path: Path) -> None:
    """`timeline TOPIC` shows the dated articles on it oldest first, as text and as JSON; off-topic says so."""
    for day, fact in (("2017-12-06", "certified the final tally"), ("2017-10-06", "ordered a paper ballot trial")):
        (tmp_path / f"{day}.txt").write_text(
            f"Dunmore recount {day}\n\nThe Dunmore County election board met about the disputed recount and {fact}."
        )
        added = run_cli(
            "add", str(tmp_path / f"{day}.txt"), "--date", day, "--source", "Dunmore Ledger", data_dir=data_dir
        )
        assert added.returncode == 0, added.stderr
    shown = run_cli("timeline", "dunmore recount", data_dir=data_dir)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.index("2017-10-06  Dunmore recount") < shown.stdout.index("2017-12-06  Dunmore recount")
    assert "Dunmore Ledger" in shown.stdout and "ordered a paper ballot trial" in shown.stdout
    entries = json.loads(run_cli("timeline", "dunmore recount", "--json", data_dir=data_dir).stdout)["entries"]
    assert [e["published"] for e in entries if e["source"] == "Dunmore Ledger"] == ["2017-10-06", "2017-12-06"]
    refused = run_cli("timeline", "bolsonaro runoff", data_dir=data_dir)
    assert refused.returncode == 0 and "No article I know mentions “bolsonaro”." in refused.stdout


def test_ask_for_the_latest_says_as_of_when_the_newest_article_is_old(data_dir: Path, tmp_path: Path) -> None:
    """`ask "whats the latest on ..."` answered from a 2017 article, the others running to 2020, says "As of"."""
    (tmp_path / "dunmore.txt").write_text("Dunmore recount\n\nThe Dunmore County board certified the final tally.")
    added = run_cli("add", str(tmp_path / "dunmore.txt"), "--date", "2017-12-06", data_dir=data_dir)
    assert added.returncode == 0, added.stderr
    shown = run_cli("ask", "whats the latest on the dunmore recount", data_dir=data_dir)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines()[1] == (
        "As of 2017-12-06, the date of the first quote; the articles I know run to 2020-10-01."
    )
    assert "certified the final tally" in shown.stdout


def test_gaps_lists_unanswered_questions_grouped(data_dir: Path, encoder) -> None:
    """`gaps` shows refused questions grouped with their count and other wordings; `--json` one object per group."""
    library = Library.open(data_dir, encoder)
    for question in (
        "who won argentina's 2019 runoff",
        "who won the argentina runoff in 2019",
        "who did Ratcliffe blame?",
    ):
        library.log_answer(library.ask(question, guild_id=5), guild_id=5, user_id="1")
    library.close()
    shown = run_cli("gaps", "--guild", "5", data_dir=data_dir)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines()[:2] == [
        "   2x  who won the argentina runoff in 2019  (2 refused, 0 voted down; last "
        + shown.stdout.split("last ")[1][:10]
        + ")",
        "       also: who won argentina's 2019 runoff",
    ]
    assert "Ratcliffe" not in shown.stdout  # answered, and nobody voted it down
    groups = [json.loads(line) for line in run_cli("gaps", "--json", data_dir=data_dir).stdout.splitlines()]
    assert [(g["question"], g["asked"]) for g in groups] == [("who won the argentina runoff in 2019", 2)]
    assert run_cli("gaps", "--guild", "6", data_dir=data_dir).stdout == "No unanswered questions in the last 30 days.\n"
    refused = run_cli("gaps", "--days", "0", data_dir=data_dir)
    assert refused.returncode == 1 and refused.stderr == "error: give a period of 1 to 3650 days\n"


def test_syndicated_copy_merged_with_also_published_and_corroboration(data_dir: Path, tmp_path: Path) -> None:
    """`add` of another outlet's copy says it merged (exit 0); `ask` and `ask --json` show "also published by" and the count."""
    import csv

    from tests.conftest import REUTERS
    from tests.corpus.test_nearcopy import syndicated
    from tests.index.test_wire import QUESTION, SAVE_ACT

    csv.field_size_limit(1 << 30)
    with gzip.open(REUTERS, "rt", encoding="utf-8", newline="") as rows:
        text = next(r["text"] for r in csv.DictReader(rows) if r["title"].strip() == SAVE_ACT)
    (tmp_path / "reuters.txt").write_text(f"{SAVE_ACT}\n\n{text}", encoding="utf-8")
    (tmp_path / "copy.txt").write_text(f"Senators seek safer voting systems\n\n{syndicated(text)}", encoding="utf-8")
    first = run_cli("add", str(tmp_path / "reuters.txt"), "--source", "Reuters", data_dir=data_dir)
    assert first.returncode == 0 and first.stdout.startswith("Added article #2 ")
    merged = run_cli("add", str(tmp_path / "copy.txt"), "--source", "The Sentinel", data_dir=data_dir)
    assert merged.returncode == 0, merged.stderr
    assert merged.stdout.startswith("Already have this story as #2 (Reuters); recorded The Sentinel as also publishing")
    assert db_state(data_dir)[0] == 2  # stored once
    shown = run_cli("ask", QUESTION, data_dir=data_dir)
    assert "Also published by: The Sentinel" in shown.stdout and "Only one outlet carries this." in shown.stdout
    answer = json.loads(run_cli("ask", QUESTION, "--json", data_dir=data_dir).stdout)
    quote = answer["quotes"][0]
    assert quote["article_id"] == 2 and quote["also_published"] == ["The Sentinel"]
    assert quote["independent_outlets"] == 1 and quote["single_outlet"] is True
    assert "also published by: The Sentinel" in run_cli("show", "2", data_dir=data_dir).stdout
