"""The whole role × action matrix of services.permissions, written out by hand.

MATRIX below is the expected answer for every action, every role (anonymous included)
and in-scope and out-of-scope objects. It is deliberately not computed from RULES: a
change to who may do what has to be made twice, here and there, on purpose.
"""

import secrets
from datetime import datetime, timedelta

import pytest
from flask_login import AnonymousUserMixin

from extensions import db as _db
from models import DraftComment, Duty, ProjectVote, VoteProject, utcnow
from models.enums import DraftCommentStatus, DutyMethod, RegionLevel, RepLevel, Role
from services.clock import local_today
from services.permissions import ACTIONS, ANONYMOUS, RULES, PermissionDenied, can, require, role_of
from tests import factories

COLUMNS = ("anonymous", "representative", "station_manager", "congress_staff", "unit_handler", "admin", "official")

# Who the columns are, in the world built below:
#   representative   — serves at station A; "rep_own" is their profile, "duty_own" their open duty
#   station_manager  — manages station A and the inactive station X (not B)
#   congress_staff   — staff of 周口市, the city above 项城市, where A and X are (B is in 漯河市)
#   unit_handler     — staff of a handling unit in 项城市
#   admin            — the system operator
#   official         — the head of the handler's unit (领导进站), checked in at station A now
# (session_own / session_other: the official's open session at A, another official's at A.)
# Objects: station_a / station_b / station_inactive (X, in 项城市), duty_own / duty_other (both
# at A, of the representative and of a colleague at A) / duty_b (at B), rep_own / rep_other
# (a colleague at A) / rep_b (at B), none (no object).
Y, N = "Y", "-"

