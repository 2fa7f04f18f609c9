"""Members' defaults (bot.members.preferences) on a real SQLite file, and the budget in images (bot.members.budget)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from bot.errors import InvalidRequest
from bot.guilds import GuildSettings
from bot.ledger import Balance
from bot.lifecycle.model import PROMPT_MAX, ImagineRequest
from bot.members import SUFFIX_MAX, MemberData, MemberPreferences, Preferences, Standing, images_left, with_suffix
from bot.policy import PromptPolicy
from bot.storage.sqlite import Database

D = Decimal
GUILD, OTHER, ALICE, BOB = 111, 222, 1001, 1002
RESETS = datetime(2025, 3, 13, tzinfo=UTC)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    async with await Database.open(tmp_path / "preferences.sqlite") as database:
        yield database


@pytest.fixture
def settings(db: Database) -> GuildSettings:
    return GuildSettings(db)


@pytest.fixture
def preferences(settings: GuildSettings) -> MemberPreferences:
    return MemberPreferences(settings, PromptPolicy(settings))


def request(prompt: str = "a red fox", **options: object) -> ImagineRequest:
    return ImagineRequest(guild_id=GUILD, channel_id=5, member_id=ALICE, prompt=prompt, **options)  # type: ignore[arg-type]


def test_defaults_fill_only_what_the_member_left_out() -> None:
    mine = Preferences(aspect_ratio="9:16", count=3, resolution="2k", suffix="watercolour")
    filled = mine.apply(request(), count_given=False)
    assert (filled.aspect_ratio, filled.count, filled.resolution) == ("9:16", 3, "2k")
    assert filled.prompt == "a red fox, watercolour"
    chosen = mine.apply(request(aspect_ratio="16:9", count=1, resolution="4k"), count_given=True)
    assert (chosen.aspect_ratio, chosen.count, chosen.resolution) == ("16:9", 1, "4k")
    assert Preferences().apply(request(), count_given=False) == request()


def test_the_suffix_joins_once_and_never_overflows_the_prompt() -> None:
    assert with_suffix("a red fox.", "watercolour") == "a red fox. watercolour"
    assert with_suffix("a red fox, Watercolour", "watercolour") == "a red fox, Watercolour"
    assert with_suffix("a red fox ", None) == "a red fox"
    with pytest.raises(InvalidRequest) as refused:
        Preferences(suffix="x" * 10).apply(request("y" * (PROMPT_MAX - 5)), count_given=False)
    assert refused.value.key == "settings.too_long_with_suffix"
    assert f"the limit is {PROMPT_MAX:,}" in refused.value.user_message
    alone = request("y" * (PROMPT_MAX + 1))
    assert Preferences().apply(alone, count_given=False).prompt == alone.prompt  # too long on its own: not ours


async def test_set_show_and_reset_per_member_per_server(preferences: MemberPreferences) -> None:
    assert (await preferences.get(GUILD, ALICE)).is_default
    changed = await preferences.update(GUILD, ALICE, {"count": 2, "suffix": "  soft   light, ", "mention": False})
    assert changed == Preferences(count=2, suffix="soft light", mention=False)
    assert await preferences.mention(GUILD, ALICE) is False
    assert (await preferences.get(GUILD, BOB)).is_default
    assert (await preferences.get(OTHER, ALICE)).is_default

    after = await preferences.reset(GUILD, ALICE, ["count"])
    assert after == Preferences(suffix="soft light", mention=False)
    assert (await preferences.reset(GUILD, ALICE)).is_default
    assert await preferences.mention(GUILD, ALICE) is True


async def test_a_suffix_is_checked_against_the_servers_rules(
    preferences: MemberPreferences, settings: GuildSettings
) -> None:
    await PromptPolicy(settings).add_terms(GUILD, "gore")
    with pytest.raises(InvalidRequest) as refused:
        await preferences.update(GUILD, ALICE, {"suffix": "lots of G0RE", "count": 4})
    assert refused.value.key == "settings.suffix_refused"
    assert (await preferences.get(GUILD, ALICE)).is_default  # nothing of the change was kept
    assert (await preferences.update(OTHER, ALICE, {"suffix": "lots of gore"})).suffix == "lots of gore"
    with pytest.raises(InvalidRequest) as long:
        await preferences.update(GUILD, ALICE, {"suffix": "x" * (SUFFIX_MAX + 1)})
    assert long.value.key == "settings.suffix_too_long"


async def test_a_value_that_no_longer_fits_reads_as_unset(
    preferences: MemberPreferences, settings: GuildSettings, db: Database
) -> None:
    await preferences.update(GUILD, ALICE, {"aspect_ratio": "9:16", "count": 2})
    await db.transaction(lambda tx: tx.execute("UPDATE member_settings SET value = '7' WHERE key = 'defaults.count'"))
    settings.forget_members()  # written behind the bot's back (as by an older bot): read again
    assert await preferences.get(GUILD, ALICE) == Preferences(aspect_ratio="9:16")
    with pytest.raises(InvalidRequest):
        await preferences.update(GUILD, ALICE, {"resolution": "8k"})


async def test_mydata_delete_forgets_the_defaults(
    preferences: MemberPreferences, settings: GuildSettings, db: Database
) -> None:
    members = MemberData(db, forget=settings.forget_member)  # as the composition root wires it
    await preferences.update(GUILD, ALICE, {"count": 3, "mention": False})
    await preferences.update(GUILD, BOB, {"count": 2})
    assert not (await preferences.get(GUILD, ALICE)).is_default  # kept in memory now
    assert (await members.record(GUILD, ALICE)).settings == {"defaults.count": 3, "results.mention": False}
    assert (await members.erase(GUILD, ALICE)).settings == 2
    assert (await preferences.get(GUILD, ALICE)).is_default
    assert (await preferences.get(GUILD, BOB)).count == 2


async def test_another_process_change_of_a_members_defaults_is_seen_within_a_second(tmp_path: Path) -> None:
    """Two storage instances on one file, as two bot processes; the clock that paces the checks moved by hand."""
    now = [0.0]
    path = tmp_path / "two.sqlite"
    async with await Database.open(path) as first, await Database.open(path) as second:
        here = GuildSettings(first)
        there = GuildSettings(second, ticks=lambda: now[0], check_every=1.0)
        mine, theirs = MemberPreferences(here, PromptPolicy(here)), MemberPreferences(there, PromptPolicy(there))
        assert (await theirs.get(GUILD, ALICE)).is_default
        await mine.update(GUILD, ALICE, {"count": 4})
        assert (await theirs.get(GUILD, ALICE)).is_default  # kept: looked less than a second ago
        now[0] = 1.0
        assert (await theirs.get(GUILD, ALICE)).count == 4  # the generation moved: read again
        await MemberData(first, forget=here.forget_member).erase(GUILD, ALICE)  # /mydata delete in the other
        assert (await theirs.get(GUILD, ALICE)).count == 4
        now[0] = 2.0
        assert (await theirs.get(GUILD, ALICE)).is_default


def balance(**fields: object) -> Balance:
    values: dict[str, object] = {
        "limit": D("0.10"),
        "settled": D("0.03"),
        "reserved": D("0.02"),
        "available": D("0.05"),
        "period_start": datetime(2025, 3, 12, tzinfo=UTC),
        "resets_at": RESETS,
        "exempt": False,
        "paused": False,
        "period": "week",
    }
    values.update(fields)
    return Balance(**values)  # type: ignore[arg-type]


def test_the_budget_in_images_is_the_allowance_over_the_price() -> None:
    left = images_left(balance(), D("0.01"))
    assert (left.standing, left.images, left.period, left.resets_at, left.shared) == (
        Standing.LEFT,
        5,
        "week",
        RESETS,
        False,
    )
    assert images_left(balance(available=D("0.029")), D("0.01")).images == 2  # rounded down: a third won't fit
    assert images_left(balance(available=D("0")), D("0.01")).images == 0
    shared = images_left(balance(server_cap=D("1"), server_available=D("0.02")), D("0.01"))
    assert (shared.images, shared.shared) == (2, True)
    exempt = images_left(balance(limit=None, available=None, exempt=True, server_available=D("0.3")), D("0.1"))
    assert (exempt.images, exempt.shared) == (3, True)
    assert images_left(balance(limit=None, available=None, exempt=True), D("0.01")).standing is Standing.UNLIMITED
    assert images_left(balance(paused=True), D("0.01")).standing is Standing.PAUSED
    assert images_left(balance(overdrawn=D("0.04"), available=D("0")), D("0.01")).standing is Standing.OVERDRAWN
