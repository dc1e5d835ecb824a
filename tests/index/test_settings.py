"""The one settings module both shells read: defaults, the environment, one-line refusals, a token never shown."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from corpus.errors import BadInput
from corpus.fetching import allow_all, public_only
from index.encoder import DEFAULT_MODEL
from index.library import DEFAULT_MIN_SCORE
from index.settings import Settings
from tests.conftest import REPO

NAMES = [name.upper() for name in Settings.model_fields]
TOKEN = "MTA5ODc2NTQzMjEwOTg3NjU0.GhIjKl.secret-part-of-the-token_xyz"  # noqa: S105 - a made-up token


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No setting from the machine running the tests leaks into them."""
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)


def test_every_setting_in_env_example_is_a_field() -> None:
    """.env.example and Settings name exactly the same settings, commented-out ones included."""
    documented = set(re.findall(r"^#? ?([A-Z_]+)=", (REPO / ".env.example").read_text(), re.MULTILINE))
    assert documented == set(NAMES)


def test_defaults() -> None:
    """With nothing set, every setting has today's default."""
    settings = Settings()
    assert settings.bot_data_dir == Path("data")
    assert settings.model_name == DEFAULT_MODEL == "sentence-transformers/all-MiniLM-L6-v2"
    assert settings.model_precision == "auto"
    assert settings.min_score == DEFAULT_MIN_SCORE
    assert settings.log_level == "WARNING"
    assert settings.discord_token is None
    assert settings.dev_guild_id is None
    assert settings.moderator_role_ids == settings.admin_role_ids == frozenset()
    assert settings.message_content_intent is False
    assert settings.ask_cooldown_seconds == 5.0
    assert settings.max_file_bytes == 2_000_000
    assert settings.allow_private_urls is False
    assert settings.lag_report_seconds == 300.0
    assert settings.discord_api_base is None and settings.discord_gateway_url is None
    assert settings.shard_count is None and settings.shard_ids is None
    assert settings.address_policy is public_only


def test_empty_values_mean_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every setting set to the empty string (as `.env.example` leaves them) gives the defaults."""
    defaults = Settings()
    for name in NAMES:
        monkeypatch.setenv(name, "")
    assert Settings() == defaults


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        ("BOT_DATA_DIR", "/srv/bot", Path("/srv/bot")),
        ("MODEL_NAME", "/models/minilm", "/models/minilm"),
        ("MODEL_PRECISION", "bfloat16", "bfloat16"),
        ("MIN_SCORE", "0.8", 0.8),
        ("LOG_LEVEL", "debug", "DEBUG"),
        ("DEV_GUILD_ID", "123456789012345678", 123456789012345678),
        ("MODERATOR_ROLE_IDS", "11, 22,33", frozenset({11, 22, 33})),
        ("ADMIN_ROLE_IDS", "44", frozenset({44})),
        ("MESSAGE_CONTENT_INTENT", "1", True),
        ("MESSAGE_CONTENT_INTENT", "yes", True),
        ("MESSAGE_CONTENT_INTENT", "0", False),
        ("ASK_COOLDOWN_SECONDS", "0", 0.0),
        ("ASK_COOLDOWN_SECONDS", "2.5", 2.5),
        ("MAX_FILE_BYTES", "5000", 5000),
        ("ALLOW_PRIVATE_URLS", "1", True),
        ("LAG_REPORT_SECONDS", "60", 60.0),
        ("DISCORD_API_BASE", "http://127.0.0.1:8080/api/v10", "http://127.0.0.1:8080/api/v10"),
        ("DISCORD_GATEWAY_URL", "ws://127.0.0.1:8080/", "ws://127.0.0.1:8080/"),
        ("SHARD_COUNT", "4", 4),
    ],
)
def test_each_setting_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, name: str, raw: str, expected: object
) -> None:
    """Each setting's environment variable sets it, parsed to its type."""
    monkeypatch.setenv(name, raw)
    assert getattr(Settings(), name.lower()) == expected


def test_token_is_read_as_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """DISCORD_TOKEN is read whole, and only get_secret_value() gives it back."""
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    token = Settings().discord_token
    assert token is not None and token.get_secret_value() == TOKEN


