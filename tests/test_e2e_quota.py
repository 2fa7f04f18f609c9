"""Quotas end to end: refusals, /balance, moderator commands and the concurrency guarantee."""

from __future__ import annotations

import asyncio
import re
from decimal import Decimal
from typing import Any, cast

import pytest

from bot.app.client import EggBot
from testkit.fake_discord import ClientRefusal, FakeMessage, assert_clean
from testkit.fake_eggapi import FakeEggAPI, TaskPlan
from testkit.starter import BotStarter, any_db
from testkit.world import World

pytestmark = pytest.mark.usefixtures("on_each_backend")

RELATIVE = re.compile(r"<t:\d+:R>")


def is_result(message: FakeMessage) -> bool:
    return bool(message.attachments)


async def settled_total(bot: EggBot, member_id: int) -> Decimal:
    rows = await any_db(bot).fetchall(
        "SELECT settled FROM ledger_holds WHERE member_id = ? AND state = 'settled'", (member_id,)
    )
    return sum((Decimal(r["settled"]) for r in rows), Decimal("0"))


async def test_refusal_says_why_what_is_left_and_when_it_resets(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    bot = await start_bot(EGGBOT_QUOTA_LIMIT="0.02")
    handle = await world.fake.slash(world.alice, world.general, "imagine", prompt="three foxes", count=3)
    reply = await handle.wait_response()
    assert reply.ephemeral
    assert "This request needs $0.03, but you have only $0.02 left" in reply.content
    assert RELATIVE.search(reply.content)
    assert eggapi.count("POST", "/v1/generate") == 0
    row = await any_db(bot).fetchone("SELECT COUNT(*) AS n FROM tasks")
    assert row is not None and row["n"] == 0  # refused requests leave nothing behind
    assert_clean(world.fake)


async def test_balance_shows_spent_reserved_remaining_and_reset(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    await start_bot(EGGBOT_QUOTA_LIMIT="0.05")
    await world.fake.slash(world.alice, world.general, "imagine", prompt="one fox")
    await world.fake.wait_for_message(world.general, is_result)
    eggapi.plan_next(TaskPlan(hold=True))
    await world.fake.slash(world.alice, world.general, "imagine", prompt="held fox", count=2)
    await world.fake.wait_for(lambda f: len(eggapi.tasks) == 2 or None)
    handle = await world.fake.slash(world.alice, world.general, "balance")
    text = (await handle.wait_response()).content
    assert "Spent: $0.01 · reserved for running jobs: $0.02" in text
    assert "remaining: **$0.02**" in text
    assert RELATIVE.search(text)
    assert_clean(world.fake)


async def test_failed_task_costs_nothing(world: World, eggapi: FakeEggAPI, start_bot: BotStarter) -> None:
    eggapi.plan_next(TaskPlan(outcome="failed"))
    bot = await start_bot(EGGBOT_QUOTA_LIMIT="0.01")
    await world.fake.slash(world.alice, world.general, "imagine", prompt="forbidden fox")
    await world.fake.wait_for_message(world.general, lambda m: "was not made" in m.content)
    # The whole limit is available again: the next request is accepted and delivered.
    await world.fake.slash(world.alice, world.general, "imagine", prompt="allowed fox")
    await world.fake.wait_for_message(world.general, is_result)
    assert await settled_total(bot, world.alice.id) == Decimal("0.0100")


async def test_moderator_commands_are_refused_to_members(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    await start_bot()
    assert "quota" not in world.fake.visible_commands(world.alice, world.general)
    with pytest.raises(ClientRefusal):
        await world.fake.slash(world.alice, world.general, "quota", "pause")
    handle = await world.fake.slash(world.alice, world.general, "quota", "pause", validate=False)
    reply = await handle.wait_response()
    assert reply.ephemeral and "Manage Server" in reply.content
    # Nothing changed: alice can still generate.
    await world.fake.slash(world.alice, world.general, "imagine", prompt="still allowed")
    await world.fake.wait_for_message(world.general, is_result)
    assert_clean(world.fake)


async def test_moderators_pause_limit_exempt_and_cap(world: World, eggapi: FakeEggAPI, start_bot: BotStarter) -> None:
    fake = world.fake
    mod = fake.add_member(world.guild, "mod", permissions="MANAGE_GUILD")
    vip = fake.add_role(world.guild, "VIP")
    carol = fake.add_member(world.guild, "carol", roles=[vip])
    await start_bot(EGGBOT_QUOTA_LIMIT="0.01")

    async def run(user: Any, *path: str, **options: Any) -> str:
        handle = await fake.slash(user, world.general, *path, **options)
        return (await handle.wait_response()).content

    assert "paused image generation" in await run(mod, "quota", "pause")
    assert "paused on this server" in await run(world.alice, "imagine", prompt="fox")
    assert "resumed" in await run(mod, "quota", "resume")

    assert "only $0.01 left" in await run(carol, "imagine", prompt="two foxes", count=2)
    await run(mod, "quota", "exempt", role=vip, exempt=True)
    await run(carol, "imagine", prompt="two foxes", count=2)
    await fake.wait_for_message(world.general, lambda m: is_result(m) and carol.mention in m.content)

    await run(mod, "quota", "member", member=world.bob, amount="$0.03")
    await run(world.bob, "imagine", prompt="three foxes", count=3)
    await fake.wait_for_message(world.general, lambda m: is_result(m) and world.bob.mention in m.content)

    assert "Server cap: none\n" in await run(mod, "quota", "show")
    shown = await run(mod, "quota", "cap", amount="0.06")
    assert "Server cap: $0.06 daily\n" in shown
    refused = await run(carol, "imagine", prompt="more", count=2)  # 0.05 spent of 0.06: exempt, but capped
    assert "server's shared daily budget has only $0.01 left" in refused
    assert "not an amount" in await run(mod, "quota", "cap", amount="lots")
    assert_clean(fake)


async def test_used_up_and_zero_limits_read_plainly(world: World, eggapi: FakeEggAPI, start_bot: BotStarter) -> None:
    """No "$0.0000 left" noise; a member set to $0 is not told they "used up" anything."""
    mod = world.fake.add_member(world.guild, "mod", permissions="MANAGE_GUILD")
    await start_bot(EGGBOT_QUOTA_LIMIT="0.01")

    async def run(user: Any, *path: str, **options: Any) -> str:
        handle = await world.fake.slash(user, world.general, *path, **options)
        return (await handle.wait_response()).content

    await run(world.alice, "imagine", prompt="one fox")
    await world.fake.wait_for_message(world.general, is_result)
    used = await run(world.alice, "imagine", prompt="another fox")
    assert used.startswith("You've used all of your daily image budget ($0.01). It resets <t:")
    assert used.endswith("/balance has the details.") and "left" not in used
    assert "set <@" in await run(mod, "quota", "member", member=world.bob, amount="0")
    zero = await run(world.bob, "imagine", prompt="a fox")
    assert zero == "You don't have an image budget on this server. Ask a moderator if that seems wrong."
    assert_clean(world.fake)


async def test_account_budget_stops_generation_everywhere(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    await start_bot(EGGBOT_ACCOUNT_BUDGET="0")
    reply = await (await world.fake.slash(world.alice, world.general, "imagine", prompt="fox")).wait_response()
    assert "overall spending budget" in reply.content
    assert eggapi.count("POST", "/v1/generate") == 0


async def test_concurrent_requests_never_overdraw(world: World, eggapi: FakeEggAPI, start_bot: BotStarter) -> None:
    """60 simultaneous /imagine at the edge of a $0.25 limit: exactly 25 run, the rest are refused.

    One member's reservations take turns (nothing else could keep them from overdrawing), and a job
    not recorded within 2 s is refused as "too busy" so that Discord still gets its answer in 3 s:
    on a loaded machine a burst of 60 can pass that on PostgreSQL, whose statements each make a
    round trip. Such a refusal records and reserves nothing, so the others still fill the budget
    exactly: 25, or all of them if fewer than 25 were not refused as busy.
    """
    bot = await start_bot(EGGBOT_QUOTA_LIMIT="0.25", EGGBOT_MAX_QUEUED_PER_MEMBER="100")
    handles = await asyncio.gather(
        *(world.fake.slash(world.alice, world.general, "imagine", prompt=f"fox {i}") for i in range(60))
    )
    replies = await asyncio.gather(*(h.wait_response(timeout=20) for h in handles))
    refused = [r for r in replies if r.ephemeral]
    accepted = [r for r in replies if not r.ephemeral]
    busy = [r for r in refused if "too busy to take this right now. Nothing was recorded or charged" in r.content]
    assert all("daily image budget" in r.content for r in refused if r not in busy)
    ran = min(25, 60 - len(busy))
    assert (len(accepted), len(refused)) == (ran, 60 - ran)
    assert max(cast(float, h.ack_latency) for h in handles) < 3  # each was acknowledged (wait_ack above)
    # Results may share messages when the channel is busy: count the images.
    await world.fake.wait_for(
        lambda f: sum(len(m.attachments) for m in f.messages(world.general)) == ran or None, timeout=30
    )
    assert len(eggapi.tasks) == ran
    assert await settled_total(bot, world.alice.id) == Decimal("0.01") * ran
    row = await any_db(bot).fetchone("SELECT COUNT(*) AS n FROM ledger_holds WHERE state = 'active'")
    assert row is not None and row["n"] == 0
    assert_clean(world.fake)


async def test_a_zero_price_from_eggapi_does_not_make_images_free(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    """D7: a usage summary of $0.00 for 10 images must not let every request through."""
    eggapi.summary_rows = [{"model": "nanobanana", "total_units": 10, "total_cost": "$0.00", "request_count": 10}]
    bot = await start_bot(EGGBOT_QUOTA_LIMIT="0.02", EGGBOT_MAX_QUEUED_PER_MEMBER="10")
    assert await bot.prices.refresh_once()
    handles = await asyncio.gather(
        *(world.fake.slash(world.alice, world.general, "imagine", prompt=f"fox {i}", count=2) for i in range(3))
    )
    replies = await asyncio.gather(*(h.wait_response() for h in handles))
    refused = [r.content for r in replies if r.ephemeral]
    assert len(refused) == 2 and all("daily image budget" in text for text in refused)
    await world.fake.wait_for_message(world.general, is_result)
    assert len(eggapi.tasks) == 1
    assert_clean(world.fake)


async def test_a_price_rise_is_learned_before_concurrent_jobs_overdraw(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    """D7: EggAPI charges $0.02 while the bot assumed $0.01; after one job, five at once stay within $0.10."""
    eggapi.default_plan = TaskPlan(cost_per_image=Decimal("0.02"))
    bot = await start_bot(EGGBOT_QUOTA_LIMIT="0.10", EGGBOT_MAX_QUEUED_PER_MEMBER="10")
    await world.fake.slash(world.alice, world.general, "imagine", prompt="first fox")
    await world.fake.wait_for_message(world.general, is_result)
    assert await settled_total(bot, world.alice.id) == Decimal("0.02")  # settled before it is posted
    handles = await asyncio.gather(
        *(world.fake.slash(world.alice, world.general, "imagine", prompt=f"fox {i}") for i in range(5))
    )
    replies = await asyncio.gather(*(h.wait_response() for h in handles))
    refused = [r.content for r in replies if r.ephemeral]
    assert len(refused) == 1 and "You've used all of your daily image budget ($0.10)" in refused[0]
    await world.fake.wait_for(
        lambda f: sum(len(m.attachments) for m in f.messages(world.general)) == 5 or None, timeout=20
    )
    assert len(eggapi.tasks) == 5
    assert await settled_total(bot, world.alice.id) == Decimal("0.10")
    balance = await (await world.fake.slash(world.alice, world.general, "balance")).wait_response()
    assert "remaining: **$0.00**" in balance.content
    assert_clean(world.fake)


async def test_an_overdraft_is_shown_and_new_jobs_wait_until_it_is_covered(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    """D7: EggAPI charged $0.09 against a $0.01 hold on a $0.05 limit: /balance says so, new jobs are refused."""
    eggapi.default_plan = TaskPlan(cost_per_image=Decimal("0.09"))
    mod = world.fake.add_member(world.guild, "mod", permissions="MANAGE_GUILD")
    bot = await start_bot(EGGBOT_QUOTA_LIMIT="0.05")

    async def run(user: Any, *path: str, **options: Any) -> str:
        return (await (await world.fake.slash(user, world.general, *path, **options)).wait_response()).content

    await run(world.alice, "imagine", prompt="a dear fox")
    await world.fake.wait_for_message(world.general, is_result)
    assert await settled_total(bot, world.alice.id) == Decimal("0.09")
    balance = await run(world.alice, "balance")
    assert "Limit: $0.05 · **overdrawn by $0.04**" in balance
    assert "remaining" not in balance and "cost more than was reserved" in balance
    refused = await run(world.alice, "imagine", prompt="another fox")
    assert refused.startswith(
        "Your recent images cost more than was reserved for them, so you're $0.04 over your "
        "daily image budget ($0.05). New images can start once that is covered. It resets <t:"
    )
    assert eggapi.count("POST", "/v1/generate") == 1
    await run(mod, "quota", "member", member=world.alice, amount="0.20")  # covered: 0.11 left, a job needs 0.09
    await run(world.alice, "imagine", prompt="covered fox")
    await world.fake.wait_for(lambda f: len([m for m in f.messages(world.general) if is_result(m)]) == 2 or None)
    assert_clean(world.fake)
