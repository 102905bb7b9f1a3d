"""What every refusal says, in one place: (kind of refusal, code) → (form field, message).

Domain functions refuse with a code (services.errors.DomainError and its kinds); views,
the command line and the API read the words here, so a code is worded once. A refusal's
`details` fill the message's %(…)s, through `params` where they need shaping first. A
`context` words a code for one audience (the resident rating a concern reads "changed"
otherwise than staff do) or one part of a refusal (the lines of a calendar file).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from models.enums import ConcernAction
from services import limits
from services.account_links import LinkRefused
from services.auth import LOCK_MINUTES, AuthRefused
from services.board import BoardRefused
from services.bookings import BookingRefused
from services.errors import (
    ApiRefused,
    CheckInRefused,
    ConcernRefused,
    DomainError,
    DraftRefused,
    KioskRefused,
    MeetingRefused,
    PhotoRefused,
    SuggestionRefused,
    TransitionRefused,
    VoteRefused,
)
from services.imports import ImportRefused
from services.officials import OfficialRefused
from services.reference import Problem, ReferenceRefused
from services.regions import RegionRefused
from services.resident_mobile import MobileRefused
from services.roster import RosterRefused
from services.station_lifecycle import StationRefused
from services.workdays import CalendarRefused


@dataclass(frozen=True)
class Wording:
    message: Any  # a lazy string
    field: str | None = None  # the form field it belongs beside; None: above the form
    params: Callable[[dict], dict] | None = None  # the message's values from the details


def _overlap(d: dict) -> dict:
    return {
        "day": d["day"].strftime("%Y-%m-%d"),
        "start": d["starts_at"].strftime("%H:%M"),
        "end": d["ends_at"].strftime("%H:%M"),
        "station": d["station"],
    }


def _in_use(d: dict) -> dict:
    """What keeps a region on, counted (only the kinds there are)."""
    parts = []
    if d.get("stations"):
        parts.append(_("%(n)d active stations", n=d["stations"]))
    if d.get("units"):
        parts.append(_("%(n)d active handling units", n=d["units"]))
    if d.get("staff"):
        parts.append(_("%(n)d active congress staff accounts", n=d["staff"]))
    return {"what": _(", ").join(parts)}


def _distance(d: dict) -> dict:
    return {"distance": d.get("distance_m") or 0, "radius": d.get("radius") or 0}


_CHECK_FIELD = _l("Please check this field.")
_INCOMPLETE_PAGE = _l("The page was incomplete. Please open the station page again and tap once more.")
_KEEP_IT_TO = _l("Please keep it to %(n)d characters.")

T, C, P, D = TransitionRefused, ConcernRefused, PhotoRefused, CheckInRefused
R, U, K, M = RosterRefused, AuthRefused, CalendarRefused, MobileRefused
KD, F, RG, L, S, IM = KioskRefused, ReferenceRefused, RegionRefused, LinkRefused, StationRefused, ImportRefused
OF = OfficialRefused
B = BookingRefused
BD = BoardRefused
MT = MeetingRefused
SG = SuggestionRefused
V = VoteRefused
DR = DraftRefused
# The context of a draft's comments in moderation (the engine's codes, worded for them).
COMMENTS = "draft_comment"
AP = ApiRefused
Key = tuple[type[DomainError], str, str | None]
# The context in which the engine's codes (changed, not_allowed_now…) speak of a suggestion.
SUGGESTION = "suggestion"
# ... of a 票决's stage steps, and of a 述职 meeting's.
VOTE = "project_vote"
MEETING = "report_meeting"

WORDS: dict[Key, Wording] = {
    # The closed loop, in the back office
    (T, "changed", None): Wording(
        _l(
            "This concern changed after you opened it (a colleague acted, or the button was pressed twice). "
            "Here is where it stands now; what you typed has not been applied."
        )
    ),
    (T, "not_allowed_now", None): Wording(_l("This step is not possible at the concern's current stage.")),
    (T, "role_not_allowed", None): Wording(_l("Your role cannot take this step.")),
    (T, "note_required", None): Wording(_l("Please write the text this step needs.")),
    (T, "already_reopened", None): Wording(_l("This concern has already been reopened once.")),
    (T, "merge_target_required", None): Wording(
        _l("Give the tracking code of another open concern in your care to merge into.")
    ),
    (T, "representative_required", None): Wording(_l("Please choose the representative who takes it up.")),
    (T, "term_ended", None): Wording(
        _l("The term of office of %(name)s has ended: they can no longer take up concerns."), "representative"
    ),
    (T, "addressed_to_other", None): Wording(
        _l("This concern was written to %(name)s: only they take it up, unless it is passed to the station."),
        "representative",
    ),
    (T, "unit_required", None): Wording(_l("Please choose a handling unit.")),
    (T, "bad_deadline", None): Wording(_l("The deadline must be a day in the future.")),
    (T, "bad_category", None): Wording(_l("Please choose a different, active category.")),
    # ... and as the resident rating it reads them
    (T, "not_allowed_now", ConcernAction.RATE): Wording(
        _l(
            "This concern cannot be rated now. A concern is rated once the representative has checked the answer, "
            "once per round of handling."
        )
    ),
    (T, "changed", ConcernAction.RATE): Wording(
        _l("This concern changed while you were rating it. Please look at the page and rate again.")
    ),
    (T, "already_rated", None): Wording(_l("You have already rated this round of handling. Thank you.")),
    # ... and as staff keep a concern off the public answers, or put it back
    (T, "note_required", ConcernAction.WITHHOLD): Wording(
        _l("Please give the reason for keeping it off the public answers.")
    ),
    (T, "not_allowed_now", ConcernAction.WITHHOLD): Wording(
        _l("It cannot be withheld: the resident did not agree to publish it, or it is already withheld.")
    ),
    (T, "not_allowed_now", ConcernAction.RELEASE): Wording(_l("It is not withheld.")),
    (T, "reason_too_long", None): Wording(_KEEP_IT_TO, params=lambda _d: {"n": limits.WITHHOLD_REASON_MAX}),
    # The resident's concern form
    (C, "station_inactive", None): Wording(_l("This station is no longer active."), "content"),
    (C, "rep_not_serving", None): Wording(
        _l("%(name)s no longer takes concerns (their term of office has ended). Please write to the station instead."),
        "content",
    ),
    (C, "rep_unavailable", None): Wording(
        _l("%(name)s cannot receive concerns here at the moment. Please write to the station instead."), "content"
    ),
    (C, "rep_not_at_station", None): Wording(_l("This representative does not serve at this station."), "content"),
    (C, "bad_category", None): Wording(_CHECK_FIELD, "category"),
    (C, "content_length", None): Wording(_CHECK_FIELD, "content"),
    (C, "name_too_long", None): Wording(_CHECK_FIELD, "contact_name"),
    (C, "bad_mobile", None): Wording(_CHECK_FIELD, "contact_mobile"),
    (C, "anonymous_with_contact", None): Wording(_CHECK_FIELD, "anonymous"),
    (C, "consent_required", None): Wording(_CHECK_FIELD, "consent"),
    (C, "too_many_photos", None): Wording(_CHECK_FIELD, "photos"),
    # The resident's contact details, erased at their request (services.erasure)
    (C, "contact_erased", None): Wording(_l("Your name and mobile number have already been erased from this concern.")),
    (C, "no_contact", None): Wording(_l("This concern has no name or mobile number to erase.")),
    # Photos, each named by its file name
    (P, "too_large", None): Wording(
        _l("“%(name)s” is larger than %(mb)d MB. Please choose a smaller photo."),
        "photos",
        params=lambda d: {**d, "mb": limits.PHOTO_MB_MAX},
    ),
    (P, "empty", None): Wording(_l("“%(name)s” is empty."), "photos"),
    (P, "not_image", None): Wording(_l("“%(name)s” is not a photo we can read."), "photos"),
    (P, "unsupported_type", None): Wording(_l("“%(name)s” is not a JPEG, PNG, WebP or HEIC photo."), "photos"),
    (P, "too_many_pixels", None): Wording(_l("“%(name)s” has too many pixels. Please send a smaller photo."), "photos"),
    (P, "held_expired", None): Wording(
        _l("“%(name)s”, kept from your last try, has expired. Please choose it again."), "photos"
    ),
    # Every decoding place of this server is taken: said above the form, which comes back (503).
    (P, "busy", None): Wording(
        _l("Many photos are being sent right now. Please submit again in a moment: everything you typed is still here.")
    ),
    # Booking a visit (预约接待): the resident's form and their booking page
    (B, "station_inactive", None): Wording(_l("This station is no longer active.")),
    (B, "not_bookable", None): Wording(_l("Please choose one of the times listed."), "slot"),
    (B, "started", None): Wording(
        _l("This time has already begun or passed. Please choose a later one."),
        "slot",
    ),
    (B, "too_far", None): Wording(_l("This time cannot be booked yet. Please choose an earlier one."), "slot"),
    (B, "not_taking", None): Wording(_l("This time takes no bookings. Please choose another one."), "slot"),
    (B, "full", None): Wording(_l("This time has just been fully booked. Please choose another one."), "slot"),
    (B, "name_required", None): Wording(_l("Please give your name, so that the representative can greet you."), "name"),
    (B, "name_too_long", None): Wording(_KEEP_IT_TO, "name", params=lambda _d: {"n": limits.CONTACT_NAME_MAX}),
    (B, "bad_mobile", None): Wording(
        _l("Please enter an 11-digit mainland mobile number, such as 13812345678."), "mobile"
    ),
    (B, "subject_length", None): Wording(
        _l("Please say in %(min)d to %(max)d characters what you would like to talk about."),
        "subject",
        params=lambda _d: {"min": limits.BOOKING_SUBJECT_MIN, "max": limits.BOOKING_SUBJECT_MAX},
    ),
    (B, "consent_required", None): Wording(
        _l("Please agree that your name and number are used for this visit."), "consent"
    ),
    (B, "already_booked", None): Wording(
        _l("This mobile number has already booked this time. Look at the booking code you were given."), "mobile"
    ),
    (B, "too_many_ahead", None): Wording(
        _l("This mobile number already has %(maximum)d visits booked. Please cancel one, or come after them."),
        "mobile",
    ),
    (B, "too_many_today", None): Wording(
        _l("Too many bookings were made with this mobile number today. Please try again tomorrow."), "mobile"
    ),
    (B, "not_booked", None): Wording(
        _l("This booking is no longer open: it was cancelled, or the visit has taken place.")
    ),
    # ... and the station's side
    (B, "not_yet", None): Wording(_l("Who came can be recorded from the day of the visit.")),
    (B, "bad_mark", None): Wording(_l("Please choose whether the resident came.")),
    (B, "bad_capacity", None): Wording(_l("Please give a number of places from 0 to %(maximum)d."), "capacity"),
    (B, "nothing_to_cancel", None): Wording(_l("Nobody has booked this time.")),
    (B, "not_this_station", None): Wording(_l("This slot is on another station's roster.")),
    # "My concerns": a resident's number and the code sent to it
    (M, "bad_mobile", None): Wording(
        _l("Please enter an 11-digit mainland mobile number, such as 13812345678."), "mobile"
    ),
    (M, "too_many_hour", None): Wording(
        _l("Codes have been asked for this number several times in the last hour. Please try again in an hour."),
        "mobile",
    ),
    (M, "too_many_day", None): Wording(
        _l("Too many codes have been asked for this number today. Please try again tomorrow."), "mobile"
    ),
    (M, "bad_code", None): Wording(_l("The code has 6 digits."), "code"),
    (M, "wrong_code", None): Wording(_l("This code is not right. You can try %(left)d more times."), "code"),
    (M, "dead", None): Wording(
        _l("The code was entered wrongly too many times and no longer works. Please ask for a new code."), "code"
    ),
    (M, "expired", None): Wording(_l("The code has expired. Please ask for a new code."), "code"),
    (M, "no_code", None): Wording(_l("Please ask for a code first."), "code"),
    # Duty: checking in and out, and the manager's review
    (D, "bad_nonce", None): Wording(_INCOMPLETE_PAGE),
    (D, "nonce_reused", None): Wording(_INCOMPLETE_PAGE),
    (D, "station_inactive", None): Wording(_l("This station is no longer active.")),
    (D, "term_ended", None): Wording(
        _l(
            "Your term of office has ended, so there is no on-site duty to check in for. "
            "Your record stays in your file."
        )
    ),
    (D, "location_unavailable", None): Wording(
        _l("Your phone did not share its location, which this station asks for.")
    ),
    (D, "too_far", None): Wording(
        _l("Your phone's location is %(distance)d m from the station; it must be within %(radius)d m."),
        params=_distance,
    ),
    (D, "kiosk_required", None): Wording(
        _l("This station checks you in with the code on its tablet: scan the code on the tablet.")
    ),
    (D, "kiosk_invalid", None): Wording(
        _l("This tablet code is not valid for this station. Scan the code on the tablet again.")
    ),
    (D, "kiosk_expired", None): Wording(_l("This tablet code has expired. Scan the code on the tablet again.")),
    (D, "kiosk_used", None): Wording(
        _l("This tablet code has already been used to check in: each code works once. Scan the new code on the tablet.")
    ),
    (D, "not_yours", None): Wording(_l("This duty belongs to someone else.")),
    (D, "not_open", None): Wording(_l("This duty is no longer open.")),
    (D, "bad_residents", None): Wording(
        _l("Please enter the number of residents received, from 0 to %(max)d."),
        params=lambda _d: {"max": limits.RESIDENTS_MAX},
    ),
    (D, "voided", None): Wording(_l("This duty has already been voided.")),
    (D, "reason_required", None): Wording(_l("Please give a reason for voiding this duty.")),
    (D, "account_inactive", None): Wording(_l("Your account is switched off.")),
    # Officials at the station (services.officials)
    (T, "official_required", None): Wording(_l("Only an official checked in at the station can take this step.")),
    (T, "note_too_long", None): Wording(_KEEP_IT_TO, "answer", params=lambda d: {"n": d["maximum"]}),
    (OF, "not_checked_in", None): Wording(
        _l("You are not checked in at this station. Check in at the station first, then take the concern up.")
    ),
    (OF, "other_station", None): Wording(
        _l("This concern was filed at another station: you can take up only the concerns of the station you are at.")
    ),
    (OF, "post_required", None): Wording(_l("Please give the official's post."), "post"),
    (OF, "post_too_long", None): Wording(_KEEP_IT_TO, "post", params=lambda _d: {"n": limits.POST_MAX}),
    (OF, "unit_inactive", None): Wording(_l("This unit is switched off."), "unit"),
    (OF, "out_of_scope", None): Wording(_l("This unit is outside the regions you look after."), "unit"),
    (OF, "already_official", None): Wording(_l("This account is already an official's.")),
    (OF, "not_an_official", None): Wording(
        _l("Choose an official of a unit of this station's region or the regions above it."), "official"
    ),
    (OF, "overlap", None): Wording(
        _l("This official already has office hours on %(day)s from %(start)s to %(end)s at %(station)s."),
        "starts_at",
        params=_overlap,
    ),
    # Station tablets: the pairing code typed on the tablet, and the back office
    (KD, "bad_code", None): Wording(_l("A pairing code has 8 letters and digits, such as K7PM-3QX9."), "code"),
    (KD, "unknown_code", None): Wording(
        _l("This pairing code is not right. Check it, or ask the station manager for a new one."), "code"
    ),
    (KD, "used_code", None): Wording(
        _l("This pairing code has already been used. Ask the station manager for a new one."), "code"
    ),
    (KD, "expired_code", None): Wording(
        _l("This pairing code has expired. Ask the station manager for a new one."), "code"
    ),
    (KD, "station_inactive", None): Wording(_l("This station is no longer active.")),
    (KD, "name_too_long", None): Wording(_KEEP_IT_TO, "name", params=lambda _d: {"n": limits.KIOSK_NAME_MAX}),
    # The roster
    (R, "end_before_start", None): Wording(_l("The end time must be after the start time."), "ends_at"),
    (R, "in_the_past", None): Wording(_l("This time has already passed. Choose a day and time from now on."), "day"),
    (R, "in_the_past", "remove"): Wording(
        _l("A slot that has ended stays on the roster: the attendance review counts it.")
    ),
    (R, "not_this_station", None): Wording(_l("This slot is on another station's roster.")),
    (R, "term_ended", None): Wording(
        _l("This representative's term of office ends on %(last)s: the roster cannot go past it."),
        "representative",
    ),
    (R, "not_a_member", None): Wording(_l("This representative is not listed at this station."), "representative"),
    (R, "out_of_range", None): Wording(
        _l("Please choose a day between the years %(first)d and %(last)d."),
        "day",
        params=lambda d: {"first": d["first"], "last": d["last"]},
    ),
    (R, "too_many_weeks", None): Wording(
        _l("Repeat for at most %(n)d weeks."), "repeat_weeks", params=lambda d: {"n": d["maximum"]}
    ),
    (R, "overlap", None): Wording(
        _l("This representative already has a slot on %(day)s from %(start)s to %(end)s at %(station)s."),
        "starts_at",
        params=_overlap,
    ),
    # Signing in and passwords
    # One answer for an unknown account, a wrong password, a locked or a switched-off account:
    # the sign-in page must not tell which accounts exist (staff see a lock on the account).
    (U, "bad_credentials", None): Wording(
        _l(
            "The username, mobile number or password is not right. After several wrong passwords an account "
            "is locked for %(minutes)d minutes; if it still does not work, please ask your administrator."
        ),
        params=lambda _d: {"minutes": LOCK_MINUTES},
    ),
    (U, "signed_out", None): Wording(
        _l("The password was wrong too many times: you have been signed out. Please sign in again.")
    ),
    (U, "wrong_password", None): Wording(_l("The current password is not right."), "current"),
    (U, "password_too_short", None): Wording(
        _l("The password is too short: at least %(n)d characters."),
        "password",
        params=lambda _d: {"n": limits.PASSWORD_MIN},
    ),
    (U, "password_too_simple", None): Wording(
        _l("The password is too simple: use letters and digits, and not the username."), "password"
    ),
    # Accounts, as the administrator makes them
    (U, "bad_username", None): Wording(
        _l("Use %(min)d to %(max)d letters, digits, “.”, “_” or “-”, starting with a letter."),
        "username",
        params=lambda _d: {"min": limits.USERNAME_MIN, "max": limits.USERNAME_MAX},
    ),
    (U, "username_taken", None): Wording(_l("This username is already taken."), "username"),
    (U, "bad_mobile", None): Wording(
        _l("Please enter an 11-digit mainland mobile number, such as 13812345678."), "mobile"
    ),
    (U, "mobile_taken", None): Wording(_l("Another account already uses this mobile number."), "mobile"),
    (U, "bad_email", None): Wording(_l("Please enter an e-mail address such as name@example.org."), "email"),
    (U, "display_name_required", None): Wording(_l("Please fill this in."), "display_name"),
    (U, "display_name_too_long", None): Wording(
        _KEEP_IT_TO, "display_name", params=lambda _d: {"n": limits.DISPLAY_NAME_MAX}
    ),
    (U, "bad_role", None): Wording(_l("Please choose a role."), "role"),
    (U, "region_required", None): Wording(_l("Congress staff need the region they look after."), "region"),
    (U, "unit_required", None): Wording(_l("A handling unit account needs its unit."), "unit"),
    (U, "unit_inactive", None): Wording(_l("This unit is switched off."), "unit"),
    (U, "stations_required", None): Wording(_l("A station manager needs at least one station."), "stations"),
    (U, "level_required", None): Wording(_l("A representative needs the level of their congress."), "level"),
    (U, "bad_level", None): Wording(_l("Please choose a level from the list."), "level"),
    (U, "occupation_too_long", None): Wording(
        _KEEP_IT_TO, "occupation", params=lambda _d: {"n": limits.OCCUPATION_MAX}
    ),
    (U, "delegation_too_long", None): Wording(
        _KEEP_IT_TO, "delegation", params=lambda _d: {"n": limits.DELEGATION_MAX}
    ),
    (U, "cannot_switch_off_self", None): Wording(_l("You cannot switch off your own account.")),
    # Regions (行政区划) in the back office
    (RG, "name_required", None): Wording(_l("Please fill this in."), "name"),
    (RG, "name_too_long", None): Wording(_KEEP_IT_TO, "name", params=lambda _d: {"n": limits.REGION_NAME_MAX}),
    (RG, "name_taken", None): Wording(
        _l("“%(name)s” is already the name of another active region here (%(region_code)s)."), "name"
    ),
    (RG, "bad_township_code", None): Wording(
        _l("A township code has 9 digits (or 12), such as 411681001: the county's 6 digits and 3 of its own."),
        "code",
    ),
    (RG, "other_county", None): Wording(_l("A township code here starts with this county's code, %(county)s."), "code"),
    (RG, "not_a_township_code", None): Wording(
        _l("This is not a township's code: its last 3 of 9 digits cannot be 000, and a 12-digit one ends in 000."),
        "code",
    ),
    (RG, "code_taken", None): Wording(_l("The code %(region_code)s is already used by “%(name)s”."), "code"),
    (RG, "no_townships_here", None): Wording(
        _l("Townships are added under a county, or under a city that has no counties.")
    ),
    (RG, "parent_inactive", None): Wording(_l("The region above it is switched off. Switch that on first.")),
    (RG, "in_use", None): Wording(
        _l("It cannot be switched off while it (or a region below it) still has %(what)s. Close or move them first."),
        params=_in_use,
    ),
    # Set-password links: sending one (staff), and opening one (the person it is for)
    (L, "no_contact", None): Wording(
        _l("This account has neither a mobile number nor an e-mail address: add one, then send the link.")
    ),
    (L, "inactive", None): Wording(_l("This account is switched off.")),
    (L, "already_has_password", None): Wording(
        _l("This person has already set a password. If they have forgotten it, send a link to set a new one.")
    ),
    (L, "unknown", None): Wording(
        _l(
            "This link is not right. Please open it exactly as it came in the message. If it still does not work, "
            "ask the people's congress office to send it again, or use “Forgot password” on the sign-in page."
        )
    ),
    (L, "expired", None): Wording(
        _l(
            "This link has expired. If you were invited, ask the people's congress office to send the invitation "
            "again; if you already have a password, use “Forgot password” on the sign-in page."
        )
    ),
    (L, "used", None): Wording(
        _l(
            "This link has already been used: each link works once. Sign in with the password you chose, "
            "or use “Forgot password” on the sign-in page."
        )
    ),
    (L, "revoked", None): Wording(
        _l(
            "This link no longer works: a newer one has been sent (please open the latest message), or the account "
            "is switched off. If in doubt, ask the people's congress office."
        )
    ),
    # The working-day calendar: a file as a whole, and its lines
    (K, "not_text", None): Wording(_l("The file could not be read as text. Save it as CSV and try again.")),
    (K, "empty", None): Wording(
        _l("There is no day in it. Each line needs a date and a type, such as 2027-02-06,holiday,春节.")
    ),
    (K, "too_long", None): Wording(_l("It is too long: at most %(limit)d lines.")),
    (K, "name_too_long", None): Wording(_KEEP_IT_TO, params=lambda _d: {"n": limits.CALENDAR_DAY_NAME_MAX}),
    (K, "bad_date", None): Wording(_l("Please enter a date such as 2027-02-06.")),
    (K, "bad_date", "line"): Wording(_l("Line %(line)d: “%(value)s” is not a date. Write it like 2027-02-06.")),
    (K, "missing_type", "line"): Wording(
        _l("Line %(line)d: the type is missing. After the date write holiday or workday (休 or 班).")
    ),
    (K, "bad_type", "line"): Wording(
        _l("Line %(line)d: “%(value)s” is not a type. Write holiday or workday (休 or 班).")
    ),
    (K, "too_many_columns", "line"): Wording(_l("Line %(line)d: too many columns. Use three: date, type, name.")),
    (K, "name_too_long", "line"): Wording(_l("Line %(line)d: the name is too long, at most %(limit)d characters.")),
    (K, "conflict", "line"): Wording(_l("Line %(line)d: %(day)s is already on line %(other)d with the other type.")),
    # Reference data: stations, representatives, units, categories (forms and imports alike)
    (F, "required", None): Wording(_l("Please fill this in.")),
    (F, "too_long", None): Wording(_KEEP_IT_TO),
    (F, "out_of_scope", None): Wording(_l("This is outside the region you look after.")),
    (F, "region_inactive", None): Wording(_l("The region %(region)s is no longer in use.")),
    (F, "unknown_region", None): Wording(_l("There is no region with the code %(value)s.")),
    (F, "station_name_taken", None): Wording(_l("The region already has a station of this name.")),
    (F, "parent_required", None): Wording(_l("A liaison point or post belongs to a liaison station: choose it.")),
    (F, "parent_not_station", None): Wording(_l("Choose an open liaison station (not a point or post) as the parent.")),
    (F, "position_incomplete", None): Wording(_l("Give both the latitude and the longitude, or neither.")),
    (F, "latitude_out_of_range", None): Wording(_l("The latitude must be between -90 and 90.")),
    (F, "longitude_out_of_range", None): Wording(_l("The longitude must be between -180 and 180.")),
    (F, "bad_position", None): Wording(
        _l("Paste the position as latitude, longitude — for example 33.4432, 114.8968.")
    ),
    (F, "radius_out_of_range", None): Wording(_l("The radius must be between %(min)d and %(max)d metres.")),
    (F, "geo_needs_position", None): Wording(_l("Check-in by location needs the station's position.")),
    (F, "bad_mobile", None): Wording(_l("Please enter an 11-digit mainland mobile number, such as 13812345678.")),
    (F, "mobile_taken", None): Wording(_l("Another representative or account already uses this mobile number.")),
    (F, "term_number_out_of_range", None): Wording(_l("The term must be a number from 1 to %(max)d.")),
    (F, "term_ends_before_start", None): Wording(_l("The term cannot end before it starts.")),
    (F, "station_closed", None): Wording(_l("The station %(station)s is closed.")),
    (F, "stations_required", None): Wording(_l("Choose at least one station where the representative serves.")),
    (F, "unit_name_taken", None): Wording(_l("The region already has a unit of this name.")),
    (F, "parent_cycle", None): Wording(_l("A unit cannot be placed under itself or under one of its departments.")),
    (F, "category_name_taken", None): Wording(_l("There is already a category of this name.")),
    (F, "sort_order_out_of_range", None): Wording(_l("The order must be a number from -9999 to 9999.")),
    (F, "unit_not_receiving", None): Wording(_l("This unit does not receive concerns.")),
    # Closing a station, opening it again, replacing its poster's code
    (S, "already_closed", None): Wording(_l("This station is already closed.")),
    (S, "not_closed", None): Wording(_l("This station is open.")),
    (S, "note_required", None): Wording(
        _l("Please tell residents where to go now, or choose the station that takes over."), "note"
    ),
    (S, "note_too_long", None): Wording(_KEEP_IT_TO, "note", params=lambda d: {"n": d["maximum"]}),
    (S, "successor_self", None): Wording(_l("A station cannot take over from itself."), "successor"),
    (S, "successor_inactive", None): Wording(
        _l("The station you chose is closed as well. Please choose an open one."), "successor"
    ),
    (S, "successor_out_of_scope", None): Wording(_l("Please choose a station from the list."), "successor"),
    (S, "duty_open", None): Wording(
        _l("Representatives are checked in at this station right now (%(names)s). Close it once they have checked out.")
    ),
    (S, "region_inactive", None): Wording(
        _l("The station's region has been abolished. Move the station to a current region first.")
    ),
    (S, "station_closed", None): Wording(_l("This station is closed: its code cannot be replaced.")),
    (S, "reason_required", None): Wording(_l("Please give the reason."), "reason"),
    (S, "reason_too_long", None): Wording(_KEEP_IT_TO, "reason", params=lambda d: {"n": d["maximum"]}),
    (S, "bad_days", None): Wording(
        _l("Please give a number of days from 0 to %(max)d."), "forward_days", params=lambda d: {"max": d["maximum"]}
    ),
    (F, "unit_inactive", None): Wording(_l("This unit is switched off.")),
    (F, "bad_email", None): Wording(_l("Please enter an e-mail address such as name@example.com, or leave it empty.")),
    (F, "role_not_for_account", None): Wording(_l("Only station managers and unit handlers are created here.")),
    (F, "not_a_manager", None): Wording(_l("Choose a switched-on station manager's account.")),
    # Reference data read from a spreadsheet: the cells of a row
    (F, "unknown_value", None): Wording(_l("“%(value)s” is not one of the allowed values: %(allowed)s.")),
    (F, "bad_number", None): Wording(_l("“%(value)s” is not a number.")),
    (F, "bad_date", None): Wording(_l("“%(value)s” is not a date. Write it like 2021-10-01.")),
    (F, "unknown_station", None): Wording(_l("There is no open station called “%(station)s” in your region.")),
    (F, "ambiguous_station", None): Wording(
        _l("There are several stations called “%(station)s”: write it as region code/name, such as 411681/%(station)s.")
    ),
    (F, "unknown_parent", None): Wording(
        _l("“%(value)s” was not found, neither in the sheet nor among the existing ones.")
    ),
    (F, "ambiguous_parent", None): Wording(
        _l("There are several called “%(value)s”: write it as region code/name, such as 411681/%(value)s.")
    ),
    (F, "unknown_unit", None): Wording(_l("There is no open handling unit called “%(value)s”.")),
    (F, "ambiguous_unit", None): Wording(
        _l("There are several units called “%(value)s”: write it as region code/name, such as 411681/%(value)s.")
    ),
    (F, "duplicate_in_sheet", None): Wording(_l("The same as row %(row)d of the sheet: each may appear only once.")),
    # A spreadsheet to import, as a whole
    (IM, "too_large", None): Wording(_l("The file is too large: at most %(mb)d MB. Split it into several files.")),
    (IM, "too_many_rows", None): Wording(
        _l("The file has too many rows: at most %(max)d. Split it into several files.")
    ),
    (IM, "old_excel", None): Wording(
        _l("This is an old Excel file (.xls). Save it as .xlsx or as CSV and upload it again.")
    ),
    (IM, "not_readable", None): Wording(
        _l("The file could not be read. Upload the template filled in, as .xlsx or as CSV.")
    ),
    (IM, "no_headings", None): Wording(
        _l("The file is empty. Start from the template: its first row is the headings.")
    ),
    (IM, "no_rows", None): Wording(_l("The file has headings but no rows to import.")),
    (IM, "unknown_kind", None): Wording(_l("Please choose what to import.")),
    (IM, "missing_headings", None): Wording(_l("Columns missing from the first row: %(headings)s.")),
    (IM, "unknown_headings", None): Wording(
        _l("Columns the template does not have: %(headings)s. Check the first row against the template.")
    ),
    (IM, "twice_headings", None): Wording(_l("Columns written twice: %(headings)s.")),
    # The station's board (公开栏)
    (BD, "rules_too_long", None): Wording(_KEEP_IT_TO, "text"),
    (BD, "title_missing", None): Wording(_l("Please give a title."), "title"),
    (BD, "title_too_long", None): Wording(_KEEP_IT_TO, "title"),
    (BD, "text_too_long", None): Wording(_KEEP_IT_TO, "text"),
    (BD, "day_missing", None): Wording(_l("Please give the date."), "day"),
    (BD, "too_many_photos", None): Wording(_l("An activity has at most %(n)d photos."), "photos"),
    (BD, "ends_before_start", None): Wording(_l("The end time must be after the start time."), "ends_at"),
    (BD, "in_past", None): Wording(_l("This date has passed. Please choose today or a later day."), "starts_on"),
    (BD, "weekday_missing", None): Wording(_l("Please choose the weekday."), "weekday"),
    (BD, "day_of_month_missing", None): Wording(_l("Please give a day of the month from 1 to 31."), "day_of_month"),
    (BD, "ends_on_before_start", None): Wording(_l("The last day cannot be before the first day."), "ends_on"),
    (BD, "representatives_missing", None): Wording(
        _l("Please choose at least one representative who will receive residents."), "representatives"
    ),
    (BD, "not_station_representative", None): Wording(
        _l("Please choose among this station's representatives."), "representatives"
    ),
    (BD, "note_too_long", None): Wording(_KEEP_IT_TO, "note"),
    (BD, "not_repeating", None): Wording(_l("Only a repeating reception day can be ended; cancel a one-off one.")),
    (BD, "cancelled", None): Wording(_l("This reception day has been cancelled.")),
    (BD, "bad_capacity", None): Wording(_l("Please give a number of places from 0 to %(maximum)d."), "capacity"),
    # 述职 meetings: scheduling them, and the residents' rating
    # ... the engine's codes, as a meeting's steps read them (services.meetings.MEETING_FLOW)
    (T, "changed", MEETING): Wording(
        _l(
            "This meeting changed after you opened the page (a colleague acted, or the button was pressed twice). "
            "Here is where it stands now."
        )
    ),
    (T, "not_allowed_now", MEETING): Wording(
        _l("This meeting has begun or was cancelled: it can no longer be moved or cancelled.")
    ),
    (MT, "station_inactive", None): Wording(_l("This station is closed: no meeting can be held there.")),
    (MT, "not_station_representative", None): Wording(
        _l("Please choose among this station's representatives."), "representative"
    ),
    (MT, "bad_year", None): Wording(
        _l("Please choose the year of a report already due: %(first)d to %(latest)d."),
        "year",
    ),
    (MT, "in_past", None): Wording(_l("This time has passed. Please choose a time still to come."), "day"),
    (MT, "ends_before_start", None): Wording(_l("The end time must be after the start time."), "ends_at"),
    (MT, "too_long", None): Wording(_l("Residents rate for at most %(hours)d hours."), "ends_at"),
    (MT, "started", None): Wording(_l("This meeting has begun: it can no longer be moved or cancelled.")),
    (MT, "cancelled", None): Wording(_l("This meeting was cancelled.")),
    (MT, "not_open", None): Wording(_l("Rating opens when the meeting begins.")),
    (MT, "closed", None): Wording(_l("Rating has closed: the meeting is over.")),
    (MT, "no_cookie", None): Wording(
        _l("Your browser did not keep this page's cookie. Please allow cookies, open the page again and rate.")
    ),
    (MT, "bad_rating", None): Wording(_l("Please choose one of the three."), "rating"),
    (MT, "comment_too_long", None): Wording(_KEEP_IT_TO, "comment", params=lambda d: {"n": d["maximum"]}),
    (MT, "too_many", None): Wording(
        _l("Too many ratings have come from your network for this meeting. Please ask the station's staff.")
    ),
    # Representatives' suggestions (代表建议): the engine's codes, as a suggestion's people read them
    (T, "changed", SUGGESTION): Wording(
        _l(
            "This suggestion changed after you opened it (someone else acted, or the button was pressed twice). "
            "Here is where it stands now; what you typed has not been applied."
        )
    ),
    (T, "not_allowed_now", SUGGESTION): Wording(_l("This step is not possible at the suggestion's current stage.")),
    # ... and the form's and the steps' own
    (SG, "title_missing", None): Wording(_l("Please give a title of at least %(n)d characters."), "title"),
    (SG, "title_too_long", None): Wording(_KEEP_IT_TO, "title"),
    (SG, "content_too_short", None): Wording(
        _l("Please write the suggestion in at least %(n)d characters: the situation, and what should be done."),
        "content",
    ),
    (SG, "content_too_long", None): Wording(_KEEP_IT_TO, "content"),
    (SG, "station_required", None): Wording(_l("Please choose the station you file it from."), "station"),
    (SG, "bad_signer", None): Wording(_l("Please choose co-signers from the list."), "signers"),
    (SG, "too_many_signers", None): Wording(_l("At most %(n)d co-signers."), "signers"),
    (SG, "bad_concern", None): Wording(_l("Please choose among the concerns you took up."), "concerns"),
    (SG, "note_too_long", None): Wording(_KEEP_IT_TO, "note"),
    (SG, "lead_unit_required", None): Wording(_l("Please choose the lead unit."), "lead_unit"),
    (SG, "bad_co_unit", None): Wording(
        _l("Please choose at most %(n)d active co-units, other than the lead unit."), "co_units"
    ),
    (SG, "bad_days", None): Wording(_l("Please give a number of working days from 1 to %(n)d."), "days"),
    (SG, "class_required", None): Wording(_l("Please choose the class of the reply."), "reply_class"),
    (SG, "planned_date_required", None): Wording(
        _l("A B reply needs the date by which it will be done."), "planned_on"
    ),
    (SG, "planned_date_past", None): Wording(_l("The planned date has passed. Please give a later one."), "planned_on"),
    (SG, "already_given", None): Wording(_l("Your unit has already given its opinion.")),
    (SG, "not_invited", None): Wording(
        _l("You are not invited to co-sign this suggestion, or have co-signed it already.")
    ),
    (SG, "rating_required", None): Wording(_l("Please choose a rating."), "rating"),
    (SG, "send_back_needs_dissatisfied", None): Wording(
        _l("A reply is sent back only when you are dissatisfied with it."), "rating"
    ),
    (SG, "already_sent_back", None): Wording(
        _l("This reply was already sent back once: please rate it now."), "rating"
    ),
    # 民生实事项目票决: staff
    # ... the engine's codes, as a 票决's stage steps read them (services.votes.VOTE_FLOW)
    (T, "changed", VOTE): Wording(
        _l(
            "This vote changed after you opened the page (a colleague acted, or the button was pressed twice). "
            "Here is where it stands now."
        )
    ),
    (T, "not_allowed_now", VOTE): Wording(_l("This step is not possible at the vote's current stage.")),
    (V, "title_missing", None): Wording(_l("Please give a title."), "title"),
    (V, "title_too_long", None): Wording(_KEEP_IT_TO, "title"),
    (V, "text_too_long", None): Wording(_KEEP_IT_TO, "text"),
    (V, "bad_year", None): Wording(_l("Please give a year from 2000 to 2100."), "year"),
    (V, "dates_missing", None): Wording(_l("Please give all four dates.")),
    (V, "comments_period", None): Wording(_l("Comments cannot close before they open."), "comments_close_on"),
    (V, "voting_before_comments", None): Wording(
        _l("Voting opens on or after the last day of comments."), "voting_opens_on"
    ),
    (V, "voting_period", None): Wording(_l("Voting cannot close before it opens."), "voting_closes_on"),
    (V, "bad_threshold", None): Wording(_l("Please give a percentage from 1 to 99."), "threshold_percent"),
    (V, "year_taken", None): Wording(_l("This region already has a project vote for %(year)d."), "year"),
    (V, "voting_started", None): Wording(_l("Voting has begun: the periods and the threshold can no longer change.")),
    (V, "published", None): Wording(
        _l("The candidates have been announced: they can no longer be added, changed or removed.")
    ),
    (V, "bad_budget", None): Wording(_l("Please give the budget in 万元 (ten thousand yuan)."), "budget"),
    (V, "unit_missing", None): Wording(_l("Please choose the lead unit."), "unit"),
    (V, "unit_elsewhere", None): Wording(_l("Please choose a unit of this region or a region below it."), "unit"),
    (V, "region_elsewhere", None): Wording(_l("Please choose this region or a region below it."), "region"),
    (V, "no_projects", None): Wording(_l("Add at least one candidate project before announcing the vote.")),
    (V, "voting_over", None): Wording(_l("The voting period is over: change the dates first.")),
    # Steps out of their stage are the engine's (TransitionRefused, context VOTE above).
    (V, "reason_missing", None): Wording(_l("Please give the reason."), "reason"),
    (V, "reason_too_long", None): Wording(_KEEP_IT_TO, "reason"),
    # ... representatives
    (V, "not_open_yet", None): Wording(_l("Voting has not opened yet.")),
    (V, "round_closed", None): Wording(_l("This ballot is closed.")),
    (V, "not_eligible", None): Wording(
        _l("Only the representatives of this congress serving in this region, in office, vote here.")
    ),
    (V, "incomplete", None): Wording(
        _l("Please make a choice for every project (%(missing)d without one). Nothing has been cast.")
    ),
    (V, "not_on_ballot", None): Wording(_l("The ballot was incomplete. Please open the page again.")),
    (V, "already_cast", None): Wording(_l("You have already cast this ballot. It cannot be cast again or changed.")),
    # ... the lead unit
    (V, "not_chosen", None): Wording(_l("Progress is reported only on a chosen project.")),
    (V, "text_missing", None): Wording(_l("Please write what has been done."), "text"),
    (V, "bad_percent", None): Wording(_l("Please give a number from 0 to 100."), "percent"),
    (V, "too_many_photos", None): Wording(_l("At most %(n)d photos."), "photos"),
    # ... residents
    (V, "not_this_station", None): Wording(_l("This project is not open for comments at this station.")),
    (V, "comments_closed", None): Wording(_l("Comments on these projects are closed.")),
    (V, "comment_missing", None): Wording(_l("Please write your comment."), "text"),
    (V, "comment_too_long", None): Wording(_KEEP_IT_TO, "text"),
    (V, "name_too_long", None): Wording(_KEEP_IT_TO, "contact_name"),
    (V, "bad_mobile", None): Wording(
        _l("Please enter an 11-digit mainland mobile number, such as 13812345678."), "contact_mobile"
    ),
    (V, "consent_required", None): Wording(
        _l("Please tick this to let us use your name or number, or leave them empty."), "consent"
    ),
    # Drafts of laws put out for comment (立法意见征集): preparing one
    (DR, "title_missing", None): Wording(_l("Please give the draft's title."), "title"),
    (DR, "title_too_long", None): Wording(_KEEP_IT_TO, "title"),
    (DR, "issuing_body_too_long", None): Wording(_KEEP_IT_TO, "issuing_body"),
    (DR, "summary_too_long", None): Wording(_KEEP_IT_TO, "summary"),
    (DR, "region_missing", None): Wording(_l("Please choose the region whose contact points receive it."), "region"),
    (DR, "region_out_of_reach", None): Wording(_l("Please choose your own region or one below it."), "region"),
    (DR, "closes_missing", None): Wording(_l("Please give the closing date."), "closes_on"),
    (DR, "closes_in_past", None): Wording(_l("The closing time has passed. Please choose a later one."), "closes_on"),
    (DR, "closes_too_late", None): Wording(
        _l("A draft is open for comment for at most %(n)d days. Please choose an earlier closing date."), "closes_on"
    ),
    (DR, "stations_missing", None): Wording(_l("Please choose at least one contact point."), "stations"),
    (DR, "not_a_contact_point", None): Wording(
        _l("%(station)s is not an active legislative contact point in this region."), "stations"
    ),
    (DR, "no_stations", None): Wording(
        _l(
            "No active legislative contact point would show this draft. Mark the stations as contact points on "
            "their edit screens, or choose others."
        )
    ),
    (DR, "text_missing", None): Wording(_l("Please paste the text of the draft."), "text"),
    (DR, "text_too_long", None): Wording(_KEEP_IT_TO, "text"),
    (DR, "no_articles", None): Wording(
        _l("No article was found. Each article must begin a line with its number, such as 第一条."), "text"
    ),
    (DR, "too_many_items", None): Wording(_l("A draft has at most %(n)d articles and headings."), "text"),
    (DR, "article_numbers", None): Wording(
        _l("The articles are not numbered in order: article %(expected)d was expected, “%(found)s” was found."), "text"
    ),
    (DR, "chapter_numbers", None): Wording(
        _l("The chapters are not numbered in order: chapter %(expected)d was expected, “%(found)s” was found."), "text"
    ),
    (DR, "article_empty", None): Wording(_l("“%(label)s” has no text."), "text"),
    (DR, "not_editable", None): Wording(_l("A published draft cannot be changed: residents comment on its text.")),
    # ... a resident commenting
    (DR, "closed", None): Wording(_l("This draft is closed for comment. Thank you for your interest.")),
    (DR, "not_here", None): Wording(_l("This draft is not open for comment at this station.")),
    (DR, "not_an_article", None): Wording(_l("Please choose one of the draft's articles.")),
    (DR, "content_length", None): Wording(_l("Please write %(min)d to %(max)d characters (now %(n)d)."), "content"),
    (DR, "name_too_long", None): Wording(_KEEP_IT_TO, "name"),
    (DR, "bad_mobile", None): Wording(
        _l("Please enter an 11-digit mainland mobile number, such as 13812345678."), "mobile"
    ),
    (DR, "consent_required", None): Wording(
        _l("Please tick this to let us use your name or number, or leave them empty."), "consent"
    ),
    # ... staff moderating the comments
    (DR, "reason_too_long", None): Wording(_KEEP_IT_TO, "note"),
    (DR, "merge_target_required", None): Wording(
        _l("Give the number of another comment on this draft to merge it into."), "merge_into"
    ),
    (DR, "merge_target_merged", None): Wording(
        _l("That comment is merged itself: merge into the comment it was merged into."), "merge_into"
    ),
    (DR, "merge_target_rejected", None): Wording(
        _l("That comment was not adopted: merge into another one."), "merge_into"
    ),
    (DR, "has_merged", None): Wording(_l("Other comments were merged into this one: take those back first.")),
    (T, "changed", COMMENTS): Wording(
        _l("This comment changed after you opened the page (a colleague acted, or the button was pressed twice).")
    ),
    (T, "not_allowed_now", COMMENTS): Wording(_l("This step is not possible for the comment as it stands now.")),
    (T, "note_required", COMMENTS): Wording(_l("Please give the reason: the resident sees it."), "note"),
    # The JSON API (/api/v1/) and its keys
    (AP, "key_required", None): Wording(
        _l("This needs an API key: send it as “Authorization: Bearer <key>” or in the X-API-Key header.")
    ),
    (AP, "bad_key", None): Wording(_l("This API key is not valid. Check that it was copied whole.")),
    (AP, "key_revoked", None): Wording(_l("This API key has been revoked. Ask the administrator for a new one.")),
    (AP, "read_only_key", None): Wording(_l("This API key may only read: it cannot take steps on concerns.")),
    (AP, "not_permitted", None): Wording(_l("This API key's scope does not allow this.")),
    (AP, "not_found", None): Wording(_l("There is nothing at this address, or it is outside this key's scope.")),
    (AP, "unknown_region", None): Wording(_l("There is no region with the code %(value)s.")),
    (AP, "unknown_station", None): Wording(_l("There is no station with the code %(value)s.")),
    (AP, "unknown_action", None): Wording(_l("“%(action)s” is not a step that can be taken through the API.")),
    (AP, "method_not_allowed", None): Wording(_l("This address does not take this method.")),
    (AP, "too_large", None): Wording(_l("This request is too large to be taken.")),
    (AP, "not_acceptable", None): Wording(_l("This API answers in JSON only.")),
    (AP, "bad_cursor", None): Wording(
        _l("This page cursor is not valid. Use the “next” value of the previous page exactly as it was given.")
    ),
    (AP, "bad_period", None): Wording(_l("The period is not valid: its start must not be after its end.")),
    (AP, "invalid_input", None): Wording(_l("Some values are missing or not valid: see “errors”.")),
    (AP, "too_many_requests", None): Wording(_l("Too many requests with this key just now. Please slow down.")),
    (AP, "internal", None): Wording(_l("Something went wrong on our side. Please try again in a moment.")),
    (AP, "unavailable", None): Wording(_l("The service is busy just now and nothing was saved. Please try again.")),
    # ... the Idempotency-Key header of every API POST (/api/v1 and Open311)
    (AP, "bad_idempotency_key", None): Wording(
        _l("The Idempotency-Key header must be 1 to %(n)d printable ASCII characters.")
    ),
    (AP, "idempotency_key_reused", None): Wording(
        _l("This Idempotency-Key was already used with a different request. Use a new key for a new request.")
    ),
    (AP, "idempotency_key_in_use", None): Wording(
        _l("A request with this Idempotency-Key is still being handled. Please try again in a moment.")
    ),
    # ... Open311 GeoReport v2 (/open311/v2/)
    (AP, "unknown_service", None): Wording(_l("There is no service with the code %(value)s.")),
    (AP, "location_required", None): Wording(
        _l("Please give where it is: lat and long, address_string, or the station (attribute[station]).")
    ),
    (AP, "bad_location", None): Wording(_l("lat and long must be given together, as decimal degrees.")),
    (AP, "address_too_long", None): Wording(_KEEP_IT_TO),
    (AP, "station_required", None): Wording(
        _l("Please name the station in attribute[station]: this key's region has more than one open station.")
    ),
    (AP, "media_url_not_fetched", None): Wording(
        _l("Photos are not fetched from other addresses: please send them as “media” files (multipart).")
    ),
    (AP, "bad_date", None): Wording(_l("%(name)s is not a date and time such as 2026-01-01T00:00:00+08:00.")),
    (AP, "period_too_long", None): Wording(_l("start_date and end_date may be at most %(days)d days apart.")),
    (AP, "bad_status", None): Wording(_l("status may only be open, closed, or both.")),
    # ... and the administrator's page of keys
    (AP, "name_required", None): Wording(_l("Please name the system this key is for."), "name"),
    (AP, "name_too_long", None): Wording(_KEEP_IT_TO, "name"),
    (AP, "scope_required", None): Wording(_l("Please choose either a region or a handling unit."), "region"),
    (AP, "bad_rate", None): Wording(
        _l("Please give a rate limit from %(low)d to %(high)d requests a minute."), "rate_per_minute"
    ),
    (AP, "note_too_long", None): Wording(_KEEP_IT_TO, "note"),
    (AP, "already_revoked", None): Wording(_l("This key has already been revoked.")),
    # ... webhooks: the admin's subscriptions, and the signed inbound endpoint
    (AP, "bad_url", None): Wording(
        _l("Please give a full web address starting with http or https, at most %(n)d characters."), "url"
    ),
    (AP, "events_required", None): Wording(_l("Please choose at least one event."), "events"),
    (AP, "webhook_deleted", None): Wording(_l("This webhook has been deleted.")),
    (AP, "already_paused", None): Wording(_l("This webhook is already paused.")),
    (AP, "not_paused", None): Wording(_l("This webhook is not paused.")),
    (AP, "bad_signature", None): Wording(
        _l("The request's signature does not match its body. Sign “timestamp.body” with your webhook secret.")
    ),
    (AP, "stale_timestamp", None): Wording(
        _l("The request's timestamp is too old or too far ahead (a replay, or a wrong clock). Sign it again now.")
    ),
}


def wording(kind: type[DomainError], code: str, context: str | None = None) -> Wording | None:
    """The words for `code`, for `context` when it has its own; a subclass of a refusal
    kind finds its parent's words."""
    for cls in kind.__mro__:
        if not issubclass(cls, DomainError):
            break
        found = WORDS.get((cls, code, context)) or WORDS.get((cls, code, None))
        if found is not None:
            return found
    return None


