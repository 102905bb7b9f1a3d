"""Keyset paging and word search, shared by the lists that page (the inbox, public answers).

A cursor is the last row's (time, id): "20261201134500123456-42", or "none-42" for a row
without that time (a concern with no deadline, listed after those with one). A cursor
that is not one — garbage, or an id past the database's integer range — reads as None:
the first page, never an error.
"""

from datetime import datetime

import sqlalchemy as sa

from models.base import ID_MAX

STAMP = "%Y%m%d%H%M%S%f"
NO_TIME = "none"


def encode(stamp: datetime | None, ident: int) -> str:
    return f"{stamp.strftime(STAMP) if stamp is not None else NO_TIME}-{ident}"


def decode_untimed(cursor: str | None) -> tuple[datetime | None, int] | None:
    """A cursor whose time may be "none"."""
    stamp, _, ident = (cursor or "").partition("-")
    if not ident.isdigit() or len(ident) > 10 or int(ident) > ID_MAX:
        return None
    if stamp == NO_TIME:
        return None, int(ident)
    if len(stamp) != 20:
        return None
    try:
        return datetime.strptime(stamp, STAMP), int(ident)
    except ValueError:
        return None


def decode(cursor: str | None) -> tuple[datetime, int] | None:
    """A cursor with a time."""
    position = decode_untimed(cursor)
    if position is None or position[0] is None:
        return None
    return position[0], position[1]


def contains(column, word: str) -> sa.ColumnElement[bool]:
    """`column` contains `word` as typed, any case: % and _ are letters here, not patterns."""
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")


# --- opaque cursors, for the machine interfaces (/api/v1/, later /open311/v2/) ------------
# A client gets the cursor signed and must give it back as it was: a changed or made-up
# one is refused (ApiRefused "bad_cursor"), never read as some other position. The `kind`
# keeps one list's cursor out of another.


def _sealer():
    from flask import current_app
    from itsdangerous import URLSafeSerializer

    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="keyset-cursor")


def seal(kind: str, position: str) -> str:
    """An opaque cursor for `position` (encode()'s text, or an id) in the list `kind`."""
    return _sealer().dumps([kind, position])


def unseal(kind: str, cursor: str | None) -> str | None:
    """The position a sealed cursor holds; None for no cursor. Refuses bad_cursor."""
    from itsdangerous import BadData

    from services.errors import ApiRefused

    if not cursor:
        return None
    try:
        got = _sealer().loads(cursor)
    except BadData as exc:
        raise ApiRefused("bad_cursor") from exc
    if not (isinstance(got, list) and len(got) == 2 and got[0] == kind and isinstance(got[1], str)):
        raise ApiRefused("bad_cursor")
    return got[1]


def after_id(kind: str, cursor: str | None) -> int | None:
    """The id a sealed id cursor holds (lists in id order)."""
    position = unseal(kind, cursor)
    if position is None:
        return None
    if not position.isdigit() or len(position) > 10 or int(position) > ID_MAX:
        from services.errors import ApiRefused

        raise ApiRefused("bad_cursor")
    return int(position)
