"""Feed polling speed: a local RSS feed of 1,000 entries and their article pages, served from 127.0.0.1.

    python -m bench.feeds [--entries 1000]

Follows the feed (``ALLOW_PRIVATE_URLS``'s policy, as the site is local) and polls it as the bot
would, until a poll adds nothing: with the default limits that is the newest ``MAX_ENTRIES_READ``
(200) entries, ``ENTRIES_PER_POLL`` (50) a poll. Every entry goes through what ``add URL`` does
(the vetted fetcher, extraction in the worker process, chunking, embedding, the duplicate check,
the store): entries/s is entries added over the polls' wall time. Then polls again: once
unconditionally (the feed read and every entry found already seen) and once with the feed's
ETag (a 304). ``--unbounded`` lifts the limits, so one poll adds all the entries.
"""

from __future__ import annotations

import time
from pathlib import Path

import corpus.feeds
import index.feeds
from corpus.fetching import allow_all
from index.library import Library
from tests.corpus.feed_site import Item, numbered_story, rss, serve_site


def run(workdir: Path, entries: int = 1000, *, unbounded: bool = False) -> dict[str, object]:
    """Poll a feed of ``entries`` entries until caught up, then again; the timings."""
    sites = serve_site()
    site = next(sites)
    limits = (corpus.feeds.MAX_ENTRIES_READ, index.feeds.ENTRIES_PER_POLL, index.feeds.POLL_BUDGET_S)
    try:
        stories = [numbered_story(n) for n in range(entries)]
        items = [Item(site.page(f"/n/{s.slug}.html", s), s.title, s.slug, s.published) for s in stories]
        url = site.feed("/feed.xml", rss(items), etag='"bench"')
        library = Library.open(workdir / "feeds-data", address_policy=allow_all)
        library.encoder.encode(["warm up"])
        if unbounded:
            corpus.feeds.MAX_ENTRIES_READ = index.feeds.ENTRIES_PER_POLL = entries
            index.feeds.POLL_BUDGET_S = 1e9
        started = time.perf_counter()
        page = corpus.feeds.fetch_feed(url, policy=allow_all)
        parsed = corpus.feeds.parse_feed(page)
        read_s = time.perf_counter() - started
        library.follow_feed(url)
        added, polls, poll_s = 0, [], 0.0
        while True:
            started = time.perf_counter()
            [poll] = library.poll_feeds(force=True).polls
            polls.append({"added": len(poll.added), "s": round(time.perf_counter() - started, 1)})
            poll_s += time.perf_counter() - started
            added += len(poll.added)
            if not poll.left:
                break
        site.routes["/feed.xml"].etag = None  # unconditional: every entry is looked up and found seen
        started = time.perf_counter()
        [seen] = library.poll_feeds(force=True).polls
        seen_s = time.perf_counter() - started
        site.routes["/feed.xml"].etag = '"bench"'
        library.poll_feeds(force=True)  # stores the validators
        started = time.perf_counter()
        [conditional] = library.poll_feeds(force=True).polls
        not_modified_s = time.perf_counter() - started
        library.close()
    finally:
        corpus.feeds.MAX_ENTRIES_READ, index.feeds.ENTRIES_PER_POLL, index.feeds.POLL_BUDGET_S = limits
        sites.close()
    return {
        "entries": entries,
        "feed_bytes": len(page.body),
        "fetch_and_parse_s": round(read_s, 3),
        "entries_read": len(parsed.entries),
        "added": added,
        "polls": polls,
        "poll_s": round(poll_s, 1),
        "entries_per_s": round(added / poll_s, 2),
        "repoll_all_seen_s": round(seen_s, 3),
        "repoll_added": len(seen.added),
        "repoll_304": conditional.status,
        "repoll_304_s": round(not_modified_s, 3),
    }


def main() -> None:
    """Run on a scratch directory and print the figures."""
    import argparse
    import json
    from tempfile import TemporaryDirectory

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--unbounded", action="store_true", help="lift the per-poll limits: one poll adds every entry")
    args = parser.parse_args()
    with TemporaryDirectory() as tmp:
        print(json.dumps(run(Path(tmp), args.entries, unbounded=args.unbounded), indent=1))


if __name__ == "__main__":
    main()
