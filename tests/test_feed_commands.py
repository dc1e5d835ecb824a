"""`feed add|list|remove|poll` as a user runs them: real processes, a real news site on 127.0.0.1, SIGKILL mid-poll."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.corpus.feed_site import STORIES, FeedSite, Item, atom, rss, serve_site
from tests.test_cli import data_dir, run_cli  # noqa: F401 - data_dir is a fixture

LOCAL = {"ALLOW_PRIVATE_URLS": "1"}  # the news site is on 127.0.0.1


@pytest.fixture
def site() -> Iterator[FeedSite]:
    """A fresh local news site for each test."""
    yield from serve_site()


def story_items(site: FeedSite, *, delay_s: float = 0.0) -> list[Item]:
    """Every story as a page on the site and an entry pointing to it."""
    return [
        Item(site.page(f"/news/{s.slug}.html", s, delay_s=delay_s), s.title, f"tag:ledger,2024:{s.slug}", s.published)
        for s in STORIES
    ]


def feed_urls(directory: Path) -> list[str]:
    """The address of every article a feed added, read straight from the database."""
    with sqlite3.connect(directory / "articles.sqlite3") as db:
        return [r[0] for r in db.execute("SELECT url FROM articles WHERE added_by LIKE 'feed #%' ORDER BY id")]


def test_follow_poll_list_and_remove_from_the_command_line(data_dir: Path, site: FeedSite) -> None:  # noqa: F811
    """`feed add` checks the feed, `feed poll` adds each page once and says so, `feed list` and `audit` show it."""
    items = story_items(site)[:3]
    items.append(Item("", "A story without a link", "nolink"))
    rss_url = site.feed("/rss.xml", rss(items))
    added = run_cli("feed", "add", rss_url, data_dir=data_dir, settings=LOCAL)
    assert added.returncode == 0, added.stderr
    assert added.stdout.splitlines()[0] == f"Following feed #1 “The County Ledger: elections”: {rss_url}"
    atom_url = site.feed("/atom.xml", atom(story_items(site)[2:4]), "application/atom+xml")
    assert run_cli("feed", "add", atom_url, "--guild", "7", data_dir=data_dir, settings=LOCAL).returncode == 0

    polled = run_cli("feed", "poll", data_dir=data_dir, settings=LOCAL)
    assert polled.returncode == 0, polled.stderr
    lines = polled.stdout.splitlines()
    assert lines[0] == f"feed #1 {rss_url}: 3 added"
    assert [line.split(": ", 1)[1] for line in lines[1:4]] == [STORIES[0].title, STORIES[1].title, STORIES[2].title]
    assert lines[4] == "  entry 'A story without a link' has no link; skipped"
    # The Atom feed's first entry is the RSS feed's last: already in the articles (a global one, seen everywhere).
    assert lines[5] == f"feed #2 {atom_url}: 1 added, 1 already in the articles"
    assert lines[-1] == "Polled 2 feeds: 4 articles added."
    assert len(feed_urls(data_dir)) == 4 and len(set(feed_urls(data_dir))) == 4

    again = run_cli("feed", "poll", data_dir=data_dir, settings=LOCAL)
    assert again.stdout.splitlines() == ["Polled 0 feeds: 0 articles added."]  # nothing is due yet
    forced = run_cli("feed", "poll", "--all", data_dir=data_dir, settings=LOCAL)
    assert forced.stdout.splitlines()[-1] == "Polled 2 feeds: 0 articles added." and len(feed_urls(data_dir)) == 4

    listed = run_cli("feed", "list", "--json", data_dir=data_dir)
    feeds = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(f["id"], f["guild_id"], f["articles"], f["failures"]) for f in feeds] == [(1, None, 3, 0), (2, 7, 1, 0)]
    table = run_cli("feed", "list", data_dir=data_dir).stdout
    assert "The County Ledger: elections" in table and table.splitlines()[-1] == "2 feeds"
    audit = run_cli("audit", "--json", data_dir=data_dir)
    actions = [json.loads(line) for line in audit.stdout.splitlines()]
    polls = [a for a in actions if a["action"] == "feed poll"]
    assert len(polls) == 4 and polls[-1]["outcome"] == "ok" and "has no link" in polls[-1]["detail"]
    assert any(a["action"] == "feed add" and a["target"] == rss_url for a in actions)

    removed = run_cli("feed", "remove", "1", data_dir=data_dir)
    assert removed.stdout == f"Stopped following feed #1: {rss_url} (its articles stay).\n"
    assert len(feed_urls(data_dir)) == 4


def test_bad_feed_commands_are_one_line_errors(data_dir: Path, site: FeedSite) -> None:  # noqa: F811
    """A page that is no feed, an unknown feed, another server's feed and a too-short interval: one line, status 1."""
    page = site.page("/news/georgia.html", STORIES[0])
    cases = [
        (("feed", "add", page), LOCAL, "error: that address serves a web page, not an RSS or Atom feed"),
        (("feed", "add", site.url("/rss.xml")), {}, "error: that address is not on the public internet"),
        (("feed", "remove", "99"), {}, "error: there is no feed #99"),
        (
            ("feed", "poll"),
            {"FEED_POLL_MINUTES": "5"},
            "error: FEED_POLL_MINUTES must be a number of minutes, at least 15, not '5'",
        ),
    ]
    for args, settings, message in cases:
        result = run_cli(*args, data_dir=data_dir, settings=settings)
        assert (result.returncode, result.stderr.strip(), result.stdout) == (1, message, ""), args
    site.feed("/rss.xml", rss(story_items(site)[:1]))
    assert (
        run_cli("feed", "add", site.url("/rss.xml"), "--guild", "7", data_dir=data_dir, settings=LOCAL).returncode == 0
    )
    other = run_cli("feed", "remove", "1", "--guild", "8", data_dir=data_dir)
    assert (other.returncode, other.stderr.strip()) == (1, "error: there is no feed #1")


def test_a_poll_killed_midway_loses_nothing_and_the_next_adds_no_duplicate(data_dir: Path, site: FeedSite) -> None:  # noqa: F811
    """SIGKILL during `feed poll` keeps every committed article; the next poll adds the rest, each page once."""
    site.feed("/rss.xml", rss(story_items(site, delay_s=1.5)))
    assert run_cli("feed", "add", site.url("/rss.xml"), data_dir=data_dir, settings=LOCAL).returncode == 0
    env = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"} | LOCAL | {"LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen(
        [sys.executable, "run_bot.py", "feed", "poll", "--data-dir", str(data_dir)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # the extraction worker goes down with it
    )
    deadline = time.monotonic() + 240
    while len(feed_urls(data_dir)) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)
    before = feed_urls(data_dir)
    assert 2 <= len(before) < len(STORIES)
    # The killed poll still holds the feed for a while: --all takes it anyway.
    resumed = run_cli("feed", "poll", "--all", data_dir=data_dir, settings=LOCAL)
    assert resumed.returncode == 0, resumed.stderr
    after = feed_urls(data_dir)
    assert after[: len(before)] == before and sorted(after) == sorted({s.link for s in story_items(site)})
    integrity = run_cli("list", data_dir=data_dir)
    assert integrity.returncode == 0 and integrity.stdout.splitlines()[-1] == f"{len(STORIES) + 1} articles"
