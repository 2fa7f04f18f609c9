"""/help: what the bot does here, the member's budget in images, their commands; moderators' first steps."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.help._cog import HelpCog

if TYPE_CHECKING:
    from bot.app.client import EggBot

__all__ = ["setup"]


async def setup(bot: EggBot) -> None:
    """Load the cog."""
    await bot.add_cog(HelpCog(bot))
