"""The real bot as a process against the fakes: its environment, and ``python -m bot`` to stop, kill and restart.

``sharded`` makes one ``BotProcess`` per shard, each in a folder of its own (its log), all on one
database: the processes of a bot that runs past one machine.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Mapping
from pathlib import Path

from .fake_discord import FakeDiscord
from .fake_eggapi import DEFAULT_API_KEY, FakeEggAPI
from .settings import FAST

# The folder holding testkit and bot: on the child's PYTHONPATH, so it runs the same code as this process.
ROOT = Path(__file__).resolve().parent.parent


def bot_env(
    tmp_path: Path, fake: FakeDiscord, eggapi_url: str, timings: Mapping[str, str] = FAST, /, **extra: str
) -> dict[str, str]:
    """The environment an operator would set, pointed at the fakes; nothing leaks from the caller's shell.

    ``timings`` are the tests' fast intervals by default; the benchmark passes ``{}`` to run at
    production pace. ``extra`` is applied last, so it can replace any of the above.
    """
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "PYTHONPATH": str(ROOT),
        "DISCORD_TOKEN": fake.token,
        "EGGAPI_API_KEY": DEFAULT_API_KEY,
        "EGGAPI_BASE_URL": eggapi_url,
        "DATABASE_PATH": str(tmp_path / "data" / "eggbot.db"),
        "DISCORD_API_BASE": fake.api_base,
        "DISCORD_GATEWAY_URL": fake.ws_url,
        "LOG_LEVEL": "INFO",
        **timings,
        **extra,
    }


class BotProcess:
    """One ``python -m bot`` process; its output goes to a log file in ``tmp_path``.

    ``database`` is the database settings of every start, below ``extra`` (as ``BotStarter``'s; the
    ``bot_process`` fixture hands it the settings ``on_each_backend`` fills).
    """

    def __init__(self, tmp_path: Path, fake: FakeDiscord, eggapi: FakeEggAPI, **extra: str) -> None:
        tmp_path.mkdir(parents=True, exist_ok=True)
        self.tmp_path = tmp_path
        self.fake = fake
        self.env = bot_env(tmp_path, fake, eggapi.url, **extra)
        self.database: Mapping[str, str] = {}
        self.named = frozenset(extra)
        self.log_path = tmp_path / "bot.log"
        self.proc: asyncio.subprocess.Process | None = None
        self.starts = 0

    async def start(self) -> None:
        """Start the bot and wait until it has identified to the gateway."""
        assert self.proc is None or self.proc.returncode is not None
        identified = self.fake.gateway.identify_count
        env = self.env | {name: value for name, value in self.database.items() if name not in self.named}
        with self.log_path.open("ab") as log_file:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", cwd=self.tmp_path, env=env, stdout=log_file, stderr=log_file
            )
        self.starts += 1
        await self.fake.wait_for_identify(count=identified + 1, timeout=30)

    async def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as in a power cut."""
        assert self.proc is not None
        self.proc.kill()
        await asyncio.wait_for(self.proc.wait(), 30)

    async def stop(self) -> int:
        """SIGTERM and wait for a clean exit; returns the exit status."""
        if self.proc is None:
            return 0
        if self.proc.returncode is not None:
            return self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.proc.wait(), 30)

    def output(self) -> str:
        """Everything the bot logged so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def sharded(
    tmp_path: Path, fake: FakeDiscord, eggapi: FakeEggAPI, shards: int, database_url: str, **extra: str
) -> list[BotProcess]:
    """One process per shard of ``shards`` (``EGGBOT_SHARD_IDS`` = its number), all on ``database_url``.

    ``extra`` applies to every process; a value may name the shard with ``{shard}``.
    """
    return [
        BotProcess(
            tmp_path / f"shard{shard}",
            fake,
            eggapi,
            DATABASE_URL=database_url,
            EGGBOT_SHARD_COUNT=str(shards),
            EGGBOT_SHARD_IDS=str(shard),
            **{name: value.format(shard=shard) for name, value in extra.items()},
        )
        for shard in range(shards)
    ]


async def run_command(env: Mapping[str, str], cwd: Path, *args: str, timeout: float = 30) -> tuple[int, str, str]:
    """``python -m bot ARGS`` to its end, as an operator types it: (exit status, stdout, stderr)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=cwd,
        env=dict(env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()
