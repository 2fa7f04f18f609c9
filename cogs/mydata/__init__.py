"""Members' data: /mydata show and /mydata delete; ``ask_to_erase`` is shared with /policy forget."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.mydata._cog import MyDataCog, ask_to_erase

if TYPE_CHECKING:
    from bot.app.client import EggBot

__all__ = ["ask_to_erase", "setup"]


async def setup(bot: EggBot) -> None:
    """Load the cog."""
    await bot.add_cog(MyDataCog(bot))