def test_private_addresses_only_when_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    """ALLOW_PRIVATE_URLS=1 lifts the public-addresses-only policy; 0 keeps it."""
    monkeypatch.setenv("ALLOW_PRIVATE_URLS", "1")
    assert Settings().address_policy is allow_all
    monkeypatch.setenv("ALLOW_PRIVATE_URLS", "0")
    assert Settings().address_policy is public_only


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("MODEL_PRECISION", "fp8", "MODEL_PRECISION must be one of auto, float32, bfloat16, not 'fp8'"),
        ("MIN_SCORE", "abc", "MIN_SCORE must be a number, not 'abc'"),
        ("MIN_SCORE", "nan", "MIN_SCORE must be a number, not 'nan'"),
        ("LOG_LEVEL", "loud", "LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, not 'loud'"),
        ("DEV_GUILD_ID", "my-server", "DEV_GUILD_ID must be a server id (digits only), not 'my-server'"),
        (
            "MODERATOR_ROLE_IDS",
            "12,mods",
            "MODERATOR_ROLE_IDS must be a comma-separated list of role ids, not '12,mods'",
        ),
        ("ADMIN_ROLE_IDS", "-5", "ADMIN_ROLE_IDS must be a comma-separated list of role ids, not '-5'"),
        ("MESSAGE_CONTENT_INTENT", "maybe", "MESSAGE_CONTENT_INTENT must be 1 (on) or 0 (off), not 'maybe'"),
        ("ASK_COOLDOWN_SECONDS", "-1", "ASK_COOLDOWN_SECONDS must be 0 (none) or a number of seconds, not '-1'"),
        ("ASK_COOLDOWN_SECONDS", "5s", "ASK_COOLDOWN_SECONDS must be 0 (none) or a number of seconds, not '5s'"),
        ("MAX_FILE_BYTES", "2MB", "MAX_FILE_BYTES must be a number of bytes, not '2MB'"),
        ("MAX_FILE_BYTES", "2e6", "MAX_FILE_BYTES must be a number of bytes, not '2e6'"),
        ("ALLOW_PRIVATE_URLS", "please", "ALLOW_PRIVATE_URLS must be 1 (on) or 0 (off), not 'please'"),
        ("LAG_REPORT_SECONDS", "0", "LAG_REPORT_SECONDS must be a number of seconds above 0, not '0'"),
        ("DISCORD_API_BASE", "127.0.0.1:8080", "DISCORD_API_BASE must be an http(s):// address, not '127.0.0.1:8080'"),
        ("DISCORD_GATEWAY_URL", "http://x/", "DISCORD_GATEWAY_URL must be a ws(s):// address, not 'http://x/'"),
        ("SHARD_COUNT", "0", "SHARD_COUNT must be a number of shards (1 or more), not '0'"),
        ("SHARD_COUNT", "two", "SHARD_COUNT must be a number of shards (1 or more), not 'two'"),
        ("SHARD_IDS", "0", "SHARD_IDS needs SHARD_COUNT: set how many shards there are in all"),
    ],
)
def test_malformed_setting_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str, raw: str, message: str
) -> None:
    """A malformed value is refused as one BadInput sentence that names the setting and quotes the value."""
    monkeypatch.setenv(name, raw)
    with pytest.raises(BadInput) as refused:
        Settings()
    assert str(refused.value) == message


@pytest.mark.parametrize(
    ("count", "raw", "expected"),
    [("2", "0", (0,)), ("2", "1", (1,)), ("4", "0-3", (0, 1, 2, 3)), ("8", " 0, 2-3 ,7", (0, 2, 3, 7))],
)
def test_shard_ids_are_read_as_lists_and_ranges(
    monkeypatch: pytest.MonkeyPatch, count: str, raw: str, expected: tuple[int, ...]
) -> None:
    """SHARD_IDS takes shard numbers and ranges, commas between, each below SHARD_COUNT."""
    monkeypatch.setenv("SHARD_COUNT", count)
    monkeypatch.setenv("SHARD_IDS", raw)
    settings = Settings()
    assert settings.shard_count == int(count) and settings.shard_ids == expected


