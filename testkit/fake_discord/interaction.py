"""Interactions the client simulator dispatched, and the bot's callback to each.

Private helper module of :mod:`testkit.fake_discord`; read that module's docstring for the
public guide.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from .modals import modal_fields
from .models import FakeChannel, FakeGuild, FakeMember, FakeUser, MessageFlags
from .records import FakeMessage, Violation

if TYPE_CHECKING:
    from .server import FakeDiscord


class CallbackRecord:
    """The initial response the bot gave to an interaction."""

    def __init__(self, type: int, data: dict[str, Any], received_at: float, latency: float) -> None:
        self.type = type
        self.data = data
        self.flags = int(data.get("flags") or 0)
        self.received_at = received_at
        self.latency = latency

    @property
    def ephemeral(self) -> bool:
        """True if the response (or the deferred placeholder) is ephemeral."""
        return bool(self.flags & MessageFlags.EPHEMERAL)

    def __repr__(self) -> str:
        return f"<CallbackRecord type={self.type} flags={self.flags} latency={self.latency:.3f}s>"


class InteractionHandle:
    """One interaction the simulator dispatched, and what the bot did with it.

    Attributes: ``id``, ``token``, ``type`` (2 command, 3 component, 4 autocomplete, 5 modal
    submit), ``user``, ``member`` (None in DMs), ``channel``, ``guild``, ``payload`` (the exact
    INTERACTION_CREATE ``d``), ``callback`` (:class:`CallbackRecord` or None), ``choices``
    (autocomplete answer), ``modal`` (modal data the bot opened), ``timed_out`` (deadline passed
    without callback).
    """

    def __init__(
        self,
        fake: FakeDiscord,
        *,
        type: int,
        user: FakeUser,
        member: FakeMember | None,
        channel: FakeChannel,
        payload: dict[str, Any],
        source_message: FakeMessage | None = None,
        command_name: str | None = None,
        command_type: int | None = None,
        custom_id: str | None = None,
    ) -> None:
        self.fake = fake
        self.id = int(payload["id"])
        self.token: str = payload["token"]
        self.type = type
        self.user = user
        self.member = member
        self.channel = channel
        self.payload = payload
        self.source_message = source_message
        self.command_name = command_name
        self.command_type = command_type
        self.custom_id = custom_id
        self.dispatched_at = 0.0
        self.callback: CallbackRecord | None = None
        self.original_message_id: int | None = None
        self.followup_ids: list[int] = []
        self.choices: list[dict[str, Any]] | None = None
        self.modal: dict[str, Any] | None = None
        self.modal_submitted = False
        self.opened_by: InteractionHandle | None = None  # for a modal submit: the interaction that opened it
        self.expired = False
        self.timed_out = False
        self._deadline: asyncio.TimerHandle | None = None

    def __repr__(self) -> str:
        return f"<InteractionHandle {self.describe()} callback={self.callback!r}>"

    @property
    def guild(self) -> FakeGuild | None:
        """The channel's guild (None in DMs)."""
        return self.channel.guild

    @property
    def attachment_size_limit(self) -> int:
        """The upload limit Discord advertised in this interaction."""
        return int(self.payload["attachment_size_limit"])

    @property
    def message_type(self) -> int:
        """Message type of the response: 20 for slash commands, 23 for context menus, else 0."""
        if self.type == 2:
            return 20 if self.command_type == 1 else 23
        return 0

    @property
    def acked(self) -> bool:
        """True once the bot sent its initial callback."""
        return self.callback is not None

    @property
    def ack_latency(self) -> float | None:
        """Seconds from dispatch to the callback's arrival (None before)."""
        return self.callback.latency if self.callback else None

    @property
    def callback_type(self) -> int | None:
        """4 message, 5 deferred message, 6 deferred update, 7 update, 8 autocomplete, 9 modal."""
        return self.callback.type if self.callback else None

    @property
    def callback_flags(self) -> int | None:
        """``data.flags`` of the callback (64 = ephemeral)."""
        return self.callback.flags if self.callback else None

    @property
    def response(self) -> FakeMessage | None:
        """The message the user sees as this interaction's answer (the clicked message for types 6/7)."""
        if self.callback is None:
            return None
        if self.callback.type in (6, 7):
            return self.source_message
        if self.original_message_id is None:
            return None
        return self.fake.transcript.messages.get(self.original_message_id)

    @property
    def modal_fields(self) -> dict[str, dict[str, Any]]:
        """The text inputs of the modal the bot opened, by custom id (``label``, prefilled ``value``, limits)."""
        return modal_fields(self.modal)

    @property
    def followups(self) -> list[FakeMessage]:
        """Messages sent through the interaction webhook, in order."""
        return [self.fake.transcript.messages[i] for i in self.followup_ids]

    def describe(self) -> str:
        """Short description for failure messages."""
        what = {
            2: f"/{self.command_name}",
            3: f"component {self.custom_id!r}",
            4: f"autocomplete /{self.command_name}",
            5: f"modal {self.custom_id!r}",
        }.get(self.type, f"type {self.type}")
        return f"{what} by {self.user.username} (interaction {self.id})"

    def metadata_json(self) -> dict[str, Any]:
        """``interaction_metadata`` for messages created by this interaction."""
        data: dict[str, Any] = {
            "id": str(self.id),
            "type": self.type,
            "user": self.user.to_json(),
            "authorizing_integration_owners": self.payload["authorizing_integration_owners"],
        }
        if self.type == 2:
            data.update(name=self.command_name, command_type=self.command_type)
        if self.type == 5 and self.opened_by is not None:  # the spec requires it for a modal submit
            data["triggering_interaction_metadata"] = self.opened_by.metadata_json()
        elif self.source_message is not None:
            data["interacted_message_id"] = str(self.source_message.id)
        return data

    async def wait_ack(self, timeout: float = 5.0) -> CallbackRecord:
        """Wait for the initial callback and return it."""
        return await self.fake.wait_for(lambda f: self.callback, timeout, what=f"the ack of {self.describe()}")

    async def wait_response(self, timeout: float = 10.0, *, final: bool = True) -> FakeMessage:
        """The message the user sees; with ``final`` wait until a deferred "thinking..." reply was filled in."""

        def ready(fake: FakeDiscord) -> FakeMessage | None:
            if self.callback is not None and self.callback.type in (8, 9):
                raise ValueError(f"{self.describe()} was answered with callback type {self.callback.type}: no message")
            msg = self.response
            if msg is None or (final and msg.loading):
                return None
            return msg

        return await self.fake.wait_for(ready, timeout, what=f"the response to {self.describe()}")

    async def wait_followup(self, index: int = 0, timeout: float = 10.0) -> FakeMessage:
        """The ``index``-th followup message (after a deferral the first one fills the placeholder)."""
        return await self.fake.wait_for(
            lambda f: self.followups[index] if len(self.followup_ids) > index else None,
            timeout,
            what=f"followup #{index} of {self.describe()}",
        )

    def expire(self) -> None:
        """Make the interaction token invalid now (as after 15 minutes): webhook calls get 401/50027."""
        self.expired = True

    def cancel_deadline(self) -> None:
        """Stop the ack-deadline timer."""
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _deadline_passed(self) -> None:
        self._deadline = None
        if self.callback is None:
            self.timed_out = True
            self.fake.violations.append(
                Violation(
                    "ack_timeout",
                    f"no callback within {self.fake.ack_deadline}s for {self.describe()}: "
                    "the user sees 'The application did not respond'",
                    interaction_id=self.id,
                )
            )
            self.fake.spawn(self.fake.notify())
