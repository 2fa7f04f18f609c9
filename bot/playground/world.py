"""The playground's server in the fake Discord: who can be played and where.

A guild "Playground" with #general and #art for everyone, and #mods that only moderators (and
the bot) can see; members alice and bob, and "mod", whose Moderator role has Manage Server, so
the moderator commands (/quota, /usage) appear for mod only, as Discord's picker would show them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from testkit.fake_discord import FakeChannel, FakeDiscord, FakeGuild, FakeMember, FakeRole

log = logging.getLogger(__name__)

GUILD_NAME = "Playground"


@dataclass
class PlaygroundWorld:
    """The guild, its channels in display order and the members the page lets you act as."""

    fake: FakeDiscord
    guild: FakeGuild
    channels: list[FakeChannel]
    players: list[FakeMember]
    moderator_role: FakeRole

    def channel(self, channel_id: int) -> FakeChannel | None:
        """One of the playground's channels by id."""
        return next((c for c in self.channels if c.id == channel_id), None)

    def player(self, user_id: int) -> FakeMember | None:
        """One of the playable members by user id."""
        return next((m for m in self.players if m.id == user_id), None)

    def member(self, name: str) -> FakeMember:
        """A playable member by username (KeyError if none)."""
        for member in self.players:
            if member.username == name:
                return member
        raise KeyError(name)


def build_playground(fake: FakeDiscord, guild_name: str = GUILD_NAME) -> PlaygroundWorld:
    """Add the playground's guild, channels and members to a running (or not yet running) fake."""
    guild = fake.add_guild(guild_name)
    general = fake.add_channel(guild, "general", topic="Say hello, try /imagine")
    art = fake.add_channel(guild, "art", topic="Pictures only")
    mods = fake.add_channel(guild, "mods", topic="Moderators only: /quota and /usage")
    moderator = fake.add_role(guild, "Moderator", permissions="MANAGE_GUILD", color=0x3BA55C, hoist=True)
    fake.set_permissions(mods, "everyone", deny="VIEW_CHANNEL")
    fake.set_permissions(mods, moderator, allow="VIEW_CHANNEL")
    fake.set_permissions(mods, fake.bot_user, allow="VIEW_CHANNEL")
    alice = fake.add_member(guild, fake.add_user("alice", global_name="Alice"))
    bob = fake.add_member(guild, fake.add_user("bob", global_name="Bob"))
    mod = fake.add_member(guild, fake.add_user("mod", global_name="Mod"), roles=[moderator])
    channels = [general, art, mods]
    log.info("playground guild %s: %d channels, %d players", guild.id, len(channels), 3)
    return PlaygroundWorld(
        fake=fake,
        guild=guild,
        channels=channels,
        players=[alice, bob, mod],
        moderator_role=moderator,
    )
