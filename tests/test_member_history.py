"""bot.members.History on a real SQLite file: a member's jobs, newest first, page by page, with their cost."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from bot.ledger import Ledger
from bot.lifecycle.model import TaskStatus
from bot.members import History, HistoryPage
from bot.storage.sqlite import Database
from tests.test_usage_report import ALICE, BOB, GUILD, OTHER, Clock, add_task, make_ledger

D = Decimal


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    async with await Database.open(tmp_path / "history.sqlite") as database:
        yield database


@pytest.fixture
def ledger(db: Database) -> Ledger:
    return make_ledger(db, Clock())


def ids(page: HistoryPage) -> list[int]:
    return [entry.task.id for entry in page.entries]


async def test_pages_run_newest_first_and_turn_both_ways(db: Database, ledger: Ledger) -> None:
    mine = [await add_task(db, ledger, member=ALICE, prompt=f"fox {n}") for n in range(12)]
    await add_task(db, ledger, member=BOB, prompt="bob's badger")
    await add_task(db, ledger, guild=OTHER, member=ALICE, prompt="alice elsewhere")
    history = History(db, page_size=5)

    first = await history.page(GUILD, ALICE)
    assert ids(first) == mine[::-1][:5]
    assert (first.number, first.pages, first.total, first.newer, first.older) == (1, 3, 12, 0, 7)

    second = await history.page(GUILD, ALICE, before=first.last_id)
    assert ids(second) == mine[::-1][5:10]
    assert (second.number, second.newer, second.older) == (2, 5, 2)

    last = await history.page(GUILD, ALICE, before=second.last_id)
    assert ids(last) == mine[:2][::-1] and (last.number, last.older) == (3, 0)

    back = await history.page(GUILD, ALICE, after=last.first_id)
    assert ids(back) == ids(second)
    # Turning "newer" from the second page reaches the newest jobs: the first page, full, not a stub.
    assert ids(await history.page(GUILD, ALICE, after=second.first_id)) == ids(first)


async def test_a_job_made_meanwhile_does_not_shift_the_older_pages(db: Database, ledger: Ledger) -> None:
    mine = [await add_task(db, ledger, member=ALICE) for _ in range(7)]
    history = History(db, page_size=5)
    first = await history.page(GUILD, ALICE)
    newest = await add_task(db, ledger, member=ALICE)
    older = await history.page(GUILD, ALICE, before=first.last_id)
    assert ids(older) == mine[:2][::-1]  # exactly what was below the page the member saw
    assert older.newer == 6 and older.total == 8
    assert ids(await history.page(GUILD, ALICE))[0] == newest


async def test_costs_are_what_the_ledger_counts(db: Database, ledger: Ledger) -> None:
    settled = await add_task(db, ledger, member=ALICE, count=2, cost=D("0.0300"))
    running = await add_task(db, ledger, member=ALICE, count=3, outcome="running")
    failed = await add_task(db, ledger, member=ALICE, outcome="failed")
    old = await add_task(db, ledger, member=ALICE, hold=False, cost=D("0.05"))
    page = await History(db).page(GUILD, ALICE)
    by_id = {entry.task.id: entry for entry in page.entries}
    assert (by_id[settled].cost, by_id[settled].held) == (D("0.0300"), False)
    assert (by_id[running].cost, by_id[running].held) == (D("0.03"), True)
    assert (by_id[failed].cost, by_id[failed].task.status) == (D("0"), TaskStatus.FAILED)
    assert (by_id[old].cost, by_id[old].hold) == (D("0.05"), None)  # before the ledger: the task's own cost


async def test_a_job_is_found_only_in_its_own_server(db: Database, ledger: Ledger) -> None:
    here = await add_task(db, ledger, member=ALICE)
    there = await add_task(db, ledger, guild=OTHER, member=ALICE)
    history = History(db)
    found = await history.job(GUILD, here)
    assert found is not None and found.task.id == here and found.cost == D("0.01")
    assert await history.job(GUILD, there) is None
    assert await history.job(GUILD, 999_999) is None


async def test_no_jobs_is_one_empty_page(db: Database, ledger: Ledger) -> None:
    page = await History(db).page(GUILD, ALICE)
    assert page.entries == () and (page.number, page.pages, page.total) == (1, 1, 0)
    assert page.first_id is None and page.last_id is None
    # A cursor below every job (an old or forged button) shows the newest page instead of nothing.
    only = await add_task(db, ledger, member=ALICE)
    assert ids(await History(db).page(GUILD, ALICE, before=1)) == [only]
