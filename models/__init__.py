"""The schema. Importing this package registers every table on Base.metadata."""

from models.api_key import ApiKey
from models.base import Base, ShownOnStationPage, utcnow
from models.board import Activity, ActivityPhoto, Notice, ReceptionDay, StationRules, reception_day_representative
from models.booking import Booking
from models.cache import CacheStamp
from models.calendar import CalendarDay, CalendarYear
from models.concern import Attachment, Concern, ConcernEvent, ConcernRating
from models.duty import CheckInAttempt, Duty, DutySlot
from models.imports import ImportUpload
from models.kiosk import KioskDevice, KioskPairing
from models.mobile import MobileCode, ResidentMobile
from models.official import OfficeHour, Official, OfficialSession
from models.outbox import AuditLog, Outbox
from models.region import Region
from models.session import ContactDisclosure, UserSession
from models.station import Station, StationCodeAlias, representative_station
from models.unit import Category, Unit
from models.user import AccountLink, Representative, User, manager_station

__all__ = [
    "ShownOnStationPage",
    "Activity",
    "ActivityPhoto",
    "Notice",
    "ReceptionDay",
    "StationRules",
    "reception_day_representative",
    "AccountLink",
    "ApiKey",
    "Attachment",
    "AuditLog",
    "Base",
    "CacheStamp",
    "Booking",
    "CalendarDay",
    "CalendarYear",
    "Category",
    "CheckInAttempt",
    "Concern",
    "ContactDisclosure",
    "ConcernEvent",
    "ConcernRating",
    "Duty",
    "ImportUpload",
    "DutySlot",
    "KioskDevice",
    "KioskPairing",
    "MobileCode",
    "OfficeHour",
    "Official",
    "OfficialSession",
    "Outbox",
    "Region",
    "Representative",
    "ResidentMobile",
    "Station",
    "StationCodeAlias",
    "Unit",
    "User",
    "UserSession",
    "manager_station",
    "representative_station",
    "utcnow",
]
