"""SIGKILL the real CLI at random moments during add, import, remove and rebuild; nothing acknowledged is lost.

`KILLS` sets how many kills to land (50 in CI; a longer run: `KILLS=300 pytest tests/test_durability.py -s`).
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
from tests.conftest import REPO, REUTERS

KILLS = int(os.environ.get("KILLS", "50"))
# When the kill may come, in seconds after the start: the model loads in about 4-5 s, then the writes
# begin, so these windows cover both the start-up and the writing of each command.
WINDOWS = {"add": (0.2, 6.0), "import": (0.5, 8.0), "remove": (0.05, 1.2), "rebuild": (0.5, 6.5)}


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
            writer.writerows(rows[(i * 12) % 900 : (i * 12) % 900 + 12])
        paths.append(path)
    return paths


def check_consistent(data_dir: Path, encoder, added: dict[int, int], removed: set[int]) -> None:
    """What a restart must see: a healthy file, every acknowledged change, and indexes equal to the database."""
    library = Library.open(data_dir, encoder)
    try:
        assert library.store.integrity_check() == "ok"
        with sqlite3.connect(data_dir / "articles.sqlite3") as db:
            db.execute("INSERT INTO passages_fts(passages_fts) VALUES ('integrity-check')")
            fts_rows = db.execute("SELECT COUNT(*) FROM passages_fts").fetchone()[0]
            passage_ids = {r[0] for r in db.execute("SELECT id FROM passages")}
        assert set(faiss_index(library.vectors).ids().tolist()) == passage_ids  # start-up recovery made FAISS match
        assert fts_rows == len(passage_ids)
        listed = {a.id for a in library.list_articles()}
        for round_number, article_id in added.items():
            assert article_id in listed, f"acknowledged add #{article_id} is missing"
            quotes = library.ask(f"did zarqovia{round_number} certify its ballots").quotes
            assert any(q.article_id == article_id for q in quotes), f"#{article_id} is not quotable"
        for article_id in removed:
            assert article_id not in listed, f"acknowledged remove #{article_id} came back"
            found = library.lexical.search("Zarqovia", 200, None)
            owners = {p.article_id for p in library.store.passages_by_id(pid for pid, _ in found).values()}
            assert article_id not in owners
    finally:
        library.close()


def test_kills_at_random_moments_lose_nothing_acknowledged(tmp_path: Path, seeded_dir: Path, encoder) -> None:
    """After each SIGKILL and restart: integrity ok, acknowledged adds quotable, removes gone, indexes exact."""
    rng = random.Random(20261125)
    data_dir = tmp_path / "data"
    shutil.copytree(seeded_dir, data_dir)
    slices = reuters_slices(tmp_path, KILLS * 3)
    added: dict[int, int] = {}  # round -> article id, for adds that reported success
    removed: set[int] = set()
    kills = 0
    env = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"}
    started = time.monotonic()
    round_number = 0
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
            victim = rng.choice(sorted(set(added.values()) - removed) or [999_999])
            argv = ["remove", str(victim)]
        else:
            argv = ["rebuild", "-q"]
        proc = subprocess.Popen(
            [sys.executable, "run_bot.py", *argv, "--data-dir", str(data_dir)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        time.sleep(rng.uniform(*WINDOWS[operation]))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        out, _ = proc.communicate()
        if operation == "add" and out.startswith("Added article #"):
            added[round_number] = int(out.split("#")[1].split(" ")[0])
        elif operation == "remove" and out.startswith("Removed article #"):
            removed.add(int(out.split("#")[1].split(":")[0]))
        check_consistent(data_dir, encoder, {r: i for r, i in added.items() if i not in removed}, removed)
    print(
        f"\n{round_number} rounds, {kills} SIGKILLs, {len(added)} adds and {len(removed)} removes acknowledged,"
        f" all consistent after each restart, {time.monotonic() - started:.0f} s"
    )
    assert kills >= KILLS
