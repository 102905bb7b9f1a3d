"""Photo intake: EXIF and GPS gone, turned upright, only real images of accepted types."""

import io
import struct
import zlib

import pytest
from PIL import Image

from services.errors import PhotoRefused
from services.photos import process_photo

# Pillow warns about the damage it skips in damaged EXIF: these tests are made of such files.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:PIL.TiffImagePlugin")

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


# --- what a decode costs, and how many at once ----------------------------------------------


def test_a_wide_webp_that_would_cost_hundreds_of_megabytes_is_refused_from_its_header():
    # 16,383 × 3,000 of one colour: under 100 KB on the wire, about 800 MB to decode.
    raw = encode("WEBP", size=(16_383, 3_000), color=(100, 150, 200), quality=80)
    assert len(raw) < 150_000
    assert LIMITS["max_pixels"] > 16_383 * 3_000  # the pixel budget alone would let it in
    assert refused(raw, max_decode_bytes=400 * MB) == "too_many_pixels"
    # Without a decode budget it is read (the pixel budget is the only limit).
    assert process_photo(raw, **LIMITS).width == 2048


def test_decode_cost_follows_the_format():
    from services.photos import decode_cost

    def opened(raw: bytes) -> Image.Image:
        return Image.open(io.BytesIO(raw))

    # 4000 × 3000 headers without decoding a pixel: a baseline JPEG decodes at half size.
    jpeg = opened(encode("JPEG", size=(4000, 3000)))
    progressive = opened(encode("JPEG", size=(4000, 3000), progressive=True))
    png = opened(encode("PNG", size=(4000, 3000)))
    webp = opened(encode("WEBP", size=(4000, 3000)))
    assert decode_cost(jpeg, 2048) < 15 * MB
    assert decode_cost(progressive, 2048) > 40 * MB  # its coefficients are kept whole
    assert 55 * MB < decode_cost(png, 2048) < 70 * MB
    assert decode_cost(webp, 2048) > 180 * MB


def test_a_12_megapixel_jpeg_is_decoded_at_reduced_scale():
    raw = encode("JPEG", size=(4000, 3000), quality=70)
    photo = process_photo(raw, **LIMITS)
    # Decoded at 1/2 (2000 × 1500) instead of full size then shrunk to 2048 × 1536.
    assert (photo.width, photo.height) == (2000, 1500)
    # A photo a little over the stored size is not reduced below it.
    assert process_photo(encode("JPEG", size=(3000, 2000)), **LIMITS).width == 2048


def test_a_reduced_jpeg_is_still_turned_upright():
    raw = encode("JPEG", size=(4000, 2000), exif=exif_with_gps(orientation=6))
    photo = process_photo(raw, **LIMITS)
    assert (photo.width, photo.height) == (1000, 2000)
    assert_no_metadata(photo.data)


def test_decodes_past_the_cap_wait_then_are_refused_as_busy():
    import threading

    from services.photos import decode_slot

    inside, leave = threading.Event(), threading.Event()

    def hold():
        with decode_slot(1, 1):
            inside.set()
            leave.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    assert inside.wait(5)
    with pytest.raises(PhotoRefused) as info, decode_slot(1, 0.05):
        pass
    assert info.value.code == "busy"
    leave.set()
    holder.join(5)
    with decode_slot(1, 0.05):  # free again
        pass


# --- damaged files: always a refusal with a code, never another exception ------------------------

# What a refusal of a damaged file may say; anything else (or any other exception) is a bug.
DAMAGED_CODES = {"not_image", "unsupported_type", "too_many_pixels", "empty"}


def outcome(raw: bytes) -> str:
    """'ok' or the refusal code; any other exception fails the test."""
    try:
        photo = process_photo(raw, **{**LIMITS, "max_decode_bytes": 400 * MB})
    except PhotoRefused as refusal:
        assert refusal.code in DAMAGED_CODES, refusal.code
        return refusal.code
    # Whatever came through is a clean, readable image.
    out = Image.open(io.BytesIO(photo.data))
    out.load()
    assert out.size == (photo.width, photo.height)
    return "ok"


def with_app1(jpeg: bytes, payload: bytes) -> bytes:
    """The JPEG with an APP1 (EXIF) segment holding `payload` right after its SOI."""
    assert jpeg[:2] == b"\xff\xd8"
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def tiff(entries: list[tuple[int, int, int, bytes]], *, order: bytes = b"MM", extra: bytes = b"") -> bytes:
    """A TIFF/EXIF block with one IFD of (tag, type, count, 4-byte value or offset)."""
    fmt = ">" if order == b"MM" else "<"
    body = struct.pack(f"{fmt}H", len(entries))
    for tag, kind, count, value in entries:
        body += struct.pack(f"{fmt}HHI", tag, kind, count) + value.ljust(4, b"\0")[:4]
    return order + struct.pack(f"{fmt}HI", 42, 8) + body + struct.pack(f"{fmt}I", 0) + extra


SHORT, LONG, ASCII, RATIONAL = 3, 4, 2, 5
EXIF_IFD = 0x8769
PLAIN_JPEG = encode("JPEG", size=(48, 32))

