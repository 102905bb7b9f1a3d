"""Photos a resident has sent that could not be filed yet — another field to correct, the
database busy, every decoding place taken — kept for a while so that they need not be
chosen again: a browser never keeps chosen files across a round trip.

A held photo is already decoded and cleaned (services/photos.py); it waits in the upload
storage's held area, and the form carries a signed token per photo (its key, type, size
and the file name the resident chose). A token is worth nothing without the server's
secret, and nothing after `max_age` seconds; files older than that are swept.
"""

from dataclasses import dataclass

from itsdangerous import BadData, URLSafeTimedSerializer

from services.errors import PhotoRefused
from services.photos import ProcessedPhoto
from services.storage import Storage

SALT = "mashang.held-photo"
NAME_MAX = 60  # of the file name shown beside the field


@dataclass(frozen=True)
class HeldPhoto:
    token: str
    name: str
    photo: ProcessedPhoto


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=SALT)


def hold(storage: Storage, photo: ProcessedPhoto, name: str, *, secret: str, max_age: float) -> HeldPhoto:
    """Keep a cleaned photo; sweeps held photos past `max_age` on the way."""
    storage.sweep_held(max_age)
    key = storage.hold(photo.data, photo.extension)
    name = (name or "")[:NAME_MAX]
    token = _serializer(secret).dumps([key, photo.content_type, photo.extension, photo.width, photo.height, name])
    return HeldPhoto(token, name, photo)


def describe(token: str, *, secret: str) -> str | None:
    """The file name a token stands for (expired or not), or None for a forged one."""
    try:
        payload = _serializer(secret).loads(token)
    except BadData:
        return None
    return str(payload[5]) if isinstance(payload, list) and len(payload) == 6 else None


def restore(storage: Storage, token: str, *, secret: str, max_age: float) -> HeldPhoto:
    """The held photo behind a token; PhotoRefused("held_expired") when it is gone."""
    name = describe(token, secret=secret) or "?"
    try:
        key, content_type, extension, width, height, name = _serializer(secret).loads(token, max_age=int(max_age))
    except (BadData, ValueError, TypeError) as exc:
        raise PhotoRefused("held_expired", name=name) from exc
    data = storage.read_held(str(key))
    if data is None:
        raise PhotoRefused("held_expired", name=name)
    return HeldPhoto(token, name, ProcessedPhoto(data, content_type, extension, int(width), int(height)))
