"""bot.members against a real SQLite file: erasing forgets what members wrote, never what they spent."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bot.errors import InvalidRequest
from bot.guilds import GuildSettings, Setting
from bot.guilds.settings import flag
from bot.ledger import Ledger
from bot.lifecycle.model import ImagineRequest, TaskStatus
from bot.members import ERASED_BY_MEMBER, ERASED_BY_MODERATOR, MemberData, refuse_erased
from testkit.backends import AnyDatabase, AnyTx, Backend
from tests.test_usage_report import ALICE, BOB, GUILD, OTHER, Clock, add_task, make_ledger

D = Decimal
EVER = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
QUIET: Setting[bool] = Setting("test.quiet", False, flag)


@pytest.fixture
async def db(backend: Backend) -> AsyncIterator[AnyDatabase]:
    async with await backend.open() as database:
        yield database


@pytest.fixture
def ledger(db: AnyDatabase) -> Ledger:
    return make_ledger(db, Clock())


async def dress(db: AnyDatabase, task_id: int, prompt: str) -> None:
    """Give a seeded task what a real one carries: options, reference links, messages, posted images."""

    def write(tx: AnyTx) -> None:
        tx.execute(
            "UPDATE tasks SET negative_prompt = ?, reference_urls = ?, status_message_id = ?, result_message_ids = ? "
            "WHERE id = ?",
            (f"not {prompt}", json.dumps([f"https://ref.test/{task_id}.png"]), 9000 + task_id, "[7001, 7002]", task_id),
        )
        tx.execute("INSERT INTO posted_images VALUES (?, 0, 7001)", (task_id,))

    await db.transaction(write)


async def row(db: AnyDatabase, task_id: int) -> dict[str, object]:
    found = await db.fetchone("SELECT * FROM tasks WHERE id = ?", (task_id,))
    assert found is not None
    return dict(found)


async def test_erase_forgets_words_and_links_but_keeps_the_money(db: AnyDatabase, ledger: Ledger) -> None:
    mine = await add_task(db, ledger, member=ALICE, prompt="alice's secret fox", count=2, cost=D("0.0300"))
    failed = await add_task(db, ledger, member=ALICE, prompt="alice's failed fox", outcome="failed")
    running = await add_task(db, ledger, member=ALICE, prompt="alice's running fox", outcome="running")
    bobs = await add_task(db, ledger, member=BOB, prompt="bob's fox")
    elsewhere = await add_task(db, ledger, guild=OTHER, member=ALICE, prompt="alice elsewhere")
    for task_id, prompt in ((mine, "a"), (failed, "b"), (running, "c"), (bobs, "d"), (elsewhere, "e")):
        await dress(db, task_id, prompt)
    settings = GuildSettings(db)
    await settings.set_member(GUILD, ALICE, QUIET, True)
    await settings.set_member(GUILD, BOB, QUIET, True)
    await settings.set_member(OTHER, ALICE, QUIET, True)
    members = MemberData(db)
    before = await members.record(GUILD, ALICE)
    assert [t.id for t in before.tasks] == [mine, failed, running] and before.unfinished == 1
    assert before.settled == D("0.0300") and before.held == D("0.01") and before.settings == {"test.quiet": True}
    spent_before = await ledger.period_totals(GUILD, *EVER)

    done = await members.erase(GUILD, ALICE)

    assert (done.tasks, done.settings, done.unfinished) == (2, 1, 1)
    for task_id in (mine, failed):
        erased = await row(db, task_id)
        assert erased["prompt"] == ERASED_BY_MEMBER and erased["negative_prompt"] is None
        assert erased["reference_urls"] == "[]" and erased["result_message_ids"] == "[]"
        assert erased["status_message_id"] is None
        assert await db.fetchone("SELECT 1 FROM posted_images WHERE task_id = ?", (task_id,)) is None
    kept = await row(db, mine)
    assert kept["status"] == TaskStatus.DELIVERED and str(kept["cost"]) == "0.0300" and kept["count"] == 2
    assert json.loads(str(kept["output_urls"])) == ["", ""]  # the number of images stays, the links go
    # The running job, bob's and alice's job on the other server are untouched.
    for task_id, prompt in ((running, "alice's running fox"), (bobs, "bob's fox"), (elsewhere, "alice elsewhere")):
        untouched = await row(db, task_id)
        assert untouched["prompt"] == prompt and untouched["result_message_ids"] == "[7001, 7002]"
        assert untouched["reference_urls"] != "[]" and untouched["negative_prompt"] is not None
    assert await settings.get_member(GUILD, ALICE, QUIET) is False
    assert await settings.get_member(GUILD, BOB, QUIET) is True
    assert await settings.get_member(OTHER, ALICE, QUIET) is True
    # The ledger and the reports count exactly what they counted before, with the placeholder.
    assert await ledger.period_totals(GUILD, *EVER) == spent_before
    after = await members.record(GUILD, ALICE)
    assert (after.settled, after.held, after.erasable, after.prompts[0].id) == (D("0.0300"), D("0.01"), 0, running)
    lines = await db.read(lambda tx: tx.reports.task_lines(GUILD, member_id=ALICE, start=None, end=None))
    assert {line.prompt for line in lines} == {ERASED_BY_MEMBER, "alice's running fox"}
    assert sum(line.images for line in lines) == 2 and sum(line.settled for line in lines) == D("0.0300")


async def test_a_moderator_erase_says_so_and_a_second_erase_changes_nothing(db: AnyDatabase, ledger: Ledger) -> None:
    task = await add_task(db, ledger, member=BOB, prompt="bob left")
    members = MemberData(db)
    assert (await members.erase(GUILD, BOB, by_moderator=True)).tasks == 1
    assert (await row(db, task))["prompt"] == ERASED_BY_MODERATOR
    again = await members.erase(GUILD, BOB)
    assert (again.settings, again.unfinished) == (0, 0)
    assert (await row(db, task))["prompt"] in (ERASED_BY_MODERATOR, ERASED_BY_MEMBER)


async def test_the_reroll_of_an_erased_job_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="deleted"):
        await refuse_erased(ImagineRequest(guild_id=GUILD, channel_id=5, member_id=ALICE, prompt=ERASED_BY_MEMBER))
    await refuse_erased(ImagineRequest(guild_id=GUILD, channel_id=5, member_id=ALICE, prompt="a fox"))