@pytest.mark.parametrize(
    ("count", "raw", "message"),
    [
        ("2", "2", "SHARD_IDS must be below SHARD_COUNT (2, so 0 to 1), not 2"),
        ("4", "1-5", "SHARD_IDS must be below SHARD_COUNT (4, so 0 to 3), not 5"),
        ("4", "0,1,1", "SHARD_IDS names a shard twice: '0,1,1'"),
        ("4", "0-2,2", "SHARD_IDS names a shard twice: '0-2,2'"),
        ("4", "3-1", "SHARD_IDS must be shard numbers like 0,1 or 0-3, not '3-1'"),
        ("4", "0,-1", "SHARD_IDS must be shard numbers like 0,1 or 0-3, not '0,-1'"),
        ("4", "first", "SHARD_IDS must be shard numbers like 0,1 or 0-3, not 'first'"),
        ("4", ",", "SHARD_IDS must be shard numbers like 0,1 or 0-3, not ','"),
        ("9999999999", "0-99999999", "SHARD_IDS names more than 4096 shards: '0-99999999'"),
        (
            "9999",
            "",
            "SHARD_COUNT is 9999, more shards than one process runs (4096): set SHARD_IDS to this process's share",
        ),
    ],
)
def test_malformed_shards_are_one_line(monkeypatch: pytest.MonkeyPatch, count: str, raw: str, message: str) -> None:
    """A shard list with a shard out of range, twice, or unreadable is one sentence, and a huge range is never built."""
    monkeypatch.setenv("SHARD_COUNT", count)
    monkeypatch.setenv("SHARD_IDS", raw)
    with pytest.raises(BadInput) as refused:
        Settings()
    assert str(refused.value) == message


def test_long_malformed_value_is_cut_in_the_message(monkeypatch: pytest.MonkeyPatch) -> None:
    """The refusal does not grow with the value: a 10,000-character value is quoted cut short."""
    monkeypatch.setenv("MIN_SCORE", "9" * 5_000 + "x" * 5_000)
    with pytest.raises(BadInput) as refused:
        Settings()
    assert str(refused.value).startswith("MIN_SCORE must be a number, not '999") and len(str(refused.value)) < 120


def test_token_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    """The token's value is in no repr, str, JSON dump or refusal of the settings."""
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    settings = Settings()
    for shown in (repr(settings), str(settings), settings.model_dump_json(), repr(settings.discord_token)):
        assert TOKEN not in shown and "secret-part" not in shown, shown
    monkeypatch.setenv("MIN_SCORE", "abc")
    with pytest.raises(BadInput) as refused:
        Settings()
    assert TOKEN not in str(refused.value) and "secret-part" not in str(refused.value)


def test_values_in_code_override_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings(field=value) wins over the environment, and a wrong one is a BadInput too."""
    monkeypatch.setenv("ADMIN_ROLE_IDS", "1")
    assert Settings(admin_role_ids=frozenset({2})).admin_role_ids == frozenset({2})
    with pytest.raises(BadInput, match=r"^MAX_FILE_BYTES must be a number of bytes, not '-1'$"):
        Settings(max_file_bytes=-1)
    with pytest.raises(BadInput, match=r"^NO_SUCH_SETTING is not valid"):
        Settings(no_such_setting=1)


def _stats(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k.upper() not in NAMES} | {"LOG_LEVEL": "WARNING"} | env
    return subprocess.run(
        [sys.executable, "run_bot.py", "stats", "--json", *args],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_data_dir_argument_beats_bot_data_dir(tmp_path: Path, seeded_dir: Path) -> None:
    """Through the CLI, BOT_DATA_DIR chooses the data directory, and --data-dir wins over it."""
    from_env, from_argument = tmp_path / "from-env", tmp_path / "from-argument"
    for target in (from_env, from_argument):
        shutil.copytree(seeded_dir, target)
    by_env = _stats(env={"BOT_DATA_DIR": str(from_env)})
    assert by_env.returncode == 0, by_env.stderr
    assert json.loads(by_env.stdout)["data_dir"] == str(from_env)
    by_argument = _stats("--data-dir", str(from_argument), env={"BOT_DATA_DIR": str(from_env)})
    assert by_argument.returncode == 0, by_argument.stderr
    assert json.loads(by_argument.stdout)["data_dir"] == str(from_argument)


def test_malformed_setting_stops_the_cli_in_one_line(tmp_path: Path) -> None:
    """A malformed setting stops a CLI command with one `error:` line naming it, before any directory is made."""
    result = _stats("--data-dir", str(tmp_path / "data"), env={"LAG_REPORT_SECONDS": "soon"})
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == "error: LAG_REPORT_SECONDS must be a number of seconds above 0, not 'soon'\n"
    assert not (tmp_path / "data").exists()
