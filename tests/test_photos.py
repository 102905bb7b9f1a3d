"""Photo intake: EXIF and GPS gone, turned upright, only real images of accepted types."""

import io
import struct
import zlib

import pytest
from PIL import Image

from services.errors import PhotoRefused
from services.photos import process_photo

MB = 1024 * 1024
LIMITS = {"max_bytes": 8 * MB, "max_pixels": 50_000_000, "max_side": 2048}

MAKE, ORIENTATION, GPS_IFD = 0x010F, 0x0112, 0x8825


def exif_with_gps(orientation: int | None = None) -> Image.Exif:
    exif = Image.Exif()
    exif[MAKE] = "ShadyPhone"
    if orientation:
        exif[ORIENTATION] = orientation
    gps = exif.get_ifd(GPS_IFD)
    gps[1] = "N"
    gps[2] = (34.0, 45.0, 12.5)  # Zhengzhou
    gps[3] = "E"
    gps[4] = (113.0, 37.0, 30.0)
    return exif


def encode(fmt: str, size=(40, 20), mode="RGB", color=(200, 30, 30), **params) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, color).save(buf, fmt, **params)
    return buf.getvalue()


def refused(raw: bytes, **limits) -> str:
    with pytest.raises(PhotoRefused) as info:
        process_photo(raw, **{**LIMITS, **limits})
    return info.value.code


def assert_no_metadata(data: bytes) -> None:
    out = Image.open(io.BytesIO(data))
    assert not dict(out.getexif()), "EXIF left in the output"
    assert "exif" not in out.info
    assert b"Exif" not in data
    assert b"ShadyPhone" not in data
    assert b"eXIf" not in data
    assert b"http://ns.adobe.com/xap" not in data  # XMP


def test_jpeg_loses_exif_and_gps_and_is_turned_upright():
    raw = encode("JPEG", size=(40, 20), exif=exif_with_gps(orientation=6))
    # The input really carries what must go.
    source = Image.open(io.BytesIO(raw))
    assert source.getexif()[MAKE] == "ShadyPhone"
    assert source.getexif().get_ifd(GPS_IFD)[1] == "N"
    assert b"Exif" in raw

    photo = process_photo(raw, **LIMITS)
    assert photo.content_type == "image/jpeg"
    assert photo.extension == "jpg"
    assert_no_metadata(photo.data)
    out = Image.open(io.BytesIO(photo.data))
    assert out.format == "JPEG"
    # Orientation 6 means "turn 90° clockwise to view": the 40×20 sensor image is 20×40.
    assert out.size == (20, 40)
    assert (photo.width, photo.height) == (20, 40)


def test_jpeg_without_orientation_keeps_its_shape():
    photo = process_photo(encode("JPEG", size=(40, 20), exif=exif_with_gps()), **LIMITS)
    assert Image.open(io.BytesIO(photo.data)).size == (40, 20)
    assert_no_metadata(photo.data)


def test_png_stays_png_without_metadata():
    raw = encode("PNG", size=(30, 20), mode="RGBA", color=(0, 128, 255, 100), exif=exif_with_gps())
    assert Image.open(io.BytesIO(raw)).getexif()[MAKE] == "ShadyPhone"
    photo = process_photo(raw, **LIMITS)
    assert photo.content_type == "image/png"
    assert photo.extension == "png"
    out = Image.open(io.BytesIO(photo.data))
    assert out.format == "PNG"
    assert out.size == (30, 20)
    assert out.mode == "RGBA"  # transparency kept
    assert_no_metadata(photo.data)


def test_webp_stays_webp_without_metadata():
    raw = encode("WEBP", size=(30, 20), exif=exif_with_gps())
    assert Image.open(io.BytesIO(raw)).getexif()[MAKE] == "ShadyPhone"
    photo = process_photo(raw, **LIMITS)
    assert photo.content_type == "image/webp"
    assert photo.extension == "webp"
    out = Image.open(io.BytesIO(photo.data))
    assert out.format == "WEBP"
    assert out.size == (30, 20)
    assert_no_metadata(photo.data)


