"""Records of the fake Discord: messages users see, uploaded files, requests, violations, faults.

Private helper module of :mod:`testkit.fake_discord`; read that module's docstring for the
public guide.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .models import FakeUser, MessageFlags, iso_now


@dataclass
class StoredAttachment:
    """An uploaded file as Discord stores it; ``data`` holds the exact bytes.

    ``url`` is the unsigned address; payloads carry it signed afresh (see ``Cdn.sign``).
    """

    id: int
    filename: str
    content_type: str
    data: bytes = field(repr=False)
    url: str = ""
    description: str | None = None
    ephemeral: bool = False

    @property
    def size(self) -> int:
        """Size in bytes."""
        return len(self.data)

    def to_json(self, signed_url: str) -> dict[str, Any]:
        """Attachment object as Discord sends it, carrying a freshly signed URL."""
        data: dict[str, Any] = {
            "id": str(self.id),
            "filename": self.filename,
            "size": self.size,
            "url": signed_url,
            "proxy_url": signed_url,
            "content_type": self.content_type,
            "flags": 0,
        }
        if self.description is not None:
            data["description"] = self.description
        if self.ephemeral:
            data["ephemeral"] = True
        return data


@dataclass(frozen=True)
class Button:
    """A parsed button (component type 2)."""

    label: str | None
    custom_id: str | None
    style: int
    url: str | None = None
    disabled: bool = False
    emoji: str | None = None


@dataclass(frozen=True)
class Select:
    """A parsed select menu (component types 3, 5, 6, 7, 8); ``options`` are the string select's values."""

    type: int
    custom_id: str
    options: tuple[str, ...] = ()
    min_values: int = 1
    max_values: int = 1
    placeholder: str | None = None
    disabled: bool = False


SELECT_TYPES = frozenset({3, 5, 6, 7, 8})


def iter_components(components: Iterable[Mapping[str, Any]]) -> Iterable[Mapping[str, Any]]:
    """Depth-first walk over a component tree (action rows, containers, sections, labels...)."""
    for comp in components:
        yield comp
        children = list(comp.get("components") or [])
        for key in ("component", "accessory"):
            if isinstance(comp.get(key), Mapping):
                children.append(comp[key])
        yield from iter_components(children)


def parse_button(comp: Mapping[str, Any]) -> Button:
    """Button dataclass from component JSON."""
    emoji = comp.get("emoji") or {}
    return Button(
        label=comp.get("label"),
        custom_id=comp.get("custom_id"),
        style=int(comp.get("style", 1)),
        url=comp.get("url"),
        disabled=bool(comp.get("disabled", False)),
        emoji=emoji.get("name") or None,
    )


def parse_select(comp: Mapping[str, Any]) -> Select:
    """Select dataclass from component JSON."""
    return Select(
        type=int(comp["type"]),
        custom_id=str(comp.get("custom_id")),
        options=tuple(str(o.get("value")) for o in comp.get("options") or []),
        min_values=int(comp.get("min_values", 1)),
        max_values=int(comp.get("max_values", 1)),
        placeholder=comp.get("placeholder"),
        disabled=bool(comp.get("disabled", False)),
    )


@dataclass
class MessageSnapshot:
    """A message's visible state before an edit."""

    content: str
    embeds: list[dict[str, Any]]
    components: list[dict[str, Any]]
    attachments: list[StoredAttachment]
    flags: int


MENTION_USER = re.compile(r"<@!?(\d+)>")
MENTION_ROLE = re.compile(r"<@&(\d+)>")


