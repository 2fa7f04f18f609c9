"""Bot settings for runs against the fakes: what an operator would write, with fast timings."""

from __future__ import annotations

from pathlib import Path

from bot.settings import Settings, load_settings

from .fake_eggapi import DEFAULT_API_KEY

# Fast timings so a run waits on events, not on the bot's production intervals.
FAST = {
    "EGGBOT_POLL_INTERVAL_MIN": "0.02",
    "EGGBOT_POLL_INTERVAL_MAX": "0.1",
    "EGGBOT_LIST_INTERVAL": "0.02",
    "EGGBOT_EGGAPI_RPS": "1000",  # the request budget has tests of its own
    "EGGBOT_STATUS_EDIT_INTERVAL": "0.05",
    "EGGBOT_TASK_DEADLINE": "60",
    "EGGBOT_HTTP_TIMEOUT": "5",
    "EGGBOT_IDENTIFY_INTERVAL": "0",  # the fake paces sharded IDENTIFYs only when a test asks it to
    # A killed process's tasks are taken over within seconds; a live one renews well in time.
    "EGGBOT_LEASE_TTL": "3",
    "EGGBOT_LEASE_RENEW_INTERVAL": "0.5",
    "EGGBOT_LEASE_CHECK_INTERVAL": "0.05",
}


def make_settings(tmp_path: Path, eggapi_url: str, **overrides: str) -> Settings:
    """Settings as an operator would write them, pointed at the fakes."""
    env = {
        "DISCORD_TOKEN": "fake-token",
        "EGGAPI_API_KEY": DEFAULT_API_KEY,
        "EGGAPI_BASE_URL": eggapi_url,
        "DATABASE_PATH": str(tmp_path / "eggbot.db"),
        **FAST,
        **overrides,
    }
    return load_settings(env)