# fmt: off
MATRIX: dict[tuple[str, str], str] = {
    # action                      object                anon rep mgr staff unit admin off
    ("station.view",              "station_a"):         "Y   Y   Y   Y     Y    Y   Y",
    ("station.view",              "station_b"):         "Y   Y   Y   Y     Y    Y   Y",
    ("station.view",              "station_inactive"):  "-   -   -   -     -    -   -",
    ("station.view",              "none"):              "-   -   -   -     -    -   -",

    ("concern.file",              "station_a"):         "Y   Y   Y   Y     Y    Y   Y",
    ("concern.file",              "station_b"):         "Y   Y   Y   Y     Y    Y   Y",
    ("concern.file",              "station_inactive"):  "-   -   -   -     -    -   -",
    ("concern.file",              "none"):              "-   -   -   -     -    -   -",

    # a representative may check in at any active station, not only their own
    ("duty.check_in",             "station_a"):         "-   Y   -   -     -    -   -",
    ("duty.check_in",             "station_b"):         "-   Y   -   -     -    -   -",
    ("duty.check_in",             "station_inactive"):  "-   -   -   -     -    -   -",
    ("duty.check_in",             "none"):              "-   -   -   -     -    -   -",

    ("duty.check_out",            "duty_own"):          "-   Y   -   -     -    -   -",
    ("duty.check_out",            "duty_other"):        "-   -   -   -     -    -   -",
    ("duty.check_out",            "duty_b"):            "-   -   -   -     -    -   -",
    ("duty.check_out",            "station_a"):         "-   -   -   -     -    -   -",

    ("duty.view_file",            "rep_own"):           "-   Y   Y   Y     -    Y   -",
    ("duty.view_file",            "rep_other"):         "-   -   Y   Y     -    Y   -",
    ("duty.view_file",            "rep_b"):             "-   -   -   -     -    Y   -",
    ("duty.view_file",            "none"):              "-   -   -   -     -    -   -",

    # the link to one's own file in the page header
    ("duty.own_file",             "none"):              "-   Y   -   -     -    -   -",

    ("manage.home",               "none"):              "-   -   Y   Y     -    Y   -",
    ("notifications.not_sent",    "none"):              "-   -   Y   Y     -    Y   -",

    ("duty.review",               "duty_own"):          "-   -   Y   Y     -    Y   -",
    ("duty.review",               "duty_other"):        "-   -   Y   Y     -    Y   -",
    ("duty.review",               "duty_b"):            "-   -   -   -     -    Y   -",
    ("duty.review",               "station_a"):         "-   -   Y   Y     -    Y   -",
    ("duty.review",               "none"):              "-   -   -   -     -    -   -",

    ("roster.manage",             "station_a"):         "-   -   Y   Y     -    Y   -",
    ("roster.manage",             "station_b"):         "-   -   -   -     -    Y   -",
    ("roster.manage",             "station_inactive"):  "-   -   Y   Y     -    Y   -",
    ("roster.manage",             "none"):              "-   -   -   -     -    -   -",

    ("attendance.view",           "station_a"):         "-   -   Y   Y     -    Y   -",
    ("attendance.view",           "station_b"):         "-   -   -   -     -    Y   -",
    ("attendance.view",           "station_inactive"):  "-   -   Y   Y     -    Y   -",
    ("attendance.view",           "none"):              "-   -   -   -     -    -   -",

    ("attendance.export",         "station_a"):         "-   -   Y   Y     -    Y   -",
    ("attendance.export",         "station_b"):         "-   -   -   -     -    Y   -",
    ("attendance.export",         "station_inactive"):  "-   -   Y   Y     -    Y   -",
    ("attendance.export",         "none"):              "-   -   -   -     -    -   -",

    # the tablet display: the station's own people, not congress staff
    # station tablets: the manager pairs one; whoever oversees the station may revoke it
    ("kiosk.pair",                "station_a"):         "-   -   Y   -     -    Y   -",
    ("kiosk.pair",                "station_b"):         "-   -   -   -     -    Y   -",
    ("kiosk.pair",                "station_inactive"):  "-   -   Y   -     -    Y   -",
    ("kiosk.pair",                "none"):              "-   -   -   -     -    -   -",
    ("kiosk.revoke",              "station_a"):         "-   -   Y   Y     -    Y   -",
    ("kiosk.revoke",              "station_b"):         "-   -   -   -     -    Y   -",
    ("kiosk.revoke",              "station_inactive"):  "-   -   Y   Y     -    Y   -",
    ("kiosk.revoke",              "none"):              "-   -   -   -     -    -   -",

    ("station.print_poster",      "station_a"):         "-   -   Y   Y     -    Y   -",
    ("station.print_poster",      "station_b"):         "-   -   -   -     -    Y   -",
    ("station.print_poster",      "station_inactive"):  "-   -   Y   Y     -    Y   -",
    ("station.print_poster",      "none"):              "-   -   -   -     -    -   -",

    # a new code for a defaced poster: whoever looks after the station (a closed one's code
    # is refused by the service, not here: the rule is about who)
    ("station.replace_code",      "station_a"):         "-   -   Y   Y     -    Y   -",
    ("station.replace_code",      "station_b"):         "-   -   -   -     -    Y   -",
    ("station.replace_code",      "station_inactive"):  "-   -   Y   Y     -    Y   -",
    ("station.replace_code",      "none"):              "-   -   -   -     -    -   -",
    # closing (and reopening) a station: congress staff above it, not its own managers
    ("station.close",             "station_a"):         "-   -   -   Y     -    Y   -",
    ("station.close",             "station_b"):         "-   -   -   -     -    Y   -",
    ("station.close",             "station_inactive"):  "-   -   -   Y     -    Y   -",
    ("station.close",             "none"):              "-   -   -   -     -    -   -",
    # the posters of a whole region: staff for their region and the regions below it
    ("region.posters",            "region_city"):       "-   -   -   Y     -    Y   -",
    ("region.posters",            "region_county"):     "-   -   -   Y     -    Y   -",
    ("region.posters",            "region_other"):      "-   -   -   -     -    Y   -",
    ("region.posters",            "region_province"):   "-   -   -   -     -    Y   -",
    ("region.posters",            "station_a"):         "-   -   -   -     -    -   -",
    ("region.posters",            "none"):              "-   -   -   Y     -    Y   -",

    # booked visits: booking_a_mine is at A with the representative, booking_a_other at A
    # with a colleague, booking_b at B
    ("booking.view_day",          "station_a"):         "-   -   Y   Y     -    Y   -",
    ("booking.view_day",          "station_b"):         "-   -   -   -     -    Y   -",
    ("booking.view_day",          "station_inactive"):  "-   -   Y   Y     -    Y   -",
    ("booking.view_day",          "none"):              "-   -   -   -     -    -   -",
    ("booking.manage",            "station_a"):         "-   -   Y   Y     -    Y   -",
    ("booking.manage",            "station_b"):         "-   -   -   -     -    Y   -",
    ("booking.manage",            "station_inactive"):  "-   -   Y   Y     -    Y   -",
    ("booking.manage",            "none"):              "-   -   -   -     -    -   -",
    ("booking.mark",              "booking_a_mine"):    "-   Y   Y   Y     -    Y   -",
    ("booking.mark",              "booking_a_other"):   "-   -   Y   Y     -    Y   -",
    ("booking.mark",              "booking_b"):         "-   -   -   -     -    Y   -",
    ("booking.mark",              "station_a"):         "-   -   -   -     -    -   -",
    ("booking.view_contact",      "booking_a_mine"):    "-   Y   Y   -     -    -   -",
    ("booking.view_contact",      "booking_a_other"):   "-   -   Y   -     -    -   -",
    ("booking.view_contact",      "booking_b"):         "-   -   -   -     -    -   -",
    ("booking.view_contact",      "station_a"):         "-   -   -   -     -    -   -",

    # 述职 meetings: meeting_a_mine is the representative's at A, meeting_a_other a
    # colleague's at A, meeting_b at B. Scheduling is on the station (or the meeting itself,
    # to move or cancel it); showing the code is for the one presenting and the overseers.
    ("meeting.manage",            "station_a"):         "-   -   Y   Y     -    Y   -",
    ("meeting.manage",            "station_b"):         "-   -   -   -     -    Y   -",
    ("meeting.manage",            "station_inactive"):  "-   -   Y   Y     -    Y   -",
    ("meeting.manage",            "meeting_a_mine"):    "-   -   Y   Y     -    Y   -",
    ("meeting.manage",            "meeting_b"):         "-   -   -   -     -    Y   -",
    ("meeting.manage",            "none"):              "-   -   -   -     -    -   -",
    ("meeting.show",              "meeting_a_mine"):    "-   Y   Y   Y     -    Y   -",
    ("meeting.show",              "meeting_a_other"):   "-   -   Y   Y     -    Y   -",
    ("meeting.show",              "meeting_b"):         "-   -   -   -     -    Y   -",
    ("meeting.show",              "station_a"):         "-   -   -   -     -    -   -",
    ("meeting.show",              "none"):              "-   -   -   -     -    -   -",

    # the closed loop: concern_a_mine is at A, taken up by the representative and sent to the
    # handler's unit; concern_a_other at A, another representative's; concern_b at B;
    # concern_b_mine at B but taken up by the representative (assigned beyond their stations)
    ("concern.inbox",             "none"):              "-   Y   Y   Y     Y    Y   -",

    ("concern.view",              "concern_a_mine"):    "-   Y   Y   Y     Y    Y   Y",
    ("concern.view",              "concern_a_other"):   "-   Y   Y   Y     -    Y   Y",
    ("concern.view",              "concern_b"):         "-   -   -   -     -    Y   -",
    ("concern.view",              "concern_b_mine"):    "-   Y   -   -     -    Y   -",
    ("concern.view",              "station_a"):         "-   -   -   -     -    -   -",
    # Written to one representative (/r/<code>): another representative of the station sees
    # it once it is passed to the station; its overseers all along, and an official checked
    # in at the station, as every concern of the station.
    ("concern.view",              "concern_a_to_me"):   "-   Y   Y   Y     -    Y   Y",
    ("concern.view",              "concern_a_to_other"): "-   -   Y   Y     -    Y   Y",
    ("concern.view",              "concern_a_passed"):  "-   Y   Y   Y     -    Y   Y",

    ("concern.view_contact",      "concern_a_mine"):    "-   Y   Y   -     Y    -   -",
    ("concern.view_contact",      "concern_a_other"):   "-   -   Y   -     -    -   -",
    ("concern.view_contact",      "concern_b"):         "-   -   -   -     -    -   -",
    ("concern.view_contact",      "concern_b_mine"):    "-   Y   -   -     -    -   -",
    ("concern.view_contact",      "station_a"):         "-   -   -   -     -    -   -",

    ("concern.accept",            "concern_a_mine"):    "-   Y   Y   Y     -    -   -",
    ("concern.accept",            "concern_a_other"):   "-   Y   Y   Y     -    -   -",
    ("concern.accept",            "concern_b"):         "-   -   -   -     -    -   -",
    ("concern.accept",            "concern_b_mine"):    "-   Y   -   -     -    -   -",
    ("concern.accept",            "station_a"):         "-   -   -   -     -    -   -",
    ("concern.accept",            "concern_a_to_me"):   "-   Y   Y   Y     -    -   -",
    ("concern.accept",            "concern_a_to_other"): "-   -   Y   Y     -    -   -",
    ("concern.accept",            "concern_a_passed"):  "-   Y   Y   Y     -    -   -",

    ("concern.pass_to_station",   "concern_a_to_me"):   "-   Y   Y   Y     -    -   -",
    ("concern.pass_to_station",   "concern_a_to_other"): "-   -   Y   Y     -    -   -",
    ("concern.pass_to_station",   "concern_a_passed"):  "-   -   Y   Y     -    -   -",
    ("concern.pass_to_station",   "concern_b"):         "-   -   -   -     -    -   -",

    ("concern.reject",            "concern_a_mine"):    "-   -   Y   Y     -    -   -",
    ("concern.reject",            "concern_a_other"):   "-   -   Y   Y     -    -   -",
    ("concern.reject",            "concern_b"):         "-   -   -   -     -    -   -",
    ("concern.reject",            "concern_b_mine"):    "-   -   -   -     -    -   -",
    ("concern.reject",            "station_a"):         "-   -   -   -     -    -   -",

    ("concern.merge",             "concern_a_mine"):    "-   -   Y   Y     -    -   -",
    ("concern.merge",             "concern_a_other"):   "-   -   Y   Y     -    -   -",
    ("concern.merge",             "concern_b"):         "-   -   -   -     -    -   -",
    ("concern.merge",             "concern_b_mine"):    "-   -   -   -     -    -   -",
    ("concern.merge",             "station_a"):         "-   -   -   -     -    -   -",

    ("concern.dispatch",          "concern_a_mine"):    "-   -   -   Y     -    -   -",
    ("concern.dispatch",          "concern_a_other"):   "-   -   -   Y     -    -   -",
    ("concern.dispatch",          "concern_b"):         "-   -   -   -     -    -   -",
    ("concern.dispatch",          "concern_b_mine"):    "-   -   -   -     -    -   -",
    ("concern.dispatch",          "station_a"):         "-   -   -   -     -    -   -",

    ("concern.resolve",           "concern_a_mine"):    "-   Y   Y   -     -    -   -",
    ("concern.resolve",           "concern_a_other"):   "-   -   Y   -     -    -   -",
    ("concern.resolve",           "concern_b"):         "-   -   -   -     -    -   -",
    ("concern.resolve",           "concern_b_mine"):    "-   Y   -   -     -    -   -",
    ("concern.resolve",           "station_a"):         "-   -   -   -     -    -   -",

    ("concern.reply",             "concern_a_mine"):    "-   -   -   -     Y    -   -",
    ("concern.reply",             "concern_a_other"):   "-   -   -   -     -    -   -",
    ("concern.reply",             "concern_b"):         "-   -   -   -     -    -   -",
    ("concern.reply",             "concern_b_mine"):    "-   -   -   -     -    -   -",
    ("concern.reply",             "station_a"):         "-   -   -   -     -    -   -",

    ("concern.return",            "concern_a_mine"):    "-   -   -   -     Y    -   -",
    ("concern.return",            "concern_a_other"):   "-   -   -   -     -    -   -",
    ("concern.return",            "concern_b"):         "-   -   -   -     -    -   -",
    ("concern.return",            "concern_b_mine"):    "-   -   -   -     -    -   -",
    ("concern.return",            "station_a"):         "-   -   -   -     -    -   -",

    ("concern.confirm",           "concern_a_mine"):    "-   Y   Y   -     -    -   -",
    ("concern.confirm",           "concern_a_other"):   "-   -   Y   -     -    -   -",
    ("concern.confirm",           "concern_b"):         "-   -   -   -     -    -   -",
    ("concern.confirm",           "concern_b_mine"):    "-   Y   -   -     -    -   -",
    ("concern.confirm",           "station_a"):         "-   -   -   -     -    -   -",

    ("concern.send_back",         "concern_a_mine"):    "-   Y   Y   Y     -    -   -",
    ("concern.send_back",         "concern_a_other"):   "-   -   Y   Y     -    -   -",
    ("concern.send_back",         "concern_b"):         "-   -   -   -     -    -   -",
    ("concern.send_back",         "concern_b_mine"):    "-   Y   -   -     -    -   -",
    ("concern.send_back",         "station_a"):         "-   -   -   -     -    -   -",

    # an answer resolved on the spot: its representative does not send back their own answer
    ("concern.send_back_to_rep",  "concern_a_mine"):    "-   -   Y   Y     -    -   -",
    ("concern.send_back_to_rep",  "concern_a_other"):   "-   -   Y   Y     -    -   -",
    ("concern.send_back_to_rep",  "concern_b"):         "-   -   -   -     -    -   -",
    ("concern.send_back_to_rep",  "concern_b_mine"):    "-   -   -   -     -    -   -",
    ("concern.send_back_to_rep",  "station_a"):         "-   -   -   -     -    -   -",

    ("concern.note",              "concern_a_mine"):    "-   Y   Y   Y     Y    -   -",
    ("concern.note",              "concern_a_other"):   "-   Y   Y   Y     -    -   -",
    ("concern.note",              "concern_b"):         "-   -   -   -     -    -   -",
    ("concern.note",              "concern_b_mine"):    "-   Y   -   -     -    -   -",
    ("concern.note",              "station_a"):         "-   -   -   -     -    -   -",

    ("concern.recategorize",      "concern_a_mine"):    "-   Y   Y   Y     -    -   -",
    ("concern.recategorize",      "concern_a_other"):   "-   -   Y   Y     -    -   -",
    ("concern.recategorize",      "concern_b"):         "-   -   -   -     -    -   -",
    ("concern.recategorize",      "concern_b_mine"):    "-   Y   -   -     -    -   -",
    ("concern.recategorize",      "station_a"):         "-   -   -   -     -    -   -",

    # keeping a concern off the public answers, and releasing it: the station's overseers
    ("concern.withhold",          "concern_a_mine"):    "-   -   Y   Y     -    -   -",
    ("concern.withhold",          "concern_a_other"):   "-   -   Y   Y     -    -   -",
    ("concern.withhold",          "concern_b"):         "-   -   -   -     -    -   -",
    ("concern.withhold",          "concern_b_mine"):    "-   -   -   -     -    -   -",
    ("concern.withhold",          "station_a"):         "-   -   -   -     -    -   -",

    # the resident's steps belong to whoever holds the tracking code, and closing unrated
    # concerns to the scheduled job: no account role takes them
    ("concern.withdraw",          "concern_a_mine"):    "-   -   -   -     -    -   -",
    ("concern.rate",              "concern_a_mine"):    "-   -   -   -     -    -   -",
    ("concern.rate_merged",       "concern_a_mine"):    "-   -   -   -     -    -   -",
    ("concern.reopen",            "concern_a_mine"):    "-   -   -   -     -    -   -",
    ("concern.reopen_to_rep",     "concern_a_mine"):    "-   -   -   -     -    -   -",
    ("concern.auto_close",        "concern_a_mine"):    "-   -   -   -     -    -   -",
    ("concern.escalate",          "concern_a_mine"):    "-   -   -   -     -    -   -",

    ("concern.export",            "none"):              "-   -   Y   Y     -    Y   -",
    ("figures.view",              "none"):              "-   -   Y   Y     Y    Y   -",
    ("calendar.manage",           "none"):              "-   -   -   -     -    Y   -",

    ("account.change_password",   "none"):              "-   Y   Y   Y     Y    Y   Y",

    ("user.manage",               "none"):              "-   -   -   -     -    Y   -",
    ("user.manage",               "rep_b"):             "-   -   -   -     -    Y   -",

    ("audit.view",                "none"):              "-   -   -   -     -    Y   -",

    # regions: staff of 周口市 open their city and everything below it (not 漯河市's); they
    # rename and switch off only townships, the admin any division
    ("region.manage",             "none"):              "-   -   -   Y     -    Y   -",
    ("region.manage",             "region_zhoukou"):    "-   -   -   Y     -    Y   -",
    ("region.manage",             "region_xiangcheng"): "-   -   -   Y     -    Y   -",
    ("region.manage",             "township_xc"):       "-   -   -   Y     -    Y   -",
    ("region.manage",             "region_province"):   "-   -   -   -     -    Y   -",
    ("region.manage",             "region_yuanhui"):    "-   -   -   -     -    Y   -",
    ("region.manage",             "station_a"):         "-   -   -   -     -    -   -",
    ("region.edit",               "none"):              "-   -   -   -     -    -   -",
    ("region.edit",               "region_xiangcheng"): "-   -   -   -     -    Y   -",
    ("region.edit",               "township_xc"):       "-   -   -   Y     -    Y   -",
    ("region.edit",               "township_yh"):       "-   -   -   -     -    Y   -",
    ("region.edit",               "station_a"):         "-   -   -   -     -    -   -",
    # sending an account its set-password link: congress staff for the representatives,
    # managers and unit handlers in their region and below; only an admin for staff and admins
    ("account.invite",            "account_rep_a"):     "-   -   -   Y     -    Y   -",
    ("account.invite",            "account_rep_b"):     "-   -   -   -     -    Y   -",
    ("account.invite",            "account_manager_a"): "-   -   -   Y     -    Y   -",
    ("account.invite",            "account_manager_b"): "-   -   -   -     -    Y   -",
    ("account.invite",            "account_handler_a"): "-   -   -   Y     -    Y   -",
    ("account.invite",            "account_handler_b"): "-   -   -   -     -    Y   -",
    ("account.invite",            "account_staff"):     "-   -   -   -     -    Y   -",
    ("account.invite",            "account_admin"):     "-   -   -   -     -    Y   -",
    ("account.invite",            "rep_other"):         "-   -   -   -     -    -   -",
    ("account.invite",            "none"):              "-   -   -   -     -    -   -",
    # reference data: congress staff in their region and below, the admin everywhere;
    # None is the lists and the "new" forms (scope narrows what they offer)
    ("reference.manage",          "none"):              "-   -   -   Y     -    Y   -",
    ("reference.manage",          "station_a"):         "-   -   -   Y     -    Y   -",
    ("reference.manage",          "station_b"):         "-   -   -   -     -    Y   -",
    ("reference.manage",          "station_inactive"):  "-   -   -   Y     -    Y   -",
    ("reference.manage",          "rep_own"):           "-   -   -   Y     -    Y   -",
    ("reference.manage",          "rep_b"):             "-   -   -   -     -    Y   -",
    ("reference.manage",          "duty_own"):          "-   -   -   -     -    -   -",
    ("category.manage",           "none"):              "-   -   -   -     -    Y   -",
    # spreadsheet imports: scope is each row's (services.reference), categories the admin's
    ("import.reference",          "none"):              "-   -   -   Y     -    Y   -",
    ("import.categories",         "none"):              "-   -   -   -     -    Y   -",

    # officials at the station (领导进站): congress staff schedule the office hours (not the
    # station's own managers); an official checks in at any active station, out of their own
    # session, and takes up (and sends to their unit, or answers) only the concerns of the
    # station they are checked in at
    ("office_hours.manage",       "station_a"):         "-   -   -   Y     -    Y   -",
    ("office_hours.manage",       "station_b"):         "-   -   -   -     -    Y   -",
    ("office_hours.manage",       "station_inactive"):  "-   -   -   Y     -    Y   -",
    ("office_hours.manage",       "none"):              "-   -   -   -     -    -   -",
    ("official.check_in",         "station_a"):         "-   -   -   -     -    -   Y",
    ("official.check_in",         "station_b"):         "-   -   -   -     -    -   Y",
    ("official.check_in",         "station_inactive"):  "-   -   -   -     -    -   -",
    ("official.check_in",         "none"):              "-   -   -   -     -    -   -",
    ("official.check_out",        "session_own"):       "-   -   -   -     -    -   Y",
    ("official.check_out",        "session_other"):     "-   -   -   -     -    -   -",
    ("official.check_out",        "duty_own"):          "-   -   -   -     -    -   -",
    ("official.own_record",       "none"):              "-   -   -   -     -    -   Y",
    ("concern.official_take",     "concern_a_mine"):    "-   -   -   -     -    -   Y",
    ("concern.official_take",     "concern_a_other"):   "-   -   -   -     -    -   Y",
    ("concern.official_take",     "concern_b"):         "-   -   -   -     -    -   -",
    ("concern.official_take",     "station_a"):         "-   -   -   -     -    -   -",
    ("concern.official_dispatch", "concern_a_other"):   "-   -   -   -     -    -   Y",
    ("concern.official_dispatch", "concern_b"):         "-   -   -   -     -    -   -",
    ("concern.official_answer",   "concern_a_other"):   "-   -   -   -     -    -   Y",
    ("concern.official_answer",   "concern_b_mine"):    "-   -   -   -     -    -   -",
    ("account.invite",            "account_official"):  "-   -   -   Y     -    Y   -",

    # the station's board: whoever looks after the station
    ("board.manage",              "station_a"):         "-   -   Y   Y     -    Y   -",
    ("board.manage",              "station_b"):         "-   -   -   -     -    Y   -",
    ("board.manage",              "station_inactive"):  "-   -   Y   Y     -    Y   -",
    ("board.manage",              "none"):              "-   -   -   -     -    -   -",

    # a notice to every station of a region: its congress staff
    ("board.notice",              "region_city"):       "-   -   -   Y     -    Y   -",
    ("board.notice",              "region_county"):     "-   -   -   Y     -    Y   -",
    ("board.notice",              "region_other"):      "-   -   -   -     -    Y   -",
    ("board.notice",              "none"):              "-   -   -   Y     -    Y   -",
    # representatives' suggestions (代表建议): suggestion_mine is the representative's own,
    # assigned to the handler's unit as lead unit; suggestion_cosign another representative
    # of A's draft the representative is invited to co-sign; suggestion_co another's, with
    # the handler's unit as co-unit; suggestion_b a representative of B's (漯河市), all but
    # the last in 项城市 (under the staff's 周口市). The official is of the handler's unit.
    ("suggestion.list",           "none"):              "-   Y   -   Y     Y    Y   Y",
    ("suggestion.file",           "none"):              "-   Y   -   -     -    -   -",
    ("suggestion.key_list",       "none"):              "-   -   -   Y     -    Y   -",
    ("suggestion.view",           "suggestion_mine"):   "-   Y   -   Y     Y    Y   Y",
    ("suggestion.view",           "suggestion_cosign"): "-   Y   -   Y     -    Y   -",
    ("suggestion.view",           "suggestion_co"):     "-   -   -   Y     Y    Y   Y",
    ("suggestion.view",           "suggestion_b"):      "-   -   -   -     -    Y   -",
    ("suggestion.view",           "station_a"):         "-   -   -   -     -    -   -",
    ("suggestion.cosign",         "suggestion_mine"):   "-   -   -   -     -    -   -",
    ("suggestion.cosign",         "suggestion_cosign"): "-   Y   -   -     -    -   -",
    ("suggestion.cosign",         "suggestion_b"):      "-   -   -   -     -    -   -",
    ("suggestion.submit",         "suggestion_mine"):   "-   Y   -   -     -    -   -",
    ("suggestion.submit",         "suggestion_cosign"): "-   -   -   -     -    -   -",
    ("suggestion.submit",         "suggestion_b"):      "-   -   -   -     -    -   -",
    ("suggestion.register",       "suggestion_mine"):   "-   -   -   Y     -    -   -",
    ("suggestion.register",       "suggestion_cosign"): "-   -   -   Y     -    -   -",
    ("suggestion.register",       "suggestion_b"):      "-   -   -   -     -    -   -",
    ("suggestion.mark_key",       "suggestion_mine"):   "-   -   -   Y     -    -   -",
    ("suggestion.mark_key",       "suggestion_b"):      "-   -   -   -     -    -   -",
    ("suggestion.opinion",        "suggestion_mine"):   "-   -   -   -     -    -   -",
    ("suggestion.opinion",        "suggestion_co"):     "-   -   -   -     Y    -   Y",
    ("suggestion.opinion",        "suggestion_b"):      "-   -   -   -     -    -   -",
    ("suggestion.reply",          "suggestion_mine"):   "-   -   -   -     Y    -   Y",
    ("suggestion.reply",          "suggestion_co"):     "-   -   -   -     -    -   -",
    ("suggestion.reply",          "suggestion_b"):      "-   -   -   -     -    -   -",
    ("suggestion.rate_result",    "suggestion_mine"):   "-   Y   -   -     -    -   -",
    ("suggestion.rate_result",    "suggestion_cosign"): "-   -   -   -     -    -   -",
    ("suggestion.rate_result",    "suggestion_co"):     "-   -   -   -     -    -   -",

    # 民生实事项目票决: vote_county is 项城市's (where A is), vote_other 源汇区's (where B is);
    # project_mine is led by the handler's unit, project_other by a unit of 源汇区
    ("vote.manage",               "vote_county"):       "-   -   -   Y     -    Y   -",
    ("vote.manage",               "vote_other"):        "-   -   -   -     -    Y   -",
    ("vote.manage",               "project_mine"):      "-   -   -   Y     -    Y   -",
    ("vote.manage",               "none"):              "-   -   -   Y     -    Y   -",
    # the county's representatives in office serving in the county cast its ballots
    ("vote.cast",                 "vote_county"):       "-   Y   -   -     -    -   -",
    ("vote.cast",                 "vote_other"):        "-   -   -   -     -    -   -",
    ("vote.cast",                 "none"):              "-   -   -   -     -    -   -",
    # a chosen project's lead unit reports its progress
    ("vote.progress",             "project_mine"):      "-   -   -   -     Y    -   -",
    ("vote.progress",             "project_other"):     "-   -   -   -     -    -   -",
    ("vote.progress",             "vote_county"):       "-   -   -   -     -    -   -",
    ("vote.progress",             "none"):              "-   -   -   -     Y    -   -",

    # drafts of laws for comment: the congress staff of the draft's region or above, admins
    ("draft.manage",              "draft_county"):      "-   -   -   Y     -    Y   -",
    ("draft.manage",              "draft_other"):       "-   -   -   -     -    Y   -",
    ("draft.manage",              "region_city"):       "-   -   -   Y     -    Y   -",
    ("draft.manage",              "region_other"):      "-   -   -   -     -    Y   -",
    ("draft.manage",              "none"):              "-   -   -   Y     -    Y   -",
    ("draft.moderate",            "draft_county"):      "-   -   -   Y     -    Y   -",
    ("draft.moderate",            "draft_other"):       "-   -   -   -     -    Y   -",
    ("draft.moderate",            "comment_county"):    "-   -   -   Y     -    Y   -",
    ("draft.moderate",            "none"):              "-   -   -   Y     -    Y   -",

    # keys for other systems (/api/v1/): the operator's
    ("api_key.manage",            "none"):              "-   -   -   -     -    Y   -",
    # a system filing through Open311 (/open311/v2/requests): keys only, never a person
    ("concern.file_by_key",       "station_a"):         "-   -   -   -     -    -   -",
    ("concern.file_by_key",       "station_b"):         "-   -   -   -     -    -   -",
    ("concern.file_by_key",       "none"):              "-   -   -   -     -    -   -",
}
# fmt: on


