"""The README's picture of the playground, taken the way a person would see it (see scripts/screenshot)."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
from pathlib import Path

from playwright.async_api import async_playwright, expect

from testkit.browser import launch

ROOT = Path(__file__).resolve().parent.parent


async def take(output: Path) -> None:
    """Start the playground, run /imagine as Alice, and save the page once the picture is in."""
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "EGGBOT_PLAYGROUND_PORT": "0", "PYTHONPATH": str(ROOT), "HOME": home}
        env.pop("DISCORD_TOKEN", None)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "playground", cwd=home, env=env, stdout=asyncio.subprocess.PIPE
        )
        try:
            assert proc.stdout is not None
            address = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode().strip()
            async with async_playwright() as playwright:
                browser = await launch(playwright)
                page = await browser.new_page(viewport={"width": 1280, "height": 800})
                await page.goto(address)
                await expect(page.locator("#live.on")).to_be_visible(timeout=20_000)
                await page.locator("#box").fill("/imagine a red fox in snow, watercolour")
                await page.locator("#box").press("Enter")
                result = page.locator("#messages .msg").filter(has=page.locator(".attachments img"))
                await expect(result).to_have_count(1, timeout=30_000)
                await page.wait_for_function(
                    "() => [...document.querySelectorAll('.attachments img')].every(i => i.complete)"
                )
                await page.screenshot(path=str(output))
                await browser.close()
        finally:
            proc.send_signal(signal.SIGINT)
            await asyncio.wait_for(proc.wait(), 30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "playground.png")
    args = parser.parse_args()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    asyncio.run(take(args.output))
    print(args.output)


if __name__ == "__main__":
    main()
