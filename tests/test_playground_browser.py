"""The playground page in headless Chromium, used as a person would: pick a member, type, click, read.

Needs the system Chromium at /usr/bin/chromium (never downloaded by Playwright). Without it these
tests are skipped, unless EGGBOT_REQUIRE_BROWSER=1 (CI), which makes a missing browser a failure.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from PIL import Image
from playwright.async_api import Browser, Page, async_playwright, expect

from testkit.browser import CHROMIUM, launch
from tests.playground_kit import Playground, running_playground

WAIT_MS = 10_000

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(90)]

if not CHROMIUM.exists():
    if os.environ.get("EGGBOT_REQUIRE_BROWSER") == "1":
        raise RuntimeError(f"EGGBOT_REQUIRE_BROWSER=1 but there is no Chromium at {CHROMIUM}")
    pytest.skip(
        f"no Chromium at {CHROMIUM} (install Debian's chromium to run the browser tests)", allow_module_level=True
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    """One headless Chromium for the whole module."""
    async with async_playwright() as playwright:
        chromium = await launch(playwright)
        yield chromium
        await chromium.close()


@pytest_asyncio.fixture(loop_scope="module")
async def pg(tmp_path: Path) -> AsyncIterator[Playground]:
    async with running_playground(tmp_path) as playground:
        yield playground


@pytest_asyncio.fixture(loop_scope="module")
async def page(browser: Browser, pg: Playground) -> AsyncIterator[Page]:
    """The playground page, loaded and live (its event stream is open)."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    expect.set_options(timeout=WAIT_MS)
    tab = await context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    await tab.goto(pg.server.url)
    await expect(tab.locator("#live.on")).to_be_visible()
    yield tab
    await context.close()
    assert errors == []


async def act_as(page: Page, label: str) -> None:
    await page.locator("#player").select_option(label=label)
    await expect(page.locator("#box")).to_be_enabled()


async def type_line(page: Page, text: str) -> None:
    await page.locator("#box").fill(text)
    await page.locator("#box").press("Enter")


def first_result_src(pg: Playground) -> str:
    """The playground's address of the first result image in #general."""
    first = next(m for m in pg.fake.messages(pg.world.channels[0]) if m.attachments)
    return f"/files/{first.attachments[0].id}/{first.attachments[0].filename}"


async def test_member_imagines_rerolls_and_deletes(page: Page, pg: Playground) -> None:
    messages = page.locator("#messages .msg")
    await type_line(page, "/imagine a red fox in snow")
    status = messages.filter(has_text="Alice used /imagine")
    result = messages.filter(has=page.locator(".attachments img"))
    await expect(result).to_have_count(1)
    await expect(status).to_have_count(0)  # the status message went once the result was posted
    await expect(result.locator("img")).to_have_attribute("src", first_result_src(pg))
    await result.get_by_role("button", name="Reroll").click()
    await expect(result).to_have_count(2)
    await result.first.get_by_role("button", name="Delete").click()
    await expect(result).to_have_count(1)
    await expect(page.locator("#composer-error")).to_be_hidden()
    # A member's picker lists neither the moderator commands nor #mods.
    await page.locator("#box").fill("/")
    member_commands = [
        re.compile(f"^/{name}")
        for name in (
            "balance",
            "help",
            "history",
            "imagine",
            "mydata delete",
            "mydata show",
            "settings reset",
            "settings set",
            "settings show",
            "show",
        )
    ]
    await expect(page.locator("#suggestions li")).to_have_text(member_commands)
    await page.locator("#box").fill("/quo")
    await expect(page.locator("#suggestions")).to_be_hidden()
    await expect(page.locator("#channels a")).to_have_text(["general", "art"])


async def test_member_edits_a_result_in_the_form_it_opens(page: Page, pg: Playground) -> None:
    messages = page.locator("#messages .msg")
    await type_line(page, "/imagine a red fox in snow")
    result = messages.filter(has=page.locator(".attachments img"))
    await expect(result).to_have_count(1)
    await result.get_by_role("button", name="Edit").click()
    form = page.locator("dialog#modal")
    await expect(form.locator("h2")).to_have_text("Edit image 1 of job #1")
    prompt = form.get_by_role("textbox", name="Prompt")
    await expect(prompt).to_have_value("a red fox in snow")
    await prompt.fill("a blue fox in snow")
    await form.get_by_role("button", name="Submit").click()
    await expect(form).to_have_count(0)
    await expect(result).to_have_count(2)
    await expect(result.last).to_contain_text("a blue fox in snow")
    await expect(result.last).to_contain_text("Edit of image 1 of job #1")
    await result.last.get_by_role("button", name="Details").click()
    await expect(messages.filter(has_text="Only you can see this").filter(has_text="Made from")).to_have_count(1)


async def test_moderator_sets_a_limit_exports_usage_and_bob_is_refused(page: Page, pg: Playground) -> None:
    messages = page.locator("#messages .msg")
    await type_line(page, "/imagine a fox for the books")
    await expect(messages.filter(has=page.locator(".attachments img"))).to_have_count(1)

    await act_as(page, "Mod (moderator)")
    await expect(page.locator("#channels a")).to_have_text(["general", "art", "mods"])
    await type_line(page, "/quota memb")  # Enter picks the suggestion and opens its options
    fields = page.locator("#option-fields")
    await fields.locator("select[name=member]").select_option(label="Bob")
    await fields.locator("input[name=amount]").fill("0")
    await page.locator("#box").press("Enter")
    answer = messages.filter(has_text="set @Bob's limit")
    await expect(answer).to_contain_text("Only you can see this")

    await page.locator("#channels a", has_text="mods").click()
    await expect(page.locator("#channel-name")).to_have_text("mods")
    await type_line(page, "/usa")
    await fields.locator("select[name=export]").select_option(label="True")
    await fields.locator("select[name=period]").select_option(index=1)
    await page.locator("#box").press("Enter")
    report = messages.filter(has=page.locator(".file"))
    await expect(report).to_contain_text("Only you can see this")
    await expect(report.locator(".attachments img")).to_have_count(1)  # the chart
    async with page.context.expect_page() as opened:
        await report.locator("a.open", has_text=".csv").click()
    csv_tab = await opened.value
    await expect(csv_tab.locator("body")).to_contain_text("a fox for the books")
    await csv_tab.close()

    await act_as(page, "Bob")
    await expect(page.locator("#channels a")).to_have_text(["general", "art"])
    await expect(page.locator("#channel-name")).to_have_text("general")
    await expect(messages.filter(has_text="set @Bob's limit")).to_have_count(0)  # the mod's ephemeral answer
    await type_line(page, "/imagine a fox over budget")
    refusal = messages.filter(has_text="Only you can see this").filter(has_text="image budget")
    await expect(refusal).to_have_count(1)

    shot = Image.open(io.BytesIO(await page.screenshot(full_page=True))).convert("RGB")
    colours = shot.getcolors(maxcolors=1 << 16)
    assert colours is None or len(colours) > 50, "the screenshot is (nearly) blank"
    assert pg.eggapi.count("POST", "/v1/generate") == 1  # bob's request never reached EggAPI
