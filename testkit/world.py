"""The standard world the tests talk in: one guild, a channel, a thread and two members."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from .fake_discord import FakeChannel, FakeDiscord, FakeGuild, FakeMember, FakeMessage


@dataclass
class World:
    """A guild with a text channel, a thread and two ordinary members."""

    fake: FakeDiscord
    guild: FakeGuild
    general: FakeChannel
    thread: FakeChannel
    alice: FakeMember
    bob: FakeMember


def build_world(
    fake: FakeDiscord,
    guild_name: str = "Egg Lovers",
    *,
    thread_name: str = "fox pictures",
    filesize_limit: int | None = None,
) -> World:
    """Add the standard guild to ``fake`` (``filesize_limit`` None keeps the fake's default)."""
    guild = fake.add_guild(guild_name, filesize_limit=filesize_limit)
    general = fake.add_channel(guild, "general")
    thread = fake.add_thread(general, thread_name)
    alice = fake.add_member(guild, "alice")
    bob = fake.add_member(guild, "bob")
    return World(fake, guild, general, thread, alice, bob)


@contextlib.asynccontextmanager
async def running_world(
    guild_name: str = "Egg Lovers", *, thread_name: str = "fox pictures", filesize_limit: int | None = None
) -> AsyncIterator[World]:
    """A running fake Discord holding the standard guild, stopped on exit."""
    async with FakeDiscord() as fake:
        yield build_world(fake, guild_name, thread_name=thread_name, filesize_limit=filesize_limit)


@dataclass
class TinyUploads:
    """A second guild, "Tiny Uploads", whose upload limit is small: channel ``art`` and member ``dora``."""

    guild: FakeGuild
    channel: FakeChannel
    member: FakeMember

    @property
    def posts(self) -> str:
        """The route (a regex) of a message posted in ``channel``."""
        return rf"^/channels/{self.channel.id}/messages$"


def add_tiny_uploads(fake: FakeDiscord, filesize_limit: int) -> TinyUploads:
    """Add the "Tiny Uploads" guild, where images must be shrunk or split to fit ``filesize_limit``."""
    guild = fake.add_guild("Tiny Uploads", filesize_limit=filesize_limit)
    return TinyUploads(guild, fake.add_channel(guild, "art"), fake.add_member(guild, "dora"))


async def answer(
    world: World, user: FakeMember, *path: str, where: FakeChannel | None = None, **options: Any
) -> FakeMessage:
    """Run a slash command as ``user`` in ``where`` (#general by default); the reply they read."""
    handle = await world.fake.slash(user, where or world.general, *path, **options)
    return await handle.wait_response()
