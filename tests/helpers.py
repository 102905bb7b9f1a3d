"""Helpers shared by view tests."""

from extensions import db


def login(client, user) -> None:
    """Sign `user` in on `client` without going through the form (committing first, since
    every request of the test client has its own database session)."""
    db.session.commit()
    with client.session_transaction() as s:
        s["_user_id"] = user.get_id()
        s["_fresh"] = True
