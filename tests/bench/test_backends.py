"""The backend comparison's news part (bench/backends.py): its own database, counts, table and differing questions."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from bench.backends import POSTGRES, SQLITE, news_counts, news_differences, news_table, sibling_database


def _result(hit1: float, n: int, refused: int, unanswerable: str, misses: list, answered: list) -> dict:
    row = {"n": n, "ask hit@1": hit1, "ask hit@3": 1.0, "ask bold@1": 0.5, "ask refused": refused}
    return {
        "per_kind": {"all": row},
        "not_covered_refused": {"all": unanswerable},
        "misses": misses,
        "not_covered_answered": answered,
    }


def _miss(question: str, rank: int | None, answered: bool = True) -> dict:
    return {"question": question, "kind": "who", "answer": "x", "rank": rank, "answered": answered, "first": "y"}


def test_news_figures_side_by_side() -> None:
    """The table shows each backend's rates and refusals from the rounded rates, and PostgreSQL's difference."""
    sqlite = news_counts(_result(0.571, 7, 1, "3/4", [], []))
    pg = news_counts(_result(0.429, 7, 2, "4/4", [], []))
    assert sqlite["ask hit@1"] == 4 and pg["ask hit@1"] == 3
    table = news_table({SQLITE: sqlite, POSTGRES: pg})
    assert "| ask hit@1 | 0.571 | 0.429 | -0.143 |" in table
    assert "| ask refused | 1/7 | 2/7 | +1 |" in table
    assert "| unanswerable refused | 3/4 | 4/4 | +1 |" in table


def test_news_differences_lists_only_questions_that_differ() -> None:
    """A question is listed when one backend quotes the answer first and the other not, or refuses only on one side."""
    both_missed = _miss("missed by both", 2)
    sqlite_misses = [
        both_missed,
        _miss("sqlite second", 2),
        _miss("bold only", 1),
        _miss("sqlite third, pg refused", 3),
    ]
    pg_misses = [both_missed, _miss("pg refused", None, False), _miss("sqlite third, pg refused", None, False)]
    results = {
        SQLITE: _result(0.5, 5, 0, "1/2", sqlite_misses, []),
        POSTGRES: _result(0.5, 5, 2, "0/2", pg_misses, [{"question": "off topic"}]),
    }
    differ = news_differences(results)
    questions = [d["question"] for d in differ]
    assert questions == ["pg refused", "sqlite second", "sqlite third, pg refused", "off topic"]
    assert differ[0][SQLITE] == "rank 1" and differ[1][POSTGRES] == "rank 1"
    assert differ[3][SQLITE] == "refused" and differ[3]["unanswerable"] is True


def test_sibling_database_is_created_once_beside_the_first(pg_server) -> None:
    """The news database is a separate database on the same server, created the first time and reused after."""
    url = str(pg_server.get_uri())
    news_url = sibling_database(url, "bench_news_test")
    assert sibling_database(url, "bench_news_test") == news_url
    with psycopg.connect(news_url) as connection:
        assert connection.execute("SELECT current_database()").fetchone() == ("bench_news_test",)


def test_a_build_made_under_other_schema_files_is_kept_unless_asked(tmp_path: Path) -> None:
    """A scale build (hours at a million passages) is not wiped because a schema file changed."""
    from bench.scale_backends import cache_key, prepare_workdir

    work = tmp_path / "scale"
    work.mkdir()
    (work / "articles.sqlite3").write_text("grown for hours")
    (work / "state.json").write_text(json.dumps({"key": "older", "imports": {}, "backends": {}}))
    with pytest.raises(SystemExit, match="--rebuild"):
        prepare_workdir(work, rebuild=False)
    assert (work / "articles.sqlite3").exists()
    assert prepare_workdir(work, rebuild=False, stale="keep")["key"] == cache_key()
    assert (work / "articles.sqlite3").exists()
    prepare_workdir(work, rebuild=False, stale="rebuild")  # the full bench's own cache: made afresh
    assert not (work / "articles.sqlite3").exists()
