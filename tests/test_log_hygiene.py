"""Interaction tokens never reach the log, even at DEBUG where discord.py logs URLs and gateway events."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import logs
from testkit.fake_discord import assert_clean
from testkit.fake_eggapi import FakeEggAPI
from testkit.processes import BotProcess
from testkit.world import World

TOKEN = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDpzZWNyZXQ.x-y_z"


@pytest.fixture
def written() -> Iterator[io.StringIO]:
    """What a handler set up like the bot's writes for discord.py's own loggers."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logs.install(handler)
    loggers = [logging.getLogger(name) for name in ("discord.http", "discord.gateway")]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    try:
        yield out
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
            logger.setLevel(logging.NOTSET)


def test_urls_events_and_tracebacks_are_redacted(written: io.StringIO) -> None:
    http = logging.getLogger("discord.http")
    gateway = logging.getLogger("discord.gateway")
    # discord.py's own format strings (discord/http.py, discord/gateway.py)
    http.debug(
        "%s %s with %s has returned %s",
        "POST",
        f"https://discord.com/api/v10/interactions/1234567890/{TOKEN}/callback",
        None,
        204,
    )
    http.debug(
        "%s %s has received %s",
        "PATCH",
        f"https://discord.com/api/v10/webhooks/42/{TOKEN}/messages/@original",
        {"id": "7"},
    )
    gateway.debug(
        "For Shard ID %s: WebSocket Event: %s",
        None,
        {"t": "INTERACTION_CREATE", "op": 0, "d": {"id": "1234567890", "token": TOKEN, "type": 2}},
    )
    try:
        raise RuntimeError(f"404 Not Found at /webhooks/42/{TOKEN}")
    except RuntimeError:
        http.exception("request failed")
    text = written.getvalue()
    assert TOKEN not in text
    assert "/interactions/1234567890/***/callback" in text
    assert "/webhooks/42/***/messages/@original" in text
    assert "'token': '***'" in text
    assert "RuntimeError: 404 Not Found at /webhooks/42/***" in text


def test_plain_messages_are_left_alone(written: io.StringIO) -> None:
    logging.getLogger("discord.http").info("task %s queued; see /docs/tokens for %s", 5, "help")
    assert "task 5 queued; see /docs/tokens for help" in written.getvalue()


async def test_a_debug_run_of_the_bot_logs_no_interaction_token(
    tmp_path: Path, world: World, eggapi: FakeEggAPI
) -> None:
    fake = world.fake
    bot = BotProcess(tmp_path, fake, eggapi, LOG_LEVEL="DEBUG")
    try:
        await bot.start()
        await fake.wait_for(lambda f: f.sync_count >= 1, timeout=10)
        handle = await fake.slash(world.alice, world.general, "imagine", prompt="a fox that keeps secrets")
        await handle.wait_ack()
        await fake.wait_for_message(world.general, lambda m: bool(m.attachments), timeout=20)
    finally:
        assert await bot.stop() == 0
    output = bot.output()
    assert "/interactions/" in output and "***" in output  # discord.py did log the calls, masked
    tokens = list(fake.interactions_by_token)
    assert tokens and handle.token in tokens
    for token in tokens:
        assert token not in output
    assert fake.token not in output
    assert_clean(fake)
