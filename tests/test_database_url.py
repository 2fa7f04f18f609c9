"""DATABASE_URL: PostgreSQL chosen by one setting, checked at start, its password never shown."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bot.__main__ import starting_line
from bot.app.startup import run_discord
from bot.logs import redact_tokens, redact_url
from bot.settings import SettingsError, load_settings

ROOT = Path(__file__).resolve().parent.parent
REQUIRED = {"DISCORD_TOKEN": "discord-secret-token", "EGGAPI_API_KEY": "egg_sk_secret"}
URL = "postgresql://eggbot:pg-s3cret@db.example:5432/eggbot"


def test_a_url_chooses_postgresql_and_shows_only_a_masked_copy() -> None:
    settings = load_settings({**REQUIRED, "DATABASE_URL": URL})
    assert settings.database_url == URL
    assert settings.database_target == "postgresql://eggbot:***@db.example:5432/eggbot"
    shown = repr(settings) + str(settings.redacted()) + starting_line(settings)
    assert "pg-s3cret" not in shown and "postgresql://eggbot:***@db.example:5432/eggbot" in starting_line(settings)
    assert load_settings(REQUIRED).database_url is None  # unset: SQLite at DATABASE_PATH, as before
    socket_dir = "postgresql://eggbot@/eggbot?host=/run/postgresql"  # a unix socket names no host
    assert load_settings({**REQUIRED, "DATABASE_URL": socket_dir}).database_url == socket_dir


@pytest.mark.parametrize(
    "value",
    [
        "mysql://eggbot:pg-s3cret@db.example/eggbot",
        "postgresql://eggbot:pg-s3cret@db.example:99999/eggbot",
        "postgresql://eggbot:pg-s3cret@db.example:5432/",
        "postgresql://eggbot:pg-s3cret@:5432/eggbot",
        "data/eggbot.db",
    ],
)
def test_a_malformed_url_is_named_without_its_password(value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({**REQUIRED, "DATABASE_URL": value})
    assert caught.value.names == ["DATABASE_URL"]
    assert "  DATABASE_URL: must " in str(caught.value)
    assert "pg-s3cret" not in str(caught.value)


def test_the_log_filter_masks_url_passwords_anywhere() -> None:
    line = f"connection to {URL} failed; retry postgres://u:p%40ss@h/d, mail me at a@b.example"
    assert redact_tokens(line) == (
        "connection to postgresql://eggbot:***@db.example:5432/eggbot failed; retry postgres://u:***@h/d, "
        "mail me at a@b.example"
    )
    assert redact_url("postgresql://eggbot@db/eggbot") == "postgresql://eggbot@db/eggbot"  # no password, unchanged


def test_a_server_that_cannot_be_reached_is_one_error_line_and_status_1(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://eggbot:pg-s3cret@127.0.0.1:{port}/eggbot"
    settings = load_settings({**REQUIRED, "DATABASE_URL": url})
    with caplog.at_level(logging.ERROR):
        assert run_discord(settings) == 1
    [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert record.getMessage().startswith(f"cannot open PostgreSQL at postgresql://eggbot:***@127.0.0.1:{port}/eggbot")
    assert record.exc_info is None and "pg-s3cret" not in caplog.text


def test_python_m_bot_with_a_malformed_url_exits_2_naming_it(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(ROOT), **REQUIRED}
    env["DATABASE_URL"] = "postgresql://eggbot:pg-s3cret@db.example:5432"
    done = subprocess.run(
        [sys.executable, "-m", "bot"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2
    assert "  DATABASE_URL: must name the database after the server" in done.stderr
    assert "pg-s3cret" not in done.stderr + done.stdout
