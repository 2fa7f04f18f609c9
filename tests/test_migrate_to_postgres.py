"""``python -m bot migrate --to postgresql://…``: a populated SQLite database moved into an empty PostgreSQL one.

The source is filled through the bot's own services (jobs in every ending, holds settled and
released, top-ups and resets, quota policy, guild and member settings, learned prices, posted
images, a DM job), the command runs as an operator runs it, and the copy is read back through the
same services on PostgreSQL: everything the bot shows must read the same.
"""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from bot.eggapi import UsageRow
from bot.guilds import GuildSettings
from bot.guilds.settings import BLOCKED_WORDS, MOD_LOG_CHANNEL, SHOW_COSTS
from bot.ledger import Ledger, LedgerDefaults
from bot.lifecycle.intake import JobService
from bot.lifecycle.model import ImagineRequest, TaskStatus
from bot.lifecycle.task_store import TaskStore
from bot.lifecycle.transitions import Bookkeeper
from bot.storage.postgres import PostgresDatabase
from bot.storage.postgres.copy import CopyReport, TableCopy, render
from bot.storage.sqlite import Database
from testkit.backends import AnyDatabase, Backend
from testkit.postgres import PASSWORD

D = Decimal
NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
GUILD, ALICE, BOB, MOD = 10, 31, 32, 99
ROOT = Path(__file__).resolve().parent.parent


def services(db: AnyDatabase) -> tuple[JobService, TaskStore, Ledger, Bookkeeper, GuildSettings]:
    store = TaskStore(db)
    ledger = Ledger(db, LedgerDefaults(member_limit=D("1.00"), period="day"), clock=lambda: NOW)
    books = Bookkeeper(db, store, ledger)
    return JobService(db, store, ledger, books), store, ledger, books, GuildSettings(db)


async def populate(path: Path) -> None:
    """A database with a little of everything the bot keeps."""
    async with await Database.open(path) as db:
        jobs, store, ledger, books, settings = services(db)
        delivered = await jobs.create(ImagineRequest(GUILD, 2, ALICE, "a fox", count=2, interaction_id=1))
        await books.move(delivered.id, TaskStatus.QUEUED, TaskStatus.SUBMITTING)
        await books.move(delivered.id, TaskStatus.SUBMITTING, TaskStatus.RUNNING, egg_task_id="gen_1")
        await books.move(
            delivered.id,
            TaskStatus.RUNNING,
            TaskStatus.COMPLETED,
            settle=D("0.0300"),
            cost=D("0.0300"),
            output_urls=("https://f/0.png", "https://f/1.png"),
        )
        await books.move(delivered.id, TaskStatus.COMPLETED, TaskStatus.DELIVERING)
        await store.record_posted(delivered.id, 7001, [0, 1])
        await books.move(delivered.id, TaskStatus.DELIVERING, TaskStatus.DELIVERED, result_message_ids=[7001])
        failed = await jobs.create(ImagineRequest(GUILD, 2, BOB, "an owl", negative_prompt="blur"))
        await books.move(failed.id, TaskStatus.QUEUED, TaskStatus.SUBMITTING)
        await books.move(failed.id, TaskStatus.SUBMITTING, TaskStatus.RUNNING, egg_task_id="gen_2")
        await books.move(failed.id, TaskStatus.RUNNING, TaskStatus.FAILED, release=True, error="refused")
        await jobs.create(ImagineRequest(None, 5, ALICE, "a dm fox", resolution="2k", locale="de"))  # queued, held
        await jobs.create(ImagineRequest(GUILD, 2, BOB, "a waiting fox", reference_urls=("https://r/1.png",)))
        await ledger.top_up(GUILD, ALICE, D("0.50"), moderator_id=MOD, now=NOW)
        await ledger.reset_spend(GUILD, ALICE, moderator_id=MOD, now=NOW)
        await ledger.set_member_limit(GUILD, BOB, D("0.25"))
        await ledger.set_role_limit(GUILD, 500, D("2.00"))
        await ledger.set_role_exempt(GUILD, 501, True)
        await ledger.set_server_cap(GUILD, D("10.00"))
        await ledger.set_guild_defaults(GUILD, period="week", timezone="Europe/Berlin")
        await ledger.update_prices([UsageRow("nanobanana", D(100), D("1.20"), 100)])
        await settings.set(GUILD, MOD_LOG_CHANNEL, 4242)
        await settings.set(GUILD, BLOCKED_WORDS, ("owl", "newt"))
        await settings.set(GUILD, SHOW_COSTS, False)
        await settings.set_member(GUILD, ALICE, SHOW_COSTS, False)
        await db.set_meta("commands_hash", "abc123")


