"""Moderators' money tools end to end: top-ups, spend resets and hidden costs, as members and moderators see them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from testkit.fake_discord import ClientRefusal, FakeChannel, FakeMember, FakeMessage, assert_clean
from testkit.fake_eggapi import FakeEggAPI
from testkit.starter import BotStarter
from testkit.world import World, answer
from tests.test_e2e_usage import parse_csv, report, text_of

pytestmark = pytest.mark.usefixtures("on_each_backend")

D = Decimal


async def say(world: World, user: FakeMember, *path: str, channel: FakeChannel | None = None, **options: Any) -> str:
    """Run a slash command and return the reply a user reads."""
    return (await answer(world, user, *path, where=channel, **options)).content


async def made(world: World, member: FakeMember, prompt: str) -> FakeMessage:
    """Run /imagine and wait for the post carrying its images."""
    await world.fake.slash(member, world.general, "imagine", prompt=prompt)
    return await world.fake.wait_for_message(world.general, lambda m: bool(m.attachments) and prompt in m.content)


async def refused_to_members(world: World, *path: str, **options: Any) -> None:
    """Hidden from members, and refused when a modified client sends it anyway."""
    with pytest.raises(ClientRefusal):
        await world.fake.slash(world.bob, world.general, *path, **options)
    reply = await world.fake.slash(world.bob, world.general, *path, validate=False, **options)
    message = await reply.wait_response()
    assert message.ephemeral and "Manage Server" in message.content


async def test_a_top_up_lets_a_member_over_budget_make_images(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    mod = world.fake.add_member(world.guild, "mod", permissions="MANAGE_GUILD")
    await start_bot(EGGBOT_QUOTA_LIMIT="0.01")
    await made(world, world.alice, "first fox")
    assert "used all of your daily image budget" in await say(world, world.alice, "imagine", prompt="second fox")
    await refused_to_members(world, "quota", "topup", member=world.alice, amount="5")
    assert "above $0" in await say(world, mod, "quota", "topup", member=world.alice, amount="0")
    done = await say(world, mod, "quota", "topup", member=world.alice, amount="0.02")
    assert f"Topped up {world.alice.mention}'s budget by $0.02 for this period only" in done
    assert "Remaining: $0.00 → **$0.02**" in done
    await made(world, world.alice, "second fox")
    balance = await say(world, world.alice, "balance")
    assert "Limit: $0.01 + top-up $0.02 · remaining: **$0.01**" in balance
    assert "Spent: $0.02" in balance
    assert eggapi.count("POST", "/v1/generate") == 2
    assert_clean(world.fake)


async def test_a_reset_lets_a_member_who_spent_their_limit_go_on_and_usage_shows_it(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    mod = world.fake.add_member(world.guild, "mod", permissions="MANAGE_GUILD")
    await start_bot(EGGBOT_QUOTA_LIMIT="0.01")
    await made(world, world.alice, "first fox")
    assert "used all of your daily image budget" in await say(world, world.alice, "imagine", prompt="again")
    await refused_to_members(world, "quota", "reset", member=world.alice)
    done = await say(world, mod, "quota", "reset", member=world.alice)
    assert f"Reset {world.alice.mention}'s spend for this period: forgave $0.01" in done
    assert "Remaining: $0.00 → **$0.01**" in done
    await made(world, world.alice, "again")
    balance = await say(world, world.alice, "balance")
    assert "Spent: $0.01 (a moderator forgave $0.01)" in balance and "remaining: **$0.00**" in balance

    handle, message = await report(world, mod, world.general, member=world.alice, export=True)
    text = text_of(message)
    assert "Settled **$0.02**" in text  # EggAPI charged both jobs: the report still counts them
    assert "settled $0.02 (forgiven $0.01)" in text
    assert "Moderator adjustments" in text and "forgiven $0.01 by mod" in text
    export = await handle.wait_followup(1)
    rows = parse_csv(next(a for a in export.attachments if a.filename.endswith(".csv")).data)
    assert sum(D(r["cost"]) for r in rows if r["ledger"] == "settled") == D("0.02")
    [line] = [r for r in rows if r["status"] == "adjustment"]
    assert (line["ledger"], D(line["cost"]), int(line["member_id"])) == ("forgiven", D("0.01"), world.alice.id)
    _, overview = await report(world, mod, world.general)
    assert "Top-ups **$0.00** · forgiven **$0.01**" in text_of(overview)
    assert_clean(world.fake)


async def test_hidden_costs_leave_captions_without_money_but_balance_keeps_it(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    mod = world.fake.add_member(world.guild, "mod", permissions="MANAGE_GUILD")
    await start_bot(EGGBOT_QUOTA_LIMIT="1.00")
    shown = await made(world, world.alice, "priced fox")
    assert "$0.01" in shown.content
    await refused_to_members(world, "quota", "captions", costs="hide")
    assert "no longer show costs" in await say(world, mod, "quota", "captions", costs="hide")
    hidden = await made(world, world.alice, "quiet fox")
    assert "$" not in hidden.content and "quiet fox" in hidden.content
    assert "Spent: $0.02" in await say(world, world.alice, "balance")
    assert "show what each job cost" in await say(world, mod, "quota", "captions", costs="show")
    assert "$0.01" in (await made(world, world.alice, "loud fox")).content
    assert_clean(world.fake)
