"""Domain refusals: a stable code for tests and views, a message for people."""


class DomainError(Exception):
    """A domain rule refused an action. `code` is stable; views map it to a message."""

    def __init__(self, code: str, message: str = "", **details):
        super().__init__(code)
        self.code = code
        self.message = message or code
        self.details = details


class NotFound(DomainError):
    pass


class ConcernRefused(DomainError):
    pass


class PhotoRefused(DomainError):
    pass


class CheckInRefused(DomainError):
    pass


class TransitionRefused(DomainError):
    pass


class KioskRefused(DomainError):
    pass


class ApiRefused(DomainError):
    """A request to /api/v1/ refused before (or besides) the domain: the key, the scope, the
    input, the cursor. Answered as RFC 9457 problem+json with the code (views.api)."""
