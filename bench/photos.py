"""Concerns with photos under load, and what one photo costs to decode, for bench/run.py.

1. photo_load: P residents each open the concern form (their own session cookie), then
   all send it at once with three 12-megapixel JPEGs (4000 × 3000, as a phone takes
   them, a few MB each). Then the database is counted: every acknowledged (303) concern
   stored once with its three photos, no duplicates, no 5xx. The photos are decoded
   before any write transaction (views/public.py), so on SQLite the write lock covers
   only the inserts.
2. photo_memory: each worst-case image is decoded by services.photos.process_photo, with
   the production limits, in a fresh Python process; its peak RSS above what the process
   held before is the photo's cost (Linux VmHWM, reset before). The images: phone photos at 12, 48
   and 50 megapixels (JPEG, progressive JPEG, HEIC), the largest WebP and PNG the decode
   budget lets in, and the 88 KB WebP of 16,383 × 3,000 that used to cost ~770 MB.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import secrets
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import sqlalchemy as sa
from form_post import concern_fields, new_boundary, post_form

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def phone_jpeg(width: int = 4000, height: int = 3000, *, progressive: bool = False, quality: int = 85) -> bytes:
    """A JPEG as costly to decode as a phone's photo of that size: noise at a quarter of
    the size, scaled up (pure noise at full size would be over the 8 MB limit)."""
    from PIL import Image

    small = Image.frombytes("RGB", (width // 4, height // 4), os.urandom((width // 4) * (height // 4) * 3))
    buf = io.BytesIO()
    small.resize((width, height), Image.Resampling.NEAREST).save(buf, "JPEG", quality=quality, progressive=progressive)
    return buf.getvalue()


# --- 1. residents sending photos at once -------------------------------------------------------


def _multipart(fields: list[tuple[str, str]], files: list[tuple[str, bytes]], boundary: str) -> bytes:
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields]
    for name, data in files:
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="photos"; filename="{name}"\r\n'
        parts.append(head.encode() + b"Content-Type: image/jpeg\r\n\r\n" + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts)


def photo_load(server, database_url: str, code: str, *, residents: int, photos_each: int, open_form, log) -> dict:
    """`open_form(port, code, index, run_tag)` is bench/run.py's: a Resident holding a form."""
    port = server.port
    run_tag = "photo" + secrets.token_hex(3)
    t0 = time.perf_counter()
    photos = [phone_jpeg() for _ in range(photos_each)]
    log(
        f"  {photos_each} photos of 4000 x 3000 made ({', '.join(f'{len(p) / 1e6:.1f}' for p in photos)} MB) "
        f"in {time.perf_counter() - t0:.1f} s"
    )
    people = [open_form(port, code, i, run_tag) for i in range(residents)]
    bodies = []
    for r in people:
        boundary = new_boundary()
        fields = concern_fields(r)
        files = [(f"IMG_{r.index:04d}_{n}.JPG", p) for n, p in enumerate(photos)]
        bodies.append((boundary, _multipart(fields, files, boundary)))

    results: list[dict] = [{} for _ in people]
    barrier = threading.Barrier(len(people) + 1)

    def send(i: int) -> None:
        r, (boundary, body) = people[i], bodies[i]
        barrier.wait()
        out = post_form(port, f"/s/{code}/concern", r.cookie, boundary, body, timeout=180)
        results[i] = out

    threads = [threading.Thread(target=send, args=(i,), daemon=True) for i in range(len(people))]
    for t in threads:
        t.start()
    cpu_before = server.cpu_seconds()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    cpu = server.cpu_seconds() - cpu_before

    statuses = Counter(str(r["status"]) if r["status"] is not None else "error" for r in results)
    acked = {res["code"]: r.submission_key for r, res in zip(people, results, strict=True) if res.get("code")}
    marker = f"%（压测{run_tag}第%"
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT c.tracking_code, c.submission_key, c.content, "
                "(SELECT count(*) FROM attachment a WHERE a.concern_id = c.id) AS photos "
                "FROM concern c WHERE c.content LIKE :m"
            ),
            {"m": marker},
        ).all()
    engine.dispose()
    by_code = Counter(row.tracking_code for row in rows)
    by_content = Counter(row.content for row in rows)
    photos_of = {row.tracking_code: row.photos for row in rows}
    latencies = [r["seconds"] * 1000 for r in results]
    return {
        "residents": residents,
        "photos_each": photos_each,
        "photo_bytes": [len(p) for p in photos],
        "acknowledged": len(acked),
        "status_counts": dict(statuses),
        "server_errors_5xx": sum(1 for r in results if r["status"] is not None and r["status"] >= 500),
        "busy_503": statuses.get("503", 0),
        "rows_in_db": len(rows),
        "acknowledged_stored_once": sum(1 for c in acked if by_code.get(c) == 1),
        "acknowledged_with_all_photos": sum(1 for c in acked if photos_of.get(c) == photos_each),
        "duplicates": sum(n - 1 for n in by_content.values() if n > 1),
        "stored_not_acknowledged": sum(1 for row in rows if row.tracking_code not in acked),
        "elapsed_seconds": round(elapsed, 2),
        "server_cpu_ms_per_photo": round(cpu / max(1, residents * photos_each) * 1000, 1),
        "latency_ms": {"p50": round(_percentile(latencies, 50) or 0), "max": round(max(latencies, default=0))},
        "samples_not_303": [r for r in results if r["status"] != 303][:3],
    }