async def what_the_bot_shows(db: AnyDatabase) -> dict[str, object]:
    """Everything read back through the services, as values to compare between the two databases."""
    _, store, ledger, _, settings = services(db)
    tasks = await db.read(lambda tx: tx.tasks.list_not_in_states(()))
    return {
        "tasks": [t for t in tasks],
        "posted": [await store.posted_images(t.id) for t in tasks],
        "holds": [await ledger.hold(t.id) for t in tasks],
        "balances": [await ledger.balance(g, m, (), now=NOW) for g in (GUILD, None) for m in (ALICE, BOB)],
        "adjustments": await ledger.adjustments(GUILD),
        "policy": await ledger.policy(GUILD),
        "price": await ledger.unit_price(),
        "usage": await db.read(lambda tx: tx.ledger.usage_cost()),
        "settings": await settings.values(GUILD),
        "member": await settings.get_member(GUILD, ALICE, SHOW_COSTS),
        "meta": await db.get_meta("commands_hash"),
        "lines": await db.read(lambda tx: tx.reports.task_lines(GUILD, member_id=None, start=None, end=None)),
    }


async def migrate(path: Path, url: str) -> tuple[int, str]:
    """Run ``python -m bot migrate --to url`` as an operator would; its exit status and everything it printed."""
    env = {**os.environ, "DATABASE_PATH": str(path), "PYTHONPATH": str(ROOT)}
    env.pop("DATABASE_URL", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "migrate",
        "--to",
        url,
        cwd=path.parent,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await process.communicate()
    return int(process.returncode or 0), out.decode()


async def test_everything_moves_verified_and_new_ids_follow_the_old(tmp_path: Path, postgres: Backend) -> None:
    path = tmp_path / "eggbot.db"
    await populate(path)
    url = await postgres.url()
    code, out = await migrate(path, url)
    assert code == 0, out
    assert "verified: every table's rows and money totals are equal in both databases." in out
    assert "tasks" in out and "4 of 4 rows" in out and "ledger_adjustments" in out
    assert PASSWORD not in out and "postgresql://eggbot:***@" in out
    async with await Database.open_existing(path) as sqlite, await PostgresDatabase.open_existing(url) as pg:
        before, after = await what_the_bot_shows(sqlite), await what_the_bot_shows(pg)
        for key in before:
            assert after[key] == before[key], key
        jobs = services(pg)[0]
        newest = max(t.id for t in before["tasks"])  # type: ignore[attr-defined]
        fresh = await jobs.create(ImagineRequest(GUILD, 2, BOB, "after the move"))
        assert fresh.id == newest + 1


async def test_a_target_that_holds_anything_is_refused_and_left_alone(tmp_path: Path, postgres: Backend) -> None:
    path = tmp_path / "eggbot.db"
    await populate(path)
    async with await postgres.open() as pg:
        await pg.set_meta("someone", "was here")
    code, out = await migrate(path, await postgres.url())
    assert code == 1 and "is not empty (meta hold rows)" in out and PASSWORD not in out
    async with await postgres.open() as pg:
        row = await pg.fetchone("SELECT COUNT(*) AS n FROM tasks")
        assert row is not None and row["n"] == 0


async def test_a_bad_target_is_named_without_its_password(tmp_path: Path, postgres: Backend) -> None:
    path = tmp_path / "eggbot.db"
    await populate(path)
    wrong = (await postgres.url()).replace(PASSWORD, "hunter2-not-it")
    code, out = await migrate(path, wrong)
    assert code == 1 and "password authentication failed" in out and "hunter2" not in out
    code, out = await migrate(path, "mysql://user:hunter2@db/eggbot")
    assert code == 2 and "must be a PostgreSQL URL" in out and "hunter2" not in out
    code, out = await migrate(tmp_path / "none.db", await postgres.url())
    assert code == 1 and "no SQLite database at" in out


def test_a_copy_that_does_not_add_up_is_reported_unverified() -> None:
    good = TableCopy("tasks", 4, 4, {"cost": (D("0.03"), D("0.03"))})
    short = TableCopy("ledger_holds", 4, 3, {"reserved": (D("0.05"), D("0.04"))})
    report = CopyReport("eggbot.db", "postgresql://eggbot:***@db/eggbot", 9, (good, short))
    assert good.verified and not short.verified and not report.verified
    text = render(report)
    assert "3 of 4 rows  MISMATCH; reserved 0.05 in SQLite, 0.04 here" in text and "NOT verified" in text


@pytest.mark.parametrize("words", [["migrate"], ["migrate", "--to"], ["migrate", "--from", "x"]])
def test_malformed_migrate_words_print_the_usage(words: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    from bot.__main__ import run

    assert run(words) == 2
    assert "migrate --to postgresql://" in capsys.readouterr().err
