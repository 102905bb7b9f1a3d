"""Helpers shared by view tests."""

import urllib.request

from extensions import SESSION_KEY, db
from models import utcnow
from services import sessions


def login(client, user, *, now=None) -> str:
    """Sign `user` in on `client` without going through the form: a server-side session
    record as the form makes, its key in the cookie (committing first, since every
    request of the test client has its own database session). Returns the key."""
    db.session.commit()  # a fresh transaction: an old SQLite snapshot cannot write
    key = sessions.start(user, user_agent="pytest", ip="127.0.0.1", now=now or utcnow())
    db.session.commit()
    with client.session_transaction() as s:
        s["_user_id"] = user.get_id()
        s["_fresh"] = True
        s[SESSION_KEY] = key
    return key


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """For urllib against the live server: a 303 is an answer to read, not to follow."""

    def redirect_request(self, *args, **kwargs):
        return None
