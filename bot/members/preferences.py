"""A member's personal defaults in one server (/settings), and applying them to an /imagine request.

Stored as per-member settings (``bot.guilds.GuildSettings``, table ``member_settings``), so /mydata
shows them and /mydata delete erases them with the rest. An option given to /imagine always wins
over a default; the prompt suffix is appended to every new prompt. The suffix is checked against
the server's prompt policy when it is set (and, as part of the prompt, again on every job).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from bot.eggapi import ASPECT_RATIOS, RESOLUTIONS
from bot.errors import InvalidRequest, PolicyRefusal
from bot.guilds import GuildSettings, GuildValues, Setting
from bot.guilds.settings import flag
from bot.lifecycle.model import COUNT_MAX, COUNT_MIN, PROMPT_MAX, ImagineRequest
from bot.policy import PROMPT_SUFFIX, PromptPolicy
from bot.storage import JsonValue

log = logging.getLogger(__name__)

SUFFIX_MAX = 200  # characters; the prompt and its suffix together stay within EggAPI's prompt limit


def _choice(allowed: tuple[str, ...]) -> Callable[[JsonValue], str | None]:
    def check(value: JsonValue) -> str | None:
        if value is None:
            return None
        if isinstance(value, str) and value in allowed:
            return value
        raise ValueError(f"expected one of {', '.join(allowed)}, not {value!r}")

    return check


def _count(value: JsonValue) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not COUNT_MIN <= value <= COUNT_MAX:
        raise ValueError(f"expected {COUNT_MIN} to {COUNT_MAX} images, not {value!r}")
    return value


def _suffix(value: JsonValue) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > SUFFIX_MAX:
        raise ValueError(f"expected a suffix of 1 to {SUFFIX_MAX} characters, not {value!r}")
    return value


ASPECT_RATIO: Setting[str | None] = Setting("defaults.aspect_ratio", None, _choice(tuple(ASPECT_RATIOS)))
"""The shape /imagine uses when the member gives none; None: the bot's (EggAPI's) default."""
COUNT: Setting[int | None] = Setting("defaults.count", None, _count)
"""How many images /imagine makes when the member gives no count; None: one."""
RESOLUTION: Setting[str | None] = Setting("defaults.resolution", None, _choice(tuple(RESOLUTIONS)))
"""The resolution /imagine asks for when the member gives none; None: the model's own."""
SUFFIX: Setting[str | None] = Setting("defaults.prompt_suffix", None, _suffix)
"""Words appended to each new prompt; None: nothing."""
MENTION: Setting[bool] = Setting("results.mention", True, flag)
"""Whether a result post pings the member (it names them either way)."""

FIELDS: dict[str, Setting[Any]] = {
    "aspect_ratio": ASPECT_RATIO,
    "count": COUNT,
    "resolution": RESOLUTION,
    "suffix": SUFFIX,
    "mention": MENTION,
}
"""The member-facing name of each preference (as /settings calls it) and where it is stored."""


@dataclass(frozen=True, slots=True)
class Preferences:
    """A member's defaults in one server; None (and ``mention`` True) means "not set"."""

    aspect_ratio: str | None = None
    count: int | None = None
    resolution: str | None = None
    suffix: str | None = None
    mention: bool = True

    @classmethod
    def of(cls, values: GuildValues) -> Preferences:
        """The preferences among a member's stored values."""
        return cls(
            aspect_ratio=values.get(ASPECT_RATIO),
            count=values.get(COUNT),
            resolution=values.get(RESOLUTION),
            suffix=values.get(SUFFIX),
            mention=values.get(MENTION),
        )

    @property
    def is_default(self) -> bool:
        """Nothing set: /imagine behaves as for everyone."""
        return self == Preferences()

    def apply(self, request: ImagineRequest, *, count_given: bool) -> ImagineRequest:
        """``request`` with these defaults wherever /imagine got no option, and the suffix after its prompt.

        ``count_given`` says whether the member chose the count (``request.count`` is then kept).
        InvalidRequest (before anything is recorded) when the prompt and the suffix together are too long.
        """
        prompt = with_suffix(request.prompt, self.suffix)
        if len(prompt) > PROMPT_MAX and prompt != request.prompt.strip():  # too long alone: validation says so
            raise InvalidRequest(
                key="settings.too_long_with_suffix", length=f"{len(prompt):,}", limit=f"{PROMPT_MAX:,}"
            )
        return replace(
            request,
            prompt=prompt,
            aspect_ratio=request.aspect_ratio or self.aspect_ratio,
            count=request.count if count_given or self.count is None else self.count,
            resolution=request.resolution or self.resolution,
        )


