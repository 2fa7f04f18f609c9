"""Fitting images into a channel's upload limit: pack them into messages, shrink what is too big.

No Discord imports: plain bytes in, plain batches out. Shrinking re-encodes with Pillow (JPEG at
falling quality, then smaller sizes); an image that still does not fit is left for a link.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field

from PIL import Image, UnidentifiedImageError

from bot.eggapi import DownloadedImage

log = logging.getLogger(__name__)

MAX_FILES_PER_MESSAGE = 10
QUALITIES = (90, 80, 70, 60, 50)
SCALES = (1.0, 0.75, 0.5, 0.35, 0.25)


@dataclass
class Fitted:
    """Images packed into messages that each stay within the limit, plus the indexes left over."""

    batches: list[list[DownloadedImage]] = field(default_factory=list)
    too_large: list[int] = field(default_factory=list)


def shrink(image: DownloadedImage, limit: int) -> DownloadedImage | None:
    """A re-encoded copy of ``image`` of at most ``limit`` bytes, or None if that is not possible."""
    try:
        with Image.open(io.BytesIO(image.data)) as opened:
            source = opened.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError):
        log.warning("cannot decode %s to shrink it", image.filename)
        return None
    stem = image.filename.rsplit(".", 1)[0]
    for scale in SCALES:
        size = (max(1, int(source.width * scale)), max(1, int(source.height * scale)))
        frame = source if scale == 1.0 else source.resize(size, Image.Resampling.LANCZOS)
        for quality in QUALITIES:
            out = io.BytesIO()
            frame.save(out, format="JPEG", quality=quality, optimize=True)
            if out.tell() <= limit:
                return DownloadedImage(data=out.getvalue(), content_type="image/jpeg", filename=f"{stem}.jpg")
    return None


def fit_images(images: list[DownloadedImage], limit: int, max_files: int = MAX_FILES_PER_MESSAGE) -> Fitted:
    """Pack images, in order, into as few messages as the limit allows (each message ≤ ``limit`` bytes)."""
    fitted = Fitted()
    current: list[DownloadedImage] = []
    used = 0
    for index, image in enumerate(images):
        if len(image.data) > limit:
            smaller = shrink(image, limit)
            if smaller is None:
                fitted.too_large.append(index)
                continue
            log.info(
                "shrank %s from %d to %d bytes to fit %d", image.filename, len(image.data), len(smaller.data), limit
            )
            image = smaller
        if current and (used + len(image.data) > limit or len(current) >= max_files):
            fitted.batches.append(current)
            current, used = [], 0
        current.append(image)
        used += len(image.data)
    if current:
        fitted.batches.append(current)
    return fitted