# --- 2. what one photo costs to decode ----------------------------------------------------------

_CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from app import create_app
from services.photos import process_photo
from services.errors import PhotoRefused

def status(key):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(key))  # kB

cfg = create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "x", "TESTING": True}).config
raw = open(sys.argv[2], "rb").read()
# The peak RSS is inherited across fork and exec (a bench that made big images would show
# through): reset it to the current RSS first.
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
before = status("VmRSS:")
t0 = time.perf_counter()
try:
    p = process_photo(raw, max_bytes=cfg["MAX_PHOTO_BYTES"], max_pixels=cfg["MAX_PHOTO_PIXELS"],
                      max_side=cfg["STORED_PHOTO_MAX_SIDE"], max_decode_bytes=cfg["PHOTO_DECODE_MB_MAX"] << 20)
    outcome = f"stored {p.width}x{p.height}"
except PhotoRefused as refused:
    outcome = f"refused: {refused.code}"
seconds = time.perf_counter() - t0
peak = status("VmHWM:")
print(json.dumps({"outcome": outcome, "seconds": round(seconds, 2), "peak_mb": round((peak - before) / 1024, 1)}))
"""


def _worst_cases() -> list[tuple[str, bytes]]:
    import pillow_heif
    from PIL import Image

    pillow_heif.register_heif_opener()

    def flat(fmt: str, size: tuple[int, int], **params) -> bytes:
        buf = io.BytesIO()
        Image.new("RGB", size, (100, 150, 200)).save(buf, fmt, **params)
        return buf.getvalue()

    def noisy(fmt: str, size: tuple[int, int], **params) -> bytes:
        w, h = size
        small = Image.frombytes("RGB", (w // 16, h // 16), os.urandom((w // 16) * (h // 16) * 3))
        buf = io.BytesIO()
        small.resize(size, Image.Resampling.BILINEAR).save(buf, fmt, **params)
        return buf.getvalue()

    cases = [
        ("12 MP JPEG 4000x3000", phone_jpeg()),
        ("12 MP progressive JPEG", phone_jpeg(progressive=True)),
        ("50 MP JPEG 8160x6120", noisy("JPEG", (8160, 6120), quality=75)),
        ("50 MP progressive JPEG", noisy("JPEG", (8160, 6120), quality=75, progressive=True)),
        ("24 MP WebP 6000x4000", noisy("WEBP", (6000, 4000), quality=80)),
        ("49 MP WebP 16383x3000 (88 KB)", flat("WEBP", (16383, 3000), quality=80)),
        ("50 MP PNG 8160x6120", flat("PNG", (8160, 6120))),
    ]
    with contextlib.suppress(KeyError, OSError, ValueError, RuntimeError):  # a pillow-heif that cannot write HEIC
        cases.append(("48 MP HEIC 8064x6048", noisy("HEIF", (8064, 6048), quality=60)))
    return cases


def photo_memory(workdir: Path, log) -> dict:
    rows = []
    for label, data in _worst_cases():
        path = workdir / f"worst-{len(rows)}.img"
        path.write_bytes(data)
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, str(ROOT), str(path)], capture_output=True, text=True, timeout=300
        )
        path.unlink()
        try:
            measured = json.loads(done.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            measured = {"outcome": f"failed: {done.stderr.strip()[-200:]}", "seconds": None, "peak_mb": None}
        rows.append({"image": label, "kb": round(len(data) / 1024), **measured})
        log(f"  {label}: {measured['outcome']}, +{measured['peak_mb']} MB, {measured['seconds']} s")
    peaks = [r for r in rows if r["peak_mb"] is not None]
    worst = max(peaks, key=lambda r: r["peak_mb"]) if peaks else None
    return {"images": rows, "worst": worst}


def memory_table(result: dict) -> str:
    lines = ["Photo decode, one image in a fresh process (peak RSS above the process before it)"]
    lines.append(f"  {'image':<32}{'file':>10}  {'outcome':<26}{'peak':>10}{'time':>9}")
    for r in result["images"]:
        peak = "—" if r["peak_mb"] is None else f"{r['peak_mb']:,.0f} MB"
        secs = "—" if r["seconds"] is None else f"{r['seconds']:.2f} s"
        lines.append(f"  {r['image']:<32}{r['kb']:>7,} KB  {r['outcome']:<26}{peak:>10}{secs:>9}")
    if result.get("worst"):
        w = result["worst"]
        lines.append(f"  worst photo: {w['image']}, +{w['peak_mb']:,.0f} MB")
    return "\n".join(lines)
