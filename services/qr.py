"""The one place QR images are made. Every caller, web or CLI, goes through here."""

import io
from functools import lru_cache
from pathlib import Path

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


def qr_svg_data_uri(data: str) -> str:
    """The SVG image as a data: address, for a page that must stand alone (a file of cards)."""
    import base64

    return "data:image/svg+xml;base64," + base64.b64encode(qr_svg(data)).decode("ascii")


def _write_codes(folder: Path, codes: list[str], url_of) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for code in codes:
        url = url_of(code)
        for name, data in ((f"{code}.png", qr_png(url)), (f"{code}.svg", qr_svg(url))):
            path = folder / name
            path.write_bytes(data)
            written.append(str(path))
    return written


def write_station_codes(folder: str, base_url: str, station_codes: list[str]) -> list[str]:
    """Write <code>.png and <code>.svg for each station; returns the paths written."""
    return _write_codes(Path(folder), station_codes, lambda code: f"{base_url}/s/{code}")


REP_FOLDER = "r"  # the representatives' codes (代表码), beside the stations'


def write_rep_codes(folder: str, base_url: str, rep_codes: list[str]) -> list[str]:
    """Write r/<code>.png and r/<code>.svg for each representative; returns the paths written."""
    return _write_codes(Path(folder) / REP_FOLDER, rep_codes, lambda code: f"{base_url}/r/{code}")
