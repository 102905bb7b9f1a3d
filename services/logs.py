"""Log lines for people and for machines: one JSON object a line in production (LOG_FORMAT=
json), a readable line in development (text). Both carry the request id; neither carries
personal data: paths have their codes masked, addresses are cut to their network, and no
form body or query string is ever written.

The fields of a request (request_id, method, path, remote) are put on each record by the
web layer (views/observability.py) through `request_fields`; this module knows no request.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from services.privacy import mask_codes, mask_ip, mask_mobile

# nginx's $request_id is 32 hex digits; other proxies use UUIDs. Anything else (too long,
# odd characters that could forge a log line) is replaced by one of ours.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9-]{1,64}")
# Fields a record may carry beyond the message; anything else a caller passes is dropped.
REQUEST_FIELDS = ("request_id", "method", "path", "route", "status", "duration_ms", "remote")
_OURS = "_mashang_handler"
# A mainland mobile number standing alone (+86 or not): the callers mask them already, and
# a line that slips through is masked here anyway.
_MOBILE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")


def scrub(message: str) -> str:
    """A message as a log may keep it: mobile numbers masked. (Codes are the caller's to
    mask: the outbox's log sender writes them in full in development, for the demo.)"""
    return _MOBILE.sub(lambda m: mask_mobile(m.group(0)), message)


def sane_request_id(incoming: str | None) -> str:
    """The proxy's request id when it is one, else a new one (32 hex digits, like nginx's)."""
    if incoming and _SANE_REQUEST_ID.fullmatch(incoming):
        return incoming
    return secrets.token_hex(16)


def safe_path(path: str) -> str:
    """The path as a log may show it: tracking codes, one-time codes and link tokens masked
    (the query string is never passed here)."""
    return mask_codes(path)


def safe_remote(address: str | None) -> str:
    return mask_ip(address)


def default_format(app_env: str) -> str:
    return "json" if app_env == "production" else "text"


class JsonFormatter(logging.Formatter):
    """time, level, logger, message, then the request fields the record carries."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        for field in REQUEST_FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                entry[field] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802  (logging's name)
        record.message = scrub(record.message)
        return super().formatMessage(record)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        rid = getattr(record, "request_id", None)
        if rid is None:
            return line
        return f"{line} [{rid} {getattr(record, 'method', '')} {getattr(record, 'path', '')}]"


def formatter(kind: str) -> logging.Formatter:
    if kind not in ("json", "text"):
        raise ValueError(f"LOG_FORMAT must be json or text, not {kind!r}")
    return JsonFormatter() if kind == "json" else TextFormatter()


class _Stderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (gunicorn and pytest replace it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


class _RequestFilter(logging.Filter):
    def __init__(self, fields: Callable[[], dict[str, Any] | None]) -> None:
        super().__init__()
        self.fields = fields

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in (self.fields() or {}).items():
            if getattr(record, key, None) is None:
                setattr(record, key, value)
        return True


def unconfigure() -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _OURS, False):
            root.removeHandler(handler)


def configure(kind: str, *, level: int = logging.INFO, request_fields: Callable[[], dict | None]) -> None:
    """One handler on the root logger, so the app's, the services' and the libraries' lines
    come out alike. Called again (another app in the same process) it replaces its own."""
    unconfigure()
    root = logging.getLogger()
    handler = _Stderr()
    setattr(handler, _OURS, True)
    handler.setFormatter(formatter(kind))
    handler.addFilter(_RequestFilter(request_fields))
    root.addHandler(handler)
    root.setLevel(level)


def duration_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def env_format() -> str:
    """For gunicorn's own logger, which starts before any app: the environment decides."""
    return os.environ.get("LOG_FORMAT") or default_format(os.environ.get("APP_ENV", "development"))
