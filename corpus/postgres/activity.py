"""The server activity log: what the bot showed, what people thought of it, and what moderators did."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from corpus.postgres.database import PgDatabase
from corpus.records import UNANSWERED, AuditEntry, UnansweredQuestion


class PgActivityLog:
    """Answers shown, votes on them and the audit log, in the articles' PostgreSQL database."""

    def __init__(self, db: PgDatabase) -> None:
        """Log into ``db``."""
        self.db = db

    def log_answer(self, guild_id: int | None, user_id: str | None, question: str, passage_ids: list[int]) -> int:
        """Record an answer that was shown; return its id (article changes are not involved)."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        rows = self.db.query(
            "INSERT INTO answers (guild_id, user_id, question, passage_ids, asked_at)"
            " VALUES (%s, %s, %s, %s, %s) RETURNING id",
            (guild_id, user_id, question, json.dumps(passage_ids), now),
        )
        return int(rows[0][0])

    def logged_answer(self, answer_id: int) -> tuple[int | None, str, list[int]] | None:
        """(guild, question, passage ids shown) of a recorded answer, or None."""
        rows = self.db.query("SELECT guild_id, question, passage_ids FROM answers WHERE id = %s", (answer_id,))
        return (rows[0][0], rows[0][1], json.loads(rows[0][2])) if rows else None

    def record_vote(self, answer_id: int, user_id: str, vote: int) -> None:
        """Store (or change) one person's vote on an answer."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        self.db.execute(
            "INSERT INTO votes VALUES (%s, %s, %s, %s) ON CONFLICT (answer_id, user_id)"
            " DO UPDATE SET vote = excluded.vote, voted_at = excluded.voted_at",
            (answer_id, user_id, vote, now),
        )

    def votes(self, answer_id: int) -> dict[str, int]:
        """Every vote on an answer, by user."""
        rows = self.db.query("SELECT user_id, vote FROM votes WHERE answer_id = %s", (answer_id,))
        return {str(u): int(v) for u, v in rows}

    def unanswered(
        self, guild_id: int | None, since: str, *, limit: int, everywhere: bool = False
    ) -> list[UnansweredQuestion]:
        """Questions asked in one server (or everywhere) since ``since``, refused or voted down, newest first.

        Voted down: more 👎 than 👍 on the answer.
        """
        where = "true" if everywhere else "a.guild_id IS NOT DISTINCT FROM %(guild)s"
        rows = self.db.query(
            "SELECT a.question, a.asked_at, a.passage_ids = '[]' FROM answers a"
            f" WHERE {where} AND a.asked_at >= %(since)s AND {UNANSWERED}"
            " ORDER BY a.id DESC LIMIT %(limit)s",
            {"guild": guild_id, "since": since, "limit": limit},
        )
        return [UnansweredQuestion(q, at, bool(refused)) for q, at, refused in rows]

    def log_action(
        self,
        *,
        guild_id: int | None,
        actor: str,
        action: str,
        target: str | None,
        outcome: str,
        detail: str | None = None,
    ) -> None:
        """Record who did what, where, and how it ended."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        self.db.execute(
            "INSERT INTO audit (at, guild_id, actor, action, target, outcome, detail)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (now, guild_id, actor, action, target, outcome, detail),
        )

    def audit_log(self, guild_id: int | None, *, limit: int = 50, everywhere: bool = False) -> list[AuditEntry]:
        """The latest actions in one server (or everywhere), newest first."""
        where = "true" if everywhere else "guild_id IS NOT DISTINCT FROM %(guild)s"
        rows = self.db.query(
            f"SELECT id, at, guild_id, actor, action, target, outcome, detail FROM audit WHERE {where}"
            " ORDER BY id DESC LIMIT %(limit)s",
            {"guild": guild_id, "limit": limit},
        )
        return [AuditEntry(*row) for row in rows]

    # -- channels and threads -----------------------------------------------------------

    def set_channel_mode(self, guild_id: int, channel_id: int, mode: str, set_by: str) -> None:
        """Store how the bot listens in a channel."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        self.db.execute(
            "INSERT INTO channel_modes VALUES (%s, %s, %s, %s, %s) ON CONFLICT (channel_id) DO UPDATE SET"
            " guild_id = excluded.guild_id, mode = excluded.mode, set_by = excluded.set_by, set_at = excluded.set_at",
            (channel_id, guild_id, mode, set_by, now),
        )

    def channel_modes(self, guild_id: int | None, channel_id: int | None = None) -> dict[int, str]:
        """The modes set in a server (or for one channel of it, or everywhere when ``guild_id`` is None), by channel."""
        rows = self.db.query(
            "SELECT channel_id, mode FROM channel_modes WHERE (%(guild)s::bigint IS NULL OR guild_id = %(guild)s)"
            " AND (%(channel)s::bigint IS NULL OR channel_id = %(channel)s)",
            {"guild": guild_id, "channel": channel_id},
        )
        return {int(c): str(m) for c, m in rows}

    def remember_thread(self, thread_id: int, guild_id: int | None, channel_id: int | None, question: str) -> None:
        """Record a thread the bot started, or the latest question asked in it."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        self.db.execute(
            "INSERT INTO conversations VALUES (%s, %s, %s, %s, %s) ON CONFLICT (thread_id) DO UPDATE SET"
            " question = excluded.question, updated_at = excluded.updated_at",
            (thread_id, guild_id, channel_id, question, now),
        )

    def thread_question(self, thread_id: int) -> str | None:
        """The latest question of a thread the bot started, or None for any other channel."""
        rows = self.db.query("SELECT question FROM conversations WHERE thread_id = %s", (thread_id,))
        return str(rows[0][0]) if rows else None
