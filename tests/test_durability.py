"""SIGKILL the real CLI at random moments during add, import, remove and rebuild; nothing acknowledged is lost.

The same rounds run on both backends: the SQLite file with its FAISS index in the data directory,
and a real PostgreSQL + pgvector named by ``DATABASE_URL`` in every child's environment (there the
data directory holds nothing, and the truth is read from the database with psycopg).

`KILLS` sets how many kills to land on each backend (25 each in CI, so 50 in all; a longer run:
`KILLS=300 pytest tests/test_durability.py -s`).
"""

from __future__ import annotations

import csv
import gzip
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from index.faiss_search import faiss_index
from index.library import Library
from index.vectors import MANIFEST
from tests.conftest import REPO, REUTERS

KILLS = int(os.environ.get("KILLS", "25"))
# When the kill may come: anywhere in how long the command takes here (start-up, model load, then the
# writes), half of the kills in its last stretch, where the writes happen. How long each takes is
# measured on this machine by the rounds left to finish (every SPARE-th round, the first one too), so
# that kills land inside the commands on a loaded machine as on a quiet one, and changes are
# acknowledged for the later rounds to check.
SPARE = 5


def synthetic(i: int) -> str:
    """An article only round ``i`` adds, so its quote can be looked for later."""
    return (
        f"The county of Zarqovia{i} certified its ballots on Friday after a full hand recount, "
        f"the election board of Zarqovia{i} said in a statement.\n\n"
        f"Officials in Zarqovia{i} said the recount matched the machine count within three votes."
    )


