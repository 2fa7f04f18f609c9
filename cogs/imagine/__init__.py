"""/imagine: turn a prompt into images, posted in the channel when EggAPI finishes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.imagine._cog import ImagineCog

if TYPE_CHECKING:
    from bot.app.client import EggBot


async def setup(bot: EggBot) -> None:
    """Load the cog."""
    await bot.add_cog(ImagineCog(bot))