def expected_row(cells: str) -> dict[str, bool]:
    marks = cells.split()
    assert len(marks) == len(COLUMNS) and set(marks) <= {Y, N}, cells
    return {column: mark == Y for column, mark in zip(COLUMNS, marks, strict=True)}


def open_duty(station, rep) -> Duty:
    duty = Duty(
        station=station,
        representative=rep,
        checked_in_at=utcnow(),
        method=DutyMethod.QR,
        nonce=secrets.token_urlsafe(16),
    )
    _db.session.add(duty)
    _db.session.flush()
    return duty


def _vote(region, unit) -> ProjectVote:
    """A county's 票决 in its voting period, with one candidate led by `unit`."""
    today = local_today()
    vote = ProjectVote(
        region=region,
        year=today.year,
        level=RepLevel.COUNTY,
        title="民生实事项目票决",
        comments_open_on=today - timedelta(days=10),
        comments_close_on=today - timedelta(days=5),
        voting_opens_on=today,
        voting_closes_on=today,
        published_at=utcnow(),
        projects=[VoteProject(title="项目", budget_yuan=1, unit=unit, chosen=True)],
    )
    _db.session.add(vote)
    _db.session.flush()
    return vote


@pytest.fixture
def world(db):
    province = factories.region("410000", "河南省", RegionLevel.PROVINCE)
    zhoukou = factories.region("411600", "周口市", RegionLevel.CITY, parent=province)
    xiangcheng = factories.region("411681", "项城市", RegionLevel.COUNTY, parent=zhoukou)
    fugou = factories.region("411621", "扶沟县", RegionLevel.COUNTY, parent=zhoukou)
    luohe = factories.region("411100", "漯河市", RegionLevel.CITY, parent=province)
    yuanhui = factories.region("411102", "源汇区", RegionLevel.COUNTY, parent=luohe)

    a = factories.station(region=xiangcheng, name="A 项城市防水行业联络站")
    a2 = factories.station(region=fugou, name="A2 扶沟县联络站")
    b = factories.station(region=yuanhui, name="B 漯河食品产业联络站")
    inactive = factories.station(region=xiangcheng, name="X 已撤销联络站", is_active=False)

    rep_own = factories.representative(stations=[a], name="王建国")
    rep_other = factories.representative(stations=[a], name="黄春燕")
    rep_b = factories.representative(stations=[b], name="孙志强")
    handler_unit = factories.unit(region_obj=xiangcheng)

    w = {
        "regions": {"province": province, "zhoukou": zhoukou, "xiangcheng": xiangcheng, "fugou": fugou, "luohe": luohe},
        "objects": {
            "station_a": a,
            "station_a2": a2,
            "station_b": b,
            "station_inactive": inactive,
            "duty_own": open_duty(a, rep_own),
            "duty_other": open_duty(a, rep_other),
            "duty_b": open_duty(b, rep_b),
            "rep_own": rep_own,
            "rep_other": rep_other,
            "rep_b": rep_b,
            "concern_a_mine": factories.concern(a, assigned_rep=rep_own, unit=handler_unit),
            "concern_a_other": factories.concern(a, assigned_rep=rep_other),
            "concern_b": factories.concern(b, assigned_rep=rep_b, unit=factories.unit(region_obj=yuanhui)),
            "concern_b_mine": factories.concern(b, assigned_rep=rep_own),
            "booking_a_mine": factories.booking(factories.slot(a, rep_own)),
            "booking_a_other": factories.booking(factories.slot(a, rep_other)),
            "booking_b": factories.booking(factories.slot(b, rep_b)),
            "meeting_a_mine": factories.meeting(a, rep_own),
            "meeting_a_other": factories.meeting(a, rep_other),
            "meeting_b": factories.meeting(b, rep_b),
            "concern_a_to_me": factories.concern(a, addressed_rep=rep_own),
            "concern_a_to_other": factories.concern(a, addressed_rep=rep_other),
            "concern_a_passed": factories.concern(a, addressed_rep=rep_other, passed_at=datetime(2026, 1, 5)),
            "region_city": zhoukou,
            "region_county": xiangcheng,
            "region_other": luohe,
            "region_province": province,
            "none": None,
            "region_zhoukou": zhoukou,
            "region_xiangcheng": xiangcheng,
            "region_yuanhui": yuanhui,
            "township_xc": factories.region("411681001", "花园街道", RegionLevel.TOWNSHIP, parent=xiangcheng),
            "township_yh": factories.region("411102001", "马路街街道", RegionLevel.TOWNSHIP, parent=yuanhui),
        },
        "actors": {
            "anonymous": AnonymousUserMixin(),
            "representative": rep_own.user,
            "station_manager": factories.user(Role.STATION_MANAGER, managed_stations=[a, inactive]),
            "congress_staff": factories.user(Role.CONGRESS_STAFF, region=zhoukou),
            "unit_handler": factories.user(Role.UNIT_HANDLER, unit=handler_unit),
            "admin": factories.user(Role.ADMIN),
            "official": (official := factories.official(handler_unit, post="县住房和城乡建设局局长")).user,
        },
    }
    w["objects"]["vote_county"] = _vote(xiangcheng, handler_unit)
    w["objects"]["project_mine"] = w["objects"]["vote_county"].projects[0]
    w["objects"]["vote_other"] = _vote(yuanhui, w["objects"]["concern_b"].unit)
    w["objects"]["project_other"] = w["objects"]["vote_other"].projects[0]
    w["objects"]["draft_county"] = draft = factories.draft_law(xiangcheng)
    w["objects"]["draft_other"] = factories.draft_law(yuanhui)
    w["objects"]["comment_county"] = DraftComment(
        draft=draft, station=a, code="K7M3XP29Q", content="建议延长登记期限。", status=DraftCommentStatus.PENDING
    )
    w["objects"]["session_own"] = factories.official_session(official, a)
    other_unit = factories.unit(region_obj=xiangcheng)
    w["objects"].update(
        {
            "suggestion_mine": factories.suggestion(rep_own, lead_unit=handler_unit),
            "suggestion_cosign": factories.suggestion(rep_other, signers=[rep_own]),
            "suggestion_co": factories.suggestion(rep_other, lead_unit=other_unit, co_units=[handler_unit]),
            "suggestion_b": factories.suggestion(rep_b, lead_unit=w["objects"]["concern_b"].unit),
        }
    )
    w["objects"]["session_other"] = factories.official_session(factories.official(handler_unit, name="赵敏"), a)
    w["managers"] = {
        "of_a": w["actors"]["station_manager"],
        "of_b": factories.user(Role.STATION_MANAGER, managed_stations=[b]),
    }
    w["staff"] = {
        "city": w["actors"]["congress_staff"],
        "county": factories.user(Role.CONGRESS_STAFF, region=xiangcheng),
        "other_city": factories.user(Role.CONGRESS_STAFF, region=luohe),
        "province": factories.user(Role.CONGRESS_STAFF, region=province),
    }
    # Accounts as the objects of account.invite (the rep_* objects are their profiles).
    w["objects"].update(
        {
            "account_rep_a": rep_other.user,
            "account_rep_b": rep_b.user,
            "account_manager_a": w["managers"]["of_a"],
            "account_manager_b": w["managers"]["of_b"],
            "account_handler_a": factories.user(Role.UNIT_HANDLER, unit=handler_unit),
            "account_handler_b": factories.user(Role.UNIT_HANDLER, unit=w["objects"]["concern_b"].unit),
            "account_staff": w["staff"]["county"],
            "account_admin": factories.user(Role.ADMIN),
            "account_official": factories.official(handler_unit, name="陈刚").user,
        }
    )
    db.session.commit()
    return w


