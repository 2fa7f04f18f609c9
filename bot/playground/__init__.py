"""The local playground's page: a Discord-like channel in the browser, driving the fake Discord.

``build_playground(fake)`` adds the playground's guild (channels, alice, bob and a moderator) to a
:class:`testkit.fake_discord.FakeDiscord`; ``create_app(world)`` is the aiohttp application that
serves the page and bridges it to the fake's client simulator, and ``PlaygroundServer.start(world)``
serves it on loopback. The bot must be connected to the same fake (and have synced its commands)
for the page's commands to run. Nothing here imports discord: the page acts as people, not as the bot.
"""

from .web import PlaygroundServer, create_app
from .world import PlaygroundWorld, build_playground

__all__ = ["PlaygroundServer", "PlaygroundWorld", "build_playground", "create_app"]
