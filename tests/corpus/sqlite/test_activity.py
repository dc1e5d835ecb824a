"""The embedded activity log: answers shown, one vote per person, and the audit log by server."""

from __future__ import annotations

from pathlib import Path

from corpus.sqlite.activity import SqliteActivityLog
from corpus.sqlite.database import Database


def test_a_vote_per_person_and_answers_remembered(tmp_path: Path) -> None:
    """A person's second vote replaces the first; a logged answer comes back with its server and passages."""
    log = SqliteActivityLog(Database(tmp_path / "a.sqlite3"))
    answer = log.log_answer(5, "u1", "who did ratcliffe blame", [3, 1, 2])
    assert log.logged_answer(answer) == (5, "who did ratcliffe blame", [3, 1, 2])
    assert log.logged_answer(answer + 1) is None
    log.record_vote(answer, "u1", 1)
    log.record_vote(answer, "u2", -1)
    log.record_vote(answer, "u1", -1)
    assert log.votes(answer) == {"u1": -1, "u2": -1}


def test_audit_log_is_per_server_newest_first(tmp_path: Path) -> None:
    """A server sees only its own actions, newest first; the operator sees every server's; JSON drops the row id."""
    log = SqliteActivityLog(Database(tmp_path / "a.sqlite3"))
    log.log_action(guild_id=1, actor="mod", action="add", target="url", outcome="ok")
    log.log_action(guild_id=2, actor="other", action="remove", target="7", outcome="refused", detail="not theirs")
    log.log_action(guild_id=1, actor="mod", action="remove", target="2", outcome="ok")
    assert [e.action for e in log.audit_log(1)] == ["remove", "add"]
    assert [e.guild_id for e in log.audit_log(None, everywhere=True)] == [1, 2, 1]
    entry = log.audit_log(2)[0].to_json()
    assert entry == {
        "at": entry["at"],
        "guild_id": 2,
        "actor": "other",
        "action": "remove",
        "target": "7",
        "outcome": "refused",
        "detail": "not theirs",
    }
