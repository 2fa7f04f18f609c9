"""/imagine while another process holds the database's write lock: the member is answered in time."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.app.client import EggBot
from testkit.fake_discord import assert_clean
from testkit.fake_eggapi import FakeEggAPI
from testkit.starter import BotStarter, sqlite_db
from testkit.world import World


async def counts(bot: EggBot) -> tuple[int, int]:
    """Tasks and quota holds recorded (a read queued behind whatever the database thread is doing)."""
    tasks = await sqlite_db(bot).fetchone("SELECT COUNT(*) FROM tasks")
    holds = await sqlite_db(bot).fetchone("SELECT COUNT(*) FROM ledger_holds")
    assert tasks is not None and holds is not None
    return int(tasks[0]), int(holds[0])


async def test_imagine_during_a_write_lock_is_refused_in_time_and_records_nothing(
    tmp_path: Path, world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    fake = world.fake
    bot = await start_bot()
    other = sqlite3.connect(tmp_path / "eggbot.db", timeout=10, isolation_level=None)  # say, a backup tool
    try:
        other.execute("BEGIN EXCLUSIVE")
        handle = await fake.slash(world.alice, world.general, "imagine", prompt="a locked-out fox")
        reply = await handle.wait_response()
        assert reply.ephemeral
        assert "busy" in reply.content and "Nothing was recorded or charged" in reply.content
    finally:
        other.execute("ROLLBACK")  # before the bot's own 5 s busy timeout: its transaction gets the lock now
        other.close()
    assert await counts(bot) == (0, 0)  # the late transaction saw the job refused and rolled back
    assert eggapi.tasks == {}
    assert_clean(fake)  # no ack timeout, no late callback

    again = await fake.slash(world.alice, world.general, "imagine", prompt="a fox, once the lock is gone")
    status = await again.wait_response()
    assert not status.ephemeral and "a fox, once the lock is gone" in status.content
    await fake.wait_for_message(world.general, lambda m: bool(m.attachments), timeout=10)
    assert await counts(bot) == (1, 1)
    assert_clean(fake)
