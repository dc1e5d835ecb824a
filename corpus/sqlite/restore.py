"""Restoring a backup of the embedded database: check it whole, then swap it in with one rename."""

from __future__ import annotations

import fcntl
import os
import re
import sqlite3
import uuid
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from corpus.errors import StoreError
from corpus.files import fsync_dir
from corpus.sqlite.database import REQUIRED_TABLES, Database, open_users_lock


def restore_database(backup: Path, database: Path, *, model: str, dim: Callable[[], int]) -> Path | None:
    """Check ``backup``, then swap it in for ``database``; return where the old database was kept.

    The backup is copied beside the database and checked there (see :func:`_stage_backup`):
    anything but this bot's schema with embeddings of ``model`` (``dim()`` long, asked only when
    the backup holds any, so that other refusals need no model) is refused in one sentence and
    nothing changes. Nothing else may have the database open: a process that has it (the bot,
    another command) holds a shared lock, and the restore is refused while one does. The old
    file is kept beside it, so a restore loses nothing either.
    """
    try:
        users = open_users_lock(database, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise StoreError(
            f"{database} is open in another process (the bot or another command); stop it first. Nothing was restored"
        ) from None
    with users:
        staged = database.with_name(f".{database.name}.restoring")
        _stage_backup(backup, staged, model=model, dim=dim)
        with closing(sqlite3.connect(staged)) as copy, copy:  # another database now: no saved index passes for its own
            copy.execute("INSERT OR REPLACE INTO meta VALUES ('lineage', ?)", (uuid.uuid4().hex,))
        with open(staged, "rb+") as f:
            os.fsync(f.fileno())
        kept = None
        if database.exists():
            with closing(sqlite3.connect(database)) as current:  # fold the WAL in: no stale WAL meets the new file
                current.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            kept = database.with_name(f"{database.name}.before-restore-{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}")
            os.link(database, kept)  # kept first, then one rename: a kill in between never leaves no database
        for suffix in ("-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
        os.replace(staged, database)
        fsync_dir(database.parent)
        Path(f"{staged}.lock").unlink(missing_ok=True)
        return kept


def _read_only(path: Path) -> sqlite3.Connection:
    """``path`` opened read-only, as a file nobody changes: nothing is created beside it."""
    # From the path's own URI: "#" or "?" in a file name would otherwise end the path part of the URI.
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)


def _discard(path: Path) -> None:
    """Delete a database file and whatever SQLite keeps beside it."""
    for suffix in ("", "-wal", "-shm", "-journal", ".lock"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _stage_backup(backup: Path, staged: Path, *, model: str, dim: Callable[[], int]) -> None:
    """Copy ``backup`` to ``staged`` and check the copy; a refusal raises :class:`StoreError` and leaves nothing.

    The copy is opened the way the bot opens any database, so a backup from an older version
    gets the tables and columns added since. Then it must be exactly what a fresh database is:
    every table, index, trigger and view with the same SQL (an extra trigger could delete
    every article the moment it is swapped in), an intact lexical index, and embeddings of
    ``model`` of ``dim()`` dimensions for every passage.
    """
    _discard(staged)
    try:
        try:
            with closing(_read_only(backup)) as source:
                verdict = source.execute("PRAGMA integrity_check").fetchone()[0]
                if verdict != "ok":
                    raise StoreError(f"{backup} is damaged ({verdict}); it was not restored")
                tables = {r[0] for r in source.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                if not REQUIRED_TABLES.issubset(tables):
                    raise StoreError(f"{backup} is not a backup of this bot's articles")
                with closing(sqlite3.connect(staged)) as copy:
                    source.backup(copy)
            Database(staged).close()
            with closing(sqlite3.connect(staged, isolation_level=None)) as copy:
                problem = _backup_problem(copy, model, dim)
        except StoreError as exc:
            if not isinstance(exc.__cause__, sqlite3.DatabaseError):
                raise
            raise StoreError(f"{backup} is not a usable backup ({exc.__cause__})") from None
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{backup} is not a usable backup ({exc})") from None
        if problem:
            raise StoreError(f"{backup} {problem}; it was not restored")
        with open(staged, "rb+") as f:
            os.fsync(f.fileno())
    except BaseException:
        _discard(staged)
        raise


def _backup_problem(db: sqlite3.Connection, model: str, model_dim: Callable[[], int]) -> str | None:
    """Why a staged backup cannot be swapped in (the end of a sentence naming it), or None."""
    expected, found = _fresh_schema(), _schema(db)
    differences = [f"unexpected {kind} {name}" for kind, name in sorted(found.keys() - expected.keys())]
    differences += [f"no {kind} {name}" for kind, name in sorted(expected.keys() - found.keys())]
    differences += [
        f"a different {kind} {name}"
        for kind, name in sorted(found.keys() & expected.keys())
        if found[kind, name] != expected[kind, name]
    ]
    if differences:
        more = f" and {len(differences) - 3} more" if len(differences) > 3 else ""
        return f"does not have this bot's schema ({', '.join(differences[:3])}{more})"
    try:
        db.execute("INSERT INTO passages_fts(passages_fts) VALUES ('integrity-check')")
    except sqlite3.DatabaseError:
        return "has a damaged lexical index"
    if not str(db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0]).isdigit():
        return "has a damaged change counter"
    kinds = db.execute("SELECT model, dim, COUNT(*) FROM embeddings GROUP BY 1, 2").fetchall()
    for found_model, _, count in kinds:
        if found_model != model:
            return (
                f"holds {count} embeddings made by {str(found_model)[:100]!r}, not by {model!r} that this bot uses"
                " (restore it with MODEL_NAME set to that model, then `rebuild` to change models)"
            )
    dim = model_dim() if kinds else 0
    for _, found_dim, count in kinds:
        if found_dim != dim:
            return f"holds {count} embeddings of {str(found_dim)[:20]} dimensions; {model} makes {dim}"
    damaged = db.execute(
        "SELECT COUNT(*) FROM embeddings WHERE typeof(vector) != 'blob' OR length(vector) != :size"
        " OR (sentences IS NOT NULL AND (typeof(sentences) != 'blob' OR length(sentences) % :size"
        " OR length(sentences) = 0))",
        {"size": dim * 4},
    ).fetchone()[0]
    if damaged:
        return f"holds {damaged} damaged embeddings"
    missing = db.execute(
        "SELECT COUNT(*) FROM passages p WHERE NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.passage_id = p.id)"
    ).fetchone()[0]
    return f"has {missing} passages without embeddings" if missing else None


def _fresh_schema() -> dict[tuple[str, str], str | None]:
    """The schema a new database gets, made by the same code that makes one."""
    fresh = Database(Path(":memory:"))
    try:
        return _schema(fresh.connection)
    finally:
        fresh.close()


def _schema(db: sqlite3.Connection) -> dict[tuple[str, str], str | None]:
    """Every table, index, trigger and view of the main database: (type, name) -> normalised SQL."""
    rows = db.execute("SELECT type, name, sql FROM main.sqlite_master")
    return {(str(kind), str(name).casefold()): _normal_sql(sql) for kind, name, sql in rows}


_SQL_TOKEN = re.compile(
    r"""(?P<space>\s+)|(?P<comment>--[^\n]*|/\*.*?(?:\*/|\Z))
    |(?P<quoted>'(?:[^']|'')*'|"(?:[^"]|"")*"|`(?:[^`]|``)*`|\[[^\]]*\])
    |(?P<word>\w+)|(?P<other>.)""",
    re.VERBOSE | re.DOTALL,
)


def _normal_sql(sql: str | None) -> str | None:
    """SQL as tokens, without comments or layout and with words in one case.

    So a column that an older version's ``ALTER TABLE`` appended compares equal to the same
    column in a fresh ``CREATE TABLE``; quoted strings and names are kept exactly.
    """
    if sql is None:
        return None
    tokens = []
    for match in _SQL_TOKEN.finditer(sql):
        kind = match.lastgroup
        if kind in {"space", "comment"}:
            continue
        tokens.append(match.group().casefold() if kind == "word" else match.group())
    return " ".join(tokens)
