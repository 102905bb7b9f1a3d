"""Sending the concern form as a phone does, for bench/run.py and bench/photos.py."""

from __future__ import annotations

import http.client
import re
import secrets
import time

HOST = "127.0.0.1"
RECEIPT_RE = re.compile(r"/t/([A-Z0-9]+)/receipt")


def concern_fields(resident) -> list[tuple[str, str]]:
    """The concern form's fields as a resident holding the form page (bench/run.py's
    Resident) sends them: the page's token and key, a category and the text."""
    return [
        ("csrf_token", resident.csrf_token),
        ("submission_key", resident.submission_key),
        ("category", resident.category),
        ("content", resident.content),
        ("contact_name", ""),
        ("contact_mobile", ""),
        ("homepage", ""),
    ]


def new_boundary() -> str:
    return "----mashangbench" + secrets.token_hex(8)


def post_form(port: int, path: str, cookie: str, boundary: str, body: bytes, timeout: float = 120) -> dict:
    """POST a multipart body with the form page's cookie: {status, code (from the receipt
    redirect), location, body (the start of an error page), error, seconds}."""
    headers = {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Cookie": cookie,
        "Accept-Language": "zh-CN,zh;q=0.9",
        "Origin": f"http://{HOST}:{port}",
        "Referer": f"http://{HOST}:{port}{path}",
    }
    started = time.perf_counter()
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("POST", path, body=body, headers=headers)
        resp = conn.getresponse()
        text = resp.read()
        location = resp.headers.get("Location") or ""
        m = RECEIPT_RE.search(location) if resp.status == 303 else None
        out: dict = {"status": resp.status, "code": m.group(1) if m else None, "location": location}
        if resp.status >= 400:
            out["body"] = text[:300].decode("utf-8", "replace")
    except Exception as exc:  # a refused or reset connection is a result too
        out = {"status": None, "code": None, "error": f"{type(exc).__name__}: {exc}"}
    finally:
        conn.close()
    out["seconds"] = time.perf_counter() - started
    return out