def explain(refused: DomainError, context: str | None = None, **values) -> tuple[str | None, str]:
    """(field, message) in the current language, the details (and `values`) filled in.
    A code nobody worded reads as itself: a programming error shows, never a blank."""
    found = wording(type(refused), refused.code, context)
    if found is None:
        return None, refused.code
    details = {**refused.details, **values}
    params = found.params(details) if found.params is not None else details
    return found.field, str(found.message) % params if params else str(found.message)


def message(refused: DomainError, context: str | None = None, **values) -> str:
    return explain(refused, context, **values)[1]


def problem_message(problem: Problem) -> str:
    """One problem found in reference data (services.reference), in words."""
    refused: DomainError = ReferenceRefused(problem.code, **problem.details)
    if wording(ReferenceRefused, problem.code) is None and wording(RegionRefused, problem.code) is not None:
        refused = RegionRefused(problem.code, **problem.details)  # a township's row
    return message(refused)


def import_messages(refused: ImportRefused) -> list[str]:
    """What is wrong with a spreadsheet as a whole, one sentence per fault (its headings may
    have several)."""
    if refused.code != "bad_headings":
        return [message(refused)]
    return [
        message(ImportRefused(f"{part}_headings", headings=refused.details[part]))
        for part in ("missing", "unknown", "twice")
        if refused.details.get(part)
    ]


def line_messages(refused: CalendarRefused) -> list[str]:
    """What is wrong with a calendar file, one sentence per bad line."""
    if refused.code != "bad_lines":
        return [message(refused)]
    return [
        message(CalendarRefused(problem.code, **problem.details), "line", line=problem.line)
        for problem in refused.details["problems"]
    ]
