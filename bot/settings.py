"""Settings: the configuration contract, read once from the environment (and `.env`).

Every setting is parsed and checked here, so bad or missing values stop the bot at start with
one report that names them all. Secrets are kept out of ``repr`` so they cannot leak into logs.
How each value's text is read (numbers, money, URLs, shard lists) is in ``setting_values``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from decimal import Decimal
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from bot import setting_values as values
from bot.logs import redact_url
from bot.periods import Period

T = TypeVar("T")


class SettingsError(Exception):
    """Settings are missing or malformed; ``problems`` lists every one, as ``(name, problem)``."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems = list(problems)
        self.names = [name for name, _ in self.problems]
        super().__init__(self.report())

    @property
    def name(self) -> str:
        """The first bad setting's name."""
        return self.names[0]

    def report(self) -> str:
        """Every problem on its own line, then where the settings are described."""
        count = len(self.problems)
        head = "a setting needs" if count == 1 else f"{count} settings need"
        lines = [f"{head} fixing:", *(f"  {name}: {problem}" for name, problem in self.problems)]
        lines.append("Set them in .env or the environment; .env.example describes every setting.")
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Settings:
    """Typed, frozen configuration of one bot process."""

    discord_token: str = field(repr=False)
    eggapi_api_key: str = field(repr=False)
    eggapi_base_url: str = "https://api.eggapi.ai"
    database_path: Path = Path("data/eggbot.db")
    database_url: str | None = field(default=None, repr=False)  # PostgreSQL instead of SQLite; holds a password
    discord_api_base: str | None = None
    discord_gateway_url: str | None = None
    log_level: str = "INFO"
    log_format: str = "text"
    quota_limit: Decimal = Decimal("1.00")
    quota_period: Period = "day"
    quota_timezone: str = "UTC"
    unit_price: Decimal = Decimal("0.01")
    account_budget: Decimal | None = None
    price_refresh_interval: float = 600.0
    webhook_host: str = "0.0.0.0"
    webhook_port: int = 8080
    webhook_public_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    healthz_enabled: bool = False
    metrics_enabled: bool = False
    webhook_max_connections: int = 64
    webhook_timeout: float = 10.0
    dev_guild_id: int | None = None
    shard_count: int | None = None  # None: as many shards as Discord recommends (GET /gateway/bot)
    shard_ids: tuple[int, ...] | None = None  # None: every shard; else this process's share
    identify_interval: float = 5.5  # Discord's rule: one IDENTIFY per bucket per 5 s; 0.5 s for the trip
    lease_ttl: float = 30.0  # a process's hold on a task lapses this long after its last renewal
    lease_renew_interval: float = 10.0
    lease_check_interval: float = 1.0  # looking for tasks others left, webhooks for ours, room under the caps
    allow_dms: bool = False
    task_deadline: float = 300.0
    stale_after: float = 3600.0
    poll_interval_min: float = 2.0
    poll_interval_max: float = 15.0
    list_interval: float = 1.0
    eggapi_rps: float = 20.0
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

    @property
    def web_server_enabled(self) -> bool:
        """Whether the bot serves HTTP at all: webhooks, /healthz or /metrics."""
        return self.webhooks_enabled or self.healthz_enabled or self.metrics_enabled

    @property
    def secrets(self) -> tuple[str, ...]:
        """The secret values themselves, for the log's masking (``bot.logs.SecretMasker``)."""
        return tuple(value for value in (self.discord_token, self.eggapi_api_key, self.webhook_secret) if value)

    @property
    def database_target(self) -> str:
        """Where the database is, for people: the PostgreSQL URL with its password masked, or the SQLite file."""
        return redact_url(self.database_url) if self.database_url else str(self.database_path)

    def redacted(self) -> dict[str, object]:
        """Every setting with secrets masked, for a start-up log line."""
        secret = {"discord_token", "eggapi_api_key", "webhook_secret"}
        shown = {
            f.name: ("***" if f.name in secret and getattr(self, f.name) else getattr(self, f.name))
            for f in fields(self)
        }
        shown["database_url"] = redact_url(self.database_url) if self.database_url else None
        return shown


