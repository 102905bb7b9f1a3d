"""QR codes, read back with a real decoder (zxing-cpp); SVGs are rasterised by Chromium."""

import base64
import io
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from services.qr import qr_png, qr_svg
from tests import factories

BASE = "http://mashang.test"  # PUBLIC_BASE_URL in conftest's base_config
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def decode_png(data: bytes) -> list[str]:
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    return [result.text for result in zxingcpp.read_barcodes(image)]


@pytest.fixture(scope="module")
def decode_svg():
    """Render an SVG in headless Chromium (as a browser shows the poster) and decode it.

    Playwright's sync API refuses to start in a thread whose asyncio loop is already in
    use (the e2e tests keep a session-wide Playwright open), so the browser lives in a
    thread of its own and every call goes through that one thread."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed: cannot rasterise SVG")
    from playwright.sync_api import sync_playwright

    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="svg-render")
    state = {}

    def start():
        state["pw"] = sync_playwright().start()
        state["browser"] = state["pw"].chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        state["page"] = state["browser"].new_page()

    def screenshot(svg: bytes) -> bytes:
        src = "data:image/svg+xml;base64," + base64.b64encode(svg).decode()
        state["page"].set_content(
            '<html><body style="margin:0;background:#fff">'
            f'<img id="qr" src="{src}" style="display:block;width:400px;height:400px">'
            "</body></html>"
        )
        return state["page"].locator("#qr").screenshot()

    def stop():
        state["browser"].close()
        state["pw"].stop()

    worker.submit(start).result()

    def decode(svg: bytes) -> list[str]:
        assert svg.lstrip().startswith((b"<svg", b"<?xml"))
        shot = worker.submit(screenshot, svg).result()
        return [result.text for result in zxingcpp.read_barcodes(Image.open(io.BytesIO(shot)))]

    try:
        yield decode
    finally:
        worker.submit(stop).result()
        worker.shutdown()


@pytest.fixture
def app_config(tmp_path):
    # Each test gets its own output folder, so the CLI test sees exactly what it wrote.
    return {"QRCODE_FOLDER": str(tmp_path / "qrcodes")}


def active_station(db, **kw):
    st = factories.station(**kw)
    db.session.commit()
    return st


# --- the pure functions ------------------------------------------------------------


def test_png_decodes_to_the_url():
    url = f"{BASE}/s/K7M3QX"
    assert decode_png(qr_png(url)) == [url]
    # A smaller module size still decodes (the receipt uses 8 px).
    assert decode_png(qr_png(url, box_size=4)) == [url]


def test_svg_is_one_path_and_decodes_to_the_url(decode_svg):
    url = f"{BASE}/s/K7M3QX"
    svg = qr_svg(url)
    assert svg.count(b"<path") == 1
    assert b"<rect" not in svg
    assert decode_svg(svg) == [url]


# --- the station QR routes ---------------------------------------------------------


def test_station_qr_png_route(client, db):
    st = active_station(db)
    resp = client.get(f"/s/{st.code}/qr.png")
    assert resp.status_code == 200
    assert resp.mimetype == "image/png"
    assert resp.cache_control.public
    assert resp.cache_control.max_age and resp.cache_control.max_age > 0
    etag = resp.headers.get("ETag")
    assert etag
    assert decode_png(resp.data) == [f"{BASE}/s/{st.code}"]

    again = client.get(f"/s/{st.code}/qr.png", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""

    stale = client.get(f"/s/{st.code}/qr.png", headers={"If-None-Match": '"something-else"'})
    assert stale.status_code == 200


def test_station_qr_svg_route(client, db, decode_svg):
    st = active_station(db)
    resp = client.get(f"/s/{st.code}/qr.svg")
    assert resp.status_code == 200
    assert resp.mimetype == "image/svg+xml"
    assert resp.cache_control.public
    assert resp.cache_control.max_age and resp.cache_control.max_age > 0
    etag = resp.headers.get("ETag")
    assert etag
    assert decode_svg(resp.data) == [f"{BASE}/s/{st.code}"]
    assert client.get(f"/s/{st.code}/qr.svg", headers={"If-None-Match": etag}).status_code == 304


@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_station_qr_unknown_station_is_404_and_a_closed_ones_is_still_served(client, db, fmt):
    """Old posters of a closed station lead to the page that says where to go now."""
    gone = active_station(db, is_active=False)
    assert client.get(f"/s/ZZZZZZ/qr.{fmt}").status_code == 404
    assert client.get(f"/s/{gone.code}/qr.{fmt}").status_code == 200


def test_station_qr_lowercase_code_redirects(client, db):
    st = active_station(db)
    resp = client.get(f"/s/{st.code.lower()}/qr.png")
    assert resp.status_code == 301
    assert resp.headers["Location"].endswith(f"/s/{st.code}/qr.png")


# --- flask make-qrcodes -----------------------------------------------------------


def test_make_qrcodes_writes_png_and_svg_for_every_active_station(app, db, runner, decode_svg):
    active = [factories.station(name=f"联络站{i}") for i in range(3)]
    inactive = factories.station(name="已撤销的联络站", is_active=False)
    db.session.commit()

    result = runner.invoke(args=["make-qrcodes"])
    assert result.exit_code == 0, result.output

    folder = Path(app.config["QRCODE_FOLDER"])
    expected = {f"{st.code}.{ext}" for st in active for ext in ("png", "svg")}
    assert {p.name for p in folder.iterdir() if p.is_file()} == expected
    assert not (folder / f"{inactive.code}.png").exists()

    for st in active:
        url = f"{BASE}/s/{st.code}"
        assert decode_png((folder / f"{st.code}.png").read_bytes()) == [url]
        assert decode_svg((folder / f"{st.code}.svg").read_bytes()) == [url]


# --- the receipt's QR ---------------------------------------------------------------


def test_tracking_qr_png_decodes_to_the_tracking_url(client, db):
    concern = factories.concern()
    db.session.commit()
    resp = client.get(f"/t/{concern.tracking_code}/qr.png")
    assert resp.status_code == 200
    assert resp.mimetype == "image/png"
    assert decode_png(resp.data) == [f"{BASE}/t/{concern.tracking_code}"]


def test_tracking_qr_unknown_code_is_404(client, db):
    assert client.get("/t/K7M3QXP29D/qr.png").status_code == 404