# --- the matrix --------------------------------------------------------------------------


def test_the_matrix_covers_every_action_and_only_known_ones():
    assert {action for action, _obj in MATRIX} == set(ACTIONS) == set(RULES)
    for cells in MATRIX.values():
        expected_row(cells)


@pytest.mark.parametrize("action", sorted({action for action, _obj in MATRIX}))
def test_role_action_matrix(world, action):
    mismatches = []
    for (row_action, obj_key), cells in MATRIX.items():
        if row_action != action:
            continue
        obj = world["objects"][obj_key]
        for column, allowed in expected_row(cells).items():
            actor = world["actors"][column]
            got = can(actor, action, obj)
            if got is not allowed:
                mismatches.append(f"{action} on {obj_key} by {column}: expected {allowed}, got {got}")
            try:  # require() agrees with can()
                require(actor, action, obj)
                required = True
            except PermissionDenied as denied:
                assert denied.action == action
                required = False
            assert required is got, (action, obj_key, column)
    assert not mismatches, "\n".join(mismatches)


def test_none_is_anonymous(world):
    for (action, obj_key), cells in MATRIX.items():
        assert can(None, action, world["objects"][obj_key]) is expected_row(cells)["anonymous"], (action, obj_key)


# --- scope, case by case -----------------------------------------------------------------

