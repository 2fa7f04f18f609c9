"""Settings: the configuration contract, read once from the environment (and `.env`).

Every setting is parsed and checked here, so a bad value stops the bot at start with one line
that names it. Secrets are kept out of ``repr`` so they cannot leak into logs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

log = logging.getLogger(__name__)

T = TypeVar("T")

QUOTA_PERIODS = ("day", "week", "month")
LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")


class SettingsError(Exception):
    """A setting is missing or malformed; the message names it."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"setting {name}: {problem}")
        self.name = name


@dataclass(frozen=True, slots=True)
class Settings:
    """Typed, frozen configuration of one bot process."""

    discord_token: str = field(repr=False)
    eggapi_api_key: str = field(repr=False)
    eggapi_base_url: str = "https://api.eggapi.ai"
    database_path: Path = Path("data/eggbot.db")
    discord_api_base: str | None = None
    discord_gateway_url: str | None = None
    log_level: str = "INFO"
    quota_limit: Decimal = Decimal("1.00")
    quota_period: str = "day"
    quota_timezone: str = "UTC"
    unit_price: Decimal = Decimal("0.01")
    account_budget: Decimal | None = None
    price_refresh_interval: float = 600.0
    webhook_host: str = "0.0.0.0"
    webhook_port: int = 8080
    webhook_public_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    healthz_enabled: bool = False
    webhook_max_connections: int = 64
    webhook_timeout: float = 10.0
    dev_guild_id: int | None = None
    allow_dms: bool = False
    task_deadline: float = 300.0
    stale_after: float = 3600.0
    poll_interval_min: float = 2.0
    poll_interval_max: float = 15.0
    status_edit_interval: float = 5.0
    max_concurrent_submits: int = 4
    max_concurrent_polls: int = 16
    max_running_per_member: int = 3
    max_queued_per_member: int = 10
    max_running_total: int = 20
    http_timeout: float = 30.0
    max_image_bytes: int = 25 * 1024 * 1024

    @property
    def webhooks_enabled(self) -> bool:
        """Webhooks are on only while a public URL is configured."""
        return self.webhook_public_url is not None

    def redacted(self) -> dict[str, object]:
        """Every setting with secrets masked, for a start-up log line."""
        secret = {"discord_token", "eggapi_api_key", "webhook_secret"}
        return {
            f.name: ("***" if f.name in secret and getattr(self, f.name) else getattr(self, f.name))
            for f in fields(self)
        }


