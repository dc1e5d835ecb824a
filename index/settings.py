"""Every setting of the command line and the bot, in one place, read from the environment.

``.env.example`` documents each one; ``run_bot.py`` loads a ``.env`` file into the environment
before reading them. An empty value means unset: the default applies. A malformed value is
refused as one :class:`BadInput` sentence naming the setting, e.g. ``MIN_SCORE must be a number,
not 'abc'``. The Discord token is a :class:`SecretStr`: no repr, message or log shows it, and it
is unwrapped only where the bot connects.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

from pydantic import SecretStr, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from corpus.errors import BadInput
from corpus.fetching import AddressPolicy, allow_all, public_only
from corpus.readers import excerpt
from index.encoder import DEFAULT_MODEL, PRECISIONS
from index.feeds import DEFAULT_FEED_POLL_MINUTES, MIN_FEED_POLL_MINUTES
from index.library import DEFAULT_MIN_SCORE, MAX_FILE_BYTES

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
#: The most shards one process may be told to run (Discord's largest bots run thousands over many processes).
MAX_SHARDS = 4096


def _name(info: ValidationInfo) -> str:
    """The setting's name as it is written in the environment."""
    return (info.field_name or "a setting").upper()


def _digits(value: str) -> bool:
    return value.isascii() and value.isdigit()