OVERSEER_ACTIONS = (
    "duty.review",
    "roster.manage",
    "attendance.view",
    "attendance.export",
    "station.print_poster",
    "kiosk.revoke",
)


def test_a_manager_of_station_a_is_not_a_manager_of_station_b(world):
    o, m = world["objects"], world["managers"]
    for action in (*OVERSEER_ACTIONS, "kiosk.pair"):
        assert can(m["of_a"], action, o["station_a"]) and not can(m["of_a"], action, o["station_b"]), action
        assert can(m["of_b"], action, o["station_b"]) and not can(m["of_b"], action, o["station_a"]), action
    assert can(m["of_a"], "duty.review", o["duty_own"]) and not can(m["of_a"], "duty.review", o["duty_b"])
    assert can(m["of_b"], "duty.review", o["duty_b"]) and not can(m["of_b"], "duty.review", o["duty_own"])
    assert can(m["of_a"], "duty.view_file", o["rep_own"]) and not can(m["of_a"], "duty.view_file", o["rep_b"])
    assert can(m["of_b"], "duty.view_file", o["rep_b"]) and not can(m["of_b"], "duty.view_file", o["rep_own"])


@pytest.mark.parametrize(
    ("station", "city", "county", "other_city", "province"),
    [
        # station A is in 项城市 (county) under 周口市 (city) under 河南省
        ("station_a", True, True, False, True),
        # station A2 is in 扶沟县, another county of 周口市
        ("station_a2", True, False, False, True),
        # station B is in 源汇区 under 漯河市
        ("station_b", False, False, True, True),
    ],
)
def test_congress_staff_see_their_region_and_the_regions_below(world, station, city, county, other_city, province):
    st, staff = world["objects"][station], world["staff"]
    expected = {"city": city, "county": county, "other_city": other_city, "province": province}
    for action in OVERSEER_ACTIONS:
        for who, allowed in expected.items():
            assert can(staff[who], action, st) is allowed, (action, station, who)
        assert not any(can(s, "kiosk.pair", st) for s in staff.values())


