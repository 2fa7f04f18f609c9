"""PromptPolicy: a server's rules on who may make images, where, and from what prompts.

``check`` is the ``IntakeCheck`` ``bot.services`` gives ``JobService``: it runs on /imagine and
Reroll before the quota and before anything is recorded, so a refusal costs nothing and never
reaches EggAPI. The rest is what the moderators' /policy commands call. Everything is stored in
``bot.guilds.GuildSettings``; each change is one transaction, so two moderators' edits both count.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from dataclasses import dataclass
from typing import TypeVar

from bot.errors import ChannelNotAllowed, InvalidRequest, PolicyRefusal
from bot.guilds import (
    ALLOWED_CHANNELS,
    BLOCKED_MEMBERS,
    BLOCKED_PATTERNS,
    BLOCKED_WORDS,
    GuildSettings,
    GuildValues,
    Setting,
)
from bot.i18n import Text
from bot.lifecycle.model import ImagineRequest
from bot.policy.normalise import readings
from bot.policy.patterns import MAX_PATTERNS, SEARCH_BUDGET, PatternError, check_pattern, search
from bot.policy.terms import MAX_TERMS, Term, TermMatcher, split_terms, term_problem

log = logging.getLogger(__name__)

V = TypeVar("V")

MAX_REASON_CHARS = 200
MAX_BLOCKED_MEMBERS = 500
MAX_CHANNELS = 50
PROMPT = Text("errors.field.prompt")
NEGATIVE_PROMPT = Text("errors.field.negative_prompt")
PROMPT_SUFFIX = Text("errors.field.prompt_suffix")


class MemberBlocked(PolicyRefusal):
    """A moderator blocked this member from the bot on this server."""

    rule = Text("modlog.rule.blocked_member")

    def __init__(self, reason: str) -> None:
        if reason:
            super().__init__(key="errors.member_blocked_because", reason=reason)
        else:
            super().__init__(key="errors.member_blocked")


def refusal(key: str, field: Text, rule: Text) -> PolicyRefusal:
    """A refusal the member reads as ``key`` about ``field``, and the mod-log as ``rule``."""
    error = PolicyRefusal(key=key, field=field)
    error.rule = rule
    return error


@dataclass(frozen=True, slots=True)
class Change:
    """What one moderator command changed: ``done`` (added or removed), ``skipped`` and ``refused`` (why)."""

    done: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    refused: tuple[tuple[str, Text], ...] = ()  # a term, and why it cannot be blocked


@dataclass(frozen=True, slots=True)
class Overview:
    """A server's whole policy, for /policy show."""

    terms: tuple[str, ...]
    patterns: tuple[str, ...]
    channels: tuple[int, ...]
    blocked: tuple[tuple[int, str], ...]


@functools.lru_cache(maxsize=256)
def _matcher(terms: tuple[str, ...]) -> TermMatcher:
    return TermMatcher(terms)


