"""bot.policy: normalisation, term matching, the regex guard, and the service on a real SQLite file."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from bot.errors import ChannelNotAllowed, InvalidRequest, PolicyRefusal
from bot.guilds import BLOCKED_PATTERNS, GuildSettings
from bot.lifecycle.model import ImagineRequest
from bot.policy import MemberBlocked, PatternError, PromptPolicy, TermMatcher, check_pattern, fold, readings, search
from testkit.backends import Backend

GUILD, CHANNEL, THREAD, MEMBER = 111, 222, 333, 444
SLOW = "(a|aa)+$"  # backtracks exponentially even in the regex package (which defuses (a+)+$ itself)


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("NSFW", "nsfw"),
        ("Ｎｓｆｗ", "nsfw"),  # fullwidth
        ("nѕfw", "nsfw"),  # Cyrillic dze
        ("gоrе", "gore"),  # Cyrillic o and e
        ("Gőré", "gore"),  # accents
        ("n\u200bs\u00adfw", "nsfw"),  # zero-width space, soft hyphen
        ("g0r3 4 5h17", "gore a shit"),  # leetspeak digits
        ("@$$", "ass"),
        ("𝐧𝐬𝐟𝐰", "nsfw"),  # mathematical bold
    ],
)
def test_fold_undoes_disguises(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_readings_join_letters_split_by_separators() -> None:
    assert ("nsfw", "art") in readings("n.s.f.w art")
    assert ("nsfw",) in readings("n s f w")
    assert ("nsfw",) in readings("n-s-f-w")
    assert ("well", "known") in readings("well-known") and ("wellknown",) in readings("well-known")


@pytest.mark.parametrize(
    "prompt",
    [
        "an NSFW fox",
        "a n.s.f.w fox",
        "a n s f w fox",
        "a n-s-f-w fox",
        "a n_s_f_w fox",
        "a ｎｓｆｗ fox",
        "a nѕfw fox",
        "a n\u200dsfw fox",
        "nsfw!",
        "(nsfw)",
    ],
)
def test_a_disguised_term_is_caught(prompt: str) -> None:
    assert TermMatcher(["nsfw"]).first_hit(prompt) == "nsfw"


@pytest.mark.parametrize(
    ("term", "prompt"),
    [
        ("ass", "a class assistant passes the glass"),
        ("ass", "Assyrian bass, brass and sassafras"),
        ("cat", "concatenate the catalogue; a scattered education"),
        ("gore", "Gorey gorge, Algorithm of Gregory"),
        ("blood bath", "a blood orange in the bath"),
    ],
)
def test_innocent_words_pass(term: str, prompt: str) -> None:
    assert TermMatcher([term]).first_hit(prompt) is None


@pytest.mark.parametrize(
    ("term", "prompt"),
    [
        ("ass", "kick 455"),
        ("ass", "what an @ss"),
        ("cat", "two cats"),
        ("cat", "a CAT!"),
        ("blood bath", "a Blood  Bath"),
        ("blood bath", "a blood-bath"),
        ("blood bath", "a bloodbath"),
        ("gore", "lots of gоrе"),
    ],
)
def test_terms_hit_as_whole_words_plurals_and_phrases(term: str, prompt: str) -> None:
    assert TermMatcher([term]).first_hit(prompt) == term


def test_invalid_patterns_are_refused_with_the_reason() -> None:
    with pytest.raises(PatternError, match=r"not a valid regular expression \(missing \) at position 3\)"):
        check_pattern("(ab")
    with pytest.raises(PatternError, match="nothing to repeat"):
        check_pattern("*fox")
    with pytest.raises(PatternError, match="would refuse every prompt"):
        check_pattern("x*")
    with pytest.raises(PatternError, match="the limit is 200"):
        check_pattern("a" * 201)
    assert check_pattern(r"sp[a@]+m").search("SPAAM") is not None  # case-insensitive


@pytest.mark.parametrize("pattern", [SLOW, "(a+)+$", "(x+x+)+y", "(.*a){12}"])
def test_a_pathological_pattern_is_bounded_when_added(pattern: str) -> None:
    started = time.monotonic()
    try:
        check_pattern(pattern)
    except PatternError as exc:
        assert "too long" in exc.reason
    assert time.monotonic() - started < 1.0


def test_a_slow_pattern_cannot_stall_a_search() -> None:
    started = time.monotonic()
    verdict = search([SLOW], ["a" * 28 + "!", "a" * 5000 + "!"], budget=0.2)
    assert time.monotonic() - started < 1.0
    assert verdict.timed_out == SLOW and verdict.matched is None


def test_search_reports_the_first_matching_pattern() -> None:
    assert search(["dog", "fo+x"], ["a red FOOX"]).matched == "fo+x"
    assert search(["dog"], ["a red fox"]).matched is None


# ---------------------------------------------------------------- the service, on a real database


@pytest.fixture
async def settings(backend: Backend) -> AsyncIterator[GuildSettings]:
    async with await backend.open() as database:
        yield GuildSettings(database)


@pytest.fixture
def policy(settings: GuildSettings) -> PromptPolicy:
    return PromptPolicy(settings, search_budget=0.2)


def request(prompt: str = "a fox", **values: object) -> ImagineRequest:
    fields: dict[str, object] = {"guild_id": GUILD, "channel_id": CHANNEL, "member_id": MEMBER, "prompt": prompt}
    fields.update(values)
    return ImagineRequest(**fields)  # type: ignore[arg-type]


async def test_terms_are_added_once_per_spelling_and_removed_by_any(policy: PromptPolicy) -> None:
    change = await policy.add_terms(GUILD, "NSFW, gore,, blood bath, x, " + "y" * 101)
    assert change.done == ("nsfw", "gore", "blood bath")
    assert [term for term, _ in change.refused] == ["x", "y" * 101]
    assert (await policy.add_terms(GUILD, "n.s.f.w, bloodbath")).skipped == ("n.s.f.w", "bloodbath")
    await policy.check(request("a classy fox"))
    with pytest.raises(PolicyRefusal, match="your prompt"):
        await policy.check(request("a g0re fox"))
    with pytest.raises(PolicyRefusal, match="your negative prompt"):
        await policy.check(request("a fox", negative_prompt="N-S-F-W"))
    removed = await policy.remove_terms(GUILD, "N.S.F.W, kittens")
    assert (removed.done, removed.skipped) == (("nsfw",), ("kittens",))
    assert (await policy.overview(GUILD)).terms == ("gore", "blood bath")
    await policy.check(request("an nsfw fox"))


async def test_two_moderators_adding_at_once_both_count(policy: PromptPolicy) -> None:
    await asyncio.gather(*(policy.add_terms(GUILD, f"term{i}") for i in range(20)))
    assert len((await policy.overview(GUILD)).terms) == 20


async def test_a_stored_slow_pattern_refuses_in_time(policy: PromptPolicy, settings: GuildSettings) -> None:
    assert await policy.add_pattern(GUILD, r"sp[a@]+m")
    assert not await policy.add_pattern(GUILD, r"sp[a@]+m")
    with pytest.raises(InvalidRequest, match="takes too long"):
        await policy.add_pattern(GUILD, SLOW)
    with pytest.raises(PolicyRefusal, match="don't allow"):
        await policy.check(request("s p a m"))
    # A slow pattern that got in anyway (an older bot, a prompt the probes did not try) fails closed, quickly.
    await settings.set(GUILD, BLOCKED_PATTERNS, (SLOW,))
    started = time.monotonic()
    with pytest.raises(PolicyRefusal, match="in time"):
        await policy.check(request("a" * 30 + "!"))
    assert time.monotonic() - started < 1.0


async def test_channel_rules_allow_a_channel_and_its_threads(policy: PromptPolicy) -> None:
    await policy.check(request(channel_id=999))  # every channel by default
    assert await policy.allow_channel(GUILD, CHANNEL)
    assert not await policy.allow_channel(GUILD, CHANNEL)
    await policy.check(request())
    await policy.check(request(channel_id=THREAD, parent_channel_id=CHANNEL))
    with pytest.raises(ChannelNotAllowed) as refused:
        await policy.check(request(channel_id=999))
    assert refused.value.render(str, lambda channel: f"#{channel}") == (
        f"On this server, images can be made only in #{CHANNEL}. Try there. Nothing was charged."
    )
    await policy.clear_channels(GUILD)
    await policy.check(request(channel_id=999))


async def test_blocked_members_are_refused_with_their_reason(policy: PromptPolicy) -> None:
    await policy.block(GUILD, MEMBER, "  spamming\nthe channel ")
    with pytest.raises(MemberBlocked, match=r'The reason given: "spamming the channel"\. Nothing was charged'):
        await policy.check(request())
    await policy.check(request(member_id=MEMBER + 1))
    await policy.check(request(guild_id=GUILD + 1))  # per server
    assert (await policy.overview(GUILD)).blocked == ((MEMBER, "spamming the channel"),)
    assert await policy.unblock(GUILD, MEMBER)
    assert not await policy.unblock(GUILD, MEMBER)
    await policy.check(request())