def test_congress_staff_read_the_files_of_representatives_in_their_region(world):
    o, staff = world["objects"], world["staff"]
    assert can(staff["county"], "duty.view_file", o["rep_own"])
    assert not can(staff["county"], "duty.view_file", o["rep_b"])
    assert can(staff["other_city"], "duty.view_file", o["rep_b"])
    assert not can(staff["other_city"], "duty.view_file", o["rep_own"])
    assert can(staff["province"], "duty.view_file", o["rep_b"])
    assert can(staff["county"], "duty.review", o["duty_other"]) and not can(staff["county"], "duty.review", o["duty_b"])


def test_a_representative_checks_out_only_their_own_duty(world):
    o, rep = world["objects"], world["actors"]["representative"]
    assert can(rep, "duty.check_out", o["duty_own"])
    assert not can(rep, "duty.check_out", o["duty_other"])
    colleague = o["rep_other"].user
    assert can(colleague, "duty.check_out", o["duty_other"]) and not can(colleague, "duty.check_out", o["duty_own"])
    # overseers do not check anyone out
    assert not can(world["actors"]["admin"], "duty.check_out", o["duty_own"])
    assert not can(world["managers"]["of_a"], "duty.check_out", o["duty_own"])


def test_a_representative_reads_only_their_own_file(world):
    o = world["objects"]
    assert can(o["rep_own"].user, "duty.view_file", o["rep_own"])
    assert not can(o["rep_own"].user, "duty.view_file", o["rep_other"])
    assert can(o["rep_other"].user, "duty.view_file", o["rep_other"])
    assert not can(o["rep_other"].user, "duty.view_file", o["rep_own"])
    assert not can(o["rep_b"].user, "duty.view_file", o["rep_own"])
    # a representative never reviews, not even their own duty
    assert not can(o["rep_own"].user, "duty.review", o["duty_own"])


