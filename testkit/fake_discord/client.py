"""Discord *client* simulator: what a user can do in the Discord app, as INTERACTION_CREATE events.

Used through :class:`testkit.fake_discord.FakeDiscord` (``fake.slash``, ``fake.click``...);
see that module's docstring for the guide. Payloads are built from the commands the bot really
synced, so a renamed option or a command that was never synced fails the test the way the Discord
app would refuse it (:class:`ClientRefusal`). ``validate=False`` skips those client-side checks to
simulate a modified client and exercise the bot's own validation.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .interaction import InteractionHandle
from .models import (
    ALL_PERMISSIONS,
    DM_PERMISSIONS,
    PERMISSIONS,
    FakeChannel,
    FakeMember,
    FakeRole,
    FakeUser,
    base_permissions,
    channel_permissions,
)
from .records import SELECT_TYPES, FakeMessage, iter_components

if TYPE_CHECKING:
    from .server import FakeDiscord

MAX_SAFE_INTEGER = 2**53
OPTION_TYPE_NAMES = {
    1: "subcommand",
    2: "subcommand group",
    3: "string",
    4: "integer",
    5: "boolean",
    6: "user",
    7: "channel",
    8: "role",
    9: "mentionable",
    10: "number",
    11: "attachment",
}


class ClientRefusal(AssertionError):
    """The real Discord app would not let the user do this (unknown command, bad option value, no permission...)."""


@dataclass(frozen=True)
class Upload:
    """A file a user attaches to an attachment option."""

    filename: str
    data: bytes
    content_type: str | None = None


UploadLike = Upload | tuple[str, bytes] | tuple[str, bytes, str | None]
Actor = FakeUser | FakeMember


def _user_of(actor: Actor) -> FakeUser:
    return actor.user if isinstance(actor, FakeMember) else actor


@dataclass
class _Resolved:
    viewer: FakeMember | None  # the invoking member: resolved channels carry their permissions
    users: dict[str, Any] = field(default_factory=dict)
    members: dict[str, Any] = field(default_factory=dict)
    roles: dict[str, Any] = field(default_factory=dict)
    channels: dict[str, Any] = field(default_factory=dict)
    attachments: dict[str, Any] = field(default_factory=dict)
    messages: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v and k != "viewer"}


class ClientSimulator:
    """Builds and dispatches interactions the way the Discord app would."""

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake

    # ------------------------------------------------------------------ commands

    def synced_command(self, channel: FakeChannel, name: str, ctype: int = 1) -> dict[str, Any] | None:
        """The synced command a user in ``channel`` would pick (guild commands first, then global)."""
        candidates = list(self.fake.guild_commands.get(channel.guild.id, [])) if channel.guild else []
        candidates += self.fake.global_commands
        for command in candidates:
            if command["name"] == name and command.get("type", 1) == ctype:
                return command
        return None

    def unavailable_reason(self, command: Mapping[str, Any], user: Actor, channel: FakeChannel) -> str | None:
        """Why the command picker would hide ``command`` from this user here, or None if it is shown."""
        contexts = command.get("contexts")
        name = command["name"]
        if channel.guild is None:
            if command.get("guild_id"):
                return f"/{name} is a guild command and cannot be used in DMs"
            if contexts is None and command.get("dm_permission") is False:
                return f"/{name} has dm_permission=false"
            if contexts is not None and 1 not in contexts:
                return f"/{name} has contexts={contexts}, which excludes bot DMs (1)"
            return None
        member = channel.guild.member(_user_of(user))
        if member is None:
            return f"{_user_of(user).username} is not a member of {channel.guild.name}"
        if contexts is not None and 0 not in contexts:
            return f"/{name} has contexts={contexts}, which excludes guilds (0)"
        if command.get("integration_types") is not None and 0 not in command["integration_types"]:
            return f"/{name} is not installed to guilds (integration_types={command['integration_types']})"
        required = command.get("default_member_permissions")
        perms = base_permissions(member)
        needed = None if required is None else int(required)
        if needed is not None and perms != ALL_PERMISSIONS and (needed == 0 or perms & needed != needed):
            return f"{member.username} lacks default_member_permissions={required} for /{name}"
        if command.get("nsfw") and not channel.nsfw:
            return f"/{name} is age-restricted and #{channel.name} is not"
        if not channel_permissions(member, channel) & PERMISSIONS["USE_APPLICATION_COMMANDS"]:
            return f"{member.username} lacks USE_APPLICATION_COMMANDS in #{channel.name}"
        return None

    def visible_commands(self, user: Actor, channel: FakeChannel) -> list[str]:
        """Names of the chat-input commands the user's command picker shows in ``channel``."""
        names = []
        candidates = list(self.fake.guild_commands.get(channel.guild.id, [])) if channel.guild else []
        for command in candidates + self.fake.global_commands:
            if command.get("type", 1) == 1 and self.unavailable_reason(command, user, channel) is None:
                names.append(command["name"])
        return sorted(set(names))

    async def slash(
        self,
        user: Actor,
        channel: FakeChannel,
        command: str,
        path: Sequence[str],
        values: Mapping[str, Any],
        *,
        validate: bool = True,
        focused: str | None = None,
        locale: str | None = None,
    ) -> InteractionHandle:
        """Dispatch ``/command [path...] name=value...`` (type 2, or type 4 when ``focused`` is set)."""
        words = command.split() + list(path)
        name, sub = words[0], words[1:]
        synced = self.synced_command(channel, name)
        if synced is None and validate:
            where = (
                "a guild command, not available in DMs"
                if channel.guild is None
                and any(c["name"] == name for cmds in self.fake.guild_commands.values() for c in cmds)
                else "not a synced command in this channel"
            )
            hint = "" if self.fake.sync_count else " (nothing synced yet: wait for fake.sync_count)"
            raise ClientRefusal(f"/{name} is {where}; the user can pick {self.visible_commands(user, channel)}{hint}")
        if synced is not None and validate:
            reason = self.unavailable_reason(synced, user, channel)
            if reason:
                raise ClientRefusal(reason)
        resolved = _Resolved(self._viewer(user, channel))
        options = self._options(synced, name, sub, values, validate, channel, resolved, focused)
        data: dict[str, Any] = {
            "id": synced["id"] if synced else str(self.fake.new_id()),
            "name": name,
            "type": 1,
            "options": options,
        }
        if synced is not None and synced.get("guild_id"):
            data["guild_id"] = synced["guild_id"]
        if resolved.to_json():
            data["resolved"] = resolved.to_json()
        itype = 4 if focused else 2
        handle = self._new(
            itype,
            user,
            channel,
            data,
            validate=validate,
            command_name=" ".join([name, *sub]),
            command_type=1,
            locale=locale,
        )
        return await self._dispatch(handle)

    def _options(
        self,
        synced: Mapping[str, Any] | None,
        name: str,
        sub: list[str],
        values: Mapping[str, Any],
        validate: bool,
        channel: FakeChannel,
        resolved: _Resolved,
        focused: str | None,
    ) -> list[Any]:
        defs: list[Mapping[str, Any]] = list((synced or {}).get("options") or [])
        wrappers: list[tuple[str, int]] = []
        leaf_defs = defs
        for word in sub:
            found = next((o for o in leaf_defs if o.get("name") == word and o.get("type") in (1, 2)), None)
            if found is None:
                if validate:
                    choices = [o["name"] for o in leaf_defs if o.get("type") in (1, 2)]
                    raise ClientRefusal(f"/{name} has no subcommand {word!r} here; it has {choices}")
                wrappers.append((word, 2 if len(wrappers) + 1 < len(sub) else 1))
                leaf_defs = []
                continue
            wrappers.append((word, int(found["type"])))
            leaf_defs = list(found.get("options") or [])
        if validate and any(o.get("type") in (1, 2) for o in leaf_defs):
            choices = [o["name"] for o in leaf_defs if o.get("type") in (1, 2)]
            raise ClientRefusal(f"/{' '.join([name, *sub])} needs a subcommand: one of {choices}")
        by_name = {o["name"]: o for o in leaf_defs}
        entries: list[dict[str, Any]] = []
        for key, value in values.items():
            definition = by_name.get(key)
            if definition is None and validate:
                raise ClientRefusal(f"/{' '.join([name, *sub])} has no option {key!r}; it has {sorted(by_name)}")
            otype = int(definition["type"]) if definition else _guess_type(value)
            is_focused = key == focused
            entry: dict[str, Any] = {"name": key, "type": otype}
            if is_focused:
                entry["value"] = value if isinstance(value, str) else str(value)
                entry["focused"] = True
                if validate and definition is not None and not definition.get("autocomplete"):
                    raise ClientRefusal(f"option {key!r} of /{name} has no autocomplete")
            else:
                entry["value"] = self._convert(definition or {"name": key}, otype, value, validate, channel, resolved)
            entries.append(entry)
        if validate and focused is None:
            missing = [o["name"] for o in leaf_defs if o.get("required") and o["name"] not in values]
            if missing:
                raise ClientRefusal(f"/{' '.join([name, *sub])} is missing required option(s) {missing}")
        order = {n: i for i, n in enumerate(by_name)}
        entries.sort(key=lambda e: order.get(e["name"], len(order)))
        for word, wtype in reversed(wrappers):
            entries = [{"name": word, "type": wtype, "options": entries}]
        return entries

    def _convert(
        self,
        definition: Mapping[str, Any],
        otype: int,
        value: Any,
        validate: bool,
        channel: FakeChannel,
        resolved: _Resolved,
    ) -> Any:
        name = definition.get("name")

        def refuse(why: str) -> ClientRefusal:
            return ClientRefusal(f"option {name!r} ({OPTION_TYPE_NAMES.get(otype, otype)}): {why}")

        if otype in (3, 4, 10):
            if validate:
                _check_scalar(definition, otype, value, refuse)
            return value
        if otype in (6, 7, 8, 9) and isinstance(value, int) and not isinstance(value, bool):
            value = self._entity(value, channel) or value
        if otype == 5:
            if validate and not isinstance(value, bool):
                raise refuse(f"{value!r} is not a boolean")
            return value
        if otype in (6, 9) and isinstance(value, (FakeUser, FakeMember)):
            user = _user_of(value)
            resolved.users[str(user.id)] = user.to_json()
            member = channel.guild.member(user) if channel.guild else None
            if member is not None:
                resolved.members[str(user.id)] = member.to_json(
                    with_user=False, permissions=channel_permissions(member, channel)
                )
            return str(user.id)
        if otype in (8, 9) and isinstance(value, FakeRole):
            resolved.roles[str(value.id)] = value.to_json()
            return str(value.id)
        if otype == 7 and isinstance(value, FakeChannel):
            allowed = definition.get("channel_types")
            if validate and allowed and value.type not in allowed:
                raise refuse(f"channel type {value.type} is not one of {allowed}")
            viewer = resolved.viewer
            perms = channel_permissions(viewer, value) if viewer and value.guild else DM_PERMISSIONS
            data = value.to_json(bot_user=self.fake.bot_user, permissions=perms)
            resolved.channels[str(value.id)] = data
            return str(value.id)
        if otype == 11 and isinstance(value, (Upload, tuple)):
            upload = value if isinstance(value, Upload) else Upload(*value)
            limit = channel.guild.filesize_limit if channel.guild else self.fake.dm_filesize_limit
            if validate and len(upload.data) > limit:
                raise refuse(f"{upload.filename} is {len(upload.data)} bytes; the upload limit is {limit}")
            stored = self.fake.transcript.store_upload(
                upload.filename, upload.data, upload.content_type, ephemeral=True
            )
            resolved.attachments[str(stored.id)] = self.fake.transcript.attachment_json(stored)
            return str(stored.id)
        if validate:
            raise refuse(f"{value!r} cannot be given to this option type")
        return value if isinstance(value, (str, int, float, bool)) else str(value)

    def _viewer(self, user: Actor, channel: FakeChannel) -> FakeMember | None:
        return channel.guild.member(_user_of(user)) if channel.guild else None

    def _entity(self, entity_id: int, channel: FakeChannel) -> FakeUser | FakeRole | FakeChannel | None:
        """The user, role or channel with this id (for options given as plain ids)."""
        fake = self.fake
        if entity_id in fake.users:
            return fake.users[entity_id]
        if channel.guild is not None and entity_id in channel.guild.roles:
            return channel.guild.roles[entity_id]
        return fake.channels.get(entity_id)

    async def context_menu(
        self, user: Actor, channel: FakeChannel, name: str, target: Actor | FakeMessage, *, validate: bool = True
    ) -> InteractionHandle:
        """Dispatch a user (type 2) or message (type 3) context-menu command on ``target``."""
        ctype = 3 if isinstance(target, FakeMessage) else 2
        synced = self.synced_command(channel, name, ctype)
        if validate:
            if synced is None:
                raise ClientRefusal(f"no synced {'message' if ctype == 3 else 'user'} command {name!r} here")
            reason = self.unavailable_reason(synced, user, channel)
            if reason:
                raise ClientRefusal(reason)
        resolved = _Resolved(self._viewer(user, channel))
        if isinstance(target, FakeMessage):
            resolved.messages[str(target.id)] = self.fake.transcript.to_json(target)
            target_id = target.id
        else:
            target_id = int(self._convert({"name": "target"}, 6, target, False, channel, resolved))
        data: dict[str, Any] = {
            "id": synced["id"] if synced else str(self.fake.new_id()),
            "name": name,
            "type": ctype,
            "target_id": str(target_id),
            "resolved": resolved.to_json(),
        }
        if synced is not None and synced.get("guild_id"):
            data["guild_id"] = synced["guild_id"]
        handle = self._new(2, user, channel, data, validate=validate, command_name=name, command_type=ctype)
        return await self._dispatch(handle)

    # ------------------------------------------------------------------ components

    def _component(
        self, user: Actor, message: FakeMessage | int, custom_id: str, types: Iterable[int], validate: bool
    ) -> tuple[FakeMessage, Mapping[str, Any] | None]:
        msg = message if isinstance(message, FakeMessage) else self.fake.message(message)
        comp = next(
            (
                c
                for c in iter_components(msg.components)
                if c.get("custom_id") == custom_id and c.get("type") in set(types)
            ),
            None,
        )
        if validate:
            uid = _user_of(user).id
            if msg.deleted or not msg.visible_for(uid):
                raise ClientRefusal(f"{_user_of(user).username} cannot see message {msg.id}")
            if msg.author.id != self.fake.bot_user.id:
                raise ClientRefusal(f"message {msg.id} was not sent by the bot")
            if comp is None:
                raise ClientRefusal(f"message {msg.id} has no such component {custom_id!r}: {msg.summary()}")
            if comp.get("disabled"):
                raise ClientRefusal(f"component {custom_id!r} on message {msg.id} is disabled")
        return msg, comp

    async def click(
        self, user: Actor, message: FakeMessage | int, custom_id: str, *, validate: bool = True
    ) -> InteractionHandle:
        """Click a button: dispatches type 3 with the full message payload."""
        msg, comp = self._component(user, message, custom_id, (2,), validate)
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": 2}
        if comp is not None and comp.get("id") is not None:
            data["id"] = comp["id"]
        return await self._component_interaction(user, msg, data, validate)

    async def select(
        self, user: Actor, message: FakeMessage | int, custom_id: str, values: Sequence[Any], *, validate: bool = True
    ) -> InteractionHandle:
        """Choose ``values`` in a select menu (strings for string selects; users/roles/channels for the others)."""
        msg, comp = self._component(user, message, custom_id, SELECT_TYPES, validate)
        ctype = int(comp["type"]) if comp else 3
        channel = self.fake.channels[msg.channel_id]
        resolved = _Resolved(self._viewer(user, channel))
        if ctype == 3:
            raw = [str(v) for v in values]
        else:
            kind = {5: 6, 6: 8, 7: 9, 8: 7}[ctype]
            raw = [
                self._convert(
                    {"name": custom_id}, kind if not isinstance(v, FakeChannel) else 7, v, False, channel, resolved
                )
                for v in values
            ]
        if validate and comp is not None:
            low, high = int(comp.get("min_values", 1)), int(comp.get("max_values", 1))
            if not low <= len(raw) <= high:
                raise ClientRefusal(f"select {custom_id!r} takes {low}..{high} values, got {len(raw)}")
            options = {str(o.get("value")) for o in comp.get("options") or []}
            if ctype == 3 and not set(raw) <= options:
                raise ClientRefusal(f"select {custom_id!r} has no option(s) {sorted(set(raw) - options)}")
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": ctype, "values": raw}
        if resolved.to_json():
            data["resolved"] = resolved.to_json()
        return await self._component_interaction(user, msg, data, validate)

    async def _component_interaction(
        self, user: Actor, msg: FakeMessage, data: dict[str, Any], validate: bool
    ) -> InteractionHandle:
        channel = self.fake.channels[msg.channel_id]
        handle = self._new(3, user, channel, data, validate=validate, source_message=msg, custom_id=data["custom_id"])
        handle.payload["message"] = self.fake.transcript.to_json(msg)
        return await self._dispatch(handle)

    async def submit_modal(
        self, user: Actor, source: InteractionHandle, values: Mapping[str, Any], *, validate: bool = True
    ) -> InteractionHandle:
        """Fill in and submit the modal the bot opened in answer to ``source`` (callback type 9)."""
        modal = source.modal
        if validate:
            if modal is None:
                raise ClientRefusal(f"{source.describe()} did not open a modal (callback {source.callback!r})")
            if source.modal_submitted:
                raise ClientRefusal("this modal was already submitted and is closed")
            if _user_of(user).id != source.user.id:
                raise ClientRefusal("only the user who opened the modal can submit it")
        modal = modal or {"custom_id": "unknown", "components": []}
        fields = [c for c in iter_components(modal.get("components") or []) if c.get("type") in (4, 3)]
        if validate:
            known = {str(c.get("custom_id")) for c in fields}
            unknown = set(values) - known
            if unknown:
                raise ClientRefusal(f"the modal has no input(s) {sorted(unknown)}; it has {sorted(known)}")
            for c in fields:
                if c.get("type") != 4:
                    continue
                text = str(values.get(c["custom_id"], c.get("value") or ""))
                if c.get("required", True) and not text:
                    raise ClientRefusal(f"modal input {c['custom_id']!r} is required")
                if text and not int(c.get("min_length", 0)) <= len(text) <= int(c.get("max_length", 4000)):
                    raise ClientRefusal(
                        f"modal input {c['custom_id']!r} must be "
                        f"{c.get('min_length', 0)}..{c.get('max_length', 4000)} characters"
                    )
        components = [_submitted(top, values) for top in modal.get("components") or []]
        data = {"custom_id": modal.get("custom_id"), "components": [c for c in components if c is not None]}
        handle = self._new(
            5,
            user,
            source.channel,
            data,
            validate=validate,
            source_message=source.source_message,
            custom_id=str(modal.get("custom_id")),
        )
        if source.source_message is not None:
            handle.payload["message"] = self.fake.transcript.to_json(source.source_message)
        handle.opened_by = source
        source.modal_submitted = True
        return await self._dispatch(handle)

    # ------------------------------------------------------------------ plumbing

    def _new(
        self,
        itype: int,
        user: Actor,
        channel: FakeChannel,
        data: dict[str, Any],
        *,
        validate: bool,
        source_message: FakeMessage | None = None,
        command_name: str | None = None,
        command_type: int | None = None,
        custom_id: str | None = None,
        locale: str | None = None,
    ) -> InteractionHandle:
        fake = self.fake
        if not fake.gateway.sessions:
            raise RuntimeError("no gateway session: the bot is not connected to the fake")
        person = _user_of(user)
        guild = channel.guild
        if validate and channel.deleted:
            raise ClientRefusal(f"channel {channel.name} was deleted")
        iid = fake.new_id()
        payload: dict[str, Any] = {
            "id": str(iid),
            "application_id": str(fake.application_id),
            "type": itype,
            "token": f"fake-itok-{iid}-{secrets.token_hex(12)}",
            "version": 1,
            "data": data,
            "channel_id": str(channel.id),
            "locale": locale or person.locale,
            "entitlements": [],
            # Discord: the largest of the default, the server's boost limit and the user's Nitro limit.
            "attachment_size_limit": max(
                guild.filesize_limit if guild else fake.dm_filesize_limit, person.upload_limit or 0
            ),
        }
        member = None
        if guild is not None:
            member = guild.member(person)
            if member is None:
                raise ClientRefusal(f"{person.username} is not a member of {guild.name}")
            perms = channel_permissions(member, channel)
            if validate and not perms & PERMISSIONS["VIEW_CHANNEL"]:
                raise ClientRefusal(f"{person.username} cannot see #{channel.name}")
            bot_member = guild.member(fake.bot_user)
            payload.update(
                guild_id=str(guild.id),
                guild={"id": str(guild.id), "locale": guild.locale, "features": []},
                guild_locale=guild.locale,
                member=member.to_json(permissions=perms),
                channel=channel.to_json(bot_user=fake.bot_user, permissions=perms),
                app_permissions=str(channel_permissions(bot_member, channel) if bot_member else 0),
                authorizing_integration_owners={"0": str(guild.id)},
                context=0,
            )
        else:
            if validate and channel.recipient is not None and channel.recipient.id != person.id:
                raise ClientRefusal(f"{person.username} is not the recipient of DM channel {channel.id}")
            payload.update(
                user=person.to_json(),
                channel=channel.to_json(permissions=DM_PERMISSIONS),
                app_permissions=str(DM_PERMISSIONS),
                authorizing_integration_owners={"0": "0"},
                context=1,
            )
        return InteractionHandle(
            fake,
            type=itype,
            user=person,
            member=member,
            channel=channel,
            payload=payload,
            source_message=source_message,
            command_name=command_name,
            command_type=command_type,
            custom_id=custom_id,
        )

    async def _dispatch(self, handle: InteractionHandle) -> InteractionHandle:
        fake = self.fake
        fake.interactions[handle.id] = handle
        fake.interactions_by_token[handle.token] = handle
        loop = asyncio.get_running_loop()
        handle.dispatched_at = loop.time()
        handle._deadline = loop.call_later(fake.ack_deadline, handle._deadline_passed)
        await fake.gateway.dispatch("INTERACTION_CREATE", handle.payload)
        await fake.notify()
        return handle


