"""The playground's JSON API and live updates, against the fake Discord with the real bot connected."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.playground.commands import BadOption, split_typed
from bot.playground.views import commands_json
from tests.playground_kit import Playground, running_playground

pytestmark = pytest.mark.timeout(60)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
async def pg(tmp_path: Path) -> AsyncIterator[Playground]:
    async with running_playground(tmp_path) as playground:
        yield playground


@pytest.fixture
async def http(pg: Playground) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(pg.server.url) as session:
        yield session


def ids(pg: Playground) -> dict[str, str]:
    """Player and channel ids by name, as the page sends them."""
    found = {m.username: str(m.id) for m in pg.world.players}
    found.update({f"#{c.name}": str(c.id) for c in pg.world.channels})
    return found


async def run(http: aiohttp.ClientSession, **body: Any) -> tuple[int, dict[str, Any]]:
    async with http.post("/api/interactions", json=body) as response:
        return response.status, await response.json()


async def transcript(http: aiohttp.ClientSession, channel: str, viewer: str) -> list[dict[str, Any]]:
    async with http.get(f"/api/channels/{channel}/messages", params={"as": viewer}) as response:
        assert response.status == 200
        data: list[dict[str, Any]] = await response.json()
        return data


async def test_world_lists_channels_players_and_who_sees_mods(pg: Playground, http: aiohttp.ClientSession) -> None:
    n = ids(pg)
    async with http.get("/api/world") as response:
        world = await response.json()
    assert world["guild"]["name"] == "Playground"
    assert [c["name"] for c in world["channels"]] == ["general", "art", "mods"]
    mods = world["channels"][2]
    assert mods["visible_to"] == [n["mod"]]
    players = {m["username"]: m for m in world["members"] if m["playable"]}
    assert set(players) == {"alice", "bob", "mod"}
    assert players["mod"]["moderator"] and players["mod"]["roles"] == ["Moderator"]
    assert not players["alice"]["moderator"]
    assert {r["name"] for r in world["roles"]} == {"Moderator"}
    assert any(m["bot"] for m in world["members"])  # the bot, so the page can name its mentions


async def test_commands_follow_default_member_permissions(pg: Playground, http: aiohttp.ClientSession) -> None:
    n = ids(pg)

    async def paths(user: str) -> dict[str, Any]:
        async with http.get("/api/commands", params={"user": n[user], "channel": n["#general"]}) as response:
            return {e["path"]: e for e in await response.json()}

    member, moderator = await paths("alice"), await paths("mod")
    assert set(member) == {
        "balance",
        "help",
        "history",
        "imagine",
        "mydata show",
        "mydata delete",
        "settings show",
        "settings set",
        "settings reset",
        "show",
    }
    assert {"usage", "quota member", "quota limit", "imagine"} <= set(moderator)
    options = {o["name"]: o for o in member["imagine"]["options"]}
    assert options["prompt"]["required"] and options["prompt"]["kind"] == "string"
    assert (options["count"]["kind"], options["count"]["min_value"], options["count"]["max_value"]) == ("integer", 1, 4)
    assert [c["value"] for c in options["aspect_ratio"]["choices"]] == ["16:9", "9:16"]
    assert options["reference"]["kind"] == "attachment" and not options["reference"]["required"]
    quota_member = {o["name"]: o["kind"] for o in moderator["quota member"]["options"]}
    assert quota_member == {"member": "user", "amount": "string"}


async def test_typed_imagine_runs_and_its_image_is_served(pg: Playground, http: aiohttp.ClientSession) -> None:
    n = ids(pg)
    status, body = await run(http, user=n["alice"], channel=n["#general"], text="/imagine a red fox in snow")
    assert status == 200 and body["ok"], body
    general = pg.world.channels[0]
    result = await pg.fake.wait_for_message(general, lambda m: bool(m.attachments))
    assert "a red fox in snow" in result.content
    seen = await transcript(http, n["#general"], n["bob"])
    shown = next(m for m in seen if m["id"] == str(result.id))
    picture = shown["attachments"][0]
    assert picture["image"] and picture["url"].startswith("/files/")
    assert [[b["label"] for b in row["components"]] for row in shown["components"]] == [
        ["Vary", "Edit", "Again at 2k", "Again at 4k"],
        ["Reroll", "Remix", "Details", "Delete"],
    ]
    async with http.get(picture["url"]) as response:
        assert response.content_type == "image/png"
        data = await response.read()
    assert data == result.attachments[0].data and data.startswith(PNG_SIGNATURE)


async def test_ephemeral_answers_only_reach_their_user(pg: Playground, http: aiohttp.ClientSession) -> None:
    n = ids(pg)
    status, body = await run(http, user=n["alice"], channel=n["#general"], command="balance", options={})
    assert status == 200 and body["ok"]
    await pg.fake.wait_for_message(pg.world.channels[0], lambda m: m.ephemeral)
    mine = await transcript(http, n["#general"], n["alice"])
    assert [m["ephemeral"] for m in mine] == [True] and mine[0]["visible_to"] == n["alice"]
    assert mine[0]["interaction"] == {"name": "balance", "user": "Alice"}
    assert await transcript(http, n["#general"], n["bob"]) == []


async def test_refusals_read_like_the_discord_app(pg: Playground, http: aiohttp.ClientSession) -> None:
    n = ids(pg)
    general = n["#general"]
    status, body = await run(http, user=n["alice"], channel=general, command="quota show", options={})
    assert status == 400 and "lacks default_member_permissions" in body["error"]
    status, body = await run(
        http, user=n["alice"], channel=general, command="imagine", options={"prompt": "x", "count": "9"}
    )
    assert status == 400 and "outside 1..4" in body["error"]
    status, body = await run(
        http, user=n["alice"], channel=general, command="imagine", options={"prompt": "x", "count": "lots"}
    )
    assert status == 400 and "not a whole number" in body["error"]
    status, body = await run(http, user=n["alice"], channel=general, text="/imagine")
    assert status == 400 and "missing required option(s) ['prompt']" in body["error"]
    status, body = await run(http, user=n["alice"], channel=n["#mods"], text="/imagine a fox")
    assert status == 400 and "#mods" in body["error"]  # not a channel alice can see
    async with http.post("/api/say", json={"user": "1", "channel": general, "content": "hi"}) as response:
        assert response.status == 404
    assert pg.eggapi.count("POST", "/v1/generate") == 0


async def test_reference_upload_reaches_the_bot(pg: Playground, http: aiohttp.ClientSession) -> None:
    n = ids(pg)
    form = aiohttp.FormData()
    options = {"prompt": "like this one", "count": "2"}
    body = {"user": n["alice"], "channel": n["#art"], "command": "imagine", "options": options}
    form.add_field("payload_json", json.dumps(body))
    form.add_field("files[reference]", PNG_SIGNATURE + b"ref", filename="ref.png", content_type="image/png")
    async with http.post("/api/interactions", data=form) as response:
        assert response.status == 200, await response.text()
    handle = list(pg.fake.interactions.values())[-1]
    attachments = handle.payload["data"]["resolved"]["attachments"]
    assert [a["filename"] for a in attachments.values()] == ["ref.png"]
    result = await pg.fake.wait_for_message(pg.world.channels[1], lambda m: len(m.attachments) == 2)
    assert "like this one" in result.content


async def test_buttons_plain_messages_and_live_events(pg: Playground, http: aiohttp.ClientSession) -> None:
    n = ids(pg)
    general = pg.world.channels[0]
    events: list[dict[str, Any]] = []
    async with http.get("/api/events", params={"as": n["alice"]}) as stream:
        assert stream.content_type == "text/event-stream"

        async def until(check: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
            while True:
                line = (await asyncio.wait_for(stream.content.readline(), 10)).decode()
                if line.startswith("data: ") and line.strip() != "data: {}":
                    events.append(json.loads(line[6:]))
                    if check(events[-1]):
                        return events[-1]

        await run(http, user=n["bob"], channel=n["#general"], command="balance", options={})  # bob's alone
        await run(http, user=n["alice"], channel=n["#general"], text="/imagine a fox for the buttons")
        done = await until(lambda e: e["kind"] != "delete" and bool(e["message"]["attachments"]))
        result_id = done["message"]["id"]
        async with http.post("/api/say", json={"user": n["alice"], "channel": n["#general"], "content": "nice"}) as r:
            assert r.status == 200
        said = await until(lambda e: e["kind"] == "create" and e["message"]["content"] == "nice")
        assert said["message"]["author"]["name"] == "Alice"
        click = {"user": n["alice"], "message_id": result_id, "custom_id": "nope"}
        async with http.post("/api/click", json=click) as response:
            assert response.status == 400 and "no such component" in (await response.json())["error"]
        delete = pg.fake.message(int(result_id)).button("Delete").custom_id
        async with http.post("/api/click", json=dict(click, custom_id=delete)) as response:
            assert response.status == 200 and (await response.json())["ok"]
        await until(lambda e: e["kind"] == "delete" and e["id"] == result_id)  # (the status message went before)
    assert not any(e.get("message", {}).get("visible_to") == n["bob"] for e in events)  # never bob's ephemeral
    assert not any(m.id == int(result_id) for m in pg.fake.messages(general))


async def test_usage_export_files_open_in_a_tab_or_download(pg: Playground, http: aiohttp.ClientSession) -> None:
    n = ids(pg)
    await run(http, user=n["alice"], channel=n["#general"], text="/imagine one fox for the books")
    await pg.fake.wait_for_message(pg.world.channels[0], lambda m: bool(m.attachments))
    options = {"export": "true", "period": "all"}
    status, body = await run(http, user=n["mod"], channel=n["#mods"], command="usage", options=options)
    assert status == 200, body
    report = await pg.fake.wait_for_message(pg.world.channels[2], lambda m: len(m.attachments) >= 2)
    shown = next(m for m in await transcript(http, n["#mods"], n["mod"]) if m["id"] == str(report.id))
    files = {a["filename"].rsplit(".", 1)[-1]: a for a in shown["attachments"]}
    assert files["png"]["image"] and not files["csv"]["image"]
    async with http.get(files["csv"]["url"]) as response:
        assert response.content_type == "text/plain" and "inline" in response.headers["Content-Disposition"]
        assert "one fox for the books" in await response.text()
    async with http.get(files["csv"]["url"], params={"download": "1"}) as response:
        assert response.content_type == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    async with http.get(files["png"]["url"]) as response:
        assert (await response.read()).startswith(PNG_SIGNATURE)
    async with http.get(files["png"]["url"].replace(".png", ".txt")) as response:
        assert response.status == 404


async def test_page_and_readme_are_served(pg: Playground, http: aiohttp.ClientSession) -> None:
    async with http.get("/") as response:
        page = await response.text()
    assert "not Discord" in page and "no money is spent" in page and 'href="/readme"' in page
    for asset in ("app.css", "app.js", "render.js"):
        async with http.get(f"/static/{asset}") as response:
            assert response.status == 200
    async with http.get("/readme") as response:
        assert "Discord setup" in await response.text()


def test_typed_text_fills_the_first_required_text_option(pg: Playground) -> None:
    mod = pg.world.member("mod")
    entries = commands_json(pg.world, mod, pg.world.channels[0])
    assert split_typed(entries, "/imagine a red  fox in snow") == ("imagine", {"prompt": "a red  fox in snow"})
    assert split_typed(entries, "/quota show") == ("quota show", {})
    assert split_typed(entries, "/nothing here") == ("nothing", {})
    with pytest.raises(BadOption, match="takes no free text"):
        split_typed(entries, "/balance please")


async def test_a_form_the_bot_opens_is_shown_and_submitted(pg: Playground, http: aiohttp.ClientSession) -> None:
    n = ids(pg)
    general = pg.world.channels[0]
    await run(http, user=n["alice"], channel=n["#general"], text="/imagine a red fox in snow")
    first = await pg.fake.wait_for_message(general, lambda m: bool(m.attachments))
    click = {"user": n["alice"], "message_id": str(first.id), "custom_id": first.button("Edit").custom_id}
    async with http.post("/api/click", json=click) as response:
        opened = await response.json()
    assert opened["ok"] and opened["callback_type"] == 9
    assert opened["modal"]["title"] == "Edit image 1 of job #1"
    [field] = opened["modal"]["fields"]
    assert (field["custom_id"], field["label"], field["value"], field["paragraph"]) == (
        "prompt",
        "Prompt",
        "a red fox in snow",
        True,
    )
    form = {"user": n["alice"], "interaction_id": opened["interaction_id"], "values": {"prompt": "a blue fox in snow"}}
    async with http.post("/api/modal", json=form) as response:
        assert (await response.json())["callback_type"] == 4  # the new job's status message
    edited = await pg.fake.wait_for_message(general, lambda m: bool(m.attachments), after=first)
    assert "a blue fox in snow" in edited.content and "✏️ Edit of image 1 of job #1" in edited.content
    async with http.post("/api/modal", json=form) as response:  # a form is sent once
        assert response.status == 400 and "already submitted" in (await response.json())["error"]