def reuters_slices(tmp_path: Path, rounds: int) -> list[Path]:
    """Small CSV files of real Reuters articles, a different slice for each import round."""
    csv.field_size_limit(1 << 30)
    with gzip.open(REUTERS, "rt", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    paths = []
    for i in range(rounds):
        path = tmp_path / f"slice{i}.csv"
        with open(path, "w", encoding="utf-8", newline="") as out:
            writer = csv.DictWriter(out, fieldnames=["title", "text", "subject", "date"])
            writer.writeheader()
            writer.writerows(rows[(i * 5) % 900 : (i * 5) % 900 + 5])
        paths.append(path)
    return paths


#: PostgreSQL sessions a running process holds: the store's and the vector search's (index/factory.py).
SESSIONS_PER_PROCESS = 2


def postgres_truth(url: str, model: str, *, running: int = 0) -> set[int]:
    """Read a PostgreSQL database as it is after a kill; fail on anything half-written; return its passage ids.

    Every article has its passages, numbered from 0 without a gap, each quoting the article's text at
    its span and carrying exactly one embedding of ``model`` (unit length); the lexical index (terms,
    vocabulary, totals) holds exactly the passages' words; no row points at a missing one; and no
    killed process left a session (so no open transaction and no lock) behind on the server: at most
    the sessions of the ``running`` processes known to be running besides this one.
    """
    import psycopg

    with psycopg.connect(url, autocommit=True) as db:
        deadline = time.monotonic() + 30  # the server ends a killed client's session when it sees the socket close
        while (
            len(
                leftovers := db.execute(
                    "SELECT pid, state, wait_event, left(query, 80) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
                ).fetchall()
            )
            > running * SESSIONS_PER_PROCESS
        ):
            assert time.monotonic() < deadline, f"sessions left behind by killed or closed processes: {leftovers}"
            time.sleep(0.1)
        with db.transaction():
            db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")  # one snapshot for every count below
            articles = {int(i): t for i, t in db.execute("SELECT id, text FROM articles")}
            passages = db.execute('SELECT id, article_id, position, start, "end", text FROM passages').fetchall()
            embedded = db.execute(
                "SELECT passage_id, model, dim, vector_dims(vector), round(vector_norm(vector)::numeric, 3)"
                " FROM embeddings"
            ).fetchall()
            unmatched_terms = db.execute(
                "SELECT count(*) FROM passages p WHERE (SELECT count(*) FROM passage_terms t WHERE t.passage_id = p.id)"
                " <> (SELECT count(*) FROM unnest(bot_terms(p.text)))"
            ).fetchone()
            wrong_vocabulary = db.execute(
                "SELECT count(*) FROM vocabulary v FULL JOIN"
                " (SELECT term, count(*) AS n FROM passage_terms GROUP BY term) c ON c.term = v.term"
                " WHERE v.docs IS DISTINCT FROM c.n"
            ).fetchone()
            totals = db.execute(
                "SELECT passages = (SELECT count(*) FROM passages),"
                " tokens = (SELECT coalesce(sum(length), 0) FROM passages) FROM lexical_totals"
            ).fetchone()
            generation = db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
    positions: dict[int, list[int]] = {}
    for pid, article_id, position, start, end, text in passages:
        assert article_id in articles, f"passage {pid} belongs to no article"
        assert articles[article_id][start:end] == text, f"passage {pid} is not its article's text at its span"
        positions.setdefault(article_id, []).append(position)
    for article_id in articles:
        found = sorted(positions.get(article_id, []))
        assert found == list(range(len(found))) and found, f"article #{article_id} has passages {found}"
    passage_ids = {int(p[0]) for p in passages}
    assert sorted(int(e[0]) for e in embedded) == sorted(passage_ids), "passages and embeddings differ"
    assert {(m, d, v, float(n)) for _, m, d, v, n in embedded} <= {(model, 384, 384, 1.0)}, "a malformed embedding"
    assert unmatched_terms == (0,), "a passage's lexical terms are not its words"
    assert wrong_vocabulary == (0,), "the vocabulary's counts are not the passages' terms"
    assert totals == (True, True), "the lexical totals are not the passages'"
    assert generation is not None and int(generation[0]) > 0
    return passage_ids


def check_consistent(
    data_dir: Path, encoder, added: dict[int, int], removed: set[int], database_url: str | None = None
) -> None:
    """What a restart must see: a healthy store, every acknowledged change, and indexes equal to the stored passages."""
    if database_url is not None:
        passage_ids = postgres_truth(database_url, encoder.name)
    library = Library.open(data_dir, encoder, database_url=database_url)
    try:
        assert library.store.integrity_check() == "ok"
        if database_url is None:
            with sqlite3.connect(data_dir / "articles.sqlite3") as db:
                db.execute("INSERT INTO passages_fts(passages_fts) VALUES ('integrity-check')")
                fts_rows = db.execute("SELECT COUNT(*) FROM passages_fts").fetchone()[0]
                passage_ids = {r[0] for r in db.execute("SELECT id FROM passages")}
            assert set(faiss_index(library.vectors).ids().tolist()) == passage_ids  # start-up recovery matched FAISS
            assert fts_rows == len(passage_ids)
        else:  # nothing of the PostgreSQL backend lives in the data directory
            assert not (data_dir / "articles.sqlite3").exists() and not (data_dir / MANIFEST).exists()
        assert library.vectors.size() == len(passage_ids)
        listed = {a.id for a in library.list_articles()}
        for round_number, article_id in added.items():
            assert article_id in listed, f"acknowledged add #{article_id} is missing"
            quotes = library.ask(f"did zarqovia{round_number} certify its ballots").quotes
            assert any(q.article_id == article_id for q in quotes), f"#{article_id} is not quotable"
            assert {q.article_id for q in quotes} <= listed, "a quote from an article that is not stored"
        found = library.lexical.search("Zarqovia", 200, None)
        owners = {p.article_id for p in library.store.passages_by_id(pid for pid, _ in found).values()}
        for article_id in removed:
            assert article_id not in listed, f"acknowledged remove #{article_id} came back"
            assert article_id not in owners
    finally:
        library.close()


def test_kills_at_random_moments_lose_nothing_acknowledged(
    tmp_path: Path, seeded_dir: Path, encoder, backend: str | None
) -> None:
    """On each backend, after each SIGKILL and restart: stores whole, acknowledged adds quotable, removes gone."""
    rng = random.Random(20261125)
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if k not in ("DISCORD_TOKEN", "DATABASE_URL")}
    if backend is None:
        shutil.copytree(seeded_dir, data_dir)
    else:  # a fresh database, given the built-in article by a first start
        env["DATABASE_URL"] = backend
        Library.open(data_dir, encoder, database_url=backend).close()
    slices = reuters_slices(tmp_path, KILLS * 3 + 1)
    added: dict[int, int] = {}  # round -> article id, for adds that reported success
    removed: set[int] = set()
    unsure: set[int] = set()  # removes killed before they answered: the article may be gone or not
    kills = 0
    started = time.monotonic()
    round_number = 0
    expected: dict[str, float] = {}  # seconds each operation took when it was left to finish
    others = {"import": 0, "rebuild": 0}  # imports and rebuilds that reported success
    while kills < KILLS and round_number < KILLS * 3:
        round_number += 1
        operation = rng.choice(["add", "add", "import", "remove", "rebuild"] if added else ["add"])
        if operation == "add":
            path = tmp_path / f"round{round_number}.txt"
            path.write_text(synthetic(round_number), encoding="utf-8")
            argv = ["add", str(path), "--title", f"Zarqovia {round_number} recount"]
        elif operation == "import":
            argv = ["import", str(slices[round_number]), "-q"]
        elif operation == "remove":
            victim = rng.choice(sorted(set(added.values()) - removed - unsure) or [999_999])
            argv = ["remove", str(victim)]
        else:
            argv = ["rebuild", "-q"]
        kill_at = None
        if round_number % SPARE != 1:
            guess = expected.get(operation, max(expected.values(), default=10.0))
            kill_at = guess * (rng.uniform(0.05, 1.0) if rng.random() < 0.5 else rng.uniform(0.7, 1.05))
        begun = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "run_bot.py", *argv, "--data-dir", str(data_dir)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        while proc.poll() is None:
            if kill_at is not None and time.monotonic() - begun >= kill_at:
                proc.send_signal(signal.SIGKILL)
                kills += 1
                break
            time.sleep(0.02)
        out, _ = proc.communicate()
        if proc.returncode == 0:
            expected[operation] = time.monotonic() - begun
        if operation == "add" and out.startswith("Added article #"):
            added[round_number] = int(out.split("#")[1].split(" ")[0])
        elif operation == "remove" and out.startswith("Removed article #"):
            removed.add(int(out.split("#")[1].split(":")[0]))
        elif operation == "remove" and proc.returncode == -signal.SIGKILL:
            unsure.add(victim)  # killed after its commit but before it said so, perhaps
        elif out.startswith(("Imported ", "Rebuilt ")):
            others[operation] += 1
        live = {r: i for r, i in added.items() if i not in removed and i not in unsure}
        check_consistent(data_dir, encoder, live, removed, backend)
    print(
        f"\n{'postgres' if backend else 'sqlite'}: {round_number} rounds, {kills} SIGKILLs; acknowledged: {len(added)}"
        f" adds, {len(removed)} removes, {others['import']} imports, {others['rebuild']} rebuilds; all consistent"
        f" after each restart, {time.monotonic() - started:.0f} s"
    )
    assert kills >= KILLS
    assert added, "no add was acknowledged, so nothing acknowledged was checked"
