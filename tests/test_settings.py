"""Settings: the configuration contract, and one report that names every bad or missing setting."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from bot.__main__ import starting_line
from bot.settings import Settings, SettingsError, load_settings, settings_warnings

REQUIRED = {"DISCORD_TOKEN": "discord-secret-token", "EGGAPI_API_KEY": "egg_sk_secret"}
ROOT = Path(__file__).resolve().parent.parent


def test_defaults_follow_the_contract() -> None:
    settings = load_settings(REQUIRED)
    assert settings.eggapi_base_url == "https://api.eggapi.ai"
    assert settings.database_path == Path("data/eggbot.db")
    assert settings.discord_api_base is None and settings.discord_gateway_url is None
    assert settings.log_level == "INFO"
    assert settings.quota_limit == Decimal("1.00")
    assert settings.quota_period == "day"
    assert settings.webhooks_enabled is False
    assert settings.allow_dms is False
    assert settings.metrics_enabled is False and settings.web_server_enabled is False
    assert settings.log_format == "text"


def test_values_are_parsed_and_typed() -> None:
    env = {
        **REQUIRED,
        "EGGAPI_BASE_URL": "http://127.0.0.1:9000/",
        "DATABASE_PATH": "/tmp/x/eggbot.db",
        "DISCORD_API_BASE": "http://127.0.0.1:8000/api/v10",
        "DISCORD_GATEWAY_URL": "ws://127.0.0.1:8000/",
        "LOG_LEVEL": "debug",
        "EGGBOT_QUOTA_LIMIT": "$2.50",
        "EGGBOT_QUOTA_PERIOD": "Week",
        "EGGBOT_WEBHOOK_PORT": "9443",
        "EGGBOT_WEBHOOK_PUBLIC_URL": "https://bot.example.com/eggapi/webhook",
        "EGGBOT_DEV_GUILD_ID": "123456789012345678",
        "EGGBOT_ALLOW_DMS": "yes",
        "EGGBOT_TASK_DEADLINE": "12.5",
        "EGGBOT_METRICS": "true",
        "EGGBOT_LOG_FORMAT": "JSON",
    }
    settings = load_settings(env)
    assert settings.metrics_enabled is True and settings.log_format == "json"
    assert settings.eggapi_base_url == "http://127.0.0.1:9000"
    assert settings.database_path == Path("/tmp/x/eggbot.db")
    assert settings.log_level == "DEBUG"
    assert settings.quota_limit == Decimal("2.50")
    assert settings.quota_period == "week"
    assert settings.webhook_port == 9443
    assert settings.webhooks_enabled
    assert settings.dev_guild_id == 123456789012345678
    assert settings.allow_dms is True
    assert settings.task_deadline == 12.5


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("EGGAPI_BASE_URL", "api.eggapi.ai"),
        ("DISCORD_GATEWAY_URL", "http://127.0.0.1/"),
        ("LOG_LEVEL", "chatty"),
        ("EGGBOT_QUOTA_LIMIT", "lots"),
        ("EGGBOT_QUOTA_LIMIT", "-1"),
        ("EGGBOT_QUOTA_PERIOD", "fortnight"),
        ("EGGBOT_WEBHOOK_PORT", "70000"),
        ("EGGBOT_DEV_GUILD_ID", "abc"),
        ("EGGBOT_ALLOW_DMS", "maybe"),
        ("EGGBOT_TASK_DEADLINE", "0"),
        ("EGGBOT_UNIT_PRICE", "0"),  # a free image would let every request through
        ("EGGBOT_SHARD_COUNT", "0"),
        ("EGGBOT_IDENTIFY_INTERVAL", "-1"),
        ("EGGBOT_METRICS", "sometimes"),
        ("EGGBOT_LOG_FORMAT", "yaml"),
    ],
)
def test_malformed_values_name_the_setting(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({**REQUIRED, name: value})
    assert caught.value.names == [name]
    assert f"  {name}: must " in str(caught.value)
    assert "class" not in str(caught.value) and "decimal" not in str(caught.value)


@pytest.mark.parametrize("missing", ["DISCORD_TOKEN", "EGGAPI_API_KEY"])
def test_required_settings(missing: str) -> None:
    env = {**REQUIRED, missing: "   "}
    with pytest.raises(SettingsError, match=missing):
        load_settings(env)


def test_secrets_never_show_in_repr() -> None:
    settings = load_settings({**REQUIRED, "EGGBOT_WEBHOOK_SECRET": "whsec-hidden"})
    shown = repr(settings) + str(settings.redacted())
    for secret in ("discord-secret-token", "egg_sk_secret", "whsec-hidden"):
        assert secret not in shown
    assert isinstance(settings, Settings)


def _run_bot(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    clean = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **env}
    return subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env={**clean, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


SEE_EXAMPLE = "Set them in .env or the environment; .env.example describes every setting."
PLAYGROUND_HINT = [
    "eggbot: no DISCORD_TOKEN, so there is no Discord bot to run. To try eggbot without one, open the",
    "playground (an embedded Discord and simulated images in your browser): python -m bot playground",
    "(./scripts/run starts it by itself when no token is set).",
]


def test_missing_token_exits_2_and_says_where_to_set_it(tmp_path: Path) -> None:
    result = _run_bot({"EGGAPI_API_KEY": "egg_sk_secret"}, tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "eggbot: a setting needs fixing:",
        "  DISCORD_TOKEN: is required but not set (the bot token from the Discord developer portal)",
        SEE_EXAMPLE,
        *PLAYGROUND_HINT,  # and how to try it without a token
    ]


def test_every_problem_is_reported_at_once_in_words(tmp_path: Path) -> None:
    """O2/O3/B5: all missing and malformed settings in one report, and no Python class names."""
    result = _run_bot(
        {
            "EGGBOT_QUOTA_LIMIT": "lots",
            "EGGBOT_WEBHOOK_PORT": "http",
            "EGGBOT_TASK_DEADLINE": "soon",
            "EGGBOT_MAX_RUNNING_TOTAL": "1.5",
            "EGGBOT_QUOTA_PERIOD": "hour",
        },
        tmp_path,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "eggbot: 7 settings need fixing:",
        "  DISCORD_TOKEN: is required but not set (the bot token from the Discord developer portal)",
        "  EGGAPI_API_KEY: is required but not set (the key from the EggAPI dashboard, egg_sk_...)",
        "  EGGBOT_QUOTA_LIMIT: must be a dollar amount like 1.00 (got 'lots')",
        "  EGGBOT_QUOTA_PERIOD: must be one of day, week, month (got 'hour')",
        "  EGGBOT_WEBHOOK_PORT: must be a port number from 1 to 65535 (got 'http')",
        "  EGGBOT_TASK_DEADLINE: must be a number (got 'soon')",
        "  EGGBOT_MAX_RUNNING_TOTAL: must be a whole number (got '1.5')",
        SEE_EXAMPLE,
        *PLAYGROUND_HINT,
    ]


def test_a_plain_http_webhook_url_is_a_settings_warning() -> None:
    settings = load_settings({**REQUIRED, "EGGBOT_WEBHOOK_PUBLIC_URL": "http://bot.example.com/hook"})
    assert settings_warnings(settings) == [
        ("EGGBOT_WEBHOOK_PUBLIC_URL", "should be https, as EggAPI documents (got 'http://bot.example.com/hook')")
    ]
    assert settings_warnings(load_settings({**REQUIRED, "EGGBOT_WEBHOOK_PUBLIC_URL": "https://x.example/h"})) == []


def test_malformed_value_exits_2_and_hides_secrets(tmp_path: Path) -> None:
    result = _run_bot({**REQUIRED, "EGGBOT_QUOTA_PERIOD": "fortnight"}, tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "eggbot: a setting needs fixing:",
        "  EGGBOT_QUOTA_PERIOD: must be one of day, week, month (got 'fortnight')",
        SEE_EXAMPLE,
    ]
    assert "egg_sk_secret" not in result.stderr + result.stdout


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("EGGAPI_API_KEY=egg_sk_secret\nEGGBOT_QUOTA_LIMIT=abc\nDISCORD_TOKEN=t\n")
    result = _run_bot({}, tmp_path)
    assert result.returncode == 2
    assert "EGGBOT_QUOTA_LIMIT" in result.stderr


def test_the_starting_line_never_shows_the_webhook_urls_query(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "DISCORD_TOKEN": "t",
            "EGGAPI_API_KEY": "k",
            "DATABASE_PATH": str(tmp_path / "db"),
            "EGGBOT_WEBHOOK_PUBLIC_URL": "https://bot.example.com/eggapi/webhook?proxy_token=s3cret#frag",
        }
    )
    line = starting_line(settings)
    assert "webhooks at https://bot.example.com/eggapi/webhook (unsigned)" in line
    assert "s3cret" not in line and "frag" not in line


@pytest.mark.parametrize(
    ("raw", "ids"), [("0", (0,)), ("0,1", (0, 1)), ("0-3", (0, 1, 2, 3)), ("4-5, 8", (4, 5, 8)), ("2,2", (2,))]
)
def test_shard_ids_are_lists_ranges_or_both(raw: str, ids: tuple[int, ...]) -> None:
    settings = load_settings({**REQUIRED, "EGGBOT_SHARD_COUNT": "16", "EGGBOT_SHARD_IDS": raw})
    assert settings.shard_ids == ids and settings.shard_count == 16


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"EGGBOT_SHARD_IDS": "0-1"}, "needs EGGBOT_SHARD_COUNT"),
        ({"EGGBOT_SHARD_COUNT": "2", "EGGBOT_SHARD_IDS": "1-2"}, "must be below EGGBOT_SHARD_COUNT (2)"),
        ({"EGGBOT_SHARD_COUNT": "2", "EGGBOT_SHARD_IDS": "3-1"}, "must be shard numbers"),
        ({"EGGBOT_SHARD_COUNT": "2", "EGGBOT_SHARD_IDS": "one"}, "must be shard numbers"),
    ],
)
def test_bad_shard_ids_name_the_setting(env: dict[str, str], problem: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({**REQUIRED, **env})
    assert caught.value.names == ["EGGBOT_SHARD_IDS"] and problem in str(caught.value)


def test_leases_default_to_thirty_seconds_renewed_every_ten() -> None:
    settings = load_settings(REQUIRED)
    assert (settings.lease_ttl, settings.lease_renew_interval, settings.lease_check_interval) == (30.0, 10.0, 1.0)
    tuned = load_settings(
        {
            **REQUIRED,
            "EGGBOT_LEASE_TTL": "12",
            "EGGBOT_LEASE_RENEW_INTERVAL": "6",
            "EGGBOT_LEASE_CHECK_INTERVAL": "0.5",
        }
    )
    assert (tuned.lease_ttl, tuned.lease_renew_interval, tuned.lease_check_interval) == (12.0, 6.0, 0.5)


@pytest.mark.parametrize(
    ("env", "name", "problem"),
    [
        ({"EGGBOT_LEASE_TTL": "0"}, "EGGBOT_LEASE_TTL", "must be greater than zero"),
        ({"EGGBOT_LEASE_TTL": "soon"}, "EGGBOT_LEASE_TTL", "must be a number"),
        (
            {"EGGBOT_LEASE_RENEW_INTERVAL": "20"},
            "EGGBOT_LEASE_RENEW_INTERVAL",
            "at most half of EGGBOT_LEASE_TTL (30 s)",
        ),
        (
            {"EGGBOT_LEASE_TTL": "10", "EGGBOT_LEASE_RENEW_INTERVAL": "4", "EGGBOT_LEASE_CHECK_INTERVAL": "10"},
            "EGGBOT_LEASE_CHECK_INTERVAL",
            "must be smaller than EGGBOT_LEASE_TTL",
        ),
    ],
)
def test_bad_lease_timings_name_the_setting(env: dict[str, str], name: str, problem: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({**REQUIRED, **env})
    assert caught.value.names == [name] and problem in str(caught.value)
