"""A task's result as the messages it needs: which outputs each part carries, and what is still missing.

Fitting is deterministic, so planning the same images for the same limit again gives the same
parts with the same post keys; a retry then posts only the parts not yet recorded as posted.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Container

from bot.eggapi import DownloadedImage
from bot.lifecycle.fitting import fit_images
from bot.lifecycle.model import TaskRecord
from bot.lifecycle.ports import ResultPart


def part_key(task: TaskRecord, number: int, first_index: int | None) -> str:
    """The first part keeps the task's own post key; a later one is named by its first output."""
    if number == 1:
        return task.post_key
    return f"{task.post_key}-{'links' if first_index is None else first_index}"


def plan_parts(task: TaskRecord, images: list[DownloadedImage], limit: int, max_files: int) -> list[ResultPart]:
    """Split the task's images into messages of ``limit`` bytes, ``max_files`` files (runs Pillow: off the loop)."""
    fitted = fit_images(images, limit, max_files)
    too_large = set(fitted.too_large)
    placed = [index for index in range(len(images)) if index not in too_large]
    links = tuple(index for index in fitted.too_large if index < len(task.output_urls))
    batches = fitted.batches or [[]]
    parts: list[ResultPart] = []
    cursor = 0
    for number, batch in enumerate(batches, start=1):
        indexes = tuple(placed[cursor : cursor + len(batch)])
        cursor += len(batch)
        parts.append(
            ResultPart(
                images=tuple(batch),
                indexes=indexes,
                links=links if number == len(batches) else (),
                number=number,
                total=len(batches),
                key=part_key(task, number, indexes[0] if indexes else None),
            )
        )
    return parts


def unposted(task: TaskRecord, part: ResultPart, posted: Container[int]) -> ResultPart | None:
    """What of ``part`` still has to be posted, or None when it is all in the channel already.

    A part found with all its files is complete (its links went with it); a part only partly
    posted (the limit changed between attempts) is posted again with just the missing images.
    """
    if not part.indexes:
        return None if all(index in posted for index in part.links) else part
    keep = [k for k, index in enumerate(part.indexes) if index not in posted]
    if not keep:
        return None
    if len(keep) == len(part.indexes):
        return part
    indexes = tuple(part.indexes[k] for k in keep)
    return dataclasses.replace(
        part,
        images=tuple(part.images[k] for k in keep),
        indexes=indexes,
        key=part_key(task, part.number, indexes[0]) + "r",
    )