def _guess_type(value: Any) -> int:
    if isinstance(value, bool):
        return 5
    if isinstance(value, int):
        return 4
    if isinstance(value, float):
        return 10
    if isinstance(value, (FakeUser, FakeMember)):
        return 6
    if isinstance(value, FakeRole):
        return 8
    if isinstance(value, FakeChannel):
        return 7
    if isinstance(value, (Upload, tuple)):
        return 11
    return 3


def _check_scalar(
    definition: Mapping[str, Any], otype: int, value: Any, refuse: Callable[[str], ClientRefusal]
) -> None:
    if otype == 3:
        if not isinstance(value, str):
            raise refuse(f"{value!r} is not a string")
        shortest, longest = int(definition.get("min_length", 0)), int(definition.get("max_length", 6000))
        if not shortest <= len(value) <= longest:
            raise refuse(f"length {len(value)} is outside {shortest}..{longest}")
    else:
        wanted = int if otype == 4 else (int, float)
        if isinstance(value, bool) or not isinstance(value, wanted):
            raise refuse(f"{value!r} is not {'an integer' if otype == 4 else 'a number'}")
        if otype == 4 and abs(value) > MAX_SAFE_INTEGER:
            raise refuse(f"{value} is outside Discord's integer range")
        low, high = definition.get("min_value"), definition.get("max_value")
        if (low is not None and value < low) or (high is not None and value > high):
            raise refuse(f"{value} is outside {low}..{high}")
    choices = definition.get("choices")
    if choices and value not in [c.get("value") for c in choices]:
        raise refuse(f"{value!r} is not one of the choices {[c.get('value') for c in choices]}")


def _submitted(top: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any] | None:
    """The part of a MODAL_SUBMIT payload for one top-level modal component."""

    def answer(comp: Mapping[str, Any]) -> dict[str, Any] | None:
        cid = str(comp.get("custom_id"))
        if comp.get("type") == 4:
            return {"type": 4, "custom_id": cid, "value": str(values.get(cid, comp.get("value") or ""))}
        if comp.get("type") in SELECT_TYPES:
            chosen = values.get(cid, [])
            return {
                "type": comp["type"],
                "custom_id": cid,
                "values": [str(v) for v in (chosen if isinstance(chosen, (list, tuple)) else [chosen])],
            }
        return None

    if top.get("type") == 1:
        inner = [a for a in (answer(c) for c in top.get("components") or []) if a is not None]
        return {"type": 1, "components": inner} if inner else None
    if top.get("type") == 18 and isinstance(top.get("component"), Mapping):
        inner_answer = answer(top["component"])
        return {"type": 18, "component": inner_answer} if inner_answer else None
    return None
