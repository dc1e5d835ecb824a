"""Command line for the election-security news bot: ``python run_bot.py COMMAND``.

Every command is a thin shell over :class:`index.library.Library`, the same
core the Discord bot calls. Without a command it starts the Discord bot.
"""

from __future__ import annotations

import argparse
import functools
import getpass
import json
import logging
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from dotenv import load_dotenv

from corpus.errors import BadInput, StoreError
from corpus.readers import MAX_QUESTION_BYTES, plural, read_import_file, read_stream, read_text
from corpus.records import CHANNEL_MODES
from index.timeline import TIMELINE_LIMIT

if TYPE_CHECKING:  # the model and the index load only for the commands that need them
    from index.encoder import SentenceTransformerEncoder
    from index.library import Library
    from index.settings import Settings

log = logging.getLogger("run_bot")

HOW_TO_START = """\
To run the Discord bot, set DISCORD_TOKEN in the environment or in a .env file (see .env.example).
To ask from the command line: python run_bot.py ask "who did Ratcliffe blame?"\
"""


@functools.cache
def current_settings() -> Settings:
    """The settings (index/settings.py), read from the environment once; ``main`` loads .env into it first."""
    from index.settings import Settings

    return Settings()


def _data_dir(args: argparse.Namespace) -> Path:
    """``--data-dir``, else BOT_DATA_DIR, else ./data."""
    return Path(getattr(args, "data_dir", None) or current_settings().bot_data_dir)


def configured_encoder() -> SentenceTransformerEncoder:
    """The model the settings name (MODEL_NAME, MODEL_PRECISION); it loads when first used."""
    from index.encoder import SentenceTransformerEncoder

    settings = current_settings()
    return SentenceTransformerEncoder(settings.model_name, precision=settings.model_precision)


def open_library(args: argparse.Namespace, encoder: SentenceTransformerEncoder | None = None) -> Library:
    """The core over the chosen data directory, configured by the settings."""
    from index.library import Library

    settings = current_settings()
    return Library.open(
        _data_dir(args),
        encoder or configured_encoder(),
        min_score=settings.min_score,
        max_file_bytes=settings.max_file_bytes,
        address_policy=settings.address_policy,
        database_url=settings.database_url.get_secret_value() if settings.database_url else None,
        feed_poll_minutes=settings.feed_poll_minutes,
    )


# Control characters but tab and line feed: a terminal acts on them (ANSI escapes start with \x1b).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str, *, one_line: bool = False) -> str:
    r"""``text`` safe to print: control characters shown as ``\x1b``; ``one_line`` also folds line breaks."""
    text = " ".join(text.split()) if one_line else text.replace("\r\n", "\n")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _bold(text: str) -> str:
    return f"\033[1m{text}\033[0m" if sys.stdout.isatty() else f"**{text}**"


def print_answer(answer) -> None:
    """Print an answer for a person to read: each quote verbatim, the answering sentence in bold."""
    print(f"Q: {printable(answer.question, one_line=True)}")
    if not answer.answered:
        print(f"{answer.refusal}\n")
        return
    if answer.as_of_note:
        print(answer.as_of_note)
    for number, quote in enumerate(answer.quotes, start=1):
        meta = " · ".join(
            part
            for part in (
                printable(quote.source or "outlet unknown", one_line=True),
                printable(quote.published or "", one_line=True),
                f"article #{quote.article_id}",
                f"score {quote.score:.2f}",
            )
            if part
        )
        print(f"\n[{number}] {printable(quote.title, one_line=True)}\n    {meta}")
        if quote.url:
            print(f"    {printable(quote.url, one_line=True)}")
        text = quote.text
        marked = (
            printable(text[: quote.highlight_start])
            + _bold(printable(quote.highlight))
            + printable(text[quote.highlight_end :])
        )
        print("    " + marked.replace("\n", "\n    "))
        if quote.also_published:
            print(f"    Also published by: {printable(', '.join(quote.also_published), one_line=True)}")
        print(f"    {corroboration_line(quote)}")
    print()


def corroboration_line(quote) -> str:
    """How many independent outlets carry the quote's claim, or that only one does."""
    if quote.single_outlet:
        return "Only one outlet carries this."
    return f"Carried by {quote.independent_outlets} independent outlets."