def test_an_inactive_station_is_closed_to_everyone(world):
    o = world["objects"]
    every = [*world["actors"].values(), *world["staff"].values(), world["managers"]["of_b"], None]
    for action in ("station.view", "concern.file", "duty.check_in"):
        assert not any(can(actor, action, o["station_inactive"]) for actor in every), action
    rep = world["actors"]["representative"]
    for action in ("station.view", "concern.file", "duty.check_in"):
        assert can(rep, action, o["station_a"]), action
    # ...while its overseers still manage it (attendance, roster, posters of the past)
    assert can(world["managers"]["of_a"], "attendance.view", o["station_inactive"])


def test_a_switched_off_account_counts_as_anonymous(world, db):
    o, actors = world["objects"], world["actors"]
    for column in ("representative", "station_manager", "admin"):
        actors[column].active = False
    db.session.flush()
    for column in ("representative", "station_manager", "admin"):
        assert role_of(actors[column]) == ANONYMOUS
    assert not can(actors["admin"], "user.manage")
    assert not can(actors["station_manager"], "roster.manage", o["station_a"])
    assert not can(actors["representative"], "duty.check_in", o["station_a"])
    assert not can(actors["representative"], "account.change_password")
    assert can(actors["representative"], "station.view", o["station_a"])  # as any resident


def test_objects_of_the_wrong_kind_are_refused(world):
    o, admin = world["objects"], world["actors"]["admin"]
    rep = world["actors"]["representative"]
    assert not can(rep, "duty.check_in", o["duty_own"])
    assert not can(rep, "duty.check_out", o["rep_own"])
    assert not can(rep, "duty.view_file", rep)  # the user, not the profile
    assert not can(admin, "roster.manage", o["rep_own"])
    assert not can(admin, "station.view", o["duty_own"])


