"""Photo intake: decode to prove it is an image, turn upright, shrink, strip metadata.

Decoding is the costly part of a concern with photos, in time and in memory. So:
- what a decode would cost is worked out from the file's header before any pixel is
  read, and a photo over the budget is refused (`too_many_pixels`);
- a large JPEG is decoded at a reduced scale (libjpeg's DCT scaling, Image.draft), close
  to the size it is stored at, instead of at full size and then shrunk;
- a worker decodes at most a few photos at once (decode_slot); the others wait briefly,
  then are refused as `busy`;
- anything a damaged file makes the decoder do wrong is a refusal (`not_image`), never
  another exception.
Views call this before they open a database transaction (views/public.py).
"""

import io
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pillow_heif
from PIL import Image, ImageOps

from services.errors import PhotoRefused

pillow_heif.register_heif_opener()
log = logging.getLogger(__name__)

# Pillow format → (stored content type, extension, save format). HEIC becomes JPEG:
# browsers other than Safari cannot show it.
ACCEPTED = {
    "JPEG": ("image/jpeg", "jpg", "JPEG"),
    "MPO": ("image/jpeg", "jpg", "JPEG"),  # some phones write JPEGs with extra frames
    "PNG": ("image/png", "png", "PNG"),
    "WEBP": ("image/webp", "webp", "WEBP"),
    "HEIF": ("image/jpeg", "jpg", "JPEG"),
}

# Peak memory of decoding one pixel of the full image, in bytes, as measured (peak RSS of
# a process decoding 6000 × 4000 files; Pillow 13, pillow-heif 1.8). WebP is the costly one:
# Pillow decodes it through libwebp's animation decoder, which keeps an RGBA canvas beside
# the frame and converts after. A baseline JPEG decoded at a reduced scale costs its reduced
# pixels only; a progressive one also keeps every DCT coefficient of the full image.
DECODE_BYTES_PER_PIXEL = {"JPEG": 4.2, "MPO": 4.2, "PNG": 5.5, "WEBP": 16.5, "HEIF": 8.0}
PROGRESSIVE_JPEG_COEFFICIENT_BYTES = 3.5
# A JPEG is decoded at 1/2, 1/4 or 1/8 when that still leaves its long side at least this
# share of the stored size (a 4000 × 3000 photo decodes at 2000 × 1500 for 2048).
DRAFT_MIN_SHARE = 0.9


@dataclass(frozen=True)
class ProcessedPhoto:
    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


def limits(config) -> dict:
    """process_photo's limits as the app is configured: one set for every way a photo comes in."""
    return {
        "max_bytes": config["MAX_PHOTO_BYTES"],
        "max_pixels": config["MAX_PHOTO_PIXELS"],
        "max_side": config["STORED_PHOTO_MAX_SIDE"],
        "max_decode_bytes": config["PHOTO_DECODE_MB_MAX"] * 1024 * 1024,
    }


# --- how many decodes at once ---------------------------------------------------------------

_slots_lock = threading.Lock()
_slots: dict[int, threading.BoundedSemaphore] = {}


@contextmanager
def decode_slot(at_once: int, wait_seconds: float) -> Iterator[None]:
    """Hold one of `at_once` decoding places of this process (a gunicorn worker) for the
    body; wait at most `wait_seconds` for one, then refuse with PhotoRefused("busy")."""
    with _slots_lock:
        slots = _slots.setdefault(at_once, threading.BoundedSemaphore(max(1, at_once)))
    if not slots.acquire(timeout=max(0.0, wait_seconds)):
        raise PhotoRefused("busy")
    try:
        yield
    finally:
        slots.release()


# --- one photo ------------------------------------------------------------------------------


def _draft_scale(width: int, height: int, max_side: int) -> int:
    long_side = max(width, height)
    for scale in (8, 4, 2):
        if long_side / scale >= max_side * DRAFT_MIN_SHARE:
            return scale
    return 1


def decode_cost(image: Image.Image, max_side: int) -> int:
    """Bytes the decode of this opened (not yet loaded) image would take at its peak."""
    fmt = image.format or ""
    width, height = image.size
    pixels = width * height
    if fmt in ("JPEG", "MPO"):
        scale = _draft_scale(width, height, max_side)
        cost = DECODE_BYTES_PER_PIXEL[fmt] * pixels / (scale * scale)
        if image.info.get("progressive") or image.info.get("progression"):
            cost += PROGRESSIVE_JPEG_COEFFICIENT_BYTES * pixels
        return int(cost)
    return int(DECODE_BYTES_PER_PIXEL.get(fmt, 16.5) * pixels)


def process_photo(
    raw: bytes, *, max_bytes: int, max_pixels: int, max_side: int, max_decode_bytes: int | None = None
) -> ProcessedPhoto:
    """Return the photo re-encoded without EXIF/GPS, or refuse with a code.

    Refusals: too_large (bytes), empty, unsupported_type, too_many_pixels (the pixel
    budget, or the decode's memory budget), not_image (anything else the file makes the
    decoder do)."""
    if len(raw) > max_bytes:
        raise PhotoRefused("too_large", size=len(raw))
    if not raw:
        raise PhotoRefused("empty")
    try:
        return _process(raw, max_pixels=max_pixels, max_side=max_side, max_decode_bytes=max_decode_bytes)
    except PhotoRefused:
        raise
    except Image.DecompressionBombError as exc:  # Pillow's own guard, far above ours
        raise PhotoRefused("too_many_pixels") from exc
    except Exception as exc:  # noqa: BLE001
        # Third-party parsers fed hostile bytes raise whatever they raise (OSError, ValueError,
        # SyntaxError, struct.error, KeyError, ZeroDivisionError, RuntimeError from libheif,
        # MemoryError…): each is a photo we cannot read, refused beside its field.
        log.info("photo refused as unreadable: %s: %s", type(exc).__name__, str(exc)[:200])
        raise PhotoRefused("not_image") from exc


def _process(raw: bytes, *, max_pixels: int, max_side: int, max_decode_bytes: int | None) -> ProcessedPhoto:
    image: Image.Image = Image.open(io.BytesIO(raw))
    fmt = image.format
    if fmt not in ACCEPTED:
        raise PhotoRefused("unsupported_type", format=fmt)
    width, height = image.size
    if width < 1 or height < 1:
        raise PhotoRefused("not_image")
    if width * height > max_pixels:
        raise PhotoRefused("too_many_pixels")
    if max_decode_bytes is not None and decode_cost(image, max_side) > max_decode_bytes:
        raise PhotoRefused("too_many_pixels")
    if fmt in ("JPEG", "MPO") and (scale := _draft_scale(width, height, max_side)) > 1:
        image.draft(None, (width // scale, height // scale))
    image.load()

    content_type, extension, save_format = ACCEPTED[fmt]
    # Shrink first, then turn upright: turning copies the image, and a small one is cheap.
    # The box is square, so the order does not change the result.
    image.thumbnail((max_side, max_side))
    image = ImageOps.exif_transpose(image)  # keep what the camera meant, then drop EXIF
    if save_format == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    elif save_format in ("PNG", "WEBP") and image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
        image = image.convert("RGBA")

    out = io.BytesIO()
    # A fresh save with no exif=/xmp= arguments writes none: EXIF, GPS and XMP are gone.
    if save_format == "JPEG":
        image.save(out, "JPEG", quality=85, optimize=True)
    elif save_format == "PNG":
        image.save(out, "PNG", optimize=True)
    else:
        image.save(out, "WEBP", quality=85)
    return ProcessedPhoto(out.getvalue(), content_type, extension, image.width, image.height)
