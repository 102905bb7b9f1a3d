"""Idempotency-Key on every API POST (/api/v1 and /open311/v2).

A system that did not hear the answer to a POST sends it again with the same
`Idempotency-Key` header. Within KEPT (a day) the same key from the same API key with the
same body is answered with the stored answer, status and body, and nothing is done twice;
the same key with another body is refused (`idempotency_key_reused`).

The claim is a row inserted in the transaction that does the work: the unique constraint on
(api key, idempotency key) lets one of two racing requests insert it. On PostgreSQL the
other waits on the index until the first commits, then fails and reads the first's row; on
SQLite every write transaction begins IMMEDIATE, so the other reads the row when it gets
the lock. The answer is written just after the work's commit: a request arriving between
the two is told the first is still in flight (`idempotency_key_in_use`, 409) and tries
again. Only successful answers are kept: a refused request rolls back its claim with
everything else, so sending it again does it again (and most likely is refused again).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from extensions import db
from models import ApiIdempotency, ApiKey, utcnow
from models.api_request import IDEMPOTENCY_KEY_MAX
from services.errors import ApiRefused

KEPT = timedelta(hours=24)
# Printable ASCII without spaces at either end, as the IETF draft's examples (UUIDs, ULIDs).
_KEY_RE = re.compile(rf"^[\x21-\x7e](?:[\x20-\x7e]{{0,{IDEMPOTENCY_KEY_MAX - 2}}}[\x21-\x7e])?$")


@dataclass(frozen=True)
class Stored:
    status: int
    content_type: str
    body: str


def checked_key(raw: str) -> str:
    """The header's value, or ApiRefused("bad_idempotency_key")."""
    if not _KEY_RE.match(raw or ""):
        raise ApiRefused("bad_idempotency_key", n=IDEMPOTENCY_KEY_MAX)
    return raw


def fingerprint(
    method: str, path: str, fields: list[tuple[str, str]], files: list[tuple[str, bytes]], raw: bytes
) -> str:
    """What makes two POSTs the same: method, path and the body as parsed (form fields and
    the files' contents in order of name; a JSON body with its keys sorted; else the bytes).
    A multipart boundary or the order of fields does not count."""
    digest = hashlib.sha256()
    for part in (method.upper(), path):
        digest.update(part.encode() + b"\x1f")
    for name, value in sorted(fields):
        digest.update(b"f" + name.encode() + b"\x1e" + value.encode() + b"\x1f")
    for name, content in sorted(files):
        digest.update(b"m" + name.encode() + b"\x1e" + hashlib.sha256(content).digest() + b"\x1f")
    digest.update(b"b" + raw)
    return digest.hexdigest()


def json_body(raw: bytes) -> bytes:
    """A JSON body in one spelling (keys sorted, no spaces), or the bytes as they came."""
    try:
        return json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    except ValueError:
        return raw


def _find(key: ApiKey, idempotency_key: str) -> ApiIdempotency | None:
    return db.session.scalar(
        sa.select(ApiIdempotency).where(
            ApiIdempotency.api_key_id == key.id, ApiIdempotency.idempotency_key == idempotency_key
        )
    )


def _answer(row: ApiIdempotency, fp: str) -> Stored:
    if row.status is None or row.body is None:
        raise ApiRefused("idempotency_key_in_use")
    if row.fingerprint != fp:
        raise ApiRefused("idempotency_key_reused")
    return Stored(row.status, row.content_type, row.body)


def claim(key: ApiKey, idempotency_key: str, fp: str, now: datetime | None = None) -> Stored | int:
    """The stored answer to replay, or the id of a new claim, flushed in the current
    transaction (commit it with the work). Refuses with ApiRefused idempotency_key_reused
    (another body) and idempotency_key_in_use (the first request is not answered yet)."""
    now = now or utcnow()
    row = _find(key, idempotency_key)
    if row is not None and row.created_at < now - KEPT:
        db.session.delete(row)  # a day old: the key is free again (the clean-up job may not have run)
        db.session.flush()
        row = None
    if row is not None:
        return _answer(row, fp)
    claimed = ApiIdempotency(api_key_id=key.id, idempotency_key=idempotency_key, fingerprint=fp, created_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(claimed)
    except IntegrityError:
        # Another request with this key inserted first and has committed since.
        row = _find(key, idempotency_key)
        if row is None:
            raise ApiRefused("idempotency_key_in_use") from None
        return _answer(row, fp)
    return claimed.id


def record(claim_id: int, status: int, content_type: str, body: str, now: datetime | None = None) -> None:
    """Keep the answer of a claimed request (the caller commits)."""
    db.session.execute(
        sa.update(ApiIdempotency)
        .where(ApiIdempotency.id == claim_id)
        .values(status=status, content_type=content_type[:100], body=body, answered_at=now or utcnow())
    )


def purge(now: datetime | None = None) -> int:
    """Forget the keys older than KEPT (the scheduled job); how many."""
    cutoff = (now or utcnow()) - KEPT
    result = db.session.execute(sa.delete(ApiIdempotency).where(ApiIdempotency.created_at < cutoff))
    return result.rowcount or 0  # type: ignore[attr-defined]
