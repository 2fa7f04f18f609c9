"""Headless Chromium for the playground's browser tests and its screenshot: Debian's, never a download.

Playwright (from PyPI) drives the system Chromium at ``CHROMIUM``; ``playwright install`` is never
run. The flags keep it quiet on a machine without a network: no background connections, no
component updates, no sync.
"""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Browser, Playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


async def launch(playwright: Playwright) -> Browser:
    """The system Chromium, headless."""
    return await playwright.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
