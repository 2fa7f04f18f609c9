"""/history and /show: a member's recent jobs page by page, and one job's images shown again."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.history._cog import HistoryCog

if TYPE_CHECKING:
    from bot.app.client import EggBot

__all__ = ["setup"]


async def setup(bot: EggBot) -> None:
    """Load the cog."""
    await bot.add_cog(HistoryCog(bot))
