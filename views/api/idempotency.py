"""The Idempotency-Key header of the API POSTs, for /api/v1 and /open311/v2 alike
(services.idempotency keeps the keys and their answers)."""

from __future__ import annotations

from functools import wraps

from flask import Response, current_app, request

from extensions import db
from services import idempotency

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"


def request_fingerprint() -> str:
    """This request's fingerprint: its form fields (the Open311 `api_key` field left out:
    the key holder is part of the claim already) and files, or its JSON, or its bytes."""
    fields: list[tuple[str, str]] = []
    files: list[tuple[str, bytes]] = []
    raw = b""
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        fields = [(name, value) for name, value in request.form.items(multi=True) if name != "api_key"]
        for name, upload in request.files.items(multi=True):
            files.append((name, upload.stream.read()))
            upload.stream.seek(0)
    elif request.is_json:
        raw = idempotency.json_body(request.get_data(cache=True))
    else:
        raw = request.get_data(cache=True)
    return idempotency.fingerprint(request.method, request.path, fields, files, raw)


class Gate:
    """One POST under an Idempotency-Key: `open()` before the work (in its transaction),
    `close(response)` after the work's commit."""

    def __init__(self, api_key) -> None:
        raw = request.headers.get(HEADER)
        self.api_key = api_key
        self.key = idempotency.checked_key(raw) if raw is not None and api_key is not None else None
        self.fingerprint = request_fingerprint() if self.key is not None else ""
        self.claim_id: int | None = None

    def open(self) -> Response | None:
        """The stored answer when this is a repeat (replay it), else None (go on): the claim
        is flushed in the current transaction. Refuses with ApiRefused (reused, in use)."""
        if self.key is None:
            return None
        found = idempotency.claim(self.api_key, self.key, self.fingerprint)
        if isinstance(found, int):
            self.claim_id = found
            return None
        response = current_app.response_class(found.body, found.status, content_type=found.content_type)
        response.headers[REPLAYED] = "true"
        return response

    def close(self, response: Response) -> Response:
        """Keep a successful answer for the repeats; anything else leaves no claim."""
        if self.claim_id is None:
            return response
        if 200 <= response.status_code < 300:
            idempotency.record(
                self.claim_id, response.status_code, response.content_type or "", response.get_data(as_text=True)
            )
            db.session.commit()
        else:
            db.session.rollback()
        return response


def idempotent(principal):
    """Decorate a POST view whose work is one transaction it commits: a repeat is answered
    from the store before the view runs. `principal()` gives the key holder (or None)."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            found = principal()
            gate = Gate(found.api_key if found is not None else None)
            try:
                replay = gate.open()
                if replay is not None:
                    db.session.rollback()
                    return replay
                response = current_app.make_response(view(*args, **kwargs))
            except BaseException:
                db.session.rollback()  # the claim goes with the refused work
                raise
            return gate.close(response)

        return wrapper

    return decorate
