"""The one place QR images are made. Every caller, web or CLI, goes through here."""

import io
from functools import lru_cache

import qrcode
import qrcode.image.svg
from qrcode.constants import ERROR_CORRECT_M


def _make(data: str) -> qrcode.QRCode:
    # M (15 %) survives a creased or slightly soiled printout; the payload is a short URL
    # so the code stays at a low version and scans from a distance.
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=10, border=4)
    qr.add_data(data)
    qr.make(fit=True)
    return qr


@lru_cache(maxsize=4096)
def qr_png(data: str, box_size: int = 10) -> bytes:
    qr = _make(data)
    qr.box_size = box_size
    buf = io.BytesIO()
    qr.make_image().save(buf, format="PNG", optimize=True)
    return buf.getvalue()


@lru_cache(maxsize=4096)
def qr_svg(data: str) -> bytes:
    image = _make(data).make_image(image_factory=qrcode.image.svg.SvgPathImage)
    return image.to_string(encoding="utf-8")


def write_station_codes(folder: str, base_url: str, station_codes: list[str]) -> list[str]:
    """Write <code>.png and <code>.svg for each station; returns the paths written."""
    from pathlib import Path

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for code in station_codes:
        url = f"{base_url}/s/{code}"
        for name, data in ((f"{code}.png", qr_png(url)), (f"{code}.svg", qr_svg(url))):
            path = out / name
            path.write_bytes(data)
            written.append(str(path))
    return written