def with_suffix(prompt: str, suffix: str | None) -> str:
    """``a red fox`` + ``watercolour`` → ``a red fox, watercolour`` (nothing added if it is already there)."""
    text = prompt.strip()
    if not suffix or text.casefold().endswith(suffix.casefold()):
        return text
    joiner = " " if text[-1:] in ",.;:!?" else ", "
    return f"{text}{joiner}{suffix}"


def clean_suffix(raw: str) -> str:
    """A suffix as it is stored: on one line, without surrounding spaces or commas."""
    return " ".join(raw.split()).strip(" ,")


class MemberPreferences:
    """Reads and changes members' defaults (``guild_id=None``: direct messages)."""

    def __init__(self, settings: GuildSettings, policy: PromptPolicy) -> None:
        self._settings = settings
        self._policy = policy

    async def get(self, guild_id: int | None, member_id: int) -> Preferences:
        """The member's defaults here (every one unset for a member who set none)."""
        return Preferences.of(await self._settings.member_values(guild_id, member_id))

    async def mention(self, guild_id: int | None, member_id: int) -> bool:
        """Whether the member's result posts ping them."""
        return await self._settings.get_member(guild_id, member_id, MENTION)

    async def update(self, guild_id: int | None, member_id: int, changes: Mapping[str, object]) -> Preferences:
        """Set some preferences (names from ``FIELDS``) in one transaction; return them all as they are now.

        A suffix is cleaned, length-checked and checked against the server's prompt policy first;
        InvalidRequest says what is wrong, and then nothing is changed.
        """
        unknown = set(changes) - set(FIELDS)
        if unknown:
            raise ValueError(f"unknown preferences {sorted(unknown)}")
        values = dict(changes)
        if isinstance(values.get("suffix"), str):
            values["suffix"] = await self._checked_suffix(guild_id, member_id, str(values["suffix"]))
        try:
            await self._settings.set_member_values(
                guild_id, member_id, {FIELDS[name]: value for name, value in values.items()}
            )
        except ValueError as exc:
            log.info("guild %s: member %s's preferences refused: %s", guild_id, member_id, exc)
            raise InvalidRequest(key="settings.invalid") from None
        return await self.get(guild_id, member_id)

    async def reset(self, guild_id: int | None, member_id: int, names: Iterable[str] = tuple(FIELDS)) -> Preferences:
        """Forget some preferences (all by default): the bot's defaults apply again."""
        await self._settings.set_member_values(
            guild_id, member_id, {FIELDS[name]: FIELDS[name].default for name in names}
        )
        return await self.get(guild_id, member_id)

    async def _checked_suffix(self, guild_id: int | None, member_id: int, raw: str) -> str | None:
        suffix = clean_suffix(raw)
        if not suffix:
            return None
        if len(suffix) > SUFFIX_MAX:
            raise InvalidRequest(key="settings.suffix_too_long", length=len(suffix), limit=SUFFIX_MAX)
        try:
            await self._policy.check_text(guild_id, member_id, "prompt suffix", PROMPT_SUFFIX, suffix)
        except PolicyRefusal:
            raise InvalidRequest(key="settings.suffix_refused") from None
        return suffix
