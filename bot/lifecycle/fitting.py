"""Fitting images into a channel's upload limit: pack them into messages, shrink what is too big.

Plain bytes in, plain batches out; the publisher says how many files a message may carry.
Shrinking re-encodes with Pillow (JPEG at falling quality, then smaller sizes); an image that
still does not fit is left for a link.

The bytes come from a file host, so they are not trusted: an image declaring more than
``MAX_PIXELS`` pixels (a decompression bomb: a small file that decodes to gigabytes) is never
decoded and goes to the link path, and at most ``REENCODE_SLOTS`` re-encodes run at once however
many deliveries fit images in parallel, which bounds the memory they take.
"""

from __future__ import annotations

import io
import logging
import threading
import warnings
from dataclasses import dataclass, field

from PIL import Image, UnidentifiedImageError

from bot.eggapi import DownloadedImage

log = logging.getLogger(__name__)

QUALITIES = (90, 80, 70, 60, 50)
SCALES = (1.0, 0.75, 0.5, 0.35, 0.25)
MAX_PIXELS = 50_000_000  # 50 MP: far above any EggAPI output (4k is about 16 MP), about 150 MB once decoded
REENCODE_SLOTS = threading.BoundedSemaphore(2)

# Pillow warns at open about images above its own limit (89 MP); MAX_PIXELS refuses them first.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


@dataclass
class Fitted:
    """Images packed into messages that each stay within the limit, plus the indexes left over."""

    batches: list[list[DownloadedImage]] = field(default_factory=list)
    too_large: list[int] = field(default_factory=list)


def shrink(image: DownloadedImage, limit: int) -> DownloadedImage | None:
    """A re-encoded copy of ``image`` of at most ``limit`` bytes, or None if that is not possible."""
    with REENCODE_SLOTS:  # called from worker threads: this is what bounds the memory in use
        return _reencode(image, limit)


def _reencode(image: DownloadedImage, limit: int) -> DownloadedImage | None:
    try:
        with Image.open(io.BytesIO(image.data)) as opened:  # reads the header only
            if opened.width * opened.height > MAX_PIXELS:
                log.warning(
                    "%s declares %dx%d pixels, more than %d: not decoding it",
                    image.filename,
                    opened.width,
                    opened.height,
                    MAX_PIXELS,
                )
                return None
            source = opened.convert("RGB")
    except Image.DecompressionBombError:  # Pillow's own refusal, at open, of the very largest
        log.warning("%s is a decompression bomb: not decoding it", image.filename)
        return None
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


def fit_images(images: list[DownloadedImage], limit: int, max_files: int) -> Fitted:
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
