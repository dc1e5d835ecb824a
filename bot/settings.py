"""Bot settings from the environment (and a .env file, loaded by run_bot.py)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from corpus.errors import BadInput
from corpus.fetching import AddressPolicy, allow_all, public_only
from corpus.readers import excerpt


class Secret:
    """A value that never shows itself in logs, reprs or error messages."""

    def __init__(self, value: str) -> None:
        """Wrap the secret."""
        self._value = value

    def get_secret_value(self) -> str:
        """The secret itself; call this only where it is handed to Discord."""
        return self._value

    def __repr__(self) -> str:
        """Never the value."""
        return "Secret('**********')"

    __str__ = __repr__


def _ids(name: str) -> frozenset[int]:
    raw = os.environ.get(name, "")
    try:
        return frozenset(int(part) for part in raw.replace(" ", "").split(",") if part)
    except ValueError:
        raise BadInput(f"{name} must be a comma-separated list of role ids") from None


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    try:
        return float(raw) if raw else default
    except ValueError:
        raise BadInput(f"{name} must be a number, not {excerpt(raw or '')}") from None


@dataclass(frozen=True, slots=True)
class BotSettings:
    """Everything the Discord layer is configured by."""

    token: Secret
    moderator_role_ids: frozenset[int] = field(default_factory=frozenset)
    admin_role_ids: frozenset[int] = field(default_factory=frozenset)
    dev_guild_id: int | None = None
    message_content: bool = False
    ask_cooldown_s: float = 5.0
    max_file_bytes: int = 2_000_000
    api_base: str | None = None
    gateway_url: str | None = None
    allow_private_urls: bool = False
    lag_report_s: float = 300.0

    @property
    def address_policy(self) -> AddressPolicy:
        """Which addresses /article add url: may fetch from."""
        return allow_all if self.allow_private_urls else public_only

    @classmethod
    def from_env(cls) -> BotSettings:
        """Read every setting; a malformed one is a one-line error."""
        dev_guild = os.environ.get("DEV_GUILD_ID")
        if dev_guild and not dev_guild.isdigit():
            raise BadInput("DEV_GUILD_ID must be a server id (digits only)")
        return cls(
            token=Secret(os.environ.get("DISCORD_TOKEN", "")),
            moderator_role_ids=_ids("MODERATOR_ROLE_IDS"),
            admin_role_ids=_ids("ADMIN_ROLE_IDS"),
            dev_guild_id=int(dev_guild) if dev_guild else None,
            message_content=os.environ.get("MESSAGE_CONTENT_INTENT", "").lower() in {"1", "true", "yes", "on"},
            ask_cooldown_s=_number("ASK_COOLDOWN_SECONDS", 5.0),
            max_file_bytes=int(_number("MAX_FILE_BYTES", 2_000_000)),
            api_base=os.environ.get("DISCORD_API_BASE") or None,
            gateway_url=os.environ.get("DISCORD_GATEWAY_URL") or None,
            allow_private_urls=os.environ.get("ALLOW_PRIVATE_URLS") == "1",
            lag_report_s=_number("LAG_REPORT_SECONDS", 300.0),
        )
