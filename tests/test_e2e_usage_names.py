"""/usage exports name members: fetched over REST after the acknowledgement, bounded, ids as the fallback.

The bot runs without the privileged members intent, so it caches no member; the CSV and the chart
look the members up with ``GET /guilds/{id}/members/{id}`` on the fake Discord.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from cogs.usage._names import FETCH_LIMIT, FETCH_TIMEOUT
from testkit.fake_discord import FakeDiscord, FakeMessage, RequestRecord, assert_clean
from testkit.fake_eggapi import FakeEggAPI
from testkit.starter import BotStarter
from testkit.world import World
from tests.test_e2e_usage import EXTENSIONS, parse_csv, report, seed

MEMBER_PATH = re.compile(r"^/guilds/\d+/members/\d+$")


@pytest.fixture
async def usage_bot(tmp_path: Path, world: World, eggapi: FakeEggAPI) -> AsyncIterator[BotStarter]:
    async with BotStarter(tmp_path, world, eggapi, extensions=EXTENSIONS, discord_time=False) as starter:
        yield starter


def member_lookups(fake: FakeDiscord) -> list[RequestRecord]:
    return [r for r in fake.requests if r.method == "GET" and MEMBER_PATH.match(r.path)]  # injected faults too


def names_by_id(message: FakeMessage) -> dict[str, str]:
    rows = parse_csv(next(a for a in message.attachments if a.filename.endswith(".csv")).data)
    return {r["member_id"]: r["member_name"] for r in rows}


async def test_export_names_members_and_falls_back_to_their_ids(
    world: World, eggapi: FakeEggAPI, usage_bot: BotStarter, caplog: Any
) -> None:
    caplog.set_level(logging.INFO)
    fake = world.fake
    mod = fake.add_member(world.guild, "mod", permissions="MANAGE_GUILD")
    carol = fake.add_member(world.guild, fake.add_user("carol", global_name="Carol C"), nick="=HYPERLINK(1)")
    dave = fake.add_member(world.guild, "dave")
    erin = fake.add_member(world.guild, "erin")
    past = datetime.now(UTC) - timedelta(hours=1)
    spend = {
        world.alice.id: "0.05",
        carol.id: "0.04",
        world.bob.id: "0.03",
        dave.id: "0.02",
        erin.id: "0.015",
        900: "0.01",
    }
    await seed(
        usage_bot.db_path,
        *(
            {"guild": world.guild.id, "member": member, "when": past, "cost": Decimal(cost)}
            for member, cost in spend.items()
        ),
    )
    fake.remove_member(world.guild, dave)  # dave left the server: 404 Unknown Member
    fake.fail_next(
        "GET",
        rf"^/guilds/{world.guild.id}/members/{erin.id}$",
        403,  # refused: no retry, no name
        {"message": "Missing Access", "code": 50001},
    )
    await usage_bot()

    handle, _ = await report(world, mod, world.general, period="all", export=True)
    names = names_by_id(await handle.wait_followup(1))
    assert names == {
        str(world.alice.id): "alice",
        str(world.bob.id): "bob",
        str(carol.id): "'=HYPERLINK(1)",  # the server nickname, formula-inert
        str(dave.id): str(dave.id),
        str(erin.id): str(erin.id),
        "900": "900",  # left, refused, never joined
    }
    lookups = member_lookups(fake)
    ack = next(r for r in fake.requests if r.route == "POST /interactions/{iid}/{token}/callback")
    assert all(r.timestamp >= ack.timestamp and fake.requests.index(r) > fake.requests.index(ack) for r in lookups)
    assert sorted(r.path.rsplit("/", 1)[1] for r in lookups) == sorted(str(m) for m in spend)  # each once

    # A new report looks everyone up afresh; exporting it twice asks Discord only once (names kept per report).
    _, message = await report(world, mod, world.general, period="all")
    before = len(member_lookups(fake))
    export = await fake.click(mod, message, message.button("Export CSV + chart").custom_id or "")
    first = names_by_id(await export.wait_response())
    assert len(member_lookups(fake)) == before + len(spend)  # erin's answer comes this time
    assert first[str(erin.id)] == "erin"
    again = await fake.click(mod, message, message.button("Export CSV + chart").custom_id or "")
    assert names_by_id(await again.wait_response()) == first
    assert len(member_lookups(fake)) == before + len(spend)
    assert_clean(fake, caplog=caplog)


async def test_export_looks_up_a_bounded_number_of_members(
    world: World, eggapi: FakeEggAPI, usage_bot: BotStarter
) -> None:
    fake = world.fake
    mod = fake.add_member(world.guild, "mod", permissions="MANAGE_GUILD")
    crowd = [fake.add_member(world.guild, f"member{i:02d}") for i in range(FETCH_LIMIT + 5)]
    past = datetime.now(UTC) - timedelta(hours=1)
    await seed(
        usage_bot.db_path,
        *(
            {"guild": world.guild.id, "member": m.id, "when": past, "cost": Decimal(i + 1) / 100}
            for i, m in enumerate(crowd)
        ),
    )
    await usage_bot()
    handle, _ = await report(world, mod, world.general, period="all", export=True)
    names = names_by_id(await handle.wait_followup(1))
    assert len(member_lookups(fake)) == FETCH_LIMIT
    biggest_first = list(reversed(crowd))
    assert [names[str(m.id)] for m in biggest_first[:FETCH_LIMIT]] == [m.username for m in biggest_first[:FETCH_LIMIT]]
    assert [names[str(m.id)] for m in biggest_first[FETCH_LIMIT:]] == [str(m.id) for m in biggest_first[FETCH_LIMIT:]]
    assert_clean(fake)


async def test_a_slow_lookup_only_delays_the_export_and_costs_its_name(
    world: World, eggapi: FakeEggAPI, usage_bot: BotStarter
) -> None:
    fake = world.fake
    mod = fake.add_member(world.guild, "mod", permissions="MANAGE_GUILD")
    past = datetime.now(UTC) - timedelta(hours=1)
    await seed(
        usage_bot.db_path,
        *(
            {"guild": world.guild.id, "member": m.id, "when": past, "cost": Decimal("0.01")}
            for m in (world.alice, world.bob)
        ),
    )
    fake.delay_next("GET", rf"^/guilds/{world.guild.id}/members/{world.bob.id}$", FETCH_TIMEOUT + 0.5)
    await usage_bot()
    handle, message = await report(world, mod, world.general, period="all", export=True)
    assert message.embeds  # the report itself came first, as usual
    names = names_by_id(await handle.wait_followup(1, timeout=FETCH_TIMEOUT * 3))
    assert names == {str(world.alice.id): "alice", str(world.bob.id): str(world.bob.id)}
    assert_clean(fake)
