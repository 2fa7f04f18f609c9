"""Jobs made from an earlier job's result: Reroll, Vary, Edit, Again at 2k/4k and Remix.

Each one is an ordinary ``ImagineRequest``, so the prompt policy, the quota and the fair queue treat
it exactly like /imagine; it also says where it came from (``origin_task_id``, ``origin_kind`` and,
for a picked image, ``origin_image``). A picked image goes to EggAPI as the bot's own attachment,
whose signed link expires (about a day): ``Remakes`` asks the chat side (``Publisher.image_url``) for
a link that works now, right before the job is recorded, and refuses before anything is charged
when the result is gone; a job that waited in line until that link nearly expired gets it afresh
again right before it is sent (``before_submit``, called by the tracker). Nothing here needs memory
of earlier clicks: a job id and an image number are enough, also after a restart.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from typing import Protocol

from bot.errors import InvalidRequest, UserFacingError
from bot.lifecycle.model import ImagineRequest, OriginKind, TaskRecord, TaskStatus
from bot.lifecycle.references import ReferenceCheck
from bot.lifecycle.task_store import TaskStore

log = logging.getLogger(__name__)

UPSCALES = ("2k", "4k")  # what "Again at …" offers, smallest first
_SIZE = {None: 1, "1k": 1, "2k": 2, "4k": 4}  # no resolution: the model's own, taken as the smallest
REFRESH_WITHIN = 0.75  # seconds to fetch a fresh link: with recording the job (2 s), within Discord's 3
CHAIN_MAX = 20  # rerolls of rerolls followed back to the picked image, at most


def upscales(task: TaskRecord) -> tuple[str, ...]:
    """The resolutions above the job's own, which "Again at …" may ask for (none above 4k)."""
    here = _SIZE.get(task.resolution, 1)
    return tuple(size for size in UPSCALES if _SIZE[size] > here)


def images_made(task: TaskRecord) -> int:
    """How many images the job made (0 before it finished)."""
    return len(task.output_urls)


def check_image(task: TaskRecord, image: int) -> None:
    """Refuse an image number the job does not have (1-based)."""
    if not 1 <= image <= images_made(task):
        raise InvalidRequest(key="results.no_image", job=task.id, image=image)


@dataclass(frozen=True, slots=True)
class Asker:
    """Who asks for a remake, and where: the new job is theirs, on their quota, in this channel."""

    member_id: int
    guild_id: int | None
    channel_id: int
    interaction_id: int | None = None
    upload_limit: int | None = None
    parent_channel_id: int | None = None
    locale: str | None = None


def remake(
    origin: TaskRecord,
    kind: OriginKind,
    asker: Asker,
    *,
    image: int | None = None,
    image_url: str | None = None,
    references: tuple[str, ...] = (),
    prompt: str | None = None,
    negative_prompt: str | None = None,
    resolution: str | None = None,
) -> ImagineRequest:
    """The request a remake of ``origin`` makes.

    Reroll and Remix run the whole job again (Remix with the member's new prompt and negative
    prompt) with ``references``, its reference images. Vary, Edit and Again give EggAPI the picked
    ``image`` (at ``image_url``) to edit: Vary with the same prompt, Edit with the member's, both
    making as many images as the job did; Again makes that one image once more at ``resolution``.
    """
    count, size = origin.count, origin.resolution
    words, without = origin.prompt, origin.negative_prompt
    picked: int | None = None
    if kind in (OriginKind.VARY, OriginKind.EDIT, OriginKind.UPSCALE):
        if image is None or image_url is None:
            raise ValueError(f"a {kind.value} needs the picked image and its link")
        check_image(origin, image)
        picked, references = image, (image_url,)
    if kind in (OriginKind.EDIT, OriginKind.REMIX):
        if prompt is None:
            raise ValueError(f"a {kind.value} needs the member's prompt")
        words = prompt
    if kind is OriginKind.REMIX:
        without = negative_prompt
    if kind is OriginKind.UPSCALE:
        if resolution not in upscales(origin):
            raise InvalidRequest(key="results.no_upscale", job=origin.id, image=image, resolution=str(resolution))
        count, size = 1, resolution
    return ImagineRequest(
        guild_id=asker.guild_id,
        channel_id=asker.channel_id,
        member_id=asker.member_id,
        prompt=words,
        negative_prompt=without,
        aspect_ratio=origin.aspect_ratio,
        count=count,
        resolution=size,
        reference_urls=references,
        interaction_id=asker.interaction_id,
        upload_limit=asker.upload_limit,
        parent_channel_id=asker.parent_channel_id,
        origin_task_id=origin.id,
        origin_kind=kind.value,
        origin_image=picked,
        locale=asker.locale,
    )


