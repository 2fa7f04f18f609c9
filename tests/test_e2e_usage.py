"""/usage end to end: the real bot with cogs.usage against the fake Discord and the fake EggAPI."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bot.app.client import EggBot
from bot.ledger import Ledger, LedgerDefaults, MemberSpend
from bot.money import format_money
from bot.storage.sqlite import Database
from testkit.fake_discord import ClientRefusal, FakeChannel, FakeGuild, FakeMember, FakeMessage, assert_clean
from testkit.fake_eggapi import FakeEggAPI, TaskPlan
from testkit.starter import BotStarter
from testkit.world import World
from tests.test_usage_report import add_task

D = Decimal
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EVER = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
EXTENSIONS = ("cogs.imagine", "cogs.usage")


@pytest.fixture
async def usage_bot(tmp_path: Path, world: World, eggapi: FakeEggAPI) -> AsyncIterator[BotStarter]:
    """The real bot with /imagine and /usage only, on its own clock (not the fake Discord's)."""
    async with BotStarter(tmp_path, world, eggapi, extensions=EXTENSIONS, discord_time=False) as starter:
        yield starter


class Other:
    """A second server that must never show up in the first one's reports."""

    def __init__(self, world: World) -> None:
        fake = world.fake
        self.guild: FakeGuild = fake.add_guild("Other Place")
        self.channel: FakeChannel = fake.add_channel(self.guild, "lobby")
        self.zed: FakeMember = fake.add_member(self.guild, "zed")
        self.mod: FakeMember = fake.add_member(self.guild, "othermod", permissions="MANAGE_GUILD")


async def seed(path: Path, *tasks: dict[str, Any]) -> None:
    """Write past tasks and their holds straight into the bot's database before it starts."""
    async with await Database.open(path) as db:
        ledger = Ledger(db, LedgerDefaults(member_limit=D("1000"), period="day"))
        for task in tasks:
            await add_task(db, ledger, **task)


def text_of(message: FakeMessage) -> str:
    """Everything a user reads in a message and its embeds."""
    parts = [message.content]
    for embed in message.embeds:
        parts += [embed.get("title", ""), embed.get("description", "")]
        parts += [f"{f['name']}\n{f['value']}" for f in embed.get("fields", [])]
        parts.append((embed.get("footer") or {}).get("text", ""))
    return "\n".join(parts)


async def imagine(world: World, member: FakeMember, channel: FakeChannel, prompt: str, count: int = 1) -> None:
    """Run a real /imagine and wait for its images."""
    await world.fake.slash(member, channel, "imagine", prompt=prompt, count=count)
    await world.fake.wait_for_message(channel, lambda m: bool(m.attachments) and prompt in m.content)


async def report(world: World, caller: FakeMember, channel: FakeChannel, /, **options: Any) -> tuple[Any, FakeMessage]:
    """Run /usage as ``caller`` and return the handle and the ephemeral report."""
    handle = await world.fake.slash(caller, channel, "usage", **options)
    ack = await handle.wait_ack()
    assert ack.ephemeral
    message = await handle.wait_response()
    assert message.ephemeral and message.visible_to == caller.id
    return handle, message


def parse_csv(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


async def settled_ledger_rows(bot: EggBot, guild: FakeGuild) -> list[MemberSpend]:
    return await bot.ledger.period_totals(guild.id, *EVER)


async def test_server_report_matches_the_ledger_and_exports(
    world: World, eggapi: FakeEggAPI, usage_bot: BotStarter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    other = Other(world)
    mod = world.fake.add_member(world.guild, "mod", permissions="MANAGE_GUILD")
    past = datetime.now(UTC) - timedelta(days=40)
    extra = [{"guild": world.guild.id, "member": 900 + i, "when": past, "cost": D("0.005")} for i in range(5)]
    await seed(
        usage_bot.db_path,
        {"guild": world.guild.id, "member": world.alice.id, "when": past, "count": 3, "cost": D("0.0300")},
        {"guild": world.guild.id, "member": world.bob.id, "when": past, "outcome": "failed"},
        {
            "guild": other.guild.id,
            "member": other.zed.id,
            "when": past,
            "count": 4,
            "cost": D("9.99"),
            "prompt": "secret plans of the other place",
        },
        *extra,
    )
    bot = await usage_bot()
    await imagine(world, world.alice, world.general, "a fox for the report", count=2)
    await imagine(world, world.bob, world.general, "a badger for the report")
    await imagine(world, other.zed, other.channel, "zed's own fox")

    handle, message = await report(world, mod, world.general, period="all", export=True)
    text = text_of(message)
    spends = await settled_ledger_rows(bot, world.guild)
    settled = sum((s.settled for s in spends), D(0))
    reserved = sum((s.reserved for s in spends), D(0))
    assert settled == D("0.0300") + D("0.025") + D("0.03") and reserved == 0
    assert f"Settled **{format_money(settled)}**" in text and f"reserved **{format_money(reserved)}**" in text
    assert "**11** images produced" in text and "**8** tasks completed" in text and "**1** failed" in text
    assert f"1. <@{world.alice.id}>: **$0.05** (2 tasks)" in text
    assert f"2. <@{world.bob.id}>: **$0.01** (1 task)" in text
    assert "3. <@900>: **$0.005** (1 task)" in text and "<@904>" not in text
    assert "Page 1/2" in text and "and 2 more" in text  # 7 spenders: the full list is on the next page
    # EggAPI saw only the real jobs (both servers); the ledger also holds the seeded past.
    assert "Account-wide totals reported by EggAPI" in text
    assert "`nanobanana`: 4 units · $0.04 · 3 requests" in text
    assert "The ledger counts **$0.045** more than EggAPI" in text  # this server's ledger only
    assert "9.99" not in text and "10.0" not in text  # the other server's spend never shows, not even in a sum
    # Nothing of the other server leaks into this one.
    for secret in (str(other.zed.id), "secret plans", "Other Place", "zed"):
        assert secret not in text

    export = await handle.wait_followup(1)
    assert export.ephemeral and export.visible_to == mod.id
    csv_file = next(a for a in export.attachments if a.filename.endswith(".csv"))
    rows = parse_csv(csv_file.data)
    assert len(rows) == 9 and {int(r["member_id"]) for r in rows} <= {world.alice.id, world.bob.id, *range(900, 905)}
    assert sum(D(r["cost"]) for r in rows if r["ledger"] == "settled") == settled
    assert sum(D(r["cost"]) for r in rows if r["ledger"] == "reserved") == reserved
    assert sum(int(r["images"]) for r in rows) == 11
    assert all("secret" not in r["prompt"] for r in rows)
    png = next(a for a in export.attachments if a.filename.endswith(".png"))
    assert png.data.startswith(PNG_SIGNATURE)
    with Image.open(io.BytesIO(png.data)) as chart:
        chart.verify()
    with Image.open(io.BytesIO(png.data)) as chart:
        assert chart.format == "PNG" and chart.size == (1000, 560)

    # The other server's moderator sees their own figures only.
    _, theirs = await report(world, other.mod, other.channel, period="all")
    their_text = text_of(theirs)
    assert "Settled **$10.00**" in their_text and f"<@{other.zed.id}>" in their_text
    assert str(world.alice.id) not in their_text and "Egg Lovers" not in their_text
    assert_clean(world.fake, caplog=caplog)


async def test_member_report_paginates_for_the_caller_only(
    world: World, eggapi: FakeEggAPI, usage_bot: BotStarter
) -> None:
    other = Other(world)
    world.fake.add_member(other.guild, world.alice.user)
    mod = world.fake.add_member(world.guild, "mod", permissions="MANAGE_GUILD")
    mod2 = world.fake.add_member(world.guild, "mod2", permissions="MANAGE_GUILD")
    now = datetime.now(UTC)
    mine = [
        {
            "guild": world.guild.id,
            "member": world.alice.id,
            "when": now - timedelta(minutes=30 + i),
            "prompt": f"fox number {i}",
            "outcome": "failed" if i % 5 == 4 else "delivered",
        }
        for i in range(18)
    ]
    await seed(
        usage_bot.db_path,
        *mine,
        {"guild": other.guild.id, "member": world.alice.id, "when": now, "prompt": "alice elsewhere"},
        {"guild": world.guild.id, "member": world.bob.id, "when": now, "prompt": "bob's own"},
    )
    bot = await usage_bot()
    eggapi.default_plan = TaskPlan(hold=True)
    await world.fake.slash(world.alice, world.general, "imagine", prompt="still cooking", count=2)
    await world.fake.wait_for(lambda f: eggapi.tasks or None)

    _, message = await report(world, mod, world.general, member=world.alice, period="all")
    text = text_of(message)
    balance = await bot.ledger.balance(world.guild.id, world.alice.id, [])
    assert (
        f"$1.00 per day · settled {format_money(balance.settled)} · held {format_money(balance.reserved)} · "
        f"**{format_money(balance.available or D(0))}** left"
    ) in text
    # Only the running job is held (seeded tasks must be terminal: the tracker would resume the others).
    assert "Open holds: 1 ($0.02)" in text
    assert "alice" in text and "fox number 0" in text and "still cooking" in text
    assert "alice elsewhere" not in text and "bob's own" not in text
    assert "Page 1/3" in text
    assert message.button("Previous").disabled and not message.button("Next").disabled
    next_id = message.button("Next").custom_id
    assert next_id is not None

    with pytest.raises(ClientRefusal):  # the report is ephemeral: nobody else even sees it
        await world.fake.click(mod2, message, next_id)
    refused = await world.fake.click(mod2, message, next_id, validate=False)
    answer = await refused.wait_response()
    assert answer.ephemeral and answer.visible_to == mod2.id and "Only the moderator who ran" in answer.content
    assert "Page 1/3" in text_of(world.fake.message(message.id))

    turned = await world.fake.click(mod, message, next_id)
    await turned.wait_ack()
    page2 = await world.fake.wait_for(
        lambda f: f.message(message.id) if "Page 2/3" in text_of(f.message(message.id)) else None
    )
    assert not page2.button("Previous").disabled
    assert "fox number 8" in text_of(page2) and "fox number 0" not in text_of(page2)

    export_id = page2.button("Export CSV + chart").custom_id
    assert export_id is not None
    exported = await world.fake.click(mod, message, export_id)
    files = await exported.wait_response()
    rows = parse_csv(next(a for a in files.attachments if a.filename.endswith(".csv")).data)
    assert len(rows) == 19 and {r["member_id"] for r in rows} == {str(world.alice.id)}
    assert {r["member_name"] for r in rows} == {"alice"}
    assert sum(D(r["cost"]) for r in rows if r["ledger"] == "settled") == D("0.15")  # 15 delivered
    assert sum(D(r["cost"]) for r in rows if r["ledger"] == "reserved") == D("0.02")  # the running job
    eggapi.finish(next(iter(eggapi.tasks)))
    await world.fake.wait_for_message(world.general, lambda m: bool(m.attachments) and not m.ephemeral)
    assert_clean(world.fake)


async def test_member_report_shows_totals_before_tasks(world: World, eggapi: FakeEggAPI, usage_bot: BotStarter) -> None:
    mod = world.fake.add_member(world.guild, "mod", permissions="MANAGE_GUILD")
    now = datetime.now(UTC)
    long_prompt = "a very detailed fox " * 4  # the longest excerpt: 80 characters
    mine = [
        {
            "guild": world.guild.id,
            "member": world.alice.id,
            "when": now - timedelta(minutes=i),
            "prompt": f"{i} {long_prompt}",
        }
        for i in range(8)
    ]
    await seed(usage_bot.db_path, *mine)
    await usage_bot()
    _, message = await report(world, mod, world.general, member=world.alice, period="all")
    [embed] = message.embeds
    assert "fox" not in embed["description"] and "job #" not in embed["description"]  # only who and when
    names = [field["name"] for field in embed["fields"]]
    assert names[:4] == ["Spend", "Work", "Limit (current quota period)", "Open holds: 0 ($0.00)"]
    assert names[4] == "Recent tasks (newest first)" and all(n.startswith("Recent tasks") for n in names[4:])
    listed = "\n".join(field["value"] for field in embed["fields"][4:])
    assert [f"job #{n}" in listed for n in range(1, 9)] == [True] * 8  # all eight on the first page
    assert listed.index("> 0 a very") < listed.index("> 7 a very")  # newest first
    assert "Page 1/1" in text_of(message)
    assert_clean(world.fake)


async def test_ordinary_members_are_refused(world: World, eggapi: FakeEggAPI, usage_bot: BotStarter) -> None:
    await usage_bot()
    assert "usage" not in world.fake.visible_commands(world.alice, world.general)
    with pytest.raises(ClientRefusal):
        await world.fake.slash(world.alice, world.general, "usage")
    handle = await world.fake.slash(world.alice, world.general, "usage", validate=False)
    reply = await handle.wait_response()
    assert reply.ephemeral and "Manage Server" in reply.content
    assert not reply.embeds  # no report at all
    [command] = [c for c in world.fake.global_commands if c["name"] == "usage"]
    assert command["default_member_permissions"] == str(1 << 5)  # MANAGE_GUILD
    assert "usage" not in world.fake.visible_commands(world.alice, world.fake.dm_channel_for(world.alice))
    assert_clean(world.fake)


async def test_eggapi_outage_still_shows_the_ledger(
    world: World, eggapi: FakeEggAPI, usage_bot: BotStarter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    mod = world.fake.add_member(world.guild, "mod", permissions="MANAGE_GUILD")
    await usage_bot()
    await imagine(world, world.alice, world.general, "fox before the outage")
    eggapi.fail_next("GET", r"^/v1/usage/summary$", 503, times=10)
    _, message = await report(world, mod, world.general)
    text = text_of(message)
    assert "Settled **$0.01**" in text and f"<@{world.alice.id}>" in text
    assert (
        "⚠️ Couldn't reach EggAPI for its own totals. The ledger figures above are complete; run /usage again "
        "later to compare." in text
    )
    assert "right now" not in text and "try again" not in text  # said once, not twice
    assert eggapi.count("GET", "/v1/usage/summary") >= 2  # retried, then given up
    assert_clean(world.fake, caplog=caplog)


async def test_ledger_and_eggapi_agree_on_real_jobs(world: World, eggapi: FakeEggAPI, usage_bot: BotStarter) -> None:
    mod = world.fake.add_member(world.guild, "mod", permissions="MANAGE_GUILD")
    await usage_bot()
    await imagine(world, world.alice, world.general, "fox one", count=3)
    await imagine(world, world.bob, world.thread, "fox two")
    _, message = await report(world, mod, world.general, period="today")
    text = text_of(message)
    assert "Settled **$0.04**" in text and "**4** images produced" in text
    assert "EggAPI total **$0.04**" in text and "They agree" in text
    assert "Page 1/1" in text and [b.label for b in message.buttons] == ["Export CSV + chart"]
    assert_clean(world.fake)
