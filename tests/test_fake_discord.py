"""Proves testkit/fake_discord against the real discord.py with a throwaway bot.

The bot below is NOT eggbot: it is the smallest bot that exercises every fake feature the
eggbot end-to-end tests rely on (sync, ephemeral replies, deferral + file + button, subcommand
groups with default_member_permissions, DMs, attachments).
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import aiohttp
import discord
import discord.gateway
import discord.http
import pytest
from discord import app_commands
from discord.ext import commands

from testkit.fake_discord import (
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_EVERYONE_PERMISSIONS,
    ClientRefusal,
    FakeDiscord,
    FakeMember,
    Upload,
    WaitTimeout,
    assert_clean,
    run_bot,
)
from testkit.fake_discord.modals import validate_modal
from testkit.fake_discord.records import DiscordHTTPError
from testkit.world import World, running_world

pytestmark = pytest.mark.timeout(30)

CSV = b"egg,count\nbrown,3\nwhite,5\n"


class ReportView(discord.ui.View):
    """One persistent button that acknowledges a report by editing the message."""

    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Ack", custom_id="report:ack", style=discord.ButtonStyle.success)
    async def ack(self, interaction: discord.Interaction, button: discord.ui.Button[ReportView]) -> None:
        await interaction.response.edit_message(content=f"acknowledged by {interaction.user.name}", view=None)


class FeedbackModal(discord.ui.Modal, title="Feedback"):
    """A modal with one classic (action row) input and one Label-wrapped input."""

    text: discord.ui.TextInput[FeedbackModal] = discord.ui.TextInput(
        label="Your feedback", custom_id="feedback:text", max_length=50
    )
    mood: discord.ui.Label[FeedbackModal] = discord.ui.Label(
        text="Mood", component=discord.ui.TextInput(custom_id="feedback:mood", required=False)
    )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        assert isinstance(self.mood.component, discord.ui.TextInput)
        await interaction.response.send_message(
            f"thanks: {self.text.value} ({self.mood.component.value or '-'})", ephemeral=True
        )


class PickView(discord.ui.View):
    """A string select that reports the choice by editing its message."""

    @discord.ui.select(custom_id="pick:egg", options=[discord.SelectOption(label=x) for x in ("brown", "white")])
    async def pick(self, interaction: discord.Interaction, select: discord.ui.Select[PickView]) -> None:
        await interaction.response.edit_message(content=f"picked {select.values[0]}", view=None)


class ThrowawayBot(commands.Bot):
    """Minimal slash-command bot used only to prove the fake."""

    def __init__(self, guild_id: int, intents: discord.Intents | None = None) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents or discord.Intents.default(),
            guild_ready_timeout=0.05,
            help_command=None,
        )
        self.guild_id = guild_id
        self.slow_seconds = 0.0
        self.seen_codes: list[int | None] = []
        self.gate = asyncio.Event()
        self._register()

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """No 5 s sleep before re-IDENTIFY."""

    async def setup_hook(self) -> None:
        await self.tree.sync(guild=discord.Object(self.guild_id))
        await self.tree.sync()

    def _register(self) -> None:
        guild = discord.Object(self.guild_id)
        tree = self.tree

        @tree.command(name="hello", description="Greets you privately", guild=guild)
        async def hello(interaction: discord.Interaction) -> None:
            await interaction.response.send_message(f"hello {interaction.user.name}", ephemeral=True)

        @tree.command(name="report", description="Posts a CSV report with a button", guild=guild)
        @app_commands.describe(title="Report title", rows="Rows to include")
        async def report(
            interaction: discord.Interaction,
            title: app_commands.Range[str, 1, 20],
            rows: app_commands.Range[int, 1, 5] = 2,
        ) -> None:
            await interaction.response.defer(thinking=True)
            assert isinstance(interaction.channel, discord.abc.Messageable)
            sent = await interaction.channel.send(
                f"report {title} ({rows} rows)", file=discord.File(io.BytesIO(CSV), "report.csv"), view=ReportView()
            )
            await interaction.edit_original_response(content=f"posted {sent.id}")

        @tree.command(name="slow", description="Answers too late", guild=guild)
        async def slow(interaction: discord.Interaction) -> None:
            await asyncio.sleep(self.slow_seconds)
            await interaction.response.send_message("finally")

        @tree.command(name="twice", description="Acknowledges twice", guild=guild)
        async def twice(interaction: discord.Interaction) -> None:
            await interaction.response.defer()
            try:  # a second InteractionResponse object bypasses discord.py's local guard
                await discord.InteractionResponse(interaction).send_message("again")
            except discord.HTTPException as exc:
                self.seen_codes.append(exc.code)
            await interaction.followup.send("recovered")

        @tree.command(name="early", description="Sends a followup before acknowledging", guild=guild)
        async def early(interaction: discord.Interaction) -> None:
            try:
                await interaction.followup.send("too early")
            except discord.HTTPException as exc:
                self.seen_codes.append(exc.code)
            await interaction.response.send_message("ok")

        @tree.command(name="gated", description="Defers, then edits once the test opens the gate", guild=guild)
        async def gated(interaction: discord.Interaction) -> None:
            await interaction.response.defer(ephemeral=True)
            await self.gate.wait()
            try:
                await interaction.edit_original_response(content="done")
            except discord.HTTPException as exc:
                self.seen_codes.append(exc.code)

        @tree.command(name="echo_file", description="Sends your file back", guild=guild)
        async def echo_file(interaction: discord.Interaction, file: discord.Attachment) -> None:
            data = await file.read()
            await interaction.response.send_message(
                f"{file.filename} {len(data)}", file=discord.File(io.BytesIO(data), f"echo-{file.filename}")
            )

        quota = app_commands.Group(
            name="quota",
            description="Spending limits",
            guild_ids=[self.guild_id],
            default_permissions=discord.Permissions(manage_guild=True),
        )
        admin = app_commands.Group(name="admin", description="Admin tools", parent=quota)

        @quota.command(name="me", description="Shows your quota")
        async def quota_me(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("you have 10 left", ephemeral=True)

        @admin.command(name="set", description="Sets a member's quota")
        async def quota_set(
            interaction: discord.Interaction, member: discord.Member, limit: app_commands.Range[int, 0, 100]
        ) -> None:
            await interaction.response.send_message(f"{member.name} -> {limit}")

        tree.add_command(quota)

        @tree.command(name="feedback", description="Opens a feedback form", guild=guild)
        async def feedback(interaction: discord.Interaction) -> None:
            await interaction.response.send_modal(FeedbackModal(custom_id="feedback"))

        @tree.command(name="pick", description="Offers a choice", guild=guild)
        async def pick(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("pick an egg", view=PickView())

        @tree.command(name="flavor", description="Autocompleted flavors", guild=guild)
        async def flavor(interaction: discord.Interaction, name: str) -> None:
            await interaction.response.send_message(f"flavor {name}")

        @flavor.autocomplete("name")
        async def flavor_names(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
            return [app_commands.Choice(name=f, value=f) for f in ("salted", "spicy", "sweet") if f.startswith(current)]

        @tree.context_menu(name="Wave", guild=guild)
        async def wave(interaction: discord.Interaction, member: discord.Member) -> None:
            await interaction.response.send_message(f"{interaction.user.name} waves at {member.name}")

        @tree.command(name="inspect", description="Names a channel and a role", guild=guild)
        async def inspect(interaction: discord.Interaction, where: discord.Thread, role: discord.Role) -> None:
            await interaction.response.send_message(f"{where.name} in {where.parent_id}, {role.name}")

        @tree.command(name="ping", description="Pong, also in DMs")
        async def ping(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("pong")


@pytest.fixture
async def world() -> AsyncIterator[World]:
    """The standard world in a guild with a small upload limit, plus carol, who can Manage Server."""
    async with running_world("Test Guild", thread_name="eggs-thread", filesize_limit=256 * 1024) as world:
        world.fake.add_member(world.guild, "carol", permissions="MANAGE_GUILD")
        yield world


@pytest.fixture
def carol(world: World) -> FakeMember:
    """The member with Manage Server that ``world`` added."""
    return next(m for m in world.guild.members.values() if m.user.username == "carol")


@pytest.fixture
async def bot(world: World) -> AsyncIterator[ThrowawayBot]:
    async with run_bot(ThrowawayBot(world.guild.id), world.fake) as running:
        await world.fake.wait_for(lambda f: f.sync_count >= 2)
        yield running
    assert_clean(world.fake)


def test_canary_patch_points_exist() -> None:
    """The two internals the harness patches must exist (fails loudly after a discord.py upgrade)."""
    assert discord.http.Route.BASE == "https://discord.com/api/v10"
    assert str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY) == "wss://gateway.discord.gg/"


async def test_login_ready_and_guild_cache(world: World, bot: ThrowawayBot) -> None:
    fake = world.fake
    assert bot.user is not None and bot.user.id == fake.bot_user.id
    assert bot.application_id == fake.application_id
    guild = bot.get_guild(world.guild.id)
    assert guild is not None and guild.me is not None
    assert guild.default_role.id == guild.id
    assert [c.name for c in guild.text_channels] == ["general"]
    assert guild.get_thread(world.thread.id) is not None
    assert guild.get_thread(world.thread.id).parent_id == world.general.id  # type: ignore[union-attr]
    assert {r.name for r in guild.roles} >= {"@everyone", "EggBot", "carol-perms"}
    assert guild.get_member(world.alice.id) is None  # default intents: no member list, as on Discord
    identify = next(f for f in fake.gateway.received if f["op"] == 2)
    assert identify["d"]["token"] == fake.token and identify["d"]["intents"] == discord.Intents.default().value
    paths = [r.path for r in fake.requests]
    assert "/users/@me" in paths and "/oauth2/applications/@me" in paths
    assert {c["name"] for c in fake.guild_commands[world.guild.id]} == {
        "hello",
        "report",
        "slow",
        "twice",
        "early",
        "gated",
        "echo_file",
        "quota",
        "feedback",
        "pick",
        "flavor",
        "inspect",
        "Wave",
    }
    assert [c["name"] for c in fake.global_commands] == ["ping"]


async def test_unauthorized_token_is_refused(world: World) -> None:
    bot = ThrowawayBot(world.guild.id)
    with pytest.raises(discord.LoginFailure):
        async with run_bot(bot, world.fake, token="wrong-token"):
            pass
    assert world.fake.requests[0].status == 401


async def test_sync_body_is_validated_like_discord(world: World, bot: ThrowawayBot) -> None:
    fake = world.fake
    command = bot.tree.get_command("hello", guild=discord.Object(world.guild.id))
    assert command is not None
    command.name = "Bad Name"  # bypasses discord.py's own check, as a stale or hand-built payload would
    with pytest.raises(app_commands.CommandSyncFailure) as failure:
        await bot.tree.sync(guild=discord.Object(world.guild.id))
    assert failure.value.code == 50035 and failure.value.status == 400
    body = fake.requests[-1].response
    assert body["errors"]["0"]["name"]["_errors"][0]["code"] == "APPLICATION_COMMAND_INVALID_NAME"
    too_long = {
        "name": "ok",
        "description": "x" * 101,
        "type": 1,
        "options": [
            {"type": 3, "name": "b", "description": "b", "required": False},
            {"type": 4, "name": "a", "description": "a", "required": True},
        ],
    }
    with pytest.raises(discord.HTTPException) as raw:
        await bot.http.bulk_upsert_guild_commands(fake.application_id, world.guild.id, payload=[too_long])
    errors = fake.requests[-1].response["errors"]["0"]
    assert raw.value.code == 50035
    assert errors["description"]["_errors"][0]["code"] == "BASE_TYPE_BAD_LENGTH"
    assert errors["options"]["_errors"][0]["code"] == "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID"
    assert [v.kind for v in fake.pop_violations()] == ["invalid_form_body", "invalid_form_body"]
    assert fake.sync_count == 2  # refused syncs change nothing


async def test_slash_round_trip_with_file_and_button(world: World, bot: ThrowawayBot) -> None:
    fake = world.fake
    handle = await fake.slash(world.alice, world.general, "report", title="eggs", rows=3)
    ack = await handle.wait_ack()
    assert ack.type == 5 and handle.ack_latency is not None and handle.ack_latency < 3
    answer = await handle.wait_response()
    report = await fake.wait_for_message(world.general, lambda m: m.content.startswith("report"))
    assert answer.content == f"posted {report.id}" and answer.edits == 0 and not answer.loading
    assert report.content == "report eggs (3 rows)"
    attachment = report.attachment("report.csv")
    assert attachment.data == CSV and attachment.size == len(CSV) and attachment.content_type == "text/csv"
    assert [(b.label, b.custom_id, b.style) for b in report.buttons] == [("Ack", "report:ack", 3)]
    upload = next(r for r in fake.requests if r.path.endswith("/messages") and r.method == "POST")
    assert upload.files[0].data == CSV and upload.json["enforce_nonce"] is True
    click = await fake.click(world.bob, report, "report:ack")
    assert (await click.wait_ack()).type == 7
    assert report.content == "acknowledged by bob" and report.buttons == [] and report.edits == 1
    assert report.history[0].content == "report eggs (3 rows)"
    assert report.attachments == [attachment]  # an edit without "attachments" keeps the files


async def test_ephemeral_reply_is_only_visible_to_its_user(world: World, bot: ThrowawayBot) -> None:
    fake = world.fake
    handle = await fake.slash(world.alice, world.general, "hello")
    msg = await handle.wait_response()
    assert msg.content == "hello alice" and msg.ephemeral and msg.visible_to == world.alice.id
    assert handle.callback_type == 4 and handle.callback_flags == 64
    assert fake.messages(world.general, as_user=world.alice) == [msg]
    assert fake.messages(world.general, as_user=world.bob) == []


async def test_transcript_watchers_see_every_change_until_unwatched(world: World, bot: ThrowawayBot) -> None:
    fake = world.fake
    seen: list[tuple[str, int, bool]] = []
    unwatch = fake.transcript.watch(lambda kind, msg: seen.append((kind, msg.id, msg.ephemeral)))
    hello = await (await fake.slash(world.alice, world.general, "hello")).wait_response()
    handle = await fake.slash(world.alice, world.general, "report", title="eggs", rows=1)
    report = await fake.wait_for_message(world.general, lambda m: m.content.startswith("report"))
    await (await fake.click(world.bob, report, "report:ack")).wait_ack()
    unwatch()
    await fake.say(world.bob, world.general, "after")
    placeholder = handle.response
    assert placeholder is not None
    assert ("create", hello.id, True) in seen  # ephemeral messages too, which the gateway never carries
    assert ("create", placeholder.id, False) in seen and ("edit", placeholder.id, False) in seen
    assert seen.count(("edit", report.id, False)) == 1
    assert all(kind in ("create", "edit", "delete") for kind, _, _ in seen)
    assert seen[-1] == ("edit", report.id, False)  # nothing after unwatch


async def test_ack_after_deadline_is_a_violation(world: World, bot: ThrowawayBot) -> None:
    fake = world.fake
    fake.ack_deadline = 0.2
    bot.slow_seconds = 0.3  # sleeps on purpose: this test is about a deadline
    handle = await fake.slash(world.alice, world.general, "slow")
    late = await fake.wait_for_request(lambda r: r.path.endswith("/callback"))
    assert late.status == 404 and late.response == {"message": "Unknown interaction", "code": 10062}
    assert handle.timed_out and not handle.acked
    assert sorted(v.kind for v in fake.pop_violations()) == ["ack_timeout", "unknown_interaction"]


async def test_second_callback_is_refused(world: World, bot: ThrowawayBot) -> None:
    fake = world.fake
    handle = await fake.slash(world.alice, world.general, "twice")
    followup = await handle.wait_followup()
    assert followup.content == "recovered" and followup.id == handle.response.id  # type: ignore[union-attr]
    assert bot.seen_codes == [40060]
    assert [v.kind for v in fake.pop_violations()] == ["double_ack"]


async def test_followup_before_callback_is_unknown_webhook(world: World, bot: ThrowawayBot) -> None:
    fake = world.fake
    handle = await fake.slash(world.alice, world.general, "early")
    assert (await handle.wait_response()).content == "ok"
    assert bot.seen_codes == [10015]
    assert [v.kind for v in fake.pop_violations()] == ["unknown_webhook"]


async def test_attachment_option_round_trip(world: World, bot: ThrowawayBot) -> None:
    fake = world.fake
    data = bytes(range(256)) * 4
    handle = await fake.slash(world.alice, world.general, "echo_file", file=Upload("egg.png", data, "image/png"))
    msg = await handle.wait_response()
    assert msg.content == "egg.png 1024"
    assert msg.attachment("echo-egg.png").data == data
    assert msg.attachment("echo-egg.png").content_type == "image/png"


async def test_attachment_urls_are_signed_and_expire_on_the_fake_clock(world: World, bot: ThrowawayBot) -> None:
    fake = world.fake
    handle = await fake.slash(world.alice, world.general, "echo_file", file=Upload("egg.png", b"egg", "image/png"))
    echoed = await handle.wait_response()
    [given] = handle.payload["data"]["resolved"]["attachments"].values()
    query = parse_qs(urlsplit(given["url"]).query)
    expires, issued = int(query["ex"][0], 16), int(query["is"][0], 16)
    assert expires - issued == 24 * 3600 and abs(issued - fake.clock.now()) < 5 and query["hm"][0]
    assert set(given) >= {"id", "filename", "size", "url", "proxy_url"}  # the spec's required fields
    unsigned = given["url"].split("?")[0]
    async with aiohttp.ClientSession() as http:
        assert (await fetch_status(http, given["url"])) == 200
        assert (await fetch_status(http, unsigned)) == 404
        assert (await fetch_status(http, given["url"].replace("hm=", "hm=0"))) == 404
        fake.clock.advance(24 * 3600)
        assert (await fetch_status(http, given["url"])) == 404  # expired
        # A payload made now (the message, fetched again) carries a fresh URL for the same file.
        channel = bot.get_channel(world.general.id)
        assert isinstance(channel, discord.TextChannel)
        fresh = (await channel.fetch_message(echoed.id)).attachments[0].url
        assert int(parse_qs(urlsplit(fresh).query)["ex"][0], 16) > expires
        assert (await fetch_status(http, fresh)) == 200


async def test_attachment_lifetime_is_configurable() -> None:
    async with FakeDiscord(attachment_ttl=60) as fake:
        stored = fake.transcript.store_upload("egg.png", b"egg")
        url = fake.transcript.attachment_json(stored)["url"]
        query = parse_qs(urlsplit(url).query)
        assert int(query["ex"][0], 16) - int(query["is"][0], 16) == 60
        async with aiohttp.ClientSession() as http:
            assert (await fetch_status(http, url)) == 200
            fake.clock.set(int(query["ex"][0], 16))
            assert (await fetch_status(http, url)) == 404


async def fetch_status(http: aiohttp.ClientSession, url: str) -> int:
    async with http.get(url) as response:
        return response.status


async def test_channel_nonce_deduplicates(world: World, bot: ThrowawayBot) -> None:
    fake = world.fake
    channel = bot.get_channel(world.general.id)
    assert isinstance(channel, discord.TextChannel)
    first = await channel.send("once", nonce=424242)
    second = await channel.send("once", nonce=424242)
    third = await channel.send("again")
    assert first.id == second.id != third.id
    assert [m.content for m in fake.messages(world.general)] == ["once", "again"]


async def test_missing_permissions_is_50013(world: World, bot: ThrowawayBot) -> None:
    fake = world.fake
    channel = bot.get_channel(world.general.id)
    assert isinstance(channel, discord.TextChannel)
    fake.deny_bot(world.general, "ATTACH_FILES")
    await channel.send("text still works")
    with pytest.raises(discord.Forbidden) as denied:
        await channel.send(file=discord.File(io.BytesIO(b"x"), "x.txt"))
    assert denied.value.code == 50013 and denied.value.text == "Missing Permissions"
    fake.deny_bot(world.general, "SEND_MESSAGES")
    with pytest.raises(discord.Forbidden):
        await channel.send("nope")
    assert [m.content for m in fake.messages(world.general)] == ["text still works"]


async def test_deleted_channel_is_404_and_dispatched(world: World, bot: ThrowawayBot) -> None:
    fake = world.fake
    channel = bot.get_channel(world.general.id)
    assert isinstance(channel, discord.TextChannel)
    deleted = asyncio.ensure_future(bot.wait_for("guild_channel_delete"))
    fake.delete_channel(world.general)
    with pytest.raises(discord.NotFound) as missing:
        await channel.send("hello?")
    assert missing.value.code == 10003
    assert (await asyncio.wait_for(deleted, 5)).id == world.general.id
    assert bot.get_channel(world.general.id) is None


async def test_dms_can_be_blocked(world: World, bot: ThrowawayBot) -> None:
    fake = world.fake
    dm = await bot.create_dm(discord.Object(world.alice.id))  # POST /users/@me/channels
    assert dm.id == fake.dm_channel_for(world.alice).id
    await dm.send("psst")
    assert fake.messages(fake.dm_channel_for(world.alice))[0].content == "psst"
    fake.block_dms(world.alice)
    with pytest.raises(discord.Forbidden) as blocked:
        await dm.send("again")
    assert blocked.value.code == 50007


async def test_rate_limit_429_is_retried(world: World, bot: ThrowawayBot) -> None:
    fake = world.fake
    channel = bot.get_channel(world.general.id)
    assert isinstance(channel, discord.TextChannel)
    fake.enable_rate_limit(limit=2, per=0.3)
    fake.exhaust_rate_limit(world.general)
    await channel.send("after the wait")
    statuses = [r.status for r in fake.requests if r.route == "POST /channels/{cid}/messages"]
    assert statuses == [429, 200]
    limited = next(r for r in fake.requests if r.status == 429)
    assert limited.response["global"] is False and 0 < limited.response["retry_after"] <= 0.3
    assert [m.content for m in fake.messages(world.general)] == ["after the wait"]


async def test_payload_limits(world: World, bot: ThrowawayBot) -> None:
    fake = world.fake
    channel = bot.get_channel(world.general.id)
    assert isinstance(channel, discord.TextChannel)
    with pytest.raises(discord.HTTPException) as too_long:
        await channel.send("x" * 2001)
    assert too_long.value.code == 50035
    with pytest.raises(discord.HTTPException) as too_big:
        await channel.send(file=discord.File(io.BytesIO(b"0" * (256 * 1024 + 1)), "big.bin"))
    assert too_big.value.status == 413 and too_big.value.code == 40005
    assert [v.kind for v in fake.pop_violations()] == ["invalid_form_body", "entity_too_large"]
    assert fake.messages(world.general) == []


async def test_gateway_close_4000_resumes_and_replays(world: World, bot: ThrowawayBot) -> None:
    fake = world.fake
    await fake.close_gateway(4000)
    missed = await fake.slash(world.alice, world.general, "hello")  # sent while the socket is down
    await fake.wait_for_resume()
    assert (await missed.wait_response()).content == "hello alice"
    resume = next(f for f in fake.gateway.received if f["op"] == 6)
    session = fake.gateway.sessions[resume["d"]["session_id"]]
    sent = [json.loads(text) for _, text in session.events]
    seq_of: dict[str, int] = {}
    for frame in sent:
        seq_of.setdefault(frame["t"], frame["s"])
    assert resume["d"]["seq"] < seq_of["INTERACTION_CREATE"] < seq_of["RESUMED"]  # replayed on RESUME
    assert fake.gateway.identify_count == 1
    again = await fake.slash(world.alice, world.general, "hello")
    assert (await again.wait_response()).content == "hello alice"


async def test_reconnect_and_invalid_session(world: World, bot: ThrowawayBot) -> None:
    fake = world.fake
    await fake.send_reconnect()  # op 7: discord.py resumes
    await fake.wait_for_resume()
    await fake.invalidate_session()  # op 9 d=false: discord.py identifies again (no 5 s wait)
    await fake.wait_for_identify(2)
    handle = await fake.slash(world.alice, world.general, "hello")
    assert (await handle.wait_response()).content == "hello alice"


async def test_simulator_refuses_what_discord_would(world: World, bot: ThrowawayBot) -> None:
    fake = world.fake
    with pytest.raises(ClientRefusal, match="no option 'colour'"):
        await fake.slash(world.alice, world.general, "report", title="eggs", colour="red")
    with pytest.raises(ClientRefusal, match=r"length 21 is outside 1\.\.20"):
        await fake.slash(world.alice, world.general, "report", title="x" * 21)
    with pytest.raises(ClientRefusal, match="missing required"):
        await fake.slash(world.alice, world.general, "report")
    with pytest.raises(ClientRefusal, match="not an integer"):
        await fake.slash(world.alice, world.general, "report", title="eggs", rows="three")
    with pytest.raises(ClientRefusal, match="not a synced command"):
        await fake.slash(world.alice, world.general, "imagine")
    assert fake.interactions == {}
    # A modified client gets through; discord.py does not re-check string lengths itself.
    handle = await fake.slash(world.alice, world.general, "report", title="x" * 21, colour="red", validate=False)
    await handle.wait_response()
    option_names = [o["name"] for o in handle.payload["data"]["options"]]
    assert option_names == ["title", "colour"]


async def test_default_member_permissions_and_subcommand_groups(
    world: World, bot: ThrowawayBot, carol: FakeMember
) -> None:
    fake = world.fake
    assert "quota" not in fake.visible_commands(world.bob, world.general)
    assert "quota" in fake.visible_commands(carol, world.general)
    with pytest.raises(ClientRefusal, match="default_member_permissions"):
        await fake.slash(world.bob, world.general, "quota", "me")
    with pytest.raises(ClientRefusal, match="needs a subcommand"):
        await fake.slash(carol, world.general, "quota admin")
    handle = await fake.slash(carol, world.general, "quota admin set", member=world.bob, limit=7)
    assert (await handle.wait_response()).content == "bob -> 7"
    options = handle.payload["data"]["options"]
    assert options[0]["name"] == "admin" and options[0]["options"][0]["name"] == "set"
    assert str(world.bob.id) in handle.payload["data"]["resolved"]["members"]
    # Discord hides the command from bob; a modified client reaches the bot, which has no runtime check.
    sneaky = await fake.slash(world.bob, world.general, "quota", "me", validate=False)
    assert (await sneaky.wait_response()).content == "you have 10 left"


async def test_dm_context(world: World, bot: ThrowawayBot) -> None:
    fake = world.fake
    dm = fake.dm_channel_for(world.alice)
    handle = await fake.slash(world.alice, dm, "ping")
    assert (await handle.wait_response()).content == "pong"
    assert "member" not in handle.payload and handle.payload["context"] == 1
    with pytest.raises(ClientRefusal, match="guild command"):
        await fake.slash(world.alice, dm, "hello")


async def test_thread_interaction(world: World, bot: ThrowawayBot) -> None:
    fake = world.fake
    handle = await fake.slash(world.alice, world.thread, "ping")
    msg = await handle.wait_response()
    assert msg.channel_id == world.thread.id and handle.payload["channel"]["parent_id"] == str(world.general.id)


async def test_fault_injection(world: World, bot: ThrowawayBot) -> None:
    fake = world.fake
    channel = bot.get_channel(world.general.id)
    assert isinstance(channel, discord.TextChannel)
    rule = fake.fail_next("POST", r"^/channels/\d+/messages$", 403, {"message": "Missing Access", "code": 50001})
    with pytest.raises(discord.Forbidden) as refused:
        await channel.send("blocked once")
    assert refused.value.code == 50001 and rule.hits == 1
    slow = fake.delay_next("POST", r"/typing$", 0.05)
    await channel.typing()
    assert slow.hits == 1
    assert (await channel.send("works again")).content == "works again"


async def test_modal_select_autocomplete_and_context_menu(world: World, bot: ThrowawayBot) -> None:
    fake = world.fake
    opened = await fake.slash(world.alice, world.general, "feedback")
    assert (await opened.wait_ack()).type == 9 and opened.modal is not None
    with pytest.raises(ClientRefusal, match="required"):
        await fake.submit_modal(world.alice, opened, {"feedback:text": ""})
    assert {name: field["label"] for name, field in opened.modal_fields.items()} == {
        "feedback:text": "Your feedback",
        "feedback:mood": "Mood",
    }
    submitted = await fake.submit_modal(world.alice, opened, {"feedback:text": "lovely", "feedback:mood": "happy"})
    thanks = await submitted.wait_response()
    assert thanks.content == "thanks: lovely (happy)"
    # As the spec wants: the answer to a modal submit names the interaction that opened the modal.
    assert thanks.interaction_metadata is not None and thanks.interaction_metadata["type"] == 5
    assert thanks.interaction_metadata["triggering_interaction_metadata"]["id"] == str(opened.id)

    offer = await fake.slash(world.alice, world.general, "pick")
    menu = await offer.wait_response()
    assert [s.options for s in menu.selects] == [("brown", "white")]
    with pytest.raises(ClientRefusal, match="no option"):
        await fake.select(world.bob, menu, "pick:egg", ["green"])
    chosen = await fake.select(world.bob, menu, "pick:egg", ["white"])
    assert (await chosen.wait_ack()).type == 7 and menu.content == "picked white" and menu.selects == []

    typing = await fake.autocomplete(world.alice, world.general, "flavor", focused="name", name="s")
    assert (await typing.wait_ack()).type == 8
    assert [c["value"] for c in typing.choices or []] == ["salted", "spicy", "sweet"]

    waved = await fake.context_menu(world.alice, world.general, "Wave", world.bob)
    assert (await waved.wait_response()).content == "alice waves at bob"


async def test_fetch_user_and_dm(world: World, bot: ThrowawayBot) -> None:
    fake = world.fake
    user = await bot.fetch_user(world.bob.id)
    assert user.name == "bob"
    await user.send("your images are ready")
    dm = fake.dm_channel_for(world.bob)
    assert fake.last_message(dm).content == "your images are ready"  # type: ignore[union-attr]
    with pytest.raises(discord.NotFound):
        await bot.fetch_user(123)


async def test_fetch_member_needs_no_members_intent(world: World, bot: ThrowawayBot) -> None:
    fake = world.fake
    nicked = fake.add_member(world.guild, fake.add_user("carol", global_name="Carol C"), nick="Caz")
    guild = bot.get_guild(world.guild.id)
    assert guild is not None and guild.get_member(nicked.id) is None  # not cached without the intent
    member = await guild.fetch_member(nicked.id)
    assert (member.name, member.global_name, member.nick, member.display_name) == ("carol", "Carol C", "Caz", "Caz")
    assert (await guild.fetch_member(world.alice.id)).display_name == "alice"
    fake.remove_member(world.guild, nicked)
    with pytest.raises(discord.NotFound) as left:
        await guild.fetch_member(nicked.id)
    assert left.value.code == 10007 and left.value.text == "Unknown Member"
    assert {r.route for r in fake.requests if "/members/" in r.path} == {"GET /guilds/{gid}/members/{uid}"}
    assert_clean(fake)


async def test_expired_token_is_refused(world: World, bot: ThrowawayBot) -> None:
    fake = world.fake
    handle = await fake.slash(world.alice, world.general, "gated")
    placeholder = await handle.wait_response(final=False)
    assert placeholder.loading and placeholder.ephemeral
    handle.expire()  # as if 15 minutes had passed
    bot.gate.set()
    refused = await fake.wait_for_request(lambda r: r.method == "PATCH")
    assert refused.status == 401 and refused.response["code"] == 50027
    assert bot.seen_codes == [50027] and placeholder.loading
    assert [v.kind for v in fake.pop_violations()] == ["token_expired"]


async def test_world_changes_and_user_messages_reach_the_bot(world: World, bot: ThrowawayBot) -> None:
    fake = world.fake
    created = asyncio.ensure_future(bot.wait_for("guild_channel_create"))
    news = fake.add_channel(world.guild, "news")
    assert (await asyncio.wait_for(created, 5)).id == news.id
    received = asyncio.ensure_future(bot.wait_for("message"))
    await fake.say(world.alice, world.general, "hello bot")
    message = await asyncio.wait_for(received, 5)
    assert message.author.id == world.alice.id and message.content == ""  # no MESSAGE_CONTENT intent
    received = asyncio.ensure_future(bot.wait_for("message"))
    await fake.say(world.alice, world.general, f"hi {fake.bot_user.mention}")
    assert (await asyncio.wait_for(received, 5)).content == f"hi {fake.bot_user.mention}"
    with pytest.raises(WaitTimeout, match="never"):
        await fake.wait_for(lambda f: None, timeout=0.01, what="never")


async def test_members_intent_and_chunking(world: World) -> None:
    intents = discord.Intents.default()
    intents.members = True
    members_bot = ThrowawayBot(world.guild.id, intents)
    async with run_bot(members_bot, world.fake):
        guild = members_bot.get_guild(world.guild.id)
        assert guild is not None and guild.get_member(world.alice.id) is not None
        chunked = await guild.chunk()
        assert {m.name for m in chunked} >= {"alice", "bob", "carol", "EggBot"}
    assert any(f["op"] == 8 for f in world.fake.gateway.received)
    world.fake.allowed_intents = 0  # the application lost its privileged intents
    with pytest.raises(discord.PrivilegedIntentsRequired):
        async with run_bot(ThrowawayBot(world.guild.id, intents), world.fake):
            pass
    assert_clean(world.fake)


async def test_channel_and_role_options(world: World, bot: ThrowawayBot, carol: FakeMember) -> None:
    fake = world.fake
    role = carol.roles[0]
    with pytest.raises(ClientRefusal, match="channel type 0"):
        await fake.slash(world.alice, world.general, "inspect", where=world.general, role=role)
    handle = await fake.slash(world.alice, world.general, "inspect", where=world.thread, role=role.id)
    assert (await handle.wait_response()).content == f"eggs-thread in {world.general.id}, carol-perms"
    resolved = handle.payload["data"]["resolved"]
    assert resolved["channels"][str(world.thread.id)]["permissions"] == handle.payload["member"]["permissions"]


async def test_localizations_are_validated_like_discord(world: World, bot: ThrowawayBot) -> None:
    fake = world.fake

    def command(**localized: Any) -> dict[str, Any]:
        option = {"type": 3, "name": "prompt", "description": "d", "name_localizations": localized.get("option")}
        choice = {"name": "day", "value": "day", "name_localizations": localized.get("choice")}
        option["choices"] = [choice]
        return {
            "name": "imagine",
            "description": "d",
            "type": 1,
            "name_localizations": localized.get("name"),
            "description_localizations": localized.get("description"),
            "options": [option],
        }

    refused = [
        command(name={"de_DE": "bild"}),  # not one of Discord's locales
        command(name={"de": "Bild Machen"}),  # a name: lower case, no spaces
        command(description={"fr": "x" * 101}),
        command(option={"fr": "prompt négatif"}),
        command(choice={"xx": "jour"}),
    ]
    for body in refused:
        with pytest.raises(discord.HTTPException) as raw:
            await bot.http.bulk_upsert_guild_commands(fake.application_id, world.guild.id, payload=[body])
        assert raw.value.code == 50035, body
    errors = [request.response["errors"]["0"] for request in fake.requests[-5:]]
    assert errors[0]["name_localizations"]["de_DE"]["_errors"][0]["code"] == "BASE_TYPE_CHOICES"
    assert errors[1]["name_localizations"]["_errors"][0]["code"] == "APPLICATION_COMMAND_INVALID_NAME"
    assert errors[2]["description_localizations"]["fr"]["_errors"][0]["code"] == "BASE_TYPE_BAD_LENGTH"
    option_error = errors[3]["options"]["0"]["name_localizations"]["fr"]["_errors"][0]
    assert option_error["code"] == "APPLICATION_COMMAND_INVALID_NAME"
    assert errors[4]["options"]["0"]["choices"]["0"]["name_localizations"]["xx"]["_errors"][0]["code"] == (
        "BASE_TYPE_CHOICES"
    )
    assert [v.kind for v in fake.pop_violations()] == ["invalid_form_body"] * 5

    good = command(
        name={"de": "bild", "fr": "imaginer"},
        description={"de": "Bilder", "fr": "Des images"},
        option={"fr": "prompt_négatif"},
        choice={"de": "Tag", "fr": "jour"},
    )
    await bot.http.bulk_upsert_guild_commands(fake.application_id, world.guild.id, payload=[good])
    [stored] = fake.commands_for(world.guild.id)
    assert stored["name_localizations"] == {"de": "bild", "fr": "imaginer"}
    assert stored["options"][0]["choices"][0]["name_localizations"] == {"de": "Tag", "fr": "jour"}
    assert_clean(fake)


async def test_allowed_mentions_are_validated_like_the_spec(world: World, bot: ThrowawayBot) -> None:
    fake = world.fake
    channel = bot.get_channel(world.general.id)
    assert isinstance(channel, discord.TextChannel)
    alice = discord.Object(world.alice.id)
    with pytest.raises(discord.HTTPException) as duplicate:
        await channel.send("hi", allowed_mentions=discord.AllowedMentions(users=[alice, alice]))
    assert duplicate.value.status == 400 and duplicate.value.code == 50035
    with pytest.raises(discord.HTTPException) as too_many:
        crowd = [discord.Object(n) for n in range(101)]
        await channel.send("hi", allowed_mentions=discord.AllowedMentions(users=crowd))
    assert too_many.value.code == 50035
    route = discord.http.Route("POST", "/channels/{channel_id}/messages", channel_id=world.general.id)
    with pytest.raises(discord.HTTPException) as exclusive:
        await bot.http.request(
            route, json={"content": "hi", "allowed_mentions": {"parse": ["users"], "users": [str(world.alice.id)]}}
        )
    assert exclusive.value.code == 50035 and "mutually exclusive" in str(exclusive.value)
    assert [v.kind for v in fake.pop_violations()] == ["invalid_form_body"] * 3
    await channel.send("ok", allowed_mentions=discord.AllowedMentions(users=[alice]))
    await bot.http.request(route, json={"content": "ok", "allowed_mentions": {"parse": ["users"], "users": []}})
    assert [m.content for m in fake.messages(world.general)] == ["ok", "ok"]
    assert_clean(fake)


def test_modals_are_checked_against_the_spec() -> None:
    def text_input(**fields: Any) -> dict[str, Any]:
        return {"type": 4, "custom_id": "prompt", "style": 2, **fields}

    def refusal(**changes: Any) -> dict[str, Any]:
        modal: dict[str, Any] = {
            "custom_id": "egg:editm:1:2",
            "title": "Edit image 2 of job #1",
            "components": [{"type": 18, "label": "Prompt", "component": text_input(max_length=2000)}],
        }
        modal.update(changes)
        try:
            validate_modal(modal)
        except DiscordHTTPError as exc:
            assert exc.status == 400 and exc.code == 50035
            return cast(dict[str, Any], exc.body()["errors"])
        return {}

    assert refusal() == {}
    assert refusal(components=[{"type": 1, "components": [text_input(label="Prompt")]}]) == {}
    assert "title" in refusal(title="x" * 46)["data"]
    assert refusal(components=[])["data"]["components"]
    assert refusal(components=[{"type": 10, "content": "Read me"}] * 6)["data"]["components"]
    label = {"type": 18, "label": "x" * 46, "component": text_input()}
    assert "label" in refusal(components=[label])["data"]["components"]["0"]
    too_long = {"type": 18, "label": "Prompt", "component": text_input(max_length=10, value="x" * 11)}
    assert "value" in refusal(components=[too_long])["data"]["components"]["0"]["component"]
    limits = {"type": 18, "label": "Prompt", "component": text_input(min_length=5, max_length=4001)}
    assert set(refusal(components=[limits])["data"]["components"]["0"]["component"]) == {"max_length"}
    nameless = {"type": 1, "components": [text_input()]}  # a classic input must be labelled
    assert "label" in refusal(components=[nameless])["data"]["components"]["0"]["components"]["0"]
    twice = [
        {"type": 18, "label": "A", "component": text_input()},
        {"type": 18, "label": "B", "component": text_input()},
    ]
    assert refusal(components=twice)["data"]["components"]["_errors"][0]["code"] == "COMPONENT_CUSTOM_ID_DUPLICATED"
    button = {"type": 18, "label": "Go", "component": {"type": 2, "style": 1, "custom_id": "go", "label": "Go"}}
    assert "component" in refusal(components=[button])["data"]["components"]["0"]


async def test_the_routes_doctor_reads_answer_like_discord() -> None:
    """``GET /users/@me/guilds`` (paged, with server-wide permissions), a server's channels (no threads) and roles."""
    async with FakeDiscord() as fake:
        first, second = fake.add_guild("First"), fake.add_guild("Second")
        general = fake.add_channel(first, "general")
        fake.add_thread(general, "a thread")
        headers = {"Authorization": f"Bot {fake.token}"}
        async with aiohttp.ClientSession(headers=headers) as session:

            async def get(path: str, **params: str) -> tuple[int, Any]:
                async with session.get(fake.api_base + path, params=params) as response:
                    return response.status, await response.json()

            status, page = await get("/users/@me/guilds", limit="1")
            assert status == 200 and [g["name"] for g in page] == ["First"]
            assert set(page[0]) >= {"id", "name", "icon", "banner", "owner", "permissions", "features"}
            assert int(page[0]["permissions"]) == DEFAULT_BOT_PERMISSIONS | DEFAULT_EVERYONE_PERMISSIONS
            status, page = await get("/users/@me/guilds", after=page[0]["id"])
            assert [g["id"] for g in page] == [str(second.id)]
            status, channels = await get(f"/guilds/{first.id}/channels")
            assert status == 200 and [c["name"] for c in channels] == ["general"]
            assert {"id", "type", "flags", "guild_id", "name", "position", "permission_overwrites"} <= set(channels[0])
            status, roles = await get(f"/guilds/{first.id}/roles")
            assert status == 200 and str(first.id) in [r["id"] for r in roles]
            status, body = await get("/guilds/123/channels")
            assert status == 404 and body["code"] == 10004
        assert_clean(fake)


async def test_bots_stopping_in_any_order_leave_discord_py_pointed_at_discord() -> None:
    """Shards start together and stop in any order; the real URLs come back once the last one stops."""
    real = (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
    async with running_world() as world:
        first, second = ThrowawayBot(world.guild.id), ThrowawayBot(world.guild.id)
        outer = run_bot(first, world.fake)
        await outer.__aenter__()
        async with run_bot(second, world.fake):
            await outer.__aexit__(None, None, None)  # the first one started stops first
            assert discord.http.Route.BASE == world.fake.api_base  # the second still needs the fake
    assert (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY) == real