def _text(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def _required(env: Mapping[str, str], name: str) -> str:
    value = _text(env, name)
    if value is None:
        raise SettingsError(name, "is required but not set")
    return value


def _parsed(env: Mapping[str, str], name: str, parse: Callable[[str], T], default: T) -> T:
    raw = _text(env, name)
    if raw is None:
        return default
    try:
        return parse(raw)
    except (ValueError, InvalidOperation) as exc:
        raise SettingsError(name, f"{exc} (got {raw!r})") from None


def _url(*schemes: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        parts = urlsplit(raw)
        if parts.scheme not in schemes or not parts.netloc:
            raise ValueError(f"must be a {'/'.join(schemes)} URL")
        return raw.rstrip("/") if parts.path in ("", "/") else raw

    return parse


def _positive(kind: Callable[[str], T]) -> Callable[[str], T]:
    def parse(raw: str) -> T:
        value = kind(raw)
        if not value > 0:  # type: ignore[operator]
            raise ValueError("must be greater than zero")
        return value

    return parse


def _port(raw: str) -> int:
    value = int(raw)
    if not 1 <= value <= 65535:
        raise ValueError("must be a port number from 1 to 65535")
    return value


def _money(raw: str) -> Decimal:
    value = Decimal(raw.lstrip("$"))
    if not value.is_finite() or value < 0:
        raise ValueError("must be a dollar amount of zero or more")
    return value


def _choice(*options: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.lower() if options != LOG_LEVELS else raw.upper()
        if value not in options:
            raise ValueError(f"must be one of {', '.join(options)}")
        return value

    return parse


def _timezone(raw: str) -> str:
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("must be an IANA time zone such as UTC or Europe/Paris") from None
    return raw


def _bool(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("must be true or false")


def _snowflake(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError("must be a Discord id")
    return value


def load_settings(env: Mapping[str, str]) -> Settings:
    """Build settings from an environment mapping, raising SettingsError on the first bad one."""
    default = Settings(discord_token="", eggapi_api_key="")
    settings = Settings(
        discord_token=_required(env, "DISCORD_TOKEN"),
        eggapi_api_key=_required(env, "EGGAPI_API_KEY"),
        eggapi_base_url=_parsed(env, "EGGAPI_BASE_URL", _url("https", "http"), default.eggapi_base_url),
        database_path=_parsed(env, "DATABASE_PATH", Path, default.database_path),
        discord_api_base=_parsed(env, "DISCORD_API_BASE", _url("https", "http"), None),
        discord_gateway_url=_parsed(env, "DISCORD_GATEWAY_URL", _url("wss", "ws"), None),
        log_level=_parsed(env, "LOG_LEVEL", _choice(*LOG_LEVELS), default.log_level),
        quota_limit=_parsed(env, "EGGBOT_QUOTA_LIMIT", _money, default.quota_limit),
        quota_period=_parsed(env, "EGGBOT_QUOTA_PERIOD", _choice(*QUOTA_PERIODS), default.quota_period),
        quota_timezone=_parsed(env, "EGGBOT_QUOTA_TIMEZONE", _timezone, default.quota_timezone),
        unit_price=_parsed(env, "EGGBOT_UNIT_PRICE", _money, default.unit_price),
        account_budget=_parsed(env, "EGGBOT_ACCOUNT_BUDGET", _money, None),
        price_refresh_interval=_parsed(
            env, "EGGBOT_PRICE_REFRESH_INTERVAL", _positive(float), default.price_refresh_interval
        ),
        webhook_host=_parsed(env, "EGGBOT_WEBHOOK_HOST", str, default.webhook_host),
        webhook_port=_parsed(env, "EGGBOT_WEBHOOK_PORT", _port, default.webhook_port),
        webhook_public_url=_parsed(env, "EGGBOT_WEBHOOK_PUBLIC_URL", _url("https", "http"), None),
        webhook_secret=_parsed(env, "EGGBOT_WEBHOOK_SECRET", str, None),
        healthz_enabled=_parsed(env, "EGGBOT_HEALTHZ", _bool, default.healthz_enabled),
        webhook_max_connections=_parsed(
            env, "EGGBOT_WEBHOOK_MAX_CONNECTIONS", _positive(int), default.webhook_max_connections
        ),
        webhook_timeout=_parsed(env, "EGGBOT_WEBHOOK_TIMEOUT", _positive(float), default.webhook_timeout),
        dev_guild_id=_parsed(env, "EGGBOT_DEV_GUILD_ID", _snowflake, None),
        allow_dms=_parsed(env, "EGGBOT_ALLOW_DMS", _bool, default.allow_dms),
        task_deadline=_parsed(env, "EGGBOT_TASK_DEADLINE", _positive(float), default.task_deadline),
        stale_after=_parsed(env, "EGGBOT_STALE_AFTER", _positive(float), default.stale_after),
        poll_interval_min=_parsed(env, "EGGBOT_POLL_INTERVAL_MIN", _positive(float), default.poll_interval_min),
        poll_interval_max=_parsed(env, "EGGBOT_POLL_INTERVAL_MAX", _positive(float), default.poll_interval_max),
        status_edit_interval=_parsed(
            env, "EGGBOT_STATUS_EDIT_INTERVAL", _positive(float), default.status_edit_interval
        ),
        max_concurrent_submits=_parsed(
            env, "EGGBOT_MAX_CONCURRENT_SUBMITS", _positive(int), default.max_concurrent_submits
        ),
        max_concurrent_polls=_parsed(env, "EGGBOT_MAX_CONCURRENT_POLLS", _positive(int), default.max_concurrent_polls),
        max_running_per_member=_parsed(
            env, "EGGBOT_MAX_RUNNING_PER_MEMBER", _positive(int), default.max_running_per_member
        ),
        max_queued_per_member=_parsed(
            env, "EGGBOT_MAX_QUEUED_PER_MEMBER", _positive(int), default.max_queued_per_member
        ),
        max_running_total=_parsed(env, "EGGBOT_MAX_RUNNING_TOTAL", _positive(int), default.max_running_total),
        http_timeout=_parsed(env, "EGGBOT_HTTP_TIMEOUT", _positive(float), default.http_timeout),
        max_image_bytes=_parsed(env, "EGGBOT_MAX_IMAGE_BYTES", _positive(int), default.max_image_bytes),
    )
    if settings.poll_interval_max < settings.poll_interval_min:
        raise SettingsError("EGGBOT_POLL_INTERVAL_MAX", "must not be smaller than EGGBOT_POLL_INTERVAL_MIN")
    if settings.webhook_public_url and urlsplit(settings.webhook_public_url).scheme != "https":
        log.warning("EGGBOT_WEBHOOK_PUBLIC_URL is not https; EggAPI documents https webhook URLs")
    return settings
