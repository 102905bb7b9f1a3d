"""The schema. Importing this package registers every table on Base.metadata."""

from models.api_key import ApiKey, WebhookSubscription
from models.api_request import ApiIdempotency, Open311Request
from models.base import Base, ShownOnStationPage, ShownOnTrackingPage, utcnow
from models.board import Activity, ActivityPhoto, Notice, ReceptionDay, StationRules, reception_day_representative
from models.booking import Booking
from models.cache import CacheStamp, PageChange
from models.calendar import CalendarDay, CalendarYear
from models.concern import Attachment, Concern, ConcernEvent, ConcernRating
from models.draft import DraftComment, DraftCommentEvent, DraftItem, DraftLaw, draft_law_station
from models.duty import CheckInAttempt, Duty, DutySlot
from models.figures import FigureAreaCell, FigureCell
from models.imports import ImportUpload
from models.kiosk import KioskDevice, KioskPairing
from models.meeting import MeetingRating, ReportMeeting, ReportMeetingEvent
from models.mobile import MobileCode, ResidentMobile
from models.official import OfficeHour, Official, OfficialSession
from models.outbox import AuditLog, Outbox
from models.region import Region
from models.session import ContactDisclosure, UserSession
from models.station import Station, StationCodeAlias, representative_station
from models.suggestion import Suggestion, SuggestionCoUnit, SuggestionEvent, SuggestionSigner, suggestion_concern
from models.unit import Category, Unit
from models.user import AccountLink, Representative, User, manager_station
from models.votes import (
    BallotCast,
    BallotTally,
    ProgressPhoto,
    ProgressReport,
    ProjectComment,
    ProjectVote,
    ProjectVoteEvent,
    VoteProject,
)

__all__ = [
    "BallotCast",
    "BallotTally",
    "ProgressPhoto",
    "ProgressReport",
    "ProjectComment",
    "ProjectVote",
    "ProjectVoteEvent",
    "VoteProject",
    "ShownOnStationPage",
    "ShownOnTrackingPage",
    "Activity",
    "ActivityPhoto",
    "Notice",
    "Open311Request",
    "ReceptionDay",
    "StationRules",
    "reception_day_representative",
    "AccountLink",
    "ApiIdempotency",
    "ApiKey",
    "Attachment",
    "AuditLog",
    "Base",
    "CacheStamp",
    "PageChange",
    "Booking",
    "CalendarDay",
    "CalendarYear",
    "Category",
    "CheckInAttempt",
    "Concern",
    "FigureAreaCell",
    "FigureCell",
    "ContactDisclosure",
    "ConcernEvent",
    "ConcernRating",
    "DraftComment",
    "DraftCommentEvent",
    "DraftItem",
    "DraftLaw",
    "draft_law_station",
    "Duty",
    "ImportUpload",
    "DutySlot",
    "KioskDevice",
    "KioskPairing",
    "MeetingRating",
    "MobileCode",
    "OfficeHour",
    "Official",
    "OfficialSession",
    "Outbox",
    "Region",
    "ReportMeeting",
    "ReportMeetingEvent",
    "Representative",
    "ResidentMobile",
    "Station",
    "StationCodeAlias",
    "Suggestion",
    "SuggestionCoUnit",
    "SuggestionEvent",
    "SuggestionSigner",
    "suggestion_concern",
    "Unit",
    "User",
    "UserSession",
    "manager_station",
    "representative_station",
    "utcnow",
    "WebhookSubscription",
]
