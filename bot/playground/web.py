"""The playground's web server: a page that looks like a Discord channel, bridged to the fake Discord.

The browser never talks to the fake Discord: it reads the world, the command picker and the
transcripts here as JSON, acts through the fake's client simulator (``fake.slash``,
``fake.click``, ``fake.select``, ``fake.submit_modal``, ``fake.say``), gets files through ``/files/...`` and hears about
every message change on ``/api/events`` (Server-Sent Events).
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, web

from testkit.fake_discord import ClientRefusal, FakeChannel, FakeMember, InteractionHandle, Upload, WaitTimeout

from .commands import BadOption, convert_options, split_typed
from .events import EventHub
from .views import commands_json, message_json, world_json
from .world import PlaygroundWorld

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
README = Path(__file__).resolve().parents[2] / "README.md"  # present in a checkout, not in a wheel
README_SECTIONS = ("Quick start", "Discord setup", "Configuration")
MAX_UPLOAD = 32 * 1024 * 1024
FILE_FIELD = re.compile(r"files\[(\w+)\]")
TEXT_TYPES = ("text/", "application/json")

WORLD = web.AppKey("world", PlaygroundWorld)
HUB = web.AppKey("hub", EventHub)
REAL_EGGAPI = web.AppKey("real_eggapi", bool)
SIMULATED_IMAGES = "images are drawn locally by a simulated EggAPI, and no money is spent."
REAL_IMAGES = (
    "<strong>images are made by the REAL EggAPI with your key: every image is charged to your account.</strong>"
)


def create_app(world: PlaygroundWorld, *, real_eggapi: bool = False) -> web.Application:
    """The playground's aiohttp application for a running fake Discord (and the bot connected to it).

    ``real_eggapi``: the bot uses the real EggAPI (real images, real charges), and the banner says so.
    """
    app = web.Application(client_max_size=MAX_UPLOAD)
    hub = EventHub(world)
    app[WORLD] = world
    app[REAL_EGGAPI] = real_eggapi
    app[HUB] = hub
    hub.start()

    async def on_shutdown(_: web.Application) -> None:
        hub.close()

    app.on_shutdown.append(on_shutdown)
    app.router.add_get("/", index)
    app.router.add_static("/static", STATIC)
    app.router.add_get("/readme", readme)
    app.router.add_get("/api/world", get_world)
    app.router.add_get("/api/commands", get_commands)
    app.router.add_get("/api/channels/{channel}/messages", get_messages)
    app.router.add_get("/api/events", get_events)
    app.router.add_post("/api/interactions", post_interaction)
    app.router.add_post("/api/click", post_click)
    app.router.add_post("/api/modal", post_modal)
    app.router.add_post("/api/say", post_say)
    app.router.add_get("/files/{id}/{name}", get_file)
    return app


# --------------------------------------------------------------------------- helpers


def fail(status: int, message: str) -> web.HTTPException:
    """A JSON error the page shows as it is."""
    error_class = {403: web.HTTPForbidden, 404: web.HTTPNotFound}.get(status, web.HTTPBadRequest)
    return error_class(text=json.dumps({"error": message}), content_type="application/json")


def _id(value: Any, what: str) -> int:
    text = str(value or "").strip()
    if not text.isdigit():
        raise fail(400, f"{what} must be an id")
    return int(text)


def player_of(request: web.Request, value: Any) -> FakeMember:
    """The playable member the page acts as."""
    member = request.app[WORLD].player(_id(value, "user"))
    if member is None:
        raise fail(404, "no such player")
    return member


def channel_of(request: web.Request, value: Any) -> FakeChannel:
    """One of the playground's channels."""
    channel = request.app[WORLD].channel(_id(value, "channel"))
    if channel is None:
        raise fail(404, "no such channel")
    return channel


async def read_body(request: web.Request) -> tuple[dict[str, Any], dict[str, Upload]]:
    """JSON, or multipart with ``payload_json`` and files named ``files[option]``."""
    if request.content_type == "multipart/form-data":
        payload: dict[str, Any] = {}
        files: dict[str, Upload] = {}
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                continue
            if part.name == "payload_json":
                payload = json.loads(await part.text())
            elif part.name and (match := FILE_FIELD.fullmatch(part.name)) and part.filename:
                data = bytes(await part.read())
                files[match.group(1)] = Upload(part.filename, data, part.headers.get("Content-Type"))
        return payload, files
    try:
        body = await request.json()
    except ValueError:
        raise fail(400, "the body must be JSON") from None
    if not isinstance(body, dict):
        raise fail(400, "the body must be a JSON object")
    return body, {}


