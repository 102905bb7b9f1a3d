"""Which notifications a concern event causes. Filled in below; see services/outbox.py."""


def queue_for_event(concern, event) -> list:
    return []
