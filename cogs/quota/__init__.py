"""Quotas: /balance for members, /quota for moderators."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.quota._cog import QuotaCog

if TYPE_CHECKING:
    from bot.app.client import EggBot


async def setup(bot: EggBot) -> None:
    """Load the cog."""
    await bot.add_cog(QuotaCog(bot))