async def outcome(request: web.Request, handle: Any) -> web.Response:
    """Wait for the bot's acknowledgement, as the Discord app does, and say how it went."""
    fake = request.app[WORLD].fake
    try:
        ack = await handle.wait_ack(timeout=fake.ack_deadline + 0.5)
    except WaitTimeout:
        return web.json_response({"ok": False, "error": "The application did not respond"})
    answer: dict[str, Any] = {"ok": True, "interaction_id": str(handle.id), "callback_type": ack.type}
    if ack.type == 9:  # a form for the player to fill in: what they see, then POST /api/modal
        answer["modal"] = modal_json(handle)
    return web.json_response(answer)


def modal_json(handle: InteractionHandle) -> dict[str, Any]:
    """The modal the bot opened, as the page draws it: its title and each text input's label and text."""
    fields = [
        {
            "custom_id": custom_id,
            "label": field.get("label") or "",
            "description": field.get("description") or "",
            "value": field.get("value") or "",
            "required": field.get("required", True),
            "max_length": field.get("max_length") or 4000,
            "paragraph": field.get("style") == 2,
        }
        for custom_id, field in handle.modal_fields.items()
    ]
    return {"title": (handle.modal or {}).get("title", ""), "fields": fields}


# --------------------------------------------------------------------------- pages


async def index(request: web.Request) -> web.Response:
    """The page; its banner says which image service is in use."""
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    if request.app[REAL_EGGAPI]:
        page = page.replace(SIMULATED_IMAGES, REAL_IMAGES)
    return web.Response(text=page, content_type="text/html", headers={"Cache-Control": "no-cache"})


async def readme(_: web.Request) -> web.Response:
    """How to run the real bot: the README's setup sections, so the banner's link works offline."""
    if README.is_file():
        text = README.read_text(encoding="utf-8")
        sections = re.split(r"(?m)^(?=## )", text)
        chosen = [s for s in sections if any(s.startswith(f"## {name}\n") for name in README_SECTIONS)]
        body = "\n".join(chosen) or text
    else:
        body = "See README.md, sections Quick start and Discord setup, in the eggbot repository."
    escaped = body.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    html = (
        "<!doctype html><meta charset=utf-8><title>eggbot: running the real bot</title>"
        "<link rel=stylesheet href=/static/app.css><body class=readme>"
        f"<h1>Running the real bot</h1><pre>{escaped}</pre>"
    )
    return web.Response(text=html, content_type="text/html")


async def get_file(request: web.Request) -> web.Response:
    """A file from the fake's store; text opens in the tab, ``?download=1`` saves it."""
    stored = request.app[WORLD].fake.transcript.attachments.get(_id(request.match_info["id"], "file"))
    if stored is None or stored.filename != request.match_info["name"]:
        raise fail(404, "no such file")
    download = request.query.get("download") == "1"
    content_type = stored.content_type
    if not download and content_type.startswith(TEXT_TYPES):
        content_type = "text/plain"
    disposition = "attachment" if download else "inline"
    return web.Response(
        body=stored.data,
        content_type=content_type,
        charset="utf-8" if content_type.startswith("text/") else None,
        headers={"Content-Disposition": f'{disposition}; filename="{stored.filename}"'},
    )


# --------------------------------------------------------------------------- reading


async def get_world(request: web.Request) -> web.Response:
    """Guild, channels, roles, members and who can be played."""
    return web.json_response(world_json(request.app[WORLD]))


async def get_commands(request: web.Request) -> web.Response:
    """The commands this player's picker lists in this channel (hidden ones left out, as Discord does)."""
    member = player_of(request, request.query.get("user"))
    channel = channel_of(request, request.query.get("channel") or request.app[WORLD].channels[0].id)
    return web.json_response(commands_json(request.app[WORLD], member, channel))


async def get_messages(request: web.Request) -> web.Response:
    """A channel's transcript as this player sees it: their own ephemeral messages, nobody else's."""
    world = request.app[WORLD]
    member = player_of(request, request.query.get("as"))
    channel = channel_of(request, request.match_info["channel"])
    messages = world.fake.messages(channel, as_user=member)
    return web.json_response([message_json(world, m) for m in messages])


