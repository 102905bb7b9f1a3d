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