def test_the_resident_and_the_system_take_only_their_own_steps():
    from services.permissions import roles_for
    from services.workflow import RESIDENT, SYSTEM

    resident_steps = {
        "concern.withdraw",
        "concern.rate",
        "concern.rate_merged",
        "concern.reopen",
        "concern.reopen_to_rep",
    }
    for action in ACTIONS:
        if action in resident_steps:
            assert roles_for(action) == {RESIDENT}, action
        elif action in ("concern.auto_close", "concern.escalate"):
            assert roles_for(action) == {SYSTEM}, action
        else:
            assert not roles_for(action) & {RESIDENT, SYSTEM}, action


def test_an_unknown_action_is_a_programming_error(world):
    with pytest.raises(KeyError):
        can(world["actors"]["admin"], "station.destroy", world["objects"]["station_a"])


# --- the inbox's SQL scope agrees with "concern.view" -----------------------------------

CONCERNS = (
    "concern_a_mine",
    "concern_a_other",
    "concern_b",
    "concern_b_mine",
    "concern_a_to_me",
    "concern_a_to_other",
    "concern_a_passed",
)


def _in_scope(user) -> set[int]:
    import sqlalchemy as sa

    from models import Concern
    from services.permissions import concern_scope

    return set(_db.session.scalars(sa.select(Concern.id).where(concern_scope(user))))


def test_the_inbox_scope_in_sql_is_the_view_permission(world):
    o = world["objects"]
    people = [*world["actors"].values(), *world["managers"].values(), *world["staff"].values()]
    for user in people:
        expected = {o[key].id for key in CONCERNS if can(user, "concern.view", o[key])}
        assert _in_scope(user) == expected, role_of(user)


def test_staff_scope_reaches_concerns_in_regions_several_levels_below(world):
    o, staff = world["objects"], world["staff"]
    assert _in_scope(staff["province"]) == {o[key].id for key in CONCERNS}
    assert _in_scope(staff["other_city"]) == {o["concern_b"].id, o["concern_b_mine"].id}


SUGGESTIONS = ("suggestion_mine", "suggestion_cosign", "suggestion_co", "suggestion_b")


def test_the_suggestion_lists_in_sql_are_the_view_permission(world):
    import sqlalchemy as sa

    from models import Suggestion
    from services.permissions import suggestion_scope

    o = world["objects"]
    people = [*world["actors"].values(), *world["managers"].values(), *world["staff"].values()]
    for user in people:
        expected = {o[key].id for key in SUGGESTIONS if can(user, "suggestion.view", o[key])}
        found = set(_db.session.scalars(sa.select(Suggestion.id).where(suggestion_scope(user))))
        assert found == expected, role_of(user)


# --- a system through an API key (services.api_keys.KeyPrincipal) -------------------------


def _key(db, **kw):
    from services import api_keys

    made = api_keys.create(None, "12345热线", **kw)
    db.session.flush()
    return api_keys.principal(made.key)


def test_a_county_key_sees_and_acts_on_its_county_only(world, db):
    o, r = world["objects"], world["regions"]
    county = _key(db, region=r["xiangcheng"], can_act=True)
    other_county = _key(db, region=r["fugou"], can_act=True)
    a, b = o["concern_a_other"], o["concern_b"]
    assert can(county, "concern.view", a) and not can(county, "concern.view", b)
    assert not can(other_county, "concern.view", a)
    # it acts as the county's congress staff would: rejecting, not answering for a unit
    assert can(county, "concern.reject", a) and not can(county, "concern.reject", b)
    assert not can(other_county, "concern.reject", a)
    assert not can(county, "concern.reply", o["concern_a_mine"])


def test_an_acting_county_key_files_at_its_county_stations_only(world, db):
    o, r = world["objects"], world["regions"]
    county = _key(db, region=r["xiangcheng"], can_act=True)
    assert can(county, "concern.file_by_key", o["station_a"])
    assert not can(county, "concern.file_by_key", o["station_b"])
    assert not can(county, "concern.file_by_key", o["station_inactive"])
    assert not can(_key(db, region=r["xiangcheng"]), "concern.file_by_key", o["station_a"])  # read-only
    assert not can(_key(db, unit=o["concern_a_mine"].unit, can_act=True), "concern.file_by_key", o["station_a"])


def test_a_read_only_key_only_reads(world, db):
    o, r = world["objects"], world["regions"]
    key = _key(db, region=r["xiangcheng"])
    assert can(key, "concern.view", o["concern_a_other"]) and can(key, "concern.inbox")
    for action in ("concern.reject", "concern.dispatch", "concern.note", "concern.merge"):
        assert not can(key, action, o["concern_a_other"]), action


def test_a_key_gets_nothing_beyond_the_api_even_where_its_role_could(world, db):
    o, r = world["objects"], world["regions"]
    key = _key(db, region=r["zhoukou"], can_act=True)
    staff = world["staff"]["city"]
    for action, obj in (
        ("region.manage", r["xiangcheng"]),
        ("roster.manage", o["station_a"]),
        ("account.invite", o["account_rep_a"]),
        ("station.close", o["station_a"]),
        ("concern.view_contact", o["concern_a_mine"]),
        ("api_key.manage", None),
    ):
        assert not can(key, action, obj), action
    assert can(staff, "roster.manage", o["station_a"])  # what the same role may do signed in


def test_a_unit_key_handles_what_was_sent_to_its_unit(world, db):
    o = world["objects"]
    unit = o["concern_a_mine"].unit
    key = _key(db, unit=unit, can_act=True)
    assert can(key, "concern.view", o["concern_a_mine"]) and can(key, "concern.reply", o["concern_a_mine"])
    assert not can(key, "concern.view", o["concern_b"]) and not can(key, "concern.dispatch", o["concern_a_mine"])


def test_a_revoked_key_cannot_act(world, db):
    from models import utcnow

    o, r = world["objects"], world["regions"]
    key = _key(db, region=r["xiangcheng"], can_act=True)
    key.api_key.revoked_at = utcnow()
    assert not can(key, "concern.reject", o["concern_a_other"])


def test_a_keys_webhooks_hear_what_the_key_reads_even_read_only_or_for_a_suggestion(world, db):
    """services.webhooks asks permissions.hears which subscriptions an event reaches."""
    from services.permissions import hears

    o, r = world["objects"], world["regions"]
    county = _key(db, region=r["xiangcheng"])  # read-only: it still hears
    other_county = _key(db, region=r["fugou"], can_act=True)
    unit = _key(db, unit=o["concern_a_mine"].unit)
    a, b = o["concern_a_other"], o["concern_b"]
    assert hears(county, a) and not hears(county, b) and not hears(other_county, a)
    assert hears(unit, o["concern_a_mine"]) and not hears(unit, a) and not hears(unit, b)
    rep = factories.representative(stations=[o["station_a"]])
    suggestion = factories.suggestion(rep, lead_unit=o["concern_a_mine"].unit)
    assert hears(county, suggestion) and hears(unit, suggestion) and not hears(other_county, suggestion)