@dataclass(eq=False)
class FakeMessage:
    """One message in the transcript, as a user would see it.

    ``flags`` carries 64 (ephemeral; then ``visible_to`` is the only user who sees it) and 128
    (loading: a deferred "thinking..." placeholder until its first edit). ``edits`` counts edits a
    user sees as "(edited)"; resolving a loading placeholder does not count. ``history`` keeps the
    state before each change.
    """

    id: int
    channel_id: int
    guild_id: int | None
    author: FakeUser
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[StoredAttachment] = field(default_factory=list)
    flags: int = 0
    type: int = 0
    tts: bool = False
    nonce: str | int | None = None
    allowed_mentions: dict[str, Any] | None = None
    mentions: list[int] = field(default_factory=list)
    mention_roles: list[int] = field(default_factory=list)
    mention_everyone: bool = False
    message_reference: dict[str, Any] | None = None
    visible_to: int | None = None
    interaction_id: int | None = None
    webhook_id: int | None = None
    interaction_metadata: dict[str, Any] | None = None
    created_at: str = field(default_factory=iso_now)
    edited_at: str | None = None
    edits: int = 0
    history: list[MessageSnapshot] = field(default_factory=list)
    deleted: bool = False

    @property
    def ephemeral(self) -> bool:
        """True if only ``visible_to`` sees this message."""
        return bool(self.flags & MessageFlags.EPHEMERAL)

    @property
    def loading(self) -> bool:
        """True while this is an unanswered "thinking..." placeholder."""
        return bool(self.flags & MessageFlags.LOADING)

    @property
    def buttons(self) -> list[Button]:
        """All buttons, in display order."""
        return [parse_button(c) for c in iter_components(self.components) if c.get("type") == 2]

    @property
    def selects(self) -> list[Select]:
        """All select menus, in display order."""
        return [parse_select(c) for c in iter_components(self.components) if c.get("type") in SELECT_TYPES]

    def button(self, label_or_custom_id: str) -> Button:
        """The button with this label or custom_id (KeyError if none)."""
        for b in self.buttons:
            if label_or_custom_id in (b.label, b.custom_id):
                return b
        raise KeyError(f"no button {label_or_custom_id!r} on message {self.id}: {self.buttons}")

    def attachment(self, filename: str) -> StoredAttachment:
        """The attachment with this filename (KeyError if none)."""
        for a in self.attachments:
            if a.filename == filename:
                return a
        raise KeyError(f"no attachment {filename!r} on message {self.id}: {[a.filename for a in self.attachments]}")

    def __repr__(self) -> str:
        return f"<FakeMessage {self.summary()}>"

    def visible_for(self, user_id: int) -> bool:
        """Whether this user can see the message."""
        return not self.deleted and (self.visible_to is None or self.visible_to == user_id)

    def snapshot(self) -> MessageSnapshot:
        """Copy of the visible state."""
        return MessageSnapshot(
            self.content, list(self.embeds), list(self.components), list(self.attachments), self.flags
        )

    def summary(self) -> str:
        """One line for failure messages."""
        bits = [f"#{self.id}", f"by {self.author.username}"]
        if self.ephemeral:
            bits.append(f"ephemeral->{self.visible_to}")
        if self.loading:
            bits.append("loading")
        if self.deleted:
            bits.append("deleted")
        extra = []
        if self.embeds:
            extra.append(f"{len(self.embeds)} embed(s)")
        if self.attachments:
            extra.append("files=" + ",".join(a.filename for a in self.attachments))
        if self.buttons:
            extra.append("buttons=" + ",".join(str(b.label or b.custom_id) for b in self.buttons))
        return f"[{' '.join(bits)}] {self.content!r} {' '.join(extra)}".rstrip()


# --------------------------------------------------------------------------- records


@dataclass
class FilePart:
    """One multipart part of a request."""

    name: str
    filename: str | None
    content_type: str | None
    data: bytes = field(repr=False)


@dataclass
class RequestRecord:
    """One HTTP request the fake received. ``path`` is relative to ``/api/v10`` for REST calls."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str] = field(repr=False)
    json: Any = None
    parts: list[FilePart] = field(default_factory=list)
    timestamp: float = 0.0
    status: int | None = None
    response: Any = None
    route: str | None = None
    injected: bool = False

    @property
    def files(self) -> list[FilePart]:
        """The ``files[n]`` parts."""
        return [p for p in self.parts if p.name.startswith("files[")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} -> {self.status}"


@dataclass
class Violation:
    """A broken Discord rule. ``kind`` is one of the strings listed in the server docstring."""

    kind: str
    message: str
    request: RequestRecord | None = field(default=None, repr=False)
    interaction_id: int | None = None

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


@dataclass
class FaultRule:
    """A pending ``fail_next``/``delay_next`` rule. ``hits`` counts how often it fired."""

    method: str
    pattern: re.Pattern[str]
    times: int
    status: int | None = None
    body: Any = None
    headers: dict[str, str] | None = None
    delay: float = 0.0
    delay_after: float = 0.0  # handle first, then wait before answering
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        """True if this rule applies to the request and has uses left."""
        return self.hits < self.times and self.method in ("*", method) and bool(self.pattern.search(path))


class DiscordHTTPError(Exception):
    """Raised inside route handlers; becomes a Discord-shaped JSON error response.

    ``violation`` (a kind string) also records a :class:`Violation` (described by ``detail`` if
    given); ``extra`` is merged into the body; ``code=None`` leaves ``code`` out (429 bodies have none).
    """

    def __init__(
        self,
        status: int,
        code: int | None,
        message: str,
        errors: dict[str, Any] | None = None,
        *,
        violation: str | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(f"{status} {code} {message}")
        self.detail = detail
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors
        self.violation = violation
        self.extra = extra or {}
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """Discord's error JSON."""
        data: dict[str, Any] = {"message": self.message}
        if self.code is not None:
            data["code"] = self.code
        if self.errors:
            data["errors"] = self.errors
        data.update(self.extra)
        return data
