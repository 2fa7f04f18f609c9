"""From what a person typed or picked in the page to the arguments of ``fake.slash``.

The page sends option values as text (and files as uploads); the synced command says what
each one is, so a number becomes an int, a member id the member, a file an ``Upload``. Range,
choice and permission rules are left to the fake's client simulator, which refuses the way the
Discord app would, so the page shows Discord's own refusal rather than a second opinion.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from testkit.fake_discord import FakeChannel, FakeMember, FakeRole, FakeUser, Upload

from .world import PlaygroundWorld

log = logging.getLogger(__name__)

TRUE_WORDS = frozenset({"true", "yes", "on", "1"})
FALSE_WORDS = frozenset({"false", "no", "off", "0"})


class BadOption(ValueError):
    """A value the Discord app would not even let the person type (the page shows the message)."""


def split_typed(entries: Sequence[Mapping[str, Any]], text: str) -> tuple[str, dict[str, Any]]:
    """``/imagine a red fox`` → ("imagine", {"prompt": "a red fox"}): the longest known command path
    wins and the rest of the line fills its first required text option, as Discord's box does."""
    words = text.strip().removeprefix("/").split()
    if not words:
        raise BadOption("type a command after /")
    best: Mapping[str, Any] | None = None
    for entry in entries:
        path = str(entry["path"]).split()
        if words[: len(path)] == path and (best is None or len(path) > len(str(best["path"]).split())):
            best = entry
    if best is None:
        return words[0], {}
    used = len(str(best["path"]).split())
    rest = text.strip().removeprefix("/").split(None, used)
    free = rest[used] if len(rest) > used else ""
    options: dict[str, Any] = {}
    if free:
        target = next((o for o in best["options"] if o["kind"] == "string" and o["required"]), None)
        if target is None:
            raise BadOption(f"/{best['path']} takes no free text; pick its options instead")
        options[target["name"]] = free
    return str(best["path"]), options


def convert_options(
    world: PlaygroundWorld,
    entry: Mapping[str, Any] | None,
    raw: Mapping[str, Any],
    files: Mapping[str, Upload],
) -> dict[str, Any]:
    """Typed values for ``fake.slash``; empty fields are left out (optional options not given)."""
    kinds = {o["name"]: o["kind"] for o in (entry or {}).get("options", [])}
    values: dict[str, Any] = {}
    for name, value in raw.items():
        if value is None or value == "":
            continue
        values[name] = convert(world, name, kinds.get(name, "string"), value)
    for name, upload in files.items():
        values[name] = upload
    return values


def convert(world: PlaygroundWorld, name: str, kind: str, value: Any) -> Any:
    """One option value from the page's text to what the client simulator takes."""
    text = str(value).strip()
    if kind == "string":
        return str(value)
    if kind == "integer":
        try:
            return int(text)
        except ValueError:
            raise BadOption(f"{name}: {text!r} is not a whole number") from None
    if kind == "number":
        try:
            return float(text)
        except ValueError:
            raise BadOption(f"{name}: {text!r} is not a number") from None
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if text.lower() in TRUE_WORDS | FALSE_WORDS:
            return text.lower() in TRUE_WORDS
        raise BadOption(f"{name}: choose True or False")
    if kind in ("user", "role", "channel", "mentionable"):
        return entity(world, name, kind, text)
    raise BadOption(f"{name}: this kind of option ({kind}) is not supported here")


def entity(world: PlaygroundWorld, name: str, kind: str, text: str) -> FakeMember | FakeUser | FakeRole | FakeChannel:
    """The member, role or channel a picker value (an id) names."""
    if not text.isdigit():
        raise BadOption(f"{name}: pick a {kind} from the list")
    key = int(text)
    guild = world.guild
    if kind in ("user", "mentionable"):
        member = guild.member(key)
        if member is not None:
            return member
        if key in world.fake.users:
            return world.fake.users[key]
    if kind in ("role", "mentionable") and key in guild.roles:
        return guild.roles[key]
    if kind == "channel" and key in world.fake.channels:
        return world.fake.channels[key]
    raise BadOption(f"{name}: no such {kind}")