def cmd_ask(args: argparse.Namespace) -> int:
    """Answer one question, or one per line of standard input."""
    if args.question == "-":
        data = read_stream(sys.stdin.buffer, "standard input", max_bytes=MAX_QUESTION_BYTES)
        text = read_text(data, "standard input").text if data.strip() else ""
        questions = [line for line in text.splitlines() if line.strip()]
    else:
        questions = [args.question]
    if not questions:
        raise BadInput("no questions on standard input")
    if args.after is not None and not args.after.strip():
        raise BadInput("the earlier question (--after) is empty")
    library = open_library(args)
    for question in questions:
        answer = library.ask(question, k=args.k, guild_id=args.guild, previous=args.after)
        if args.json:
            print(json.dumps(answer.to_json(), ensure_ascii=False), flush=True)
        else:
            print_answer(answer)
    return 0


def cmd_timeline(args: argparse.Namespace) -> int:
    """The articles that matter on a topic, oldest first, each with its sentence nearest the topic."""
    library = open_library(args)
    timeline = library.timeline(args.topic, guild_id=args.guild, limit=args.limit)
    if args.json:
        print(json.dumps(timeline.to_json(), ensure_ascii=False))
        return 0
    print(f"Timeline: {printable(timeline.topic, one_line=True)}")
    if not timeline.entries:
        print(timeline.refusal)
    for quote in timeline.entries:
        where = " · ".join((printable(quote.source or "outlet unknown", one_line=True), f"article #{quote.article_id}"))
        print(f"\n{printable(quote.published or 'undated', one_line=True)}  {printable(quote.title, one_line=True)}")
        print(f"    {where}")
        if quote.url:
            print(f"    {printable(quote.url, one_line=True)}")
        print("    " + printable(quote.highlight).replace("\n", "\n    "))
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    """Add one article from a URL, a .txt/.md/.html file, or standard input."""
    from corpus.ingest import Details

    details = Details(args.title, args.source, args.date, args.url, args.added_by, args.guild)
    library = open_library(args)
    if args.file == "-":
        added = library.add_stream(sys.stdin.buffer, details, replace=args.replace)
    else:
        added = library.add(args.file, details, replace=args.replace)
    # A merged wire copy exits 0 too: nothing is wrong, the story is simply stored once (the line says so).
    print(printable(added.message(), one_line=True))
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    """Bulk-import a CSV or JSON Lines file."""
    from tqdm import tqdm

    rows = list(read_import_file(Path(args.file), default_source=args.source))
    library = open_library(args)
    with tqdm(total=len(rows), unit="article", desc="import", file=sys.stderr, disable=args.quiet) as bar:
        report = library.import_articles(rows, progress=bar.update)
    for error in report.errors:
        print(f"line {error.line}: skipped: {printable(error.reason, one_line=True)}", file=sys.stderr)
    merged = f"merged {report.merged} copies of stored stories; " if report.merged else ""
    print(
        f"Imported {report.added} articles ({report.passages} passages); {merged}"
        f"skipped {report.duplicates} duplicates and {len(report.errors)} bad rows."
    )
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    """Remove an article: it is never quoted again."""
    article = open_library(args).remove_article(args.id, guild_id=args.guild)
    print(f"Removed article #{article.id}: {printable(article.title, one_line=True)}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """List the articles as a table, or JSON."""
    articles = open_library(args).list_articles(guild_id=args.guild)
    if args.json:
        for a in articles:
            print(json.dumps(a.to_json(), ensure_ascii=False))
        return 0
    print(f"{'id':>5}  {'published':<10}  {'outlet':<14}  {'passages':>8}  title")
    for a in articles:
        title = a.title if len(a.title) <= 70 else a.title[:69] + "…"
        published, source = printable(a.published or "-", one_line=True), printable(a.source or "-", one_line=True)
        print(f"{a.id:>5}  {published:<10}  {source[:14]:<14}  {a.passage_count:>8}  {printable(title, one_line=True)}")
    print(f"{len(articles)} articles")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """Show one article's metadata and passages."""
    library = open_library(args)
    article, passages = library.get_article(args.id, guild_id=args.guild)
    print(f"#{article.id} {printable(article.title, one_line=True)}")
    for label, value in (
        ("outlet", article.source),
        ("published", article.published),
        ("url", article.url),
        ("added", f"{article.added_at} by {article.added_by or 'command line'}"),
        ("server", article.guild_id or "all (global)"),
    ):
        if value:
            print(f"  {label}: {printable(str(value), one_line=True)}")
    for copy in library.copies(article.id, guild_id=args.guild):
        where = f" {copy.url}" if copy.url else ""
        line = f"{copy.source or 'outlet unknown'}{where} ({copy.published or 'undated'}; added {copy.added_at})"
        print(f"  also published by: {printable(line, one_line=True)}")
    for p in passages:
        print(f"\n  [{p.position + 1}] chars {p.start}-{p.end}\n  {printable(p.text)}")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    """Counts, model and data directory."""
    stats = open_library(args).stats()
    if args.json:
        print(json.dumps(stats.to_json()))
    else:
        for key, value in stats.to_json().items():
            print(f"{key.replace('_', ' ')}: {value}")
    return 0


def cmd_rebuild(args: argparse.Namespace) -> int:
    """Re-embed every passage and swap the new index in when complete."""
    from tqdm import tqdm

    library = open_library(args)
    with tqdm(unit="passage", desc="rebuild", file=sys.stderr, disable=args.quiet) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        count = library.rebuild(progress)
    print(f"Rebuilt the index: {count} passages re-embedded with {library.encoder.name}.")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    """The latest moderator and admin actions, newest first."""
    library = open_library(args)
    entries = library.audit_log(guild_id=args.guild, limit=args.limit, everywhere=args.guild is None)
    for e in entries:
        if args.json:
            print(json.dumps(e.to_json(), ensure_ascii=False))
        else:
            where = f"server {e.guild_id}" if e.guild_id else "global"
            actor, target = printable(e.actor, one_line=True), printable(e.target or "-", one_line=True)
            detail = f" ({printable(e.detail, one_line=True)})" if e.detail else ""
            print(f"{e.at}  {where:<26} {actor:<24} {e.action:<14} {target:<30} {e.outcome}{detail}")
    return 0


def cmd_gaps(args: argparse.Namespace) -> int:
    """The questions members asked and did not get, grouped, most asked first."""
    library = open_library(args)
    gaps = library.gaps(guild_id=args.guild, days=args.days, everywhere=args.guild is None, limit=args.limit)
    for gap in gaps:
        if args.json:
            print(json.dumps(gap.to_json(), ensure_ascii=False))
            continue
        print(
            f"{gap.asked:>4}x  {printable(gap.question, one_line=True)}"
            f"  ({gap.refused} refused, {gap.voted_down} voted down; last {gap.last_asked[:10]})"
        )
        for wording in gap.wordings:
            print(f"       also: {printable(wording, one_line=True)}")
    if not gaps and not args.json:
        print(f"No unanswered questions in the last {plural(args.days, 'day')}.")
    return 0


def cmd_channel(args: argparse.Namespace) -> int:
    """Set how the bot listens in a channel, or list the channels whose mode was set."""
    library = open_library(args)
    if args.action == "set":
        if args.guild is None or args.channel_id is None or args.mode is None:
            raise BadInput("channel set needs CHANNEL_ID MODE and --guild ID")
        actor = f"cli:{getpass.getuser()}"
        library.set_channel_mode(guild_id=args.guild, channel_id=args.channel_id, mode=args.mode, actor=actor)
        print(f"Channel {args.channel_id} of server {args.guild}: {args.mode}.")
        return 0
    modes = library.channel_modes(guild_id=args.guild)
    for channel_id, mode in sorted(modes.items()):
        print(json.dumps({"channel_id": channel_id, "mode": mode}) if args.json else f"{channel_id}  {mode}")
    if not modes and not args.json:
        print("No channel has a mode set: the bot answers mentions everywhere.")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    """A consistent copy of the database, taken while the bot may be running."""
    library = open_library(args)
    target = Path(args.file)
    if target.is_dir() or not target.parent.is_dir():
        raise BadInput(f"cannot write a backup to {target}")
    library.backup(target)
    articles, passages = library.counts()
    print(f"Backed up {articles} articles ({passages} passages) to {target}.")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    """Check a backup, then swap it in for the database (stop the bot first)."""
    from index.factory import restore_backup

    source = Path(args.file)
    if not source.is_file():
        raise BadInput(f"no such file: {source}")
    encoder = configured_encoder()  # the restored embeddings must be this model's
    url = current_settings().database_url
    kept = restore_backup(_data_dir(args), source, encoder, url.get_secret_value() if url else None)
    library = open_library(args, encoder)
    library.stats()  # the index, rebuilt from the restored embeddings
    articles, passages = library.counts()
    print(f"Restored {articles} articles ({passages} passages) from {source}.")
    if kept:
        print(f"The previous database is kept as {kept}.")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    """Copy the data directory's SQLite database, embeddings included, into an empty PostgreSQL database."""
    from corpus.postgres.migrate import migrate
    from index.factory import DATABASE, is_postgres

    if not is_postgres(args.url):
        raise BadInput("migrate needs a postgresql:// URL")
    database = _data_dir(args) / DATABASE
    for line in migrate(database, args.url):
        print(line)
    print(f"Migrated {database} to PostgreSQL; set DATABASE_URL to use it.")
    return 0


def cmd_feed_add(args: argparse.Namespace) -> int:
    """Follow an RSS or Atom feed; its entries are added at the next poll."""
    feed = open_library(args).follow_feed(args.url, guild_id=args.guild, added_by=f"cli:{getpass.getuser()}")
    title = f" “{printable(feed.title, one_line=True)}”" if feed.title else ""
    print(f"Following feed #{feed.id}{title}: {printable(feed.url, one_line=True)}")
    print("Its entries are added at the next poll (the bot's, or `feed poll`).")
    return 0


def cmd_feed_list(args: argparse.Namespace) -> int:
    """The followed feeds (every server's, unless --guild), as a table or JSON."""
    feeds = open_library(args).list_feeds(guild_id=args.guild, everywhere=args.guild is None)
    if args.json:
        for feed in feeds:
            print(json.dumps(feed.to_json(), ensure_ascii=False))
        return 0
    print(f"{'id':>4}  {'server':<20}  {'articles':>8}  {'last poll':<16}  {'next poll':<16}  feed")
    for feed in feeds:
        last = (feed.last_polled_at or "-")[:16].replace("T", " ")
        due = feed.next_poll_at[:16].replace("T", " ")
        name = printable(f"{feed.title or '-'} <{feed.url}>", one_line=True)
        failing = (
            f" (failing {feed.failures}x: {printable(feed.last_error or '', one_line=True)})" if feed.failures else ""
        )
        print(
            f"{feed.id:>4}  {feed.guild_id or 'global':<20}  {feed.articles:>8}  {last:<16}  {due:<16}  {name}{failing}"
        )
    print(f"{len(feeds)} feeds")
    return 0


def cmd_feed_remove(args: argparse.Namespace) -> int:
    """Stop following a feed; the articles it added stay."""
    feed = open_library(args).unfollow_feed(args.id, guild_id=args.guild, everywhere=args.guild is None)
    print(f"Stopped following feed #{feed.id}: {printable(feed.url, one_line=True)} (its articles stay).")
    return 0


def cmd_feed_poll(args: argparse.Namespace) -> int:
    """Poll every feed that is due (every feed, --all) once and say what each added."""
    report = open_library(args).poll_feeds(force=args.all, actor=f"cli:{getpass.getuser()}")
    for poll in report.polls:
        url, summary = printable(poll.feed.url, one_line=True), printable(poll.summary(), one_line=True)
        print(f"feed #{poll.feed.id} {url}: {summary}")
        for added in poll.added:
            print(f"  added article #{added.id}: {printable(added.title, one_line=True)}")
        for line in poll.lines:
            print(f"  {printable(line, one_line=True)}")
    waiting = f"; {report.waiting} due feeds wait for the next poll (time budget)" if report.waiting else ""
    print(f"Polled {len(report.polls)} feeds: {report.added} articles added{waiting}.")
    return 0


AUDITED = {"add", "import", "remove", "rebuild", "backup", "restore", "channel", "feed add", "feed remove"}


def record(args: argparse.Namespace, outcome: str, detail: str | None = None) -> None:
    """Put a command-line moderator or admin action in the audit log (best effort)."""
    action = f"feed {args.feed_command}" if args.command == "feed" else args.command
    if action not in AUDITED:
        return
    target = str(
        getattr(args, "file", None)
        or getattr(args, "url", None)
        or getattr(args, "id", None)
        or getattr(args, "channel_id", None)
        or ""
    )
    if getattr(args, "mode", None):
        detail = f"mode {args.mode}" + (f"; {detail}" if detail else "")
    try:
        open_library(args).record_action(
            actor=f"cli:{getpass.getuser()}",
            guild_id=getattr(args, "guild", None),
            action=action,
            target=target or None,
            outcome=outcome,
            detail=detail,
        )
    except (BadInput, StoreError, OSError):
        log.warning("could not record %s in the audit log", args.command)


def cmd_bot(args: argparse.Namespace) -> int:
    """Start the Discord bot when DISCORD_TOKEN is set; otherwise say how."""
    settings = current_settings()
    if settings.discord_token is None:
        print(HOW_TO_START)
        return 0
    from bot.app import run_bot

    return run_bot(_data_dir(args), open_library(args), settings)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every command."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir", default=argparse.SUPPRESS, help="data directory (default: $BOT_DATA_DIR or ./data)"
    )
    scoped = argparse.ArgumentParser(add_help=False)
    scoped.add_argument("--guild", type=int, default=None, help="act as this Discord server (default: global articles)")
    quiet = argparse.ArgumentParser(add_help=False)
    quiet.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    parser = argparse.ArgumentParser(
        prog="run_bot.py", description="Answer election-security questions with verbatim quotes.", parents=[common]
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    ask = sub.add_parser("ask", parents=[common, scoped], help="answer a question with quotes")
    ask.add_argument("question", help="the question, or - to read one per line from standard input")
    ask.add_argument("-k", type=int, default=3, help="how many quotes (default 3)")
    ask.add_argument("--json", action="store_true", help="one JSON object per question per line")
    ask.add_argument("--after", metavar="EARLIER", help="ask it as a follow-up to this earlier question")
    ask.set_defaults(run=cmd_ask)

    timeline = sub.add_parser("timeline", parents=[common, scoped], help="the dated articles on a topic, oldest first")
    timeline.add_argument("topic", help="what the timeline is about, e.g. 'voting machine security'")
    timeline.add_argument("--limit", type=int, default=TIMELINE_LIMIT, help=f"at most this many ({TIMELINE_LIMIT})")
    timeline.add_argument("--json", action="store_true", help="print the timeline as one JSON object")
    timeline.set_defaults(run=cmd_timeline)

    add = sub.add_parser("add", parents=[common, scoped], help="add an article from a URL, a .txt/.md/.html file or -")
    add.add_argument("file", help="an http(s) URL, a .txt, .md or .html file, or - for standard input")
    add.add_argument("--title", help="title (default: the page's title, or the file's first line)")
    add.add_argument("--source", help="outlet, e.g. Reuters")
    add.add_argument("--url", help="the article's address")
    add.add_argument("--date", help="publication date, YYYY-MM-DD")
    add.add_argument("--replace", action="store_true", help="update the article with the same URL or text")
    add.add_argument("--added-by", default=None, help=argparse.SUPPRESS)
    add.set_defaults(run=cmd_add)

    imp = sub.add_parser("import", parents=[common, quiet], help="bulk import from CSV or JSON Lines (.gz ok)")
    imp.add_argument("file")
    imp.add_argument("--source", help="outlet for rows that name none")
    imp.set_defaults(run=cmd_import)

    remove = sub.add_parser("remove", parents=[common, scoped], help="remove an article")
    remove.add_argument("id", type=int)
    remove.set_defaults(run=cmd_remove)

    lst = sub.add_parser("list", parents=[common, scoped], help="list the articles")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(run=cmd_list)

    show = sub.add_parser("show", parents=[common, scoped], help="show an article and its passages")
    show.add_argument("id", type=int)
    show.set_defaults(run=cmd_show)

    stats = sub.add_parser("stats", parents=[common], help="articles, passages, index size, model")
    stats.add_argument("--json", action="store_true")
    stats.set_defaults(run=cmd_stats)

    rebuild = sub.add_parser("rebuild", parents=[common, quiet], help="re-embed everything and swap the index")
    rebuild.set_defaults(run=cmd_rebuild)

    audit = sub.add_parser("audit", parents=[common, scoped], help="the latest moderator and admin actions")
    audit.add_argument("--limit", type=int, default=50)
    audit.add_argument("--json", action="store_true")
    audit.set_defaults(run=cmd_audit)

    gaps = sub.add_parser("gaps", parents=[common, scoped], help="questions refused or voted down, grouped")
    gaps.add_argument("--days", type=int, default=30, help="how far back (default 30)")
    gaps.add_argument("--limit", type=int, default=20, help="at most this many groups (default 20)")
    gaps.add_argument("--json", action="store_true", help="one JSON object per group per line")
    gaps.set_defaults(run=cmd_gaps)

    channel = sub.add_parser("channel", parents=[common, scoped], help="how the bot listens in a channel")
    channel.add_argument("action", choices=("set", "list"), help="set a channel's mode, or list the modes set")
    channel.add_argument("channel_id", nargs="?", type=int, help="the channel's id (set)")
    channel.add_argument("mode", nargs="?", choices=CHANNEL_MODES, help="auto, mention or off (set)")
    channel.add_argument("--json", action="store_true", help="list: one JSON object per line")
    channel.set_defaults(run=cmd_channel)

    backup = sub.add_parser("backup", parents=[common], help="copy the database consistently, even while the bot runs")
    backup.add_argument("file")
    backup.set_defaults(run=cmd_backup)

    restore = sub.add_parser("restore", parents=[common], help="check a backup and swap it in (stop the bot first)")
    restore.add_argument("file")
    restore.set_defaults(run=cmd_restore)

    migrate = sub.add_parser(
        "migrate", parents=[common], help="copy the SQLite database, embeddings included, into an empty PostgreSQL"
    )
    migrate.add_argument("url", help="postgresql://... of an empty database")
    migrate.set_defaults(run=cmd_migrate)

    feed = sub.add_parser("feed", parents=[common], help="follow RSS and Atom feeds: add, list, remove, poll")
    feed_sub = feed.add_subparsers(dest="feed_command", metavar="FEED_COMMAND", required=True)
    feed_add = feed_sub.add_parser("add", parents=[common, scoped], help="follow a feed (for --guild's server)")
    feed_add.add_argument("url", help="the feed's http(s) address")
    feed_add.set_defaults(run=cmd_feed_add)
    feed_list = feed_sub.add_parser("list", parents=[common, scoped], help="the followed feeds (every server's)")
    feed_list.add_argument("--json", action="store_true", help="one JSON object per feed per line")
    feed_list.set_defaults(run=cmd_feed_list)
    feed_remove = feed_sub.add_parser("remove", parents=[common, scoped], help="stop following a feed")
    feed_remove.add_argument("id", type=int)
    feed_remove.set_defaults(run=cmd_feed_remove)
    feed_poll = feed_sub.add_parser("poll", parents=[common], help="poll every feed that is due, once")
    feed_poll.add_argument("--all", action="store_true", help="poll every feed, due or not")
    feed_poll.set_defaults(run=cmd_feed_poll)
    parser.set_defaults(run=cmd_bot)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; bad input is one line on standard error and exit status 1."""
    load_dotenv()
    current_settings.cache_clear()  # read after .env is loaded, once per run
    args = build_parser().parse_args(argv)
    try:
        settings = current_settings()  # a malformed setting stops every command before it starts
    except BadInput as exc:
        print(f"error: {printable(str(exc), one_line=True)}", file=sys.stderr)
        return 1
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        status = int(args.run(args))
        sys.stdout.flush()  # here, where a closed pipe can be caught, not at exit
    except BrokenPipeError:
        # The reader stopped reading (`list | head`): what it read is complete, and the command
        # did its work. Nothing more can reach it, so the interpreter's last flush goes nowhere.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        record(args, "ok")
        return 0
    except (BadInput, StoreError) as exc:
        record(args, "refused", str(exc))
        print(f"error: {printable(str(exc), one_line=True)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    record(args, "ok")
    return status


if __name__ == "__main__":
    sys.exit(main())
