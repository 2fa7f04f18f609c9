"""/settings: a member's own defaults for /imagine on this server, and whether result posts ping them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.settings._cog import SettingsCog

if TYPE_CHECKING:
    from bot.app.client import EggBot

__all__ = ["setup"]


async def setup(bot: EggBot) -> None:
    """Load the cog."""
    await bot.add_cog(SettingsCog(bot))