def _seconds(value: Any, info: ValidationInfo, *, zero: bool) -> float:
    """A finite number of seconds, 0 allowed only when ``zero``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or number < 0 or (number == 0 and not zero):
        what = "0 (none) or a number of seconds" if zero else "a number of seconds above 0"
        raise BadInput(f"{_name(info)} must be {what}, not {excerpt(str(value))}")
    return number


class Settings(BaseSettings):
    """The configuration both shells read: the command line (``run_bot.py``) and the Discord bot (``bot/``)."""

    model_config = SettingsConfigDict(env_ignore_empty=True, frozen=True, case_sensitive=False)

    # -- both shells --------------------------------------------------------------------
    #: Where the SQLite database and the derived index files live (``--data-dir`` wins over it).
    bot_data_dir: Path = Path("data")
    #: The sentence-transformers model; the default is loaded from its package, offline.
    model_name: str = DEFAULT_MODEL
    #: auto, float32 or bfloat16.
    model_precision: str = "auto"
    #: The abstention threshold: below it the best passage does not answer the question.
    min_score: float = DEFAULT_MIN_SCORE
    #: DEBUG, INFO, WARNING, ERROR or CRITICAL.
    log_level: str = "WARNING"
    #: The largest file, standard input or attachment an article is added from, in bytes.
    max_file_bytes: int = MAX_FILE_BYTES
    #: A postgresql:// URL puts everything in that PostgreSQL database (None: SQLite in the data directory).
    #: Secret, since it may carry a password.
    database_url: SecretStr | None = None
    #: Fetch from private and loopback addresses too (tests, or a bot inside your own network).
    allow_private_urls: bool = False
    #: How often each followed feed is polled, in minutes (at least 15).
    feed_poll_minutes: float = DEFAULT_FEED_POLL_MINUTES

    # -- the bot ------------------------------------------------------------------------
    #: The bot token from the Developer Portal; None when unset (the CLI then says how to set it).
    discord_token: SecretStr | None = None
    #: Sync the commands to this one server only, at once (None: globally).
    dev_guild_id: int | None = None
    #: Members with one of these roles are moderators (Manage Messages makes one too).
    moderator_role_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    #: Members with one of these roles are admins (Administrator or Manage Server make one too).
    admin_role_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    #: Answer "@Bot question" messages (needs the privileged Message Content intent).
    message_content_intent: bool = False
    #: One question per user per this many seconds, /ask and mentions together (0: no cooldown).
    ask_cooldown_seconds: float = 5.0
    #: How often the event loop's lag is logged.
    lag_report_seconds: float = 300.0
    #: Only for tests: a stand-in Discord's REST base and gateway instead of discord.com's.
    discord_api_base: str | None = None
    discord_gateway_url: str | None = None
    #: How many shards the application runs as, over all its processes (None: as many as Discord recommends).
    shard_count: int | None = None
    #: The shards this process runs, e.g. "0,1" or "0-3" (None: all of SHARD_COUNT); needs SHARD_COUNT.
    shard_ids: Annotated[tuple[int, ...] | None, NoDecode] = None

    def __init__(self, **values: Any) -> None:
        """Read the environment (``values``, by field name, override it); a malformed setting is one BadInput."""
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise BadInput(_sentence(exc)) from None

    @property
    def address_policy(self) -> AddressPolicy:
        """Which addresses ``add URL`` and /article add url: may fetch from: public ones unless ALLOW_PRIVATE_URLS."""
        return allow_all if self.allow_private_urls else public_only

    @field_validator("model_precision", mode="before")
    @classmethod
    def _precision(cls, value: Any, info: ValidationInfo) -> Any:
        if value not in PRECISIONS:
            raise BadInput(f"{_name(info)} must be one of {', '.join(PRECISIONS)}, not {excerpt(str(value))}")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _log_level(cls, value: Any, info: ValidationInfo) -> str:
        level = str(value).upper()
        if level not in LOG_LEVELS:
            raise BadInput(f"{_name(info)} must be one of {', '.join(LOG_LEVELS)}, not {excerpt(str(value))}")
        return level

    @field_validator("min_score", mode="before")
    @classmethod
    def _number(cls, value: Any, info: ValidationInfo) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if not math.isfinite(number):
            raise BadInput(f"{_name(info)} must be a number, not {excerpt(str(value))}")
        return number

    @field_validator("ask_cooldown_seconds", mode="before")
    @classmethod
    def _cooldown(cls, value: Any, info: ValidationInfo) -> float:
        return _seconds(value, info, zero=True)

    @field_validator("lag_report_seconds", mode="before")
    @classmethod
    def _lag_report(cls, value: Any, info: ValidationInfo) -> float:
        return _seconds(value, info, zero=False)

    @field_validator("feed_poll_minutes", mode="before")
    @classmethod
    def _feed_minutes(cls, value: Any, info: ValidationInfo) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if not math.isfinite(number) or number < MIN_FEED_POLL_MINUTES:
            least = f"at least {MIN_FEED_POLL_MINUTES:.0f}"
            raise BadInput(f"{_name(info)} must be a number of minutes, {least}, not {excerpt(str(value))}")
        return number

    @field_validator("max_file_bytes", mode="before")
    @classmethod
    def _bytes(cls, value: Any, info: ValidationInfo) -> int:
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
        if not (isinstance(value, str) and _digits(value)):
            raise BadInput(f"{_name(info)} must be a number of bytes, not {excerpt(str(value))}")
        return int(value)

    @field_validator("dev_guild_id", mode="before")
    @classmethod
    def _server_id(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str) and not _digits(value):
            raise BadInput(f"{_name(info)} must be a server id (digits only), not {excerpt(value)}")
        return value

    @field_validator("moderator_role_ids", "admin_role_ids", mode="before")
    @classmethod
    def _role_ids(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, str):
            return value
        parts = [part.strip() for part in value.split(",")]
        if not all(_digits(part) for part in parts if part):
            raise BadInput(f"{_name(info)} must be a comma-separated list of role ids, not {excerpt(value)}")
        return frozenset(int(part) for part in parts if part)

    @field_validator("message_content_intent", "allow_private_urls", mode="before")
    @classmethod
    def _switch(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, str):
            return value
        if value.strip().lower() not in _TRUE | _FALSE:
            raise BadInput(f"{_name(info)} must be 1 (on) or 0 (off), not {excerpt(value)}")
        return value.strip().lower() in _TRUE

    @field_validator("discord_api_base", "discord_gateway_url", mode="before")
    @classmethod
    def _address(cls, value: Any, info: ValidationInfo) -> Any:
        kind, schemes = (
            ("an http", ("http://", "https://"))
            if info.field_name == "discord_api_base"
            else ("a ws", ("ws://", "wss://"))
        )
        if isinstance(value, str) and not value.startswith(schemes):
            raise BadInput(f"{_name(info)} must be {kind}(s):// address, not {excerpt(value)}")
        return value

    @field_validator("shard_count", mode="before")
    @classmethod
    def _shard_count(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            return value
        if isinstance(value, str) and _digits(value.strip()):
            value = int(value.strip())
        if not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
            raise BadInput(f"{_name(info)} must be a number of shards (1 or more), not {excerpt(str(value))}")
        return value

    @field_validator("shard_ids", mode="before")
    @classmethod
    def _shard_ids(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, str):
            return value
        ids: list[int] = []
        for part in value.split(","):
            first, dash, last = part.strip().partition("-")
            if not (_digits(first) and (not dash or _digits(last))) or (dash and int(last) < int(first)):
                raise BadInput(f"{_name(info)} must be shard numbers like 0,1 or 0-3, not {excerpt(value)}")
            shards = range(int(first), int(last if dash else first) + 1)
            if len(ids) + len(shards) > MAX_SHARDS:
                raise BadInput(f"{_name(info)} names more than {MAX_SHARDS} shards: {excerpt(value)}")
            ids += shards
        if len(set(ids)) != len(ids):
            raise BadInput(f"{_name(info)} names a shard twice: {excerpt(value)}")
        return tuple(ids)

    @model_validator(mode="after")
    def _shards_fit(self) -> Settings:
        """SHARD_IDS needs SHARD_COUNT and names shards below it; one process runs at most MAX_SHARDS."""
        if self.shard_ids is None:
            if self.shard_count is not None and self.shard_count > MAX_SHARDS:
                raise BadInput(
                    f"SHARD_COUNT is {self.shard_count}, more shards than one process runs ({MAX_SHARDS}): "
                    "set SHARD_IDS to this process's share"
                )
            return self
        if self.shard_count is None:
            raise BadInput("SHARD_IDS needs SHARD_COUNT: set how many shards there are in all")
        if not self.shard_ids:
            raise BadInput("SHARD_IDS must name at least one shard")
        if max(self.shard_ids) >= self.shard_count:
            raise BadInput(
                f"SHARD_IDS must be below SHARD_COUNT ({self.shard_count}, so 0 to {self.shard_count - 1}), "
                f"not {max(self.shard_ids)}"
            )
        return self


def _sentence(error: ValidationError) -> str:
    """The first problem as one sentence naming the setting, never quoting a value pydantic saw (the token's)."""
    first = error.errors()[0]
    cause = first.get("ctx", {}).get("error")
    if isinstance(cause, BadInput):
        return str(cause)
    name = str(first["loc"][0]).upper() if first["loc"] else "a setting"
    return f"{name} is not valid: {first['msg']}"
