"""Photo intake: decode to prove it is an image, turn upright, shrink, strip metadata."""

import io
from dataclasses import dataclass

import pillow_heif
from PIL import Image, ImageOps, UnidentifiedImageError

from services.errors import PhotoRefused

pillow_heif.register_heif_opener()

# Pillow format → (stored content type, extension, save format). HEIC becomes JPEG:
# browsers other than Safari cannot show it.
ACCEPTED = {
    "JPEG": ("image/jpeg", "jpg", "JPEG"),
    "MPO": ("image/jpeg", "jpg", "JPEG"),  # some phones write JPEGs with extra frames
    "PNG": ("image/png", "png", "PNG"),
    "WEBP": ("image/webp", "webp", "WEBP"),
    "HEIF": ("image/jpeg", "jpg", "JPEG"),
}


@dataclass(frozen=True)
class ProcessedPhoto:
    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


def process_photo(raw: bytes, *, max_bytes: int, max_pixels: int, max_side: int) -> ProcessedPhoto:
    """Return the photo re-encoded without EXIF/GPS, or refuse with a code."""
    if len(raw) > max_bytes:
        raise PhotoRefused("too_large", size=len(raw))
    if not raw:
        raise PhotoRefused("empty")
    try:
        image: Image.Image = Image.open(io.BytesIO(raw))
        fmt = image.format
        if fmt not in ACCEPTED:
            raise PhotoRefused("unsupported_type", format=fmt)
        if image.width * image.height > max_pixels:
            raise PhotoRefused("too_many_pixels")
        image.load()
    except PhotoRefused:
        raise
    except Image.DecompressionBombError as exc:  # Pillow's own guard, far above ours
        raise PhotoRefused("too_many_pixels") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise PhotoRefused("not_image") from exc

    content_type, extension, save_format = ACCEPTED[fmt]
    image = ImageOps.exif_transpose(image)  # keep what the camera meant, then drop EXIF
    image.thumbnail((max_side, max_side))
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