async def get_events(request: web.Request) -> web.StreamResponse:
    """Every message change this player may see, as Server-Sent Events."""
    member = player_of(request, request.query.get("as"))
    return await request.app[HUB].stream(request, member.id)


# --------------------------------------------------------------------------- acting


async def post_interaction(request: web.Request) -> web.Response:
    """Run a slash command: ``{"user", "channel", "command", "options"}`` or ``{"user", "channel", "text"}``."""
    world = request.app[WORLD]
    body, files = await read_body(request)
    member = player_of(request, body.get("user"))
    channel = channel_of(request, body.get("channel"))
    entries = commands_json(world, member, channel)
    try:
        if body.get("text"):
            command, raw = split_typed(entries, str(body["text"]))
        else:
            command, raw = str(body.get("command") or "").strip().removeprefix("/"), dict(body.get("options") or {})
        if not command:
            raise BadOption("choose a command")
        entry = next((e for e in entries if e["path"] == command), None)
        options = convert_options(world, entry, raw, files)
        handle = await world.fake.slash(member, channel, command, options=options)
    except (BadOption, ClientRefusal) as exc:
        raise fail(400, str(exc)) from None
    log.info("%s ran /%s in #%s", member.username, command, channel.name)
    return await outcome(request, handle)


async def post_click(request: web.Request) -> web.Response:
    """Click a button, or choose in a select menu when ``values`` is given."""
    world = request.app[WORLD]
    body, _ = await read_body(request)
    member = player_of(request, body.get("user"))
    message_id = _id(body.get("message_id"), "message_id")
    custom_id = str(body.get("custom_id") or "")
    if message_id not in world.fake.transcript.messages:
        raise fail(404, "no such message")
    try:
        if body.get("values") is not None:
            values = [str(v) for v in body["values"]]
            handle = await world.fake.select(member, message_id, custom_id, values)
        else:
            handle = await world.fake.click(member, message_id, custom_id)
    except ClientRefusal as exc:
        raise fail(400, str(exc)) from None
    return await outcome(request, handle)


async def post_modal(request: web.Request) -> web.Response:
    """Submit the modal a click or command opened: ``{"user", "interaction_id", "values": {input: text}}``."""
    world = request.app[WORLD]
    body, _ = await read_body(request)
    member = player_of(request, body.get("user"))
    source = world.fake.interactions.get(_id(body.get("interaction_id"), "interaction_id"))
    if source is None:
        raise fail(404, "no such interaction")
    values = body.get("values") or {}
    if not isinstance(values, dict):
        raise fail(400, "values must map each input to its text")
    try:
        handle = await world.fake.submit_modal(member, source, {str(k): str(v) for k, v in values.items()})
    except ClientRefusal as exc:
        raise fail(400, str(exc)) from None
    return await outcome(request, handle)


async def post_say(request: web.Request) -> web.Response:
    """Post a plain message as the player (the bot sees it as MESSAGE_CREATE)."""
    world = request.app[WORLD]
    body, _ = await read_body(request)
    member = player_of(request, body.get("user"))
    channel = channel_of(request, body.get("channel"))
    content = str(body.get("content") or "").strip()
    if not content or len(content) > 2000:
        raise fail(400, "a message has 1 to 2000 characters")
    msg = await world.fake.say(member, channel, content)
    return web.json_response({"ok": True, "id": str(msg.id)})


# --------------------------------------------------------------------------- running


class PlaygroundServer:
    """The app served on loopback: ``await PlaygroundServer.start(world)``, ``.url``, ``await .stop()``."""

    def __init__(self, runner: web.AppRunner, url: str) -> None:
        self.runner = runner
        self.url = url

    @classmethod
    async def start(
        cls, world: PlaygroundWorld, host: str = "127.0.0.1", port: int = 0, *, real_eggapi: bool = False
    ) -> PlaygroundServer:
        """Serve ``create_app(world)`` on ``host:port`` (0 picks a free port)."""
        app = create_app(world, real_eggapi=real_eggapi)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0][1]
        shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # a wildcard bind is reached on loopback
        url = f"http://[{shown}]:{bound}" if ":" in shown else f"http://{shown}:{bound}"
        log.info("playground page on %s", url)
        return cls(runner, url)

    async def stop(self) -> None:
        """End the open event streams and stop serving."""
        await self.runner.cleanup()
