"""``python -m bot playground`` as a newcomer runs it: the address, a real picture, its own database, Ctrl-C."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from PIL import Image

from bot.playground import PlaygroundServer, build_playground
from testkit.fake_discord import FakeDiscord

ROOT = Path(__file__).resolve().parent.parent
STARTUP = 60.0  # seconds: the bot logs in to the embedded Discord and syncs its commands


def playground_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """No token, no key: what a fresh machine has (plus a free port and a real database elsewhere)."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "PYTHONPATH": str(ROOT),
        "EGGBOT_PLAYGROUND_PORT": "0",
        "DATABASE_PATH": str(tmp_path / "real" / "eggbot.db"),  # the operator's real database: never touched
        **extra,
    }


@pytest.fixture
async def playground(tmp_path: Path) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "playground",
        cwd=tmp_path,
        env=playground_env(tmp_path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), STARTUP)).decode().strip()
        yield proc, line
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def events(session: aiohttp.ClientSession, url: str) -> AsyncIterator[dict[str, Any]]:
    """The page's live feed, one event at a time."""
    async with session.get(url) as response:
        async for raw in response.content:
            line = raw.decode().strip()
            if line.startswith("data:"):
                yield json.loads(line[len("data:") :])


async def test_the_playground_makes_a_real_picture_and_stops_cleanly(
    tmp_path: Path, playground: tuple[asyncio.subprocess.Process, str]
) -> None:
    proc, address = playground
    assert address.startswith("http://127.0.0.1:")  # alone on its line, loopback only
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        async with session.get(address) as response:
            page = await response.text()
        assert "this is not Discord" in page and "no money is spent" in page
        async with session.get(f"{address}/api/world") as response:
            world = await response.json()
        alice = next(m["id"] for m in world["members"] if m["name"] == "Alice")
        general = world["channels"][0]["id"]
        feed = events(session, f"{address}/api/events?as={alice}")
        first = asyncio.ensure_future(anext(feed))  # listening before anything happens
        body = {"user": alice, "channel": general, "text": "/imagine a red fox in snow"}
        async with session.post(f"{address}/api/interactions", json=body) as response:
            assert (await response.json())["ok"] is True
        event = await first
        while not (event.get("message") or {}).get("attachments"):
            event = await asyncio.wait_for(anext(feed), 30)  # the simulated service takes a few seconds
        [attachment] = event["message"]["attachments"]
        async with session.get(f"{address}{attachment['url']}") as response:
            picture = Image.open(io.BytesIO(await response.read()))
        assert picture.format == "PNG" and picture.size == (1024, 576)  # 16:9 at 1k, drawn locally
        assert len(picture.convert("RGB").getcolors(1 << 16) or range(1 << 16)) > 50  # a picture, not a blank

    proc.send_signal(signal.SIGINT)  # Ctrl-C
    assert await asyncio.wait_for(proc.wait(), 30) == 0
    assert (tmp_path / "data" / "playground.db").exists()
    assert not (tmp_path / "real").exists()


async def test_a_bad_playground_setting_is_named(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "playground",
        cwd=tmp_path,
        env=playground_env(tmp_path, EGGBOT_PLAYGROUND_PORT="web", EGGBOT_PLAYGROUND_EGGAPI="real"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2 and out == b""
    assert err.decode().strip().splitlines() == [
        "eggbot: 2 settings need fixing:",
        "  EGGBOT_PLAYGROUND_PORT: must be a port number from 0 to 65535 (got 'web')",
        "  EGGBOT_PLAYGROUND_EGGAPI: is 'real', which needs EGGAPI_API_KEY (real charges)",
        "Set them in .env or the environment; .env.example describes every setting.",
    ]


async def test_the_banner_says_when_the_real_eggapi_is_used() -> None:
    async with FakeDiscord() as fake, aiohttp.ClientSession() as session:
        world = build_playground(fake)
        for real, says in ((False, "no money is spent"), (True, "every image is charged to your account")):
            server = await PlaygroundServer.start(world, real_eggapi=real)
            try:
                async with session.get(server.url) as response:
                    page = await response.text()
            finally:
                await server.stop()
            assert says in page
            assert ("REAL EggAPI" in page) is real