def _text(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


class _Reader:
    """Reads settings one by one and keeps every problem, so one report can name them all."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.problems: list[tuple[str, str]] = []

    def required(self, name: str, what: str) -> str:
        value = _text(self.env, name)
        if value is None:
            self.problems.append((name, f"is required but not set ({what})"))
            return ""
        return value

    def parsed(self, name: str, parse: Callable[[str], T], default: T, *, shown: Callable[[str], str] = repr) -> T:
        """``parse`` the setting; a problem quotes the value as ``shown`` gives it (masking a secret part)."""
        raw = _text(self.env, name)
        if raw is None:
            return default
        try:
            return parse(raw)
        except ValueError as exc:  # every parser below raises ValueError with a sentence for people
            self.problems.append((name, f"{exc} (got {shown(raw)})"))
            return default


def load_settings(env: Mapping[str, str]) -> Settings:
    """Build settings from an environment mapping; one SettingsError names every bad or missing one."""
    default = Settings(discord_token="", eggapi_api_key="")
    read = _Reader(env)
    settings = Settings(
        discord_token=read.required("DISCORD_TOKEN", "the bot token from the Discord developer portal"),
        eggapi_api_key=read.required("EGGAPI_API_KEY", "the key from the EggAPI dashboard, egg_sk_..."),
        eggapi_base_url=read.parsed("EGGAPI_BASE_URL", values.url("https", "http"), default.eggapi_base_url),
        database_path=read.parsed("DATABASE_PATH", Path, default.database_path),
        database_url=read.parsed("DATABASE_URL", values.parse_database_url, None, shown=values.masked_url),
        discord_api_base=read.parsed("DISCORD_API_BASE", values.url("https", "http"), None),
        discord_gateway_url=read.parsed("DISCORD_GATEWAY_URL", values.url("wss", "ws"), None),
        log_level=read.parsed("LOG_LEVEL", values.choice(*values.LOG_LEVELS), default.log_level),
        log_format=read.parsed("EGGBOT_LOG_FORMAT", values.choice(*values.LOG_FORMATS), default.log_format),
        quota_limit=read.parsed("EGGBOT_QUOTA_LIMIT", values.money, default.quota_limit),
        quota_period=read.parsed("EGGBOT_QUOTA_PERIOD", values.period, default.quota_period),
        quota_timezone=read.parsed("EGGBOT_QUOTA_TIMEZONE", values.timezone, default.quota_timezone),
        unit_price=read.parsed("EGGBOT_UNIT_PRICE", values.positive(values.money), default.unit_price),
        account_budget=read.parsed("EGGBOT_ACCOUNT_BUDGET", values.money, None),
        price_refresh_interval=read.parsed(
            "EGGBOT_PRICE_REFRESH_INTERVAL", values.positive_number, default.price_refresh_interval
        ),
        webhook_host=read.parsed("EGGBOT_WEBHOOK_HOST", str, default.webhook_host),
        webhook_port=read.parsed("EGGBOT_WEBHOOK_PORT", values.port, default.webhook_port),
        webhook_public_url=read.parsed("EGGBOT_WEBHOOK_PUBLIC_URL", values.url("https", "http"), None),
        webhook_secret=read.parsed("EGGBOT_WEBHOOK_SECRET", str, None),
        healthz_enabled=read.parsed("EGGBOT_HEALTHZ", values.boolean, default.healthz_enabled),
        metrics_enabled=read.parsed("EGGBOT_METRICS", values.boolean, default.metrics_enabled),
        webhook_max_connections=read.parsed(
            "EGGBOT_WEBHOOK_MAX_CONNECTIONS", values.positive_whole, default.webhook_max_connections
        ),
        webhook_timeout=read.parsed("EGGBOT_WEBHOOK_TIMEOUT", values.positive_number, default.webhook_timeout),
        dev_guild_id=read.parsed("EGGBOT_DEV_GUILD_ID", values.snowflake, None),
        shard_count=read.parsed("EGGBOT_SHARD_COUNT", values.positive_whole, None),
        shard_ids=read.parsed("EGGBOT_SHARD_IDS", values.shard_ids, None),
        identify_interval=read.parsed(
            "EGGBOT_IDENTIFY_INTERVAL", values.not_negative(values.number), default.identify_interval
        ),
        lease_ttl=read.parsed("EGGBOT_LEASE_TTL", values.positive_number, default.lease_ttl),
        lease_renew_interval=read.parsed(
            "EGGBOT_LEASE_RENEW_INTERVAL", values.positive_number, default.lease_renew_interval
        ),
        lease_check_interval=read.parsed(
            "EGGBOT_LEASE_CHECK_INTERVAL", values.positive_number, default.lease_check_interval
        ),
        allow_dms=read.parsed("EGGBOT_ALLOW_DMS", values.boolean, default.allow_dms),
        task_deadline=read.parsed("EGGBOT_TASK_DEADLINE", values.positive_number, default.task_deadline),
        stale_after=read.parsed("EGGBOT_STALE_AFTER", values.positive_number, default.stale_after),
        poll_interval_min=read.parsed("EGGBOT_POLL_INTERVAL_MIN", values.positive_number, default.poll_interval_min),
        poll_interval_max=read.parsed("EGGBOT_POLL_INTERVAL_MAX", values.positive_number, default.poll_interval_max),
        list_interval=read.parsed("EGGBOT_LIST_INTERVAL", values.positive_number, default.list_interval),
        eggapi_rps=read.parsed("EGGBOT_EGGAPI_RPS", values.positive_number, default.eggapi_rps),
        status_edit_interval=read.parsed(
            "EGGBOT_STATUS_EDIT_INTERVAL", values.positive_number, default.status_edit_interval
        ),
        max_concurrent_submits=read.parsed(
            "EGGBOT_MAX_CONCURRENT_SUBMITS", values.positive_whole, default.max_concurrent_submits
        ),
        max_concurrent_polls=read.parsed(
            "EGGBOT_MAX_CONCURRENT_POLLS", values.positive_whole, default.max_concurrent_polls
        ),
        max_running_per_member=read.parsed(
            "EGGBOT_MAX_RUNNING_PER_MEMBER", values.positive_whole, default.max_running_per_member
        ),
        max_queued_per_member=read.parsed(
            "EGGBOT_MAX_QUEUED_PER_MEMBER", values.positive_whole, default.max_queued_per_member
        ),
        max_running_total=read.parsed("EGGBOT_MAX_RUNNING_TOTAL", values.positive_whole, default.max_running_total),
        http_timeout=read.parsed("EGGBOT_HTTP_TIMEOUT", values.positive_number, default.http_timeout),
        max_image_bytes=read.parsed("EGGBOT_MAX_IMAGE_BYTES", values.positive_whole, default.max_image_bytes),
    )
    if settings.shard_ids is not None and settings.shard_count is None:
        read.problems.append(("EGGBOT_SHARD_IDS", "needs EGGBOT_SHARD_COUNT, the number of shards in all processes"))
    elif settings.shard_ids is not None and settings.shard_count is not None:
        if settings.shard_ids[-1] >= settings.shard_count:
            read.problems.append(
                ("EGGBOT_SHARD_IDS", f"must be below EGGBOT_SHARD_COUNT ({settings.shard_count}); shards count from 0")
            )
    if settings.lease_renew_interval * 2 > settings.lease_ttl:
        read.problems.append(
            (
                "EGGBOT_LEASE_RENEW_INTERVAL",
                f"must be at most half of EGGBOT_LEASE_TTL ({settings.lease_ttl:g} s), so one late renewal "
                "does not lose every lease",
            )
        )
    if settings.lease_check_interval >= settings.lease_ttl:
        read.problems.append(("EGGBOT_LEASE_CHECK_INTERVAL", "must be smaller than EGGBOT_LEASE_TTL"))
    if settings.poll_interval_max < settings.poll_interval_min:
        read.problems.append(("EGGBOT_POLL_INTERVAL_MAX", "must not be smaller than EGGBOT_POLL_INTERVAL_MIN"))
    if read.problems:
        raise SettingsError(read.problems)
    return settings


def database_path(env: Mapping[str, str]) -> Path:
    """``DATABASE_PATH`` alone, for operator commands that need nothing else (``python -m bot backup``)."""
    raw = _text(env, "DATABASE_PATH")
    return Path(raw) if raw is not None else Settings(discord_token="", eggapi_api_key="").database_path


def settings_warnings(settings: Settings) -> list[tuple[str, str]]:
    """Settings that work but are probably a mistake, as ``(name, problem)`` like SettingsError's."""
    warnings = []
    url = settings.webhook_public_url
    if url and urlsplit(url).scheme != "https":
        warnings.append(("EGGBOT_WEBHOOK_PUBLIC_URL", f"should be https, as EggAPI documents (got {url!r})"))
    return warnings
