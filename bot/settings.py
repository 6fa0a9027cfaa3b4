"""Process settings: environment variables and an optional TOML file.

Per-server settings (channels, language, time zone) live in the database, not here.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from bot.errors import StartupError

DEFAULT_CONFIG_FILE = Path("config/moteplass.toml")
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+$")


class Settings(BaseSettings):
    """Everything the process needs to start. Build with `load_settings()`."""

    model_config = SettingsConfigDict(
        env_prefix="",
        env_file=None,
        extra="ignore",
        toml_file=DEFAULT_CONFIG_FILE,
    )

    discord_token: SecretStr = Field(default=SecretStr(""))
    database_path: Path = Path("data/moteplass.db")
    discord_api_base: str | None = None
    discord_gateway_url: str | None = None
    log_level: str = "INFO"
    guild_ready_timeout: float = 2.0
    # Commands are synced globally unless this lists guild ids (faster while developing).
    sync_guilds: list[int] = Field(default_factory=list)
    # Minimum seconds between two edits of the same announcement (coalescing updater).
    embed_edit_interval: float = 1.0
    # Old reactions left after a switch are removed once a meeting had no RSVP reaction for
    # this many seconds, so that the bot never removes one given again meanwhile.
    reaction_cleanup_quiet: float = 1.0
    # Bot-token requests per second at most (Discord's global limit is 50).
    global_requests_per_second: int = 45
    # A reminder found late by this many hours or less is still sent (once).
    reminder_grace_hours: float = 6.0
    # Seconds to wait before a new IDENTIFY after a lost session (None: discord.py's 5 s;
    # tests against the emulator set it low).
    identify_delay: float | None = None
    # Discord unreachable at start: wait this long, doubling up to the cap (with jitter).
    connect_retry_initial: float = Field(default=1.0, gt=0)
    connect_retry_max: float = Field(default=60.0, gt=0)
    # Tests only: the process clock starts at this aware time (ISO 8601) and runs from there
    # (crash tests of reminders, the monthly post). None: the real time.
    clock_start: datetime | None = None
    # A match round is computed in a short-lived child process (spawned for the round, gone
    # after it), so the bot process never loads numpy, rustworkx or scipy and its memory
    # after a round stays that of an idle bot. False: in a worker thread of the bot process
    # (no child start-up per round; the test suite's in-process bots).
    match_in_child_process: bool = True

    @field_validator("discord_token", mode="after")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value()
        if raw and not _TOKEN_RE.match(raw):
            # Never echo the value: it may be a real token with a typo.
            raise ValueError("token_malformed")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls),
            file_secret_settings,
        )

    def require_token(self) -> str:
        token = self.discord_token.get_secret_value()
        if not token:
            raise StartupError(
                "DISCORD_TOKEN is not set: put the bot token from the Discord developer portal "
                "in the DISCORD_TOKEN environment variable (or discord_token in "
                f"{DEFAULT_CONFIG_FILE})."
            )
        return token


def load_settings(**overrides: Any) -> Settings:
    """Read settings, turning validation errors into one clear line (no traceback)."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        fields = sorted({str(err["loc"][0]) for err in exc.errors() if err["loc"]})
        if "discord_token" in fields:
            raise StartupError(
                "DISCORD_TOKEN is malformed (it contains spaces, newlines or other characters "
                "a bot token never has): copy it again from the Discord developer portal "
                "into the DISCORD_TOKEN environment variable (or discord_token in "
                f"{DEFAULT_CONFIG_FILE})."
            ) from None
        names = ", ".join(f.upper() for f in fields) or "settings"
        raise StartupError(
            f"Invalid setting {names}: check the environment or {DEFAULT_CONFIG_FILE}."
        ) from None
