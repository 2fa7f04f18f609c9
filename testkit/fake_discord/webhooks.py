"""Interaction callback and interaction-webhook routes of the fake Discord.

Private helper module of :mod:`testkit.fake_discord`. Enforces the interaction rules:
one initial callback within ``ack_deadline`` seconds (else 404/10062), no second callback
(400/40060), no followup or ``@original`` before the callback (404/10015), token valid for
``token_ttl`` seconds (401/50027), and Discord's payload limits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .interaction import CallbackRecord
from .modals import validate_modal
from .models import MessageFlags
from .records import DiscordHTTPError, FakeMessage, RequestRecord
from .validation import FormErrors, validate_message

if TYPE_CHECKING:
    from .interaction import InteractionHandle
    from .server import FakeDiscord

# Callback types Discord accepts per interaction type (2 command, 3 component, 4 autocomplete, 5 modal).
ALLOWED_CALLBACKS = {2: {4, 5, 9}, 3: {4, 5, 6, 7, 9}, 4: {8}, 5: {4, 5, 6, 7}}
TRUTHY = ("1", "true", "True")


class WebhookRoutes:
    """Handlers for ``/interactions/...`` and ``/webhooks/{app}/{token}...``."""

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake

    # ------------------------------------------------------------------ callback

    async def callback(self, req: RequestRecord, iid: str, token: str) -> Any:
        """``POST /interactions/{id}/{token}/callback``."""
        fake = self.fake
        handle = fake.interactions.get(int(iid)) if iid.isdigit() else None
        if handle is None or handle.token != token:
            raise DiscordHTTPError(
                404,
                10062,
                "Unknown interaction",
                violation="unknown_interaction",
                detail=f"callback for unknown interaction {iid}",
            )
        if handle.callback is not None:
            raise DiscordHTTPError(
                400,
                40060,
                "Interaction has already been acknowledged.",
                violation="double_ack",
                detail=f"second callback for interaction {handle.describe()}",
            )
        latency = req.timestamp - handle.dispatched_at
        if latency > fake.ack_deadline:
            raise DiscordHTTPError(
                404,
                10062,
                "Unknown interaction",
                violation="unknown_interaction",
                detail=f"callback {latency:.3f}s after dispatch of {handle.describe()} (deadline {fake.ack_deadline}s)",
            )
        body = req.json if isinstance(req.json, dict) else {}
        raw_type = body.get("type")
        if (
            not isinstance(raw_type, int)
            or raw_type not in ALLOWED_CALLBACKS[handle.type]
            or (raw_type in (6, 7) and handle.source_message is None)
        ):
            errors = FormErrors()
            errors.add(
                ("type",),
                "INTERACTION_CALLBACK_TYPE_INVALID",
                f"Callback type {raw_type!r} is not valid for interaction type {handle.type}",
            )
            errors.raise_if_any()
        ctype: int = int(raw_type)  # type: ignore[arg-type]
        data: dict[str, Any] = body.get("data") or {}
        if handle.channel.deleted:
            raise DiscordHTTPError(404, 10003, "Unknown Channel")
        if ctype in (4, 7):
            validate_message(
                data, req.files, size_limit=handle.attachment_size_limit, creating=ctype == 4, keeps_content=ctype == 7
            )
        elif ctype == 9:
            validate_modal(data)
        elif ctype == 8:
            _validate_choices(data)
        message = self._apply_callback(handle, ctype, data, req)
        handle.callback = CallbackRecord(ctype, data, req.timestamp, latency)
        handle.cancel_deadline()
        if message is not None and ctype in (4, 5):
            await fake.transcript.announce("MESSAGE_CREATE", message)
        elif message is not None and ctype == 7:
            await fake.transcript.announce("MESSAGE_UPDATE", message)
        await fake.notify()
        if req.query.get("with_response") not in TRUTHY:
            return None
        interaction: dict[str, Any] = {"id": str(handle.id), "type": handle.type, "channel_id": str(handle.channel.id)}
        if handle.guild is not None:
            interaction["guild_id"] = str(handle.guild.id)
        if message is not None:
            interaction.update(
                response_message_id=str(message.id),
                response_message_loading=message.loading,
                response_message_ephemeral=message.ephemeral,
            )
        result: dict[str, Any] = {"interaction": interaction}
        if message is not None and ctype in (4, 7):
            result["resource"] = {"type": ctype, "message": fake.transcript.to_json(message)}
        return result

    def _apply_callback(
        self, handle: InteractionHandle, ctype: int, data: dict[str, Any], req: RequestRecord
    ) -> FakeMessage | None:
        fake = self.fake
        transcript = fake.transcript
        if ctype in (4, 5):
            ephemeral = bool(int(data.get("flags") or 0) & MessageFlags.EPHEMERAL)
            extra = (MessageFlags.EPHEMERAL if ephemeral else 0) | (MessageFlags.LOADING if ctype == 5 else 0)
            payload = data if ctype == 4 else {"content": ""}
            files = req.files if ctype == 4 else []
            message = transcript.create(
                handle.channel,
                fake.bot_user,
                payload,
                files,
                msg_type=handle.message_type,
                extra_flags=extra,
                visible_to=handle.user.id if ephemeral else None,
                interaction=handle,
            )
            handle.original_message_id = message.id
            return message
        if ctype == 6:
            return handle.source_message
        if ctype == 7:
            assert handle.source_message is not None
            transcript.edit(handle.source_message, data, req.files)
            return handle.source_message
        if ctype == 8:
            handle.choices = list(data.get("choices") or [])
        elif ctype == 9:
            handle.modal = data
        return None

    # ------------------------------------------------------------------ webhooks

    def _interaction(self, req: RequestRecord, app: str, token: str) -> InteractionHandle:
        fake = self.fake
        if app != str(fake.application_id):
            raise DiscordHTTPError(
                404,
                10015,
                "Unknown Webhook",
                violation="unknown_webhook",
                detail=f"webhook id {app} is not the application id",
            )
        handle = fake.interactions_by_token.get(token)
        if handle is None:
            raise DiscordHTTPError(
                401, 50027, "Invalid Webhook Token", violation="invalid_webhook_token", detail="token of no interaction"
            )
        if handle.expired or req.timestamp - handle.dispatched_at > fake.token_ttl:
            raise DiscordHTTPError(
                401,
                50027,
                "Invalid Webhook Token",
                violation="token_expired",
                detail=f"token of {handle.describe()} has expired",
            )
        if handle.callback is None:
            raise DiscordHTTPError(
                404,
                10015,
                "Unknown Webhook",
                violation="unknown_webhook",
                detail=f"{req.method} {req.path} before the initial callback of {handle.describe()}",
            )
        return handle

    def _target(self, handle: InteractionHandle, mid: str) -> FakeMessage:
        messages = self.fake.transcript.messages
        msg: FakeMessage | None = None
        if mid == "@original":
            assert handle.callback is not None
            if handle.callback.type in (6, 7):
                msg = handle.source_message
            elif handle.original_message_id is not None:
                msg = messages.get(handle.original_message_id)
        elif mid.isdigit() and int(mid) in (handle.original_message_id, *handle.followup_ids):
            msg = messages.get(int(mid))
        if msg is None or msg.deleted:
            raise DiscordHTTPError(404, 10008, "Unknown Message")
        return msg

    async def get_message(self, req: RequestRecord, app: str, token: str, mid: str) -> Any:
        """``GET /webhooks/{app}/{token}/messages/{@original|id}``."""
        handle = self._interaction(req, app, token)
        return self.fake.transcript.to_json(self._target(handle, mid))

    async def edit_message(self, req: RequestRecord, app: str, token: str, mid: str) -> Any:
        """``PATCH .../messages/{@original|id}``; the first edit of a deferred reply ends "thinking"."""
        fake = self.fake
        handle = self._interaction(req, app, token)
        msg = self._target(handle, mid)
        payload = req.json if isinstance(req.json, dict) else {}
        validate_message(payload, req.files, size_limit=handle.attachment_size_limit, creating=False)
        fake.transcript.edit(msg, payload, req.files)
        await fake.transcript.announce("MESSAGE_UPDATE", msg)
        return fake.transcript.to_json(msg)

    async def delete_message(self, req: RequestRecord, app: str, token: str, mid: str) -> Any:
        """``DELETE .../messages/{@original|id}`` -> 204."""
        fake = self.fake
        handle = self._interaction(req, app, token)
        msg = self._target(handle, mid)
        fake.transcript.delete(msg)
        await fake.transcript.announce("MESSAGE_DELETE", msg)
        return None

    async def followup(self, req: RequestRecord, app: str, token: str) -> Any:
        """``POST /webhooks/{app}/{token}``; after a type-5 defer the first followup fills the placeholder."""
        fake = self.fake
        handle = self._interaction(req, app, token)
        payload = req.json if isinstance(req.json, dict) else {}
        validate_message(payload, req.files, size_limit=handle.attachment_size_limit, creating=True)
        assert handle.callback is not None
        original = fake.transcript.messages.get(handle.original_message_id or 0)
        if handle.callback.type == 5 and original is not None and original.loading and not original.deleted:
            fake.transcript.edit(original, {k: v for k, v in payload.items() if k != "flags"}, req.files)
            msg, event = original, "MESSAGE_UPDATE"
        else:
            ephemeral = bool(int(payload.get("flags") or 0) & MessageFlags.EPHEMERAL)
            msg = fake.transcript.create(
                handle.channel,
                fake.bot_user,
                payload,
                req.files,
                extra_flags=MessageFlags.EPHEMERAL if ephemeral else 0,
                visible_to=handle.user.id if ephemeral else None,
                interaction=handle,
            )
            event = "MESSAGE_CREATE"
        handle.followup_ids.append(msg.id)
        await fake.transcript.announce(event, msg)
        if req.query.get("wait") not in TRUTHY:
            return None
        return fake.transcript.to_json(msg)


def _validate_choices(data: dict[str, Any]) -> None:
    errors = FormErrors()
    choices = data.get("choices") or []
    if len(choices) > 25:
        errors.add(("data", "choices"), "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    for i, choice in enumerate(choices):
        errors.length(("data", "choices", i, "name"), choice.get("name"), 1, 100)
    errors.raise_if_any()
