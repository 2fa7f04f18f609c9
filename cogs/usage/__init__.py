"""/usage: moderators see where the server's money goes and whether the ledger agrees with EggAPI."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.usage._cog import UsageCog

if TYPE_CHECKING:
    from bot.app.client import EggBot


async def setup(bot: EggBot) -> None:
    """Load the cog."""
    await bot.add_cog(UsageCog(bot))
