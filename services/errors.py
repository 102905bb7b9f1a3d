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


class MeetingRefused(DomainError):
    """A 述职 meeting (services.meetings). Scheduling: station_inactive,
    not_station_representative, bad_year, in_past, ends_before_start, too_long, started,
    cancelled. Rating: cancelled, not_open, closed, bad_rating, comment_too_long, no_cookie,
    too_many."""


class SuggestionRefused(DomainError):
    """A representative's suggestion: what the form or the step lacks (services.suggestion_flow)."""


class VoteRefused(DomainError):
    """民生实事项目票决 (services.votes)."""


class DraftRefused(DomainError):
    """Drafts of laws put out for comment and the residents' comments (services.drafts)."""


class ApiRefused(DomainError):
    """A request to /api/v1/ refused before (or besides) the domain: the key, the scope, the
    input, the cursor. Answered as RFC 9457 problem+json with the code (views.api)."""
