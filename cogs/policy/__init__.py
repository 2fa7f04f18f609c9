"""Prompt policy: the /policy moderator group (blocked words and patterns, channels, blocked members)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.policy._cog import PolicyCog

if TYPE_CHECKING:
    from bot.app.client import EggBot


async def setup(bot: EggBot) -> None:
    """Load the cog."""
    await bot.add_cog(PolicyCog(bot))