class ImageLinks(Protocol):
    """Where posted images are found again: the ``Publisher`` (``bot.lifecycle.ports``) is one."""

    async def image_url(self, task: TaskRecord, index: int) -> str | None:
        """A link that works now to output ``index`` (0-based) of the task's result; None when it is gone."""


class Remakes:
    """Finds a result's images again for the jobs made from them (see the module docstring)."""

    def __init__(
        self,
        store: TaskStore,
        links: ImageLinks,
        references: ReferenceCheck,
        *,
        refresh_within: float = REFRESH_WITHIN,
    ) -> None:
        self._store = store
        self._links = links
        self._usable = references.usable
        self._refresh_within = refresh_within

    async def origin(self, task_id: int) -> TaskRecord:
        """The job a button names, or the member is told it is unknown."""
        task = await self._store.get(task_id)
        if task is None:
            raise InvalidRequest(key="results.unknown_job", job=task_id)
        return task

    async def image_url(self, task: TaskRecord, image: int) -> str:
        """A link to image ``image`` (1-based) of ``task`` that works now; refused when it is no longer posted."""
        check_image(task, image)
        task = await self._with_posted(task)
        try:
            url = await asyncio.wait_for(self._links.image_url(task, image - 1), self._refresh_within)
        except TimeoutError:
            log.info("task %s: image %s not found again within %.1fs", task.id, image, self._refresh_within)
            raise InvalidRequest(key="results.unreachable", job=task.id, image=image) from None
        except Exception:
            log.warning("task %s: image %s could not be found again", task.id, image, exc_info=True)
            raise InvalidRequest(key="results.unreachable", job=task.id, image=image) from None
        if url is None and task.status is TaskStatus.DELIVERING:  # still going out: not found yet, not gone
            raise InvalidRequest(key="results.unreachable", job=task.id, image=image)
        if url is None:
            raise InvalidRequest(key="results.gone", job=task.id, image=image)
        return url

    async def _with_posted(self, task: TaskRecord) -> TaskRecord:
        """The task with the messages its images are in so far, while its result is still being posted.

        A result's messages are stored with the task once all of it is posted, but a member can press
        a button on what is in the channel before that (the first part of a result in parts, or the
        moment before the record lands); each part is recorded as soon as it is posted.
        """
        if task.status is not TaskStatus.DELIVERING or task.result_message_ids:
            return task
        posted = await self._store.posted_images(task.id)
        return replace(task, result_message_ids=tuple(sorted(set(posted.values()))))

    async def references(self, task: TaskRecord) -> tuple[str, ...]:
        """The reference images to run ``task`` again with (Reroll, Remix).

        A job made from a picked image (or a reroll or remix of one) gets that image's link afresh;
        anything else keeps the links it was given, which the caller checks are still good.
        """
        fresh = await self.fresh_references(task)
        return task.reference_urls if fresh is None else fresh

    async def fresh_references(self, task: TaskRecord) -> tuple[str, ...] | None:
        """``task``'s reference as a link that works now, when it is a posted image; else None.

        Refused like ``image_url`` when that image is no longer posted.
        """
        source = await self.image_source(task)
        if source is None:
            return None
        origin, image = source
        return (await self.image_url(origin, image),)

    async def before_submit(self, task: TaskRecord) -> TaskRecord:
        """The task about to be sent, its reference links read afresh if they (nearly) expired while it
        waited in line and are images the bot posted (a Vary, Edit, Again, or a reroll of one).

        Otherwise, or when that image is gone, the task as it is: the tracker then refuses to send a
        dead link (``bot.lifecycle.references``). It never raises: the task is already submitting.
        """
        if self._usable(task.reference_urls):
            return task
        try:
            fresh = await self.fresh_references(task)
            if fresh is None:
                return task
            await self._store.update(task.id, reference_urls=fresh)
        except UserFacingError as exc:  # no longer posted, or Discord did not answer in time
            log.info("task %s: reference links not read afresh (%s)", task.id, exc.key)
            return task
        except Exception:
            log.warning("task %s: reference links not read afresh", task.id, exc_info=True)
            return task
        log.info("task %s: reference links read afresh before the submit", task.id)
        return replace(task, reference_urls=fresh)

    async def image_source(self, task: TaskRecord) -> tuple[TaskRecord, int] | None:
        """The job and image (1-based) that ``task``'s reference is, through rerolls and remixes; else None."""
        current = task
        for _ in range(CHAIN_MAX):
            if current.origin_task_id is None or not current.reference_urls:
                return None
            kind = current.origin_kind
            if kind in (OriginKind.VARY, OriginKind.EDIT, OriginKind.UPSCALE) and current.origin_image is not None:
                origin = await self._store.get(current.origin_task_id)
                return None if origin is None else (origin, current.origin_image)
            if kind not in (OriginKind.REROLL, OriginKind.REMIX):
                return None
            earlier = await self._store.get(current.origin_task_id)  # whose references these were
            if earlier is None:
                return None
            current = earlier
        return None
