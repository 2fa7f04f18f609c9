"""``python -m bot playground``: the real bot, an embedded Discord and simulated images, in a web page.

The bot is the one ``python -m bot`` runs (``bot.app.startup.serve``: the same composition root,
cogs, ledger and task life); only its Discord and EggAPI addresses point at servers started
here, on 127.0.0.1, from the test kit the tests prove: ``testkit.fake_discord`` plays Discord and
``testkit.fake_eggapi`` draws the images. Its database is its own file, never ``DATABASE_PATH``.
The page is served on ``EGGBOT_PLAYGROUND_HOST:EGGBOT_PLAYGROUND_PORT`` (127.0.0.1:8090), and its
address is printed alone on one line of standard output once everything is up.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.settings import Settings, SettingsError, load_settings

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8090
DEFAULT_DATABASE = Path("data/playground.db")
SIMULATED_KEY = "playground-key"  # the simulated EggAPI's key: nothing real
# What the operator's environment may not carry into the playground: where the real bot connects,
# and its public webhook server.
REPLACED = (
    "DISCORD_TOKEN",
    "DISCORD_API_BASE",
    "DISCORD_GATEWAY_URL",
    "DATABASE_PATH",
    "DATABASE_URL",
    "EGGBOT_DEV_GUILD_ID",
    "EGGBOT_WEBHOOK_PUBLIC_URL",
    "EGGBOT_WEBHOOK_SECRET",
    "EGGBOT_WEBHOOK_HOST",
    "EGGBOT_WEBHOOK_PORT",
    "EGGBOT_HEALTHZ",
)
# Jobs take a few seconds here: look more often than against the real service's typical 10 s.
PLAY_TIMINGS = {"EGGBOT_POLL_INTERVAL_MIN": "1", "EGGBOT_POLL_INTERVAL_MAX": "3", "EGGBOT_STATUS_EDIT_INTERVAL": "1"}


@dataclass(frozen=True, slots=True)
class PlaygroundOptions:
    """Where the page is served, which database it keeps, and which image service it uses."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    database_path: Path = DEFAULT_DATABASE
    real_eggapi: bool = False


def playground_options(environ: Mapping[str, str]) -> PlaygroundOptions:
    """The ``EGGBOT_PLAYGROUND_…`` settings; SettingsError names every bad one."""
    problems: list[tuple[str, str]] = []
    host = environ.get("EGGBOT_PLAYGROUND_HOST", "").strip() or DEFAULT_HOST
    port = DEFAULT_PORT
    raw_port = environ.get("EGGBOT_PLAYGROUND_PORT", "").strip()
    if raw_port:
        if raw_port.isdigit() and 0 <= int(raw_port) <= 65535:
            port = int(raw_port)
        else:
            problems.append(("EGGBOT_PLAYGROUND_PORT", f"must be a port number from 0 to 65535 (got {raw_port!r})"))
    database = Path(environ.get("EGGBOT_PLAYGROUND_DATABASE", "").strip() or DEFAULT_DATABASE)
    real = False
    choice = environ.get("EGGBOT_PLAYGROUND_EGGAPI", "").strip().lower() or "simulated"
    if choice == "real":
        real = True
        if not environ.get("EGGAPI_API_KEY", "").strip():
            problems.append(("EGGBOT_PLAYGROUND_EGGAPI", "is 'real', which needs EGGAPI_API_KEY (real charges)"))
    elif choice != "simulated":
        problems.append(("EGGBOT_PLAYGROUND_EGGAPI", f"must be 'simulated' or 'real' (got {choice!r})"))
    if problems:
        raise SettingsError(problems)
    return PlaygroundOptions(host=host, port=port, database_path=database, real_eggapi=real)


def inner_settings(
    environ: Mapping[str, str],
    options: PlaygroundOptions,
    *,
    discord_api: str,
    gateway: str,
    token: str,
    eggapi_url: str | None,
) -> Settings:
    """The bot's settings: the operator's (quotas, caps, …), pointed at the embedded servers."""
    env = {name: value for name, value in environ.items() if name not in REPLACED}
    env.update({name: value for name, value in PLAY_TIMINGS.items() if name not in environ})
    env.update(
        DISCORD_TOKEN=token,
        DISCORD_API_BASE=discord_api,
        DISCORD_GATEWAY_URL=gateway,
        DATABASE_PATH=str(options.database_path),
    )
    if eggapi_url is not None:  # the simulated service; else the operator's real EggAPI settings stand
        env.update(EGGAPI_API_KEY=SIMULATED_KEY, EGGAPI_BASE_URL=eggapi_url)
    return load_settings(env)


def run_playground(environ: Mapping[str, str]) -> int:
    """Entry point of ``python -m bot playground``; the exit status."""
    try:
        options = playground_options(environ)
    except SettingsError as exc:
        print(f"eggbot: {exc}", file=sys.stderr)
        return 2
    from bot.playground.session import play  # only now: it loads discord.py and the fakes

    try:
        return asyncio.run(play(environ, options))
    except KeyboardInterrupt:
        return 0
