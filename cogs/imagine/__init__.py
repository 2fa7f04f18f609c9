"""/imagine: turn a prompt into images, posted in the channel when EggAPI finishes.

Besides the extension's ``setup``, it exports how a job looks in Discord (texts and buttons),
which the publisher (``bot.app.publisher``) uses to show what the lifecycle reports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.imagine._cog import ImagineCog
from cogs.imagine._names import IMAGE_NAME, image_stem
from cogs.imagine._render import (
    batch_text,
    continued_text,
    failure_status_text,
    failure_text,
    links_text,
    rerouted_note,
    result_text,
    stale_text,
    status_text,
)
from cogs.imagine._results import origin_line, with_line
from cogs.imagine._status import status_view
from cogs.imagine._views import batch_view, result_view

if TYPE_CHECKING:
    from bot.app.client import EggBot


__all__ = [
    "IMAGE_NAME",
    "batch_text",
    "batch_view",
    "continued_text",
    "failure_status_text",
    "failure_text",
    "image_stem",
    "links_text",
    "origin_line",
    "rerouted_note",
    "result_text",
    "result_view",
    "setup",
    "stale_text",
    "status_text",
    "status_view",
    "with_line",
]


async def setup(bot: EggBot) -> None:
    """Load the cog."""
    await bot.add_cog(ImagineCog(bot))