class PromptPolicy:
    """Reads and changes the per-server rules, and checks requests against them."""

    def __init__(self, settings: GuildSettings, *, search_budget: float = SEARCH_BUDGET) -> None:
        self._settings = settings
        self._budget = search_budget

    async def check(self, request: ImagineRequest) -> None:
        """The intake check: refuse (``PolicyRefusal``) a blocked member, a channel not allowed, a blocked prompt."""
        values = await self._settings.values(request.guild_id)
        members: tuple[tuple[int, str], ...] = values.get(BLOCKED_MEMBERS)
        blocked = dict(members)
        if request.member_id in blocked:
            log.info("guild %s: member %s is blocked; refused", request.guild_id, request.member_id)
            raise MemberBlocked(blocked[request.member_id])
        allowed = values.get(ALLOWED_CHANNELS)
        if allowed and request.channel_id not in allowed and request.parent_channel_id not in allowed:
            raise ChannelNotAllowed(allowed)
        fields = (("prompt", PROMPT, request.prompt), ("negative prompt", NEGATIVE_PROMPT, request.negative_prompt))
        for name, field, text in fields:
            await self._check_words(values, request.guild_id, request.member_id, name, field, text or "")

    async def check_text(self, guild_id: int | None, member_id: int, name: str, field: Text, text: str) -> None:
        """Refuse (``PolicyRefusal``) a text the blocked terms or patterns would refuse in a prompt.

        For text that becomes part of prompts later (a member's prompt suffix), checked when it is set;
        ``name`` is for the log, ``field`` for the member.
        """
        await self._check_words(await self._settings.values(guild_id), guild_id, member_id, name, field, text)

    async def _check_words(
        self, values: GuildValues, guild_id: int | None, member_id: int, name: str, field: Text, text: str
    ) -> None:
        if not text:
            return
        terms, patterns = values.get(BLOCKED_WORDS), values.get(BLOCKED_PATTERNS)
        hit = _matcher(terms).first_hit(text) if terms else None
        if hit is not None:
            log.info("guild %s: member %s's %s has a blocked term; refused", guild_id, member_id, name)
            raise refusal("errors.policy_refused", field, Text("modlog.rule.term", term=hit, field=field))
        if patterns:
            texts = [text, *(" ".join(view) for view in readings(text))]
            verdict = await asyncio.to_thread(search, patterns, texts, self._budget)
            if verdict.timed_out is not None:
                log.warning(
                    "guild %s: pattern %r ran out of time on a %s; refused the request (fix or remove it)",
                    guild_id,
                    verdict.timed_out,
                    name,
                )
                rule = Text("modlog.rule.pattern_slow", pattern=verdict.timed_out, field=field)
                raise refusal("errors.policy_timed_out", field, rule)
            if verdict.matched is not None:
                log.info("guild %s: member %s's %s matches a pattern; refused", guild_id, member_id, name)
                rule = Text("modlog.rule.pattern", pattern=verdict.matched, field=field)
                raise refusal("errors.policy_refused", field, rule)

    async def overview(self, guild_id: int) -> Overview:
        """Everything the server has set, in one read."""
        values = await self._settings.values(guild_id)
        return Overview(
            values.get(BLOCKED_WORDS),
            values.get(BLOCKED_PATTERNS),
            values.get(ALLOWED_CHANNELS),
            values.get(BLOCKED_MEMBERS),
        )

    # ------------------------------------------------------------------ terms

    async def add_terms(self, guild_id: int, raw: str) -> Change:
        """Block each comma-separated word or phrase of ``raw`` (a spelling already covered is skipped)."""
        items = _items(raw)
        refused = [(item, why) for item in items if (why := term_problem(item)) is not None]
        wanted = [Term.of(item) for item in items if term_problem(item) is None]
        added: list[str] = []

        def change(current: tuple[str, ...]) -> tuple[str, ...]:
            added.clear()
            keys = {Term.of(term).key for term in current}
            for term in wanted:
                if term.key not in keys:
                    keys.add(term.key)
                    added.append(term.text.strip().lower())
            if len(current) + len(added) > MAX_TERMS:
                raise InvalidRequest(
                    key="errors.policy.too_many_terms", limit=MAX_TERMS, count=len(current) + len(added)
                )
            return (*current, *added)

        if wanted:
            await self._settings.update(guild_id, BLOCKED_WORDS, change)
        skipped = tuple(term.text for term in wanted if term.text.strip().lower() not in added)
        return Change(tuple(added), skipped, tuple(refused))

    async def remove_terms(self, guild_id: int, raw: str) -> Change:
        """Unblock each comma-separated term of ``raw`` (any stored spelling of it)."""
        keys = {Term.of(item).key: item for item in _items(raw)}
        removed: list[str] = []

        def change(current: tuple[str, ...]) -> tuple[str, ...]:
            removed[:] = [term for term in current if Term.of(term).key in keys]
            return tuple(term for term in current if term not in removed)

        await self._settings.update(guild_id, BLOCKED_WORDS, change)
        found = {Term.of(term).key for term in removed}
        return Change(tuple(removed), tuple(item for key, item in keys.items() if key not in found))

    # ------------------------------------------------------------------ patterns

    async def add_pattern(self, guild_id: int, pattern: str) -> bool:
        """Block prompts matching ``pattern``; InvalidRequest says why one cannot be used. False if already there."""
        pattern = pattern.strip()
        if not pattern:
            raise InvalidRequest(key="errors.policy.no_pattern")
        try:
            await asyncio.to_thread(check_pattern, pattern)  # probes may take a moment: off the event loop
        except PatternError as exc:
            raise InvalidRequest(key="errors.policy.bad_pattern", reason=exc.text) from None
        return await self._add(guild_id, pattern, BLOCKED_PATTERNS, MAX_PATTERNS, "errors.policy.too_many_patterns")

    async def remove_pattern(self, guild_id: int, pattern: str) -> bool:
        """Stop blocking ``pattern`` (exactly as listed); False if it was not there."""
        return await self._remove(guild_id, pattern.strip(), BLOCKED_PATTERNS)

    # ------------------------------------------------------------------ channels

    async def allow_channel(self, guild_id: int, channel_id: int) -> bool:
        """Let /imagine run in this channel (and its threads); from the first one, only in allowed ones."""
        return await self._add(guild_id, channel_id, ALLOWED_CHANNELS, MAX_CHANNELS, "errors.policy.too_many_channels")

    async def remove_channel(self, guild_id: int, channel_id: int) -> bool:
        """Take a channel off the allowed list; False if it was not on it. An empty list allows every channel."""
        return await self._remove(guild_id, channel_id, ALLOWED_CHANNELS)

    async def clear_channels(self, guild_id: int) -> None:
        """Allow /imagine in every channel again."""
        await self._settings.reset(guild_id, ALLOWED_CHANNELS)

    # ------------------------------------------------------------------ members

    async def block(self, guild_id: int, member_id: int, reason: str | None) -> None:
        """Block a member from the bot here, with the reason they are shown (it replaces an earlier one)."""
        text = " ".join((reason or "").split())[:MAX_REASON_CHARS]

        def change(current: tuple[tuple[int, str], ...]) -> tuple[tuple[int, str], ...]:
            blocked = dict(current)
            blocked[member_id] = text
            if len(blocked) > MAX_BLOCKED_MEMBERS:
                raise InvalidRequest(key="errors.policy.too_many_members", limit=MAX_BLOCKED_MEMBERS)
            return tuple(sorted(blocked.items()))

        await self._settings.update(guild_id, BLOCKED_MEMBERS, change)

    async def unblock(self, guild_id: int, member_id: int) -> bool:
        """Let a blocked member use the bot again; False if they were not blocked."""
        found: list[bool] = []

        def change(current: tuple[tuple[int, str], ...]) -> tuple[tuple[int, str], ...]:
            found[:] = [any(member == member_id for member, _ in current)]
            return tuple((member, reason) for member, reason in current if member != member_id)

        await self._settings.update(guild_id, BLOCKED_MEMBERS, change)
        return found == [True]

    # ------------------------------------------------------------------ lists

    async def _add(self, guild_id: int, item: V, setting: Setting[tuple[V, ...]], limit: int, too_many: str) -> bool:
        added: list[bool] = []

        def change(current: tuple[V, ...]) -> tuple[V, ...]:
            added[:] = [item not in current]
            if not added[0]:
                return current
            if len(current) >= limit:
                raise InvalidRequest(key=too_many, limit=limit)
            return (*current, item)

        await self._settings.update(guild_id, setting, change)
        return added == [True]

    async def _remove(self, guild_id: int, item: V, setting: Setting[tuple[V, ...]]) -> bool:
        found: list[bool] = []

        def change(current: tuple[V, ...]) -> tuple[V, ...]:
            found[:] = [item in current]
            return tuple(value for value in current if value != item)

        await self._settings.update(guild_id, setting, change)
        return found == [True]


def _items(raw: str) -> list[str]:
    items = split_terms(raw)
    if not items:
        raise InvalidRequest(key="errors.policy.no_terms")
    return items