def test_heic_becomes_jpeg():
    import pillow_heif

    pillow_heif.register_heif_opener()
    buf = io.BytesIO()
    try:
        Image.new("RGB", (64, 48), (20, 120, 40)).save(buf, "HEIF")
    except (KeyError, OSError, ValueError, RuntimeError) as exc:
        pytest.skip(f"no HEIF encoder in this pillow-heif build: {exc}")
    raw = buf.getvalue()
    assert Image.open(io.BytesIO(raw)).format == "HEIF"

    photo = process_photo(raw, **LIMITS)
    assert photo.content_type == "image/jpeg"
    assert photo.extension == "jpg"
    out = Image.open(io.BytesIO(photo.data))
    assert out.format == "JPEG"
    assert out.size == (64, 48)
    assert_no_metadata(photo.data)


def test_large_photo_is_shrunk_to_max_side():
    photo = process_photo(encode("JPEG", size=(600, 300)), **{**LIMITS, "max_side": 200})
    out = Image.open(io.BytesIO(photo.data))
    assert out.size == (200, 100)
    assert (photo.width, photo.height) == (200, 100)

    tall = process_photo(encode("PNG", size=(100, 500)), **{**LIMITS, "max_side": 250})
    assert Image.open(io.BytesIO(tall.data)).size == (50, 250)

    small = process_photo(encode("JPEG", size=(120, 80)), **{**LIMITS, "max_side": 200})
    assert Image.open(io.BytesIO(small.data)).size == (120, 80), "small photos are not enlarged"


def test_text_file_is_not_an_image():
    assert refused(b"Dear station, the street light is broken.\n" * 10) == "not_image"


def test_truncated_jpeg_is_not_an_image():
    raw = encode("JPEG", size=(200, 200))
    assert refused(raw[: len(raw) // 3]) == "not_image"


def test_html_posing_as_image_is_not_an_image():
    assert refused(b"<html><script>alert(1)</script></html>") == "not_image"


def test_empty_file_is_refused():
    assert refused(b"") == "empty"


def test_gif_is_unsupported():
    assert refused(encode("GIF", size=(20, 20))) == "unsupported_type"


def test_bmp_is_unsupported():
    assert refused(encode("BMP", size=(20, 20))) == "unsupported_type"


def test_one_byte_over_8_mb_is_too_large():
    assert refused(b"\xff\xd8\xff" + b"\0" * (8 * MB - 2)) == "too_large"
    # Exactly 8 MB is not refused for its size (it is refused as unreadable instead).
    assert refused(b"\xff\xd8\xff" + b"\0" * (8 * MB - 3)) == "not_image"


def test_too_many_pixels_is_refused_before_decoding():
    # 8000 × 7000 = 56 million pixels of one colour: a few KB as PNG, over 50 million.
    raw = encode("PNG", size=(8000, 7000), mode="1", color=1)
    assert len(raw) < 100_000
    assert refused(raw, max_pixels=50_000_000) == "too_many_pixels"
    # The same limit, scaled down.
    assert refused(encode("PNG", size=(300, 200)), max_pixels=50_000) == "too_many_pixels"
    assert process_photo(encode("PNG", size=(200, 200)), **{**LIMITS, "max_pixels": 50_000}).width == 200


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width × height; Pillow reads the size without decoding."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b"")


def test_gigantic_dimensions_are_too_many_pixels_not_unreadable():
    # 20000 × 20000 = 400 million pixels: past Pillow's own decompression-bomb limit,
    # which must still be reported as too many pixels (a real, huge photo), not as
    # "not a photo we can read".
    raw = _png_header_only(20_000, 20_000)
    assert Image.open(io.BytesIO(_png_header_only(300, 200))).size == (300, 200)  # the crafted file is a PNG
    assert refused(raw) == "too_many_pixels"