CORRUPT_EXIF = {
    "orientation 0": tiff([(ORIENTATION, SHORT, 1, struct.pack(">H", 0))]),
    "orientation 9": tiff([(ORIENTATION, SHORT, 1, struct.pack(">H", 9))]),
    "orientation 65535": tiff([(ORIENTATION, SHORT, 1, struct.pack(">H", 65535))]),
    "orientation as a huge LONG": tiff([(ORIENTATION, LONG, 1, struct.pack(">I", 2**32 - 1))]),
    "orientation as text": tiff([(ORIENTATION, ASCII, 2, b"6\0")]),
    "orientation as a rational": tiff([(ORIENTATION, RATIONAL, 1, struct.pack(">I", 26))], extra=b"\0" * 8),
    "orientation with no value": tiff([(ORIENTATION, SHORT, 0, b"")]),
    "orientation, many values far away": tiff([(ORIENTATION, SHORT, 100_000, struct.pack(">I", 0x7FFFFFFF))]),
    "an IFD claiming 65535 entries": b"MM\0*\0\0\0\x08\xff\xff" + b"\x01\x12\0\x03" * 3,
    "the EXIF IFD pointing at itself": tiff([(EXIF_IFD, LONG, 1, struct.pack(">I", 8))]),
    "the EXIF IFD far past the end": tiff([(EXIF_IFD, LONG, 1, struct.pack(">I", 0x7FFFFFF0))]),
    "the GPS IFD at an odd place": tiff([(GPS_IFD, LONG, 1, struct.pack(">I", 3))]),
    "a negative-looking first IFD": b"MM\0*\xff\xff\xff\xf0",
    "an unknown byte order": b"XX\0*\0\0\0\x08\0\x01" + b"\x01\x12\0\x03\0\0\0\x01\0\x06\0\0",
    "a truncated header": b"MM\0",
    "little-endian orientation 200": tiff([(ORIENTATION, SHORT, 1, struct.pack("<H", 200))], order=b"II"),
    "a zero-denominator rational": tiff([(0x011A, RATIONAL, 1, struct.pack(">I", 26))], extra=b"\0\0\0\x48\0\0\0\0"),
}


@pytest.mark.parametrize("payload", list(CORRUPT_EXIF.values()), ids=list(CORRUPT_EXIF))
def test_corrupt_exif_in_a_jpeg_is_read_or_refused(payload):
    assert outcome(with_app1(PLAIN_JPEG, b"Exif\0\0" + payload)) in DAMAGED_CODES | {"ok"}


@pytest.mark.parametrize("payload", list(CORRUPT_EXIF.values()), ids=list(CORRUPT_EXIF))
@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_corrupt_exif_in_png_and_webp_is_read_or_refused(fmt, payload):
    try:
        raw = encode(fmt, size=(40, 30), exif=b"Exif\0\0" + payload)
    except Exception as exc:  # Pillow itself cannot write this one
        pytest.skip(f"cannot write it: {exc}")
    assert outcome(raw) in DAMAGED_CODES | {"ok"}


@pytest.mark.parametrize("orientation", [1, 2, 3, 4, 5, 6, 7, 8])
def test_every_real_orientation_is_applied(orientation):
    raw = encode("JPEG", size=(40, 20), exif=exif_with_gps(orientation=orientation))
    photo = process_photo(raw, **LIMITS)
    assert (photo.width, photo.height) == ((40, 20) if orientation < 5 else (20, 40))


@pytest.mark.parametrize(("width", "height"), [(0, 10), (10, 0), (0, 0)])
def test_zero_size_images_are_not_images(width, height):
    assert refused(_png_header_only(width, height)) == "not_image"


def _heic() -> bytes | None:
    import pillow_heif

    pillow_heif.register_heif_opener()
    buf = io.BytesIO()
    try:
        Image.new("RGB", (32, 24), (20, 120, 40)).save(buf, "HEIF")
    except (KeyError, OSError, ValueError, RuntimeError):
        return None
    return buf.getvalue()


SEEDS = {
    "jpeg": PLAIN_JPEG,
    "jpeg, EXIF and GPS, turned": encode("JPEG", size=(48, 32), exif=exif_with_gps(orientation=6)),
    "progressive jpeg": encode("JPEG", size=(48, 32), progressive=True),
    "png": encode("PNG", size=(24, 16)),
    "png with alpha and EXIF": encode("PNG", size=(24, 16), mode="RGBA", color=(1, 2, 3, 4), exif=exif_with_gps(3)),
    "palette png": encode("PNG", size=(24, 16), mode="P", color=7),
    "webp": encode("WEBP", size=(24, 16), exif=exif_with_gps(orientation=8)),
    "lossless webp": encode("WEBP", size=(24, 16), lossless=True),
}
if (heic := _heic()) is not None:
    SEEDS["heic"] = heic


@pytest.mark.parametrize("seed", list(SEEDS.values()), ids=list(SEEDS))
def test_every_truncation_of_a_valid_photo_is_read_or_refused(seed):
    step = max(1, len(seed) // 120)
    for end in range(0, len(seed), step):
        outcome(seed[:end])


def test_mutated_photos_are_read_or_refused():
    """Hypothesis flips, overwrites, inserts and cuts bytes of small valid JPEG, PNG, WebP
    (and HEIC when this pillow-heif can write it): every result is a photo or a refusal."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    edit = st.tuples(
        st.sampled_from(["set", "insert", "delete", "cut", "exif"]),
        st.floats(min_value=0, max_value=1, allow_nan=False),
        st.binary(min_size=1, max_size=8),
    )

    @settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
    @given(seed=st.sampled_from(sorted(SEEDS)), edits=st.lists(edit, min_size=1, max_size=6))
    def check(seed, edits):
        data = bytearray(SEEDS[seed])
        for kind, where, chunk in edits:
            at = int(where * max(0, len(data) - 1))
            if kind == "exif":  # within the EXIF block, where the crashes were
                start = max(data.find(b"MM\0*"), data.find(b"II*\0"))
                if start < 0:
                    continue
                at = start + int(where * 24)  # the header and the first entries
                data[at : at + len(chunk)] = chunk
            elif kind == "set":
                data[at : at + len(chunk)] = chunk
            elif kind == "insert":
                data[at:at] = chunk
            elif kind == "delete":
                del data[at : at + len(chunk)]
            else:
                del data[at:]
        outcome(bytes(data))

    check()
