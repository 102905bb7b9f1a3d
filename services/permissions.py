"""THE permission module: every "may this person do that?" is answered here.

`can(user, action, obj)` combines the role × action matrix with scope (a manager's own
stations, a congress staff member's region and the regions below it, a unit's own
concerns). Views call `require()`; templates ask `can()` to decide which buttons to show.
Where a list needs the same rule as a query, its SQL form sits beside it.

Action names are `Permission` members, and "concern.<action>" for each step of the
closed loop (ConcernAction); services.concern_flow reads who may press which step here.
"""

from collections.abc import Callable
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from extensions import db
from models import (
    Activity,
    Booking,
    Concern,
    ConcernEvent,
    DraftComment,
    DraftLaw,
    Duty,
    DutySlot,
    Notice,
    Official,
    OfficialSession,
    ProjectComment,
    ProjectVote,
    ReceptionDay,
    Region,
    ReportMeeting,
    Representative,
    Station,
    Suggestion,
    SuggestionCoUnit,
    SuggestionSigner,
    Unit,
    User,
    VoteProject,
    manager_station,
    representative_station,
)
from models.enums import ConcernAction, DutyStatus, RegionLevel, Role, SuggestionAction
from services.clock import local_today
from services.workflow import RESIDENT, SYSTEM

ANONYMOUS = "anonymous"
REP, MGR, STAFF, UNIT, ADMIN, OFF = (
    Role.REPRESENTATIVE,
    Role.STATION_MANAGER,
    Role.CONGRESS_STAFF,
    Role.UNIT_HANDLER,
    Role.ADMIN,
    Role.OFFICIAL,
)
# Who may hold an official's profile (models.official): an official's account, or a
# representative who is also the head of a unit.
OFFICIAL_ROLES = frozenset({OFF, REP})


class PermissionDenied(Exception):
    """The signed-in user may not do this. Views answer 403 (anonymous: the login page)."""

    def __init__(self, action: str):
        super().__init__(action)
        self.action = action


class Permission(StrEnum):
    STATION_VIEW = "station.view"
    CONCERN_FILE = "concern.file"
    DUTY_CHECK_IN = "duty.check_in"
    DUTY_CHECK_OUT = "duty.check_out"
    DUTY_VIEW_FILE = "duty.view_file"
    DUTY_OWN_FILE = "duty.own_file"
    MANAGE_HOME = "manage.home"
    DUTY_REVIEW = "duty.review"
    ROSTER_MANAGE = "roster.manage"
    ATTENDANCE_VIEW = "attendance.view"
    ATTENDANCE_EXPORT = "attendance.export"
    KIOSK_PAIR = "kiosk.pair"
    KIOSK_REVOKE = "kiosk.revoke"
    STATION_PRINT_POSTER = "station.print_poster"
    STATION_REPLACE_CODE = "station.replace_code"
    STATION_CLOSE = "station.close"
    REGION_POSTERS = "region.posters"
    CONCERN_INBOX = "concern.inbox"
    CONCERN_VIEW = "concern.view"
    CONCERN_VIEW_CONTACT = "concern.view_contact"
    CONCERN_EXPORT = "concern.export"
    FIGURES_VIEW = "figures.view"
    NOTIFICATIONS_NOT_SENT = "notifications.not_sent"
    CALENDAR_MANAGE = "calendar.manage"
    ACCOUNT_CHANGE_PASSWORD = "account.change_password"  # noqa: S105 (a permission name)
    USER_MANAGE = "user.manage"
    AUDIT_VIEW = "audit.view"
    REGION_MANAGE = "region.manage"
    REGION_EDIT = "region.edit"
    ACCOUNT_INVITE = "account.invite"
    REFERENCE_MANAGE = "reference.manage"
    CATEGORY_MANAGE = "category.manage"
    # Spreadsheet imports of stations, representatives and units; each row is checked
    # against the importer's region (services.reference). Categories are the admin's.
    IMPORT_REFERENCE = "import.reference"
    IMPORT_CATEGORIES = "import.categories"
    # Officials at the station (领导干部代表 / 国家机关负责人进站): office hours are the congress
    # staff's to schedule; the official checks in and out and reads their own record.
    OFFICE_HOURS_MANAGE = "office_hours.manage"
    OFFICIAL_CHECK_IN = "official.check_in"
    OFFICIAL_CHECK_OUT = "official.check_out"
    OFFICIAL_OWN_RECORD = "official.own_record"
    # Booked visits (预约接待): a station's bookings of a day, its capacities and calling a
    # slot's visits off; marking who came; the residents' names and numbers in full.
    BOOKING_DAY_VIEW = "booking.view_day"
    BOOKING_MANAGE = "booking.manage"
    BOOKING_MARK = "booking.mark"
    BOOKING_VIEW_CONTACT = "booking.view_contact"
    # The station's board (公开栏): rules, activities, reception days; a region's notices.
    BOARD_MANAGE = "board.manage"
    NOTICE_MANAGE = "board.notice"
    # 述职 meetings: scheduling, moving and cancelling one at a station; showing its code
    # (the screen at the meeting, the printed sheet, the QR image) and reading its results.
    MEETING_MANAGE = "meeting.manage"
    MEETING_SHOW = "meeting.show"
    # Representatives' suggestions (代表建议): the lists, filing one, reading one, and the
    # list of 重点建议 for the congress leadership. Each step is "suggestion.<step>" below.
    SUGGESTION_LIST = "suggestion.list"
    SUGGESTION_FILE = "suggestion.file"
    SUGGESTION_VIEW = "suggestion.view"
    SUGGESTION_KEY_LIST = "suggestion.key_list"
    # 民生实事项目票决: a region's congress staff run it (candidates, periods, results,
    # residents' comments, the evaluation); the representatives of its level in the region
    # cast the secret ballots; the lead unit of a chosen project reports its progress.
    VOTE_MANAGE = "vote.manage"
    VOTE_CAST = "vote.cast"
    VOTE_PROGRESS = "vote.progress"
    # Drafts of laws put out for comment at the legislative contact points (立法意见征集):
    # preparing, publishing and closing one; moderating its comments and exporting them.
    DRAFT_MANAGE = "draft.manage"
    DRAFT_MODERATE = "draft.moderate"
    # Keys for other systems (/api/v1/): the operator makes and revokes them.
    API_KEY_MANAGE = "api_key.manage"
    # A resident's concern filed by another system (a 12345 hotline) through Open311.
    CONCERN_FILE_BY_KEY = "concern.file_by_key"


def concern_permission(action: ConcernAction) -> str:
    """The permission name of a step of the closed loop."""
    return f"concern.{action.value}"


def role_of(user) -> str:
    if user is None or not getattr(user, "is_authenticated", False):
        return ANONYMOUS
    return user.role


# --- scope -----------------------------------------------------------------------------


def in_region(user: User, station: Station) -> bool:
    """A congress staff member's region covers the station's region or an ancestor of it."""
    return user.region_id is not None and covers(user.region_id, station.region)


def covers(region_id: int, region: Region) -> bool:
    """`region_id` is `region` or one of the regions above it."""
    return any(r.id == region_id for r in region.path())


def manages_region(user: User, region: Region) -> bool:
    """Who administers what lies in a region (its stations, units, townships): the admin
    everywhere, congress staff in their region and the regions below it."""
    if user.role == ADMIN:
        return True
    return user.role == STAFF and user.region_id is not None and covers(user.region_id, region)


def manages(user: User, station: Station) -> bool:
    return any(s.id == station.id for s in user.managed_stations)


def oversees_station(user: User, station: Station) -> bool:
    """Who looks after a station: its managers, congress staff above it, admins."""
    if user.role == ADMIN:
        return True
    if user.role == MGR:
        return manages(user, station)
    if user.role == STAFF:
        return in_region(user, station)
    return False


def _own_rep(user: User) -> Representative | None:
    return user.representative if user.role == REP else None


def _station_of(obj) -> Station | None:
    if isinstance(obj, Station):
        return obj
    if isinstance(obj, (Duty, OfficialSession, Concern, Booking, DutySlot, Activity, ReceptionDay, ReportMeeting)):
        return obj.station
    return None


def official_of(user) -> Official | None:
    """The signed-in person's official profile, if they have one (and may use it)."""
    if role_of(user) not in OFFICIAL_ROLES:
        return None
    return user.official


def open_session_at(user, station_id: int) -> OfficialSession | None:
    """The official's open session at that station (现场办公 happens only there, then)."""
    official = official_of(user)
    if official is None:
        return None
    return db.session.scalar(
        sa.select(OfficialSession).where(
            OfficialSession.official_id == official.id,
            OfficialSession.status == DutyStatus.OPEN,
            OfficialSession.station_id == station_id,
        )
    )


# --- rules: action → (roles allowed, scope check) --------------------------------------

Rule = tuple[frozenset[str], Callable[[User, object], bool] | None]


def _oversees(user, obj) -> bool:
    station = _station_of(obj)
    return station is not None and oversees_station(user, station)


def _own_duty(user, obj) -> bool:
    rep = _own_rep(user)
    return rep is not None and isinstance(obj, Duty) and obj.representative_id == rep.id


def _own_or_oversees_rep(user, obj) -> bool:
    """A representative reads their own file; overseers read the files of the
    representatives of their stations."""
    if not isinstance(obj, Representative):
        return False
    if user.role == REP:
        return user.representative is not None and user.representative.id == obj.id
    return user.role == ADMIN or any(oversees_station(user, s) for s in obj.stations)


def held_for(concern: Concern) -> int | None:
    """The representative a concern written to them (/r/<code>) waits for: until they (or
    the station's overseers) pass it to the station, it is theirs alone among the
    representatives. None for every other concern."""
    return concern.addressed_rep_id if concern.addressed_rep_id is not None and concern.passed_at is None else None


def _serves(user, concern: Concern) -> bool:
    """A representative serves at the concern's station, or it was assigned or written to
    them; a concern written to another representative and not passed on is not theirs."""
    rep = _own_rep(user)
    if rep is None:
        return False
    if rep.id in (concern.assigned_rep_id, concern.addressed_rep_id):
        return True
    held = held_for(concern)
    return (held is None or held == rep.id) and any(s.id == concern.station_id for s in rep.stations)


def _held_for_self(user, concern: Concern) -> bool:
    """Written to this representative and not passed on yet (passing it to the station)."""
    rep = _own_rep(user)
    return rep is not None and held_for(concern) == rep.id


def _serves_in_office(user, concern: Concern) -> bool:
    """Taking a concern up (代表定单) is for a representative whose term has not ended."""
    rep = _own_rep(user)
    return rep is not None and rep.serving_on(local_today()) and _serves(user, concern)


def _assigned(user, concern: Concern) -> bool:
    rep = _own_rep(user)
    return rep is not None and concern.assigned_rep_id == rep.id


def _own_unit(user, concern: Concern) -> bool:
    return user.role == UNIT and user.unit_id is not None and concern.unit_id == user.unit_id


def _concern_rule(*, rep=None, unit: bool = False, overseers=(MGR, STAFF)):
    """Scope for an action on a concern: representatives by `rep` (_serves or _assigned),
    the unit it was dispatched to when `unit`, and the station's overseers in `overseers`
    (MGR: its managers; STAFF: congress staff above it; ADMIN: everyone)."""

    def scope(user, obj) -> bool:
        if not isinstance(obj, Concern):
            return False
        if user.role == REP:
            return rep is not None and rep(user, obj)
        if user.role == UNIT:
            return unit and _own_unit(user, obj)
        return user.role in overseers and oversees_station(user, obj.station)

    roles = set(overseers) | ({REP} if rep else set()) | ({UNIT} if unit else set())
    return frozenset(roles), scope


def _on_site(user, concern) -> bool:
    """An official checked in at the concern's station now."""
    return isinstance(concern, Concern) and open_session_at(user, concern.station_id) is not None


def _official_saw(user, concern: Concern) -> bool:
    """An official reads a concern at the station they are checked in at, and afterwards
    the concerns they acted on."""
    official = official_of(user)
    if official is None:
        return False
    if _on_site(user, concern):
        return True
    return (
        db.session.scalar(
            sa.select(ConcernEvent.id)
            .where(ConcernEvent.concern_id == concern.id, ConcernEvent.actor_id == user.id)
            .where(ConcernEvent.action.in_([A.OFFICIAL_TAKE, A.OFFICIAL_DISPATCH, A.OFFICIAL_ANSWER]))
            .limit(1)
        )
        is not None
    )


def _official_step(user, obj) -> bool:
    """现场办公 and 当场办结: only an official checked in at that station, for its concerns."""
    return isinstance(obj, Concern) and _on_site(user, obj)


def _concern_view(user, obj) -> bool:
    """Who reads a concern: the loop's people (_concern_rule), and officials (_official_saw)."""
    if not isinstance(obj, Concern):
        return False
    if _VIEW_SCOPE(user, obj):
        return True
    return official_of(user) is not None and _official_saw(user, obj)


def _own_session(user, obj) -> bool:
    official = official_of(user)
    return official is not None and isinstance(obj, OfficialSession) and obj.official_id == official.id


def _official_at_active_station(user, obj) -> bool:
    return _active_station(user, obj) and official_of(user) is not None


def _has_official_profile(user, _obj) -> bool:
    return official_of(user) is not None


def _booking_rule(*overseers: str):
    """Scope for a booked visit: the representatives who receive it (Booking.receivers), and
    the station's overseers among `overseers`."""

    def scope(user, obj) -> bool:
        if not isinstance(obj, Booking):
            return False
        if user.role == REP:
            rep = _own_rep(user)
            return rep is not None and rep in obj.receivers
        return user.role in overseers and oversees_station(user, obj.station)

    return frozenset({REP, *overseers}), scope


def _own_meeting_or_oversees(user, obj) -> bool:
    """A 述职 meeting: the representative presenting it, and the station's overseers."""
    if not isinstance(obj, ReportMeeting):
        return False
    if user.role == REP:
        rep = _own_rep(user)
        return rep is not None and obj.representative_id == rep.id
    return oversees_station(user, obj.station)


def _may_invite(user, obj) -> bool:
    """Who may send an account its set-password link (an invitation, or a new password):
    an admin anyone; congress staff the representatives, station managers and unit
    handlers within their region and the regions below it. Nobody but an admin invites
    an admin or congress staff."""
    if not isinstance(obj, User):
        return False
    if user.role == ADMIN:
        return True
    if user.role != STAFF or user.region_id is None:
        return False
    if obj.role == REP:
        return obj.representative is not None and any(in_region(user, s) for s in obj.representative.stations)
    if obj.role == MGR:
        return any(in_region(user, s) for s in obj.managed_stations)
    if obj.role == UNIT:
        return obj.unit is not None and covers(user.region_id, obj.unit.region)
    if obj.role == OFF:
        return obj.official is not None and covers(user.region_id, obj.official.unit.region)
    return False


def _active_station(_user, obj) -> bool:
    return isinstance(obj, Station) and obj.is_active


def _active_station_in_office(user, obj) -> bool:
    """Checking in: an open station, and a representative whose term has not ended."""
    rep = _own_rep(user)
    return _active_station(user, obj) and rep is not None and rep.serving_on(local_today())


def _key_files_at(user, obj) -> bool:
    return is_key(user) and _active_station(user, obj) and oversees_station(user, obj)


def _any(_user, _obj) -> bool:
    return True


def _region_in_reach(user, obj) -> bool:
    """Congress staff: their own region and the regions below it; the admin: all. Without
    a region (`obj` None): whether there is a list of regions to open at all."""
    if user.role == ADMIN:
        return obj is None or isinstance(obj, Region)
    if user.region_id is None:
        return False
    return obj is None or (isinstance(obj, Region) and covers(user.region_id, obj))


def _notice_in_reach(user, obj) -> bool:
    """A notice of a region (or the region to publish one to) in the user's reach; None:
    whether there is a region to publish to at all."""
    if isinstance(obj, Notice):
        obj = obj.region
    return _region_in_reach(user, obj)


def _vote_in_reach(user, obj) -> bool:
    """A 票决 (or its candidate, or a comment on one) of a region in the user's reach; a
    region to hold one in; None: whether there is a region at all."""
    if isinstance(obj, ProjectComment):
        obj = obj.project
    if isinstance(obj, VoteProject):
        obj = obj.vote
    if isinstance(obj, ProjectVote):
        obj = obj.region
    return _region_in_reach(user, obj)


def _draft_in_reach(user, obj) -> bool:
    """A draft (or a comment on one) of a region in the user's reach (_region_in_reach); a
    region: whether a draft may be made for it; None: whether there is a region at all."""
    if isinstance(obj, DraftComment):
        obj = obj.draft
    if isinstance(obj, DraftLaw):
        obj = obj.region
    return _region_in_reach(user, obj)


def eligible_voter(rep: Representative | None, vote: ProjectVote, day) -> bool:
    """Who votes in a 票决: a representative of its congress level, in office on `day`
    (their term begun and not ended), with an account switched on, serving at a station
    of its region or a region below it. eligible_clause is its SQL twin."""
    return (
        rep is not None
        and rep.level == vote.level
        and rep.user.active
        and (rep.term_start is None or rep.term_start <= day)
        and rep.serving_on(day)
        and any(covers(vote.region_id, s.region) for s in rep.stations)
    )


def _eligible(user, obj) -> bool:
    return isinstance(obj, ProjectVote) and eligible_voter(_own_rep(user), obj, local_today())


def _lead_unit(user, obj) -> bool:
    """A candidate project's progress is its lead unit's to report; None: whether the user
    has a unit at all (the list of its chosen projects)."""
    if obj is None:
        return user.unit_id is not None
    return isinstance(obj, VoteProject) and user.unit_id is not None and obj.unit_id == user.unit_id


def _region_editable(user, obj) -> bool:
    """Renaming and switching a division off or on: congress staff only the townships in
    their reach (the official list names everything above); the admin any division."""
    if not _region_in_reach(user, obj) or obj is None:
        return False
    return user.role == ADMIN or obj.level == RegionLevel.TOWNSHIP


def _manages_reference(user, obj) -> bool:
    """A station, unit or region in the user's region or below; a representative through
    one of their stations; None (the lists, the "new" forms): scope narrows them later."""
    if obj is None:
        return True
    if isinstance(obj, Region):
        return manages_region(user, obj)
    if isinstance(obj, (Station, Unit)):
        return manages_region(user, obj.region)
    if isinstance(obj, Representative):
        # The admin reaches a representative with no station yet (an import's leftover).
        return user.role == ADMIN or any(manages_region(user, s.region) for s in obj.stations)
    return False


# --- representatives' suggestions --------------------------------------------------------


def suggestion_permission(action: SuggestionAction) -> str:
    """The permission name of a step of a suggestion (several steps share one, SUGGESTION_STEPS)."""
    return f"suggestion.{SUGGESTION_STEP_PERMISSION.get(action, action).value}"


def units_of(user) -> set[int]:
    """The handling units a person speaks for: a unit handler's unit, an official's unit
    (officials are unit people too)."""
    found = set()
    if role_of(user) == UNIT and user.unit_id is not None:
        found.add(user.unit_id)
    if role_of(user) == OFF and user.official is not None:
        found.add(user.official.unit_id)
    return found


def _suggestion_author(user, obj) -> bool:
    rep = _own_rep(user)
    return rep is not None and isinstance(obj, Suggestion) and obj.author_id == rep.id


def _suggestion_invited(user, obj) -> bool:
    """Invited to co-sign it and not signed yet."""
    rep = _own_rep(user)
    return (
        rep is not None
        and isinstance(obj, Suggestion)
        and any(s.representative_id == rep.id and s.signed_at is None for s in obj.signers)
    )


def _suggestion_signer(user, obj) -> bool:
    rep = _own_rep(user)
    return rep is not None and isinstance(obj, Suggestion) and any(s.representative_id == rep.id for s in obj.signers)


def _suggestion_staff(user, obj) -> bool:
    """Congress staff whose region is the suggestion's or above it."""
    return (
        user.role == STAFF
        and isinstance(obj, Suggestion)
        and user.region_id is not None
        and covers(user.region_id, obj.region)
    )


def _suggestion_lead_unit(user, obj) -> bool:
    return isinstance(obj, Suggestion) and obj.lead_unit_id is not None and obj.lead_unit_id in units_of(user)


def _suggestion_co_unit(user, obj) -> bool:
    return isinstance(obj, Suggestion) and bool({c.unit_id for c in obj.co_units} & units_of(user))


def _suggestion_view(user, obj) -> bool:
    """The author and those invited to co-sign; congress staff of its region and above;
    the lead unit and the co-units; the admin."""
    if not isinstance(obj, Suggestion):
        return False
    if user.role == ADMIN:
        return True
    return any(
        rule(user, obj)
        for rule in (
            _suggestion_author,
            _suggestion_signer,
            _suggestion_staff,
            _suggestion_lead_unit,
            _suggestion_co_unit,
        )
    )


def _files_suggestions(user, _obj) -> bool:
    """A representative in office with a station (the suggestion goes to its region's congress)."""
    rep = _own_rep(user)
    return rep is not None and rep.serving_on(local_today()) and bool(rep.stations)


def _leadership_staff(user, _obj) -> bool:
    """The list of 重点建议 for the congress leadership: the admin, and congress staff of a
    province, city or county (a township has no standing committee to supervise)."""
    if user.role == ADMIN:
        return True
    return user.role == STAFF and user.region is not None and user.region.level != RegionLevel.TOWNSHIP


SA = SuggestionAction
# Steps that share one permission with another (the same people, the same objects).
SUGGESTION_STEP_PERMISSION: dict[SuggestionAction, SuggestionAction] = {
    SA.WITHDRAW: SA.SUBMIT,
    SA.ASSIGN: SA.REGISTER,
    SA.UNMARK_KEY: SA.MARK_KEY,
    SA.REPORT_DONE: SA.REPLY,
    SA.RATE_REPLY: SA.RATE_RESULT,
    SA.RATE_REPLY_CLOSE: SA.RATE_RESULT,
    SA.SEND_BACK: SA.RATE_RESULT,
}
_UNIT_PEOPLE = frozenset({UNIT, OFF})
SUGGESTION_STEPS: dict[SuggestionAction, Rule] = {
    # Filing creates the suggestion (services.suggestion_flow.file): SUGGESTION_FILE.
    SA.FILE: (frozenset({REP}), _files_suggestions),
    SA.COSIGN: (frozenset({REP}), _suggestion_invited),
    # Submitting and withdrawing: the author.
    SA.SUBMIT: (frozenset({REP}), _suggestion_author),
    # Registering and assigning: congress staff of its region and above.
    SA.REGISTER: (frozenset({STAFF}), _suggestion_staff),
    SA.MARK_KEY: (frozenset({STAFF}), _suggestion_staff),
    SA.OPINION: (_UNIT_PEOPLE, _suggestion_co_unit),
    # Replying and reporting it done: the lead unit.
    SA.REPLY: (_UNIT_PEOPLE, _suggestion_lead_unit),
    # Rating the reply (or sending it back) and the result: the author.
    SA.RATE_RESULT: (frozenset({REP}), _suggestion_author),
}

P, A = Permission, ConcernAction
EVERYONE = frozenset({ANONYMOUS, REP, MGR, STAFF, UNIT, ADMIN, OFF})
_VIEW_ROLES, _VIEW_SCOPE = _concern_rule(rep=_serves, unit=True, overseers=(MGR, STAFF, ADMIN))

RULES: dict[str, Rule] = {
    # Residents
    P.STATION_VIEW: (EVERYONE, _active_station),
    P.CONCERN_FILE: (EVERYONE, _active_station),
    # Representatives on duty
    P.DUTY_CHECK_IN: (frozenset({REP}), _active_station_in_office),
    P.DUTY_CHECK_OUT: (frozenset({REP}), _own_duty),
    P.DUTY_VIEW_FILE: (frozenset({REP, MGR, STAFF, ADMIN}), _own_or_oversees_rep),
    P.DUTY_OWN_FILE: (frozenset({REP}), None),
    # Station management
    P.MANAGE_HOME: (frozenset({MGR, STAFF, ADMIN}), None),
    P.DUTY_REVIEW: (frozenset({MGR, STAFF, ADMIN}), _oversees),
    P.ROSTER_MANAGE: (frozenset({MGR, STAFF, ADMIN}), _oversees),
    P.ATTENDANCE_VIEW: (frozenset({MGR, STAFF, ADMIN}), _oversees),
    P.ATTENDANCE_EXPORT: (frozenset({MGR, STAFF, ADMIN}), _oversees),
    # Station tablets: the station's managers (and admins) pair them; whoever oversees the
    # station sees them and may revoke one. A tablet itself is no user: services.kiosk.
    P.KIOSK_PAIR: (frozenset({MGR, ADMIN}), _oversees),
    P.KIOSK_REVOKE: (frozenset({MGR, STAFF, ADMIN}), _oversees),
    P.STATION_PRINT_POSTER: (frozenset({MGR, STAFF, ADMIN}), _oversees),
    # A defaced or misused poster: its station's managers replace the code, as do those above.
    P.STATION_REPLACE_CODE: (frozenset({MGR, STAFF, ADMIN}), _oversees),
    # Closing a station (or merging it into another) is the congress's decision, not the station's.
    P.STATION_CLOSE: (frozenset({STAFF, ADMIN}), _oversees),
    # One document with the posters of every station of a region and the regions below it.
    P.REGION_POSTERS: (frozenset({STAFF, ADMIN}), _region_in_reach),
    # The closed loop (六单制): who may look at which concern. Who may take which step is
    # CONCERN_STEPS below; which status allows which step is services.concern_flow's table.
    P.CONCERN_INBOX: (frozenset({REP, MGR, STAFF, UNIT, ADMIN}), None),
    P.CONCERN_VIEW: (_VIEW_ROLES | {OFF}, _concern_view),
    # Full contact details: the people who call the resident back. Every look is logged.
    P.CONCERN_VIEW_CONTACT: _concern_rule(rep=_assigned, unit=True, overseers=(MGR,)),
    P.CONCERN_EXPORT: (frozenset({MGR, STAFF, ADMIN}), None),
    P.FIGURES_VIEW: (frozenset({MGR, STAFF, UNIT, ADMIN}), None),
    # The list of notifications that did not go out, for the concerns in the viewer's scope.
    P.NOTIFICATIONS_NOT_SENT: (frozenset({MGR, STAFF, ADMIN}), None),
    P.CALENDAR_MANAGE: (frozenset({ADMIN}), None),
    # Accounts
    P.ACCOUNT_CHANGE_PASSWORD: (frozenset({REP, MGR, STAFF, UNIT, ADMIN, OFF}), _any),
    P.USER_MANAGE: (frozenset({ADMIN}), _any),
    # The audit log of every staff and system action, and its export: the operator's.
    P.AUDIT_VIEW: (frozenset({ADMIN}), None),
    # Regions (行政区划): browsing them and adding townships; renaming and switching off
    P.REGION_MANAGE: (frozenset({STAFF, ADMIN}), _region_in_reach),
    P.REGION_EDIT: (frozenset({STAFF, ADMIN}), _region_editable),
    P.ACCOUNT_INVITE: (frozenset({STAFF, ADMIN}), _may_invite),
    # Reference data: stations, representatives and handling units by region; the
    # categories are the whole service's.
    P.REFERENCE_MANAGE: (frozenset({STAFF, ADMIN}), _manages_reference),
    P.CATEGORY_MANAGE: (frozenset({ADMIN}), None),
    # Reference data
    P.IMPORT_REFERENCE: (frozenset({STAFF, ADMIN}), None),
    P.IMPORT_CATEGORIES: (frozenset({ADMIN}), None),
    # Officials at the station
    P.OFFICE_HOURS_MANAGE: (frozenset({STAFF, ADMIN}), _oversees),
    P.OFFICIAL_CHECK_IN: (OFFICIAL_ROLES, _official_at_active_station),
    P.OFFICIAL_CHECK_OUT: (OFFICIAL_ROLES, _own_session),
    P.OFFICIAL_OWN_RECORD: (OFFICIAL_ROLES, _has_official_profile),
    # Booked visits: whoever looks after the station sees the day's bookings, sets capacities
    # and calls a slot's visits off; the representative booked and they mark who came. Names
    # and numbers in full: the people who receive the resident (the representative and the
    # station's managers), as for a concern's contact.
    P.BOOKING_DAY_VIEW: (frozenset({MGR, STAFF, ADMIN}), _oversees),
    P.BOOKING_MANAGE: (frozenset({MGR, STAFF, ADMIN}), _oversees),
    P.BOOKING_MARK: _booking_rule(MGR, STAFF, ADMIN),
    P.BOOKING_VIEW_CONTACT: _booking_rule(MGR),
    # The station's board: whoever looks after the station (its managers, congress staff
    # above it, admins) publishes its rules, activities and reception days.
    P.BOARD_MANAGE: (frozenset({MGR, STAFF, ADMIN}), _oversees),
    # A notice to every station of a region: the region's congress staff (and admins).
    P.NOTICE_MANAGE: (frozenset({STAFF, ADMIN}), _notice_in_reach),
    # 述职 meetings: whoever looks after the station schedules one there (a station, or the
    # meeting itself to move or cancel it); the representative presenting it shows its code
    # at the meeting, as do the station's overseers.
    P.MEETING_MANAGE: (frozenset({MGR, STAFF, ADMIN}), _oversees),
    P.MEETING_SHOW: (frozenset({REP, MGR, STAFF, ADMIN}), _own_meeting_or_oversees),
    # Representatives' suggestions: who reads which is _suggestion_view (its SQL twin is
    # suggestion_scope); who takes which step is SUGGESTION_STEPS.
    P.SUGGESTION_LIST: (frozenset({REP, STAFF, UNIT, ADMIN, OFF}), None),
    P.SUGGESTION_VIEW: (frozenset({REP, STAFF, UNIT, ADMIN, OFF}), _suggestion_view),
    P.SUGGESTION_KEY_LIST: (frozenset({STAFF, ADMIN}), _leadership_staff),
    # 民生实事项目票决
    P.VOTE_MANAGE: (frozenset({STAFF, ADMIN}), _vote_in_reach),
    P.VOTE_CAST: (frozenset({REP}), _eligible),
    P.VOTE_PROGRESS: (frozenset({UNIT}), _lead_unit),
    # A draft of a region: that region's congress staff (and those above it) and admins
    # publish it to the contact points below and moderate what residents say about it.
    P.DRAFT_MANAGE: (frozenset({STAFF, ADMIN}), _draft_in_reach),
    P.DRAFT_MODERATE: (frozenset({STAFF, ADMIN}), _draft_in_reach),
    P.API_KEY_MANAGE: (frozenset({ADMIN}), None),
    # Open311 (/open311/v2/requests): an acting key of a region files at the open stations
    # of its region and the regions below it. A unit's key has no stations; a person files
    # through the station's form, not here.
    P.CONCERN_FILE_BY_KEY: (frozenset({STAFF}), _key_files_at),
}

# Each step of the closed loop: who may take it, on which concerns. The resident's steps
# belong to whoever holds the tracking code (no account), the scheduled ones to the system.
CONCERN_STEPS: dict[ConcernAction, Rule] = {
    A.ACCEPT: _concern_rule(rep=_serves_in_office),
    # A concern written to one representative: they pass it to the station; so may the
    # station's overseers, when the representative does not act (it must not get stuck).
    A.PASS_TO_STATION: _concern_rule(rep=_held_for_self),
    A.RESOLVE: _concern_rule(rep=_assigned, overseers=(MGR,)),
    A.DISPATCH: _concern_rule(overseers=(STAFF,)),
    A.REPLY: _concern_rule(unit=True, overseers=()),
    A.RETURN: _concern_rule(unit=True, overseers=()),
    A.CONFIRM: _concern_rule(rep=_assigned, overseers=(MGR,)),
    A.SEND_BACK: _concern_rule(rep=_assigned),
    A.SEND_BACK_TO_REP: _concern_rule(),
    A.REJECT: _concern_rule(),
    A.MERGE: _concern_rule(),
    A.WITHDRAW: (frozenset({RESIDENT}), None),
    A.RATE: (frozenset({RESIDENT}), None),
    A.RATE_MERGED: (frozenset({RESIDENT}), None),
    A.REOPEN: (frozenset({RESIDENT}), None),
    A.REOPEN_TO_REP: (frozenset({RESIDENT}), None),
    A.AUTO_CLOSE: (frozenset({SYSTEM}), None),
    A.ESCALATE: (frozenset({SYSTEM}), None),
    # The admin reads every concern but takes no part in the loop (README): not listed here.
    A.RECATEGORIZE: _concern_rule(rep=_assigned, overseers=(MGR, STAFF)),
    # Keeping a concern off the public answers, and releasing it again (one permission):
    # the station's managers and congress staff above it, who answer for what it publishes.
    A.WITHHOLD: _concern_rule(),
    # Notes and replies to the resident (A.COMMENT) are one permission.
    A.NOTE: _concern_rule(rep=_serves, unit=True),
    # 现场办公: an official checked in at the concern's station takes it up and, in the same
    # request, sends it to their own unit or answers it on the spot (当场办结).
    A.OFFICIAL_TAKE: (OFFICIAL_ROLES, _official_step),
    A.OFFICIAL_DISPATCH: (OFFICIAL_ROLES, _official_step),
    A.OFFICIAL_ANSWER: (OFFICIAL_ROLES, _official_step),
}
RULES.update({concern_permission(action): rule for action, rule in CONCERN_STEPS.items()})
RULES.update({f"suggestion.{action.value}": rule for action, rule in SUGGESTION_STEPS.items()})


def roles_for(permission: str) -> frozenset[str]:
    """Who may do it at all, before scope: the state machines read this."""
    return RULES[permission][0]


ACTIONS = tuple(RULES)


# --- scope as SQL, beside the rules it mirrors ------------------------------------------


def region_subtree(region_id: int, name: str = "region_tree"):
    """The ids of a region and every region below it (a recursive query; a second one in
    the same statement needs its own `name`)."""
    tree = sa.select(Region.id).where(Region.id == region_id).cte(name, recursive=True)
    child = aliased(Region)
    tree = tree.union_all(sa.select(child.id).where(child.parent_id == tree.c.id))
    return sa.select(tree.c.id)


def drafts_clause(user) -> sa.ColumnElement[bool]:
    """The SQL twin of "draft.manage": the drafts of the regions in the user's reach."""
    return managed_regions_clause(user, DraftLaw.region_id)


def regions_clause(user) -> sa.ColumnElement[bool]:
    """The SQL twin of "region.manage" (and "region.posters"): the regions a user may open
    in the back office."""
    return managed_regions_clause(user, Region.id)


def station_unit_scope(
    user, station_id, unit_id, tree_name: str = "region_tree", *, per_row: bool = False
) -> sa.ColumnElement[bool] | None:
    """concern_scope for the viewers whose scope is a set of stations or one unit, on any
    table with a station and a unit column (the figures' cells; `tree_name` as for
    region_subtree); None for the others (representatives, officials), whose scope needs
    the concern itself. `per_row`: for a query of a few rows, congress staff's region is
    looked up per row rather than every station of it gathered first."""
    role = role_of(user)
    if role == ADMIN:
        return sa.true()
    if role == MGR:
        return station_id.in_(sa.select(manager_station.c.station_id).where(manager_station.c.user_id == user.id))
    if role == STAFF and user.region_id is not None:
        subtree = region_subtree(user.region_id, tree_name)
        if per_row:
            station = aliased(Station, name="scoped_station")
            region_id = sa.select(station.region_id).where(station.id == station_id).correlate_except(station)
            return region_id.scalar_subquery().in_(subtree)
        return station_id.in_(sa.select(Station.id).where(Station.region_id.in_(subtree)))
    if role == UNIT and user.unit_id is not None:
        return unit_id == user.unit_id
    return None


def area_unit_scope(user, unit_key, region_id: int | None) -> sa.ColumnElement[bool] | None:
    """station_unit_scope on a table whose rows add up all the stations of a region per unit
    (the figures' area cells), for a viewer who reads the rows of `region_id` or of regions
    below it (None: the top-level regions): the condition on their unit, for the viewers
    who see every station there (the admin, congress staff at or above the region) or one
    unit wherever it is (unit handlers); None for the others."""
    role = role_of(user)
    if role == ADMIN:
        return sa.true()
    if role == STAFF and user.region_id is not None and region_id is not None:
        # By region_id: an API key's principal stands in for a user but has no relationships.
        region = db.session.get(Region, region_id)
        return sa.true() if region is not None and covers(user.region_id, region) else None
    if role == UNIT and user.unit_id is not None:
        return unit_key == user.unit_id
    return None


def concern_scope(user, *, per_row: bool = False) -> sa.ColumnElement[bool]:
    """The SQL twin of "concern.view": which concerns this user's inbox holds (`per_row` as
    for station_unit_scope)."""
    scope = station_unit_scope(user, Concern.station_id, Concern.unit_id, per_row=per_row)
    if scope is not None:
        return scope
    role = role_of(user)
    clauses = []
    if role == REP and user.representative is not None:
        rep = user.representative
        not_held_for_another = sa.or_(
            Concern.addressed_rep_id.is_(None), Concern.passed_at.is_not(None), Concern.addressed_rep_id == rep.id
        )
        clauses.append(
            sa.or_(
                Concern.assigned_rep_id == rep.id,
                Concern.addressed_rep_id == rep.id,
                sa.and_(Concern.station_id.in_([s.id for s in rep.stations]), not_held_for_another),
            )
        )
    official = official_of(user)
    if official is not None:
        clauses.append(official_concerns_clause(user, official))
    return sa.or_(*clauses) if clauses else sa.false()


def suggestion_scope(user) -> sa.ColumnElement[bool]:
    """The SQL twin of "suggestion.view": which suggestions this user's lists hold."""
    role = role_of(user)
    if role == ADMIN:
        return sa.true()
    if role == STAFF and user.region_id is not None:
        return Suggestion.region_id.in_(region_subtree(user.region_id))
    if role == REP and user.representative is not None:
        rep_id = user.representative.id
        return sa.or_(
            Suggestion.author_id == rep_id,
            Suggestion.id.in_(
                sa.select(SuggestionSigner.suggestion_id).where(SuggestionSigner.representative_id == rep_id)
            ),
        )
    units = units_of(user)
    if units:
        return sa.or_(
            Suggestion.lead_unit_id.in_(units),
            Suggestion.id.in_(sa.select(SuggestionCoUnit.suggestion_id).where(SuggestionCoUnit.unit_id.in_(units))),
        )
    return sa.false()


def official_concerns_clause(user, official: Official) -> sa.ColumnElement[bool]:
    """The SQL twin of _official_saw: the concerns of the station the official is checked
    in at, and those they acted on."""
    return sa.or_(
        Concern.station_id.in_(
            sa.select(OfficialSession.station_id).where(
                OfficialSession.official_id == official.id, OfficialSession.status == DutyStatus.OPEN
            )
        ),
        Concern.id.in_(
            sa.select(ConcernEvent.concern_id).where(
                ConcernEvent.actor_id == user.id,
                ConcernEvent.action.in_([A.OFFICIAL_TAKE, A.OFFICIAL_DISPATCH, A.OFFICIAL_ANSWER]),
            )
        ),
    )


def managed_regions_clause(user, column) -> sa.ColumnElement[bool]:
    """The SQL twin of manages_region on a region id `column` (Station.region_id,
    Unit.region_id, Region.id): every region for the admin, congress staff their region
    and the regions below it, nothing for anyone else."""
    role = role_of(user)
    if role == ADMIN:
        return sa.true()
    if role == STAFF and user.region_id is not None:
        return column.in_(region_subtree(user.region_id))
    return sa.false()


def overseen_stations_clause(user) -> sa.ColumnElement[bool]:
    """The SQL twin of oversees_station: a manager's own stations, the stations in a
    congress staff member's region and the regions below it, every station for an admin."""
    role = role_of(user)
    if role == ADMIN:
        return sa.true()
    if role == MGR:
        return Station.id.in_(sa.select(manager_station.c.station_id).where(manager_station.c.user_id == user.id))
    if role == STAFF and user.region_id is not None:
        return Station.region_id.in_(region_subtree(user.region_id))
    return sa.false()


def representatives_clause(user) -> sa.ColumnElement[bool]:
    """The representatives a viewer's figures list (履职信息通报): those serving at a station
    the viewer oversees (overseen_stations_clause). Their figures are their whole work, as
    their public page (/r/<code>) shows it."""
    return Representative.id.in_(
        sa.select(representative_station.c.representative_id)
        .join(Station, Station.id == representative_station.c.station_id)
        .where(overseen_stations_clause(user))
    )


def eligible_clause(vote: ProjectVote, day) -> sa.ColumnElement[bool]:
    """The SQL twin of eligible_voter: the representatives who vote in `vote` on `day`."""
    return sa.and_(
        Representative.level == vote.level,
        sa.or_(Representative.term_start.is_(None), Representative.term_start <= day),
        sa.or_(Representative.term_end.is_(None), Representative.term_end >= day),
        Representative.user_id.in_(sa.select(User.id).where(User.active.is_(True))),
        Representative.id.in_(
            sa.select(representative_station.c.representative_id)
            .join(Station, Station.id == representative_station.c.station_id)
            .where(Station.region_id.in_(region_subtree(vote.region_id, "vote_region_tree")))
        ),
    )


def figures_root(user) -> int | None:
    """Where a viewer's regional figures start: congress staff at their own region, everyone
    else at the top (the scope of what is counted, concern_scope, protects the rest)."""
    return user.region_id if role_of(user) == STAFF else None


def may_roll_up(user, region: Region) -> bool:
    """Whether the viewer may open the figures of `region`: congress staff the regions at
    or below their own; for everyone else the scope of the counts is what protects them."""
    root = figures_root(user)
    return root is None or covers(root, region)


# --- who is told when a concern's deadline comes or goes (services.triage) ---------------


def overseer_levels(station: Station) -> list[Region]:
    """The regions whose congress staff oversee a station (in_region), nearest first: the
    station's own region, then each one above it. A reminder goes to the nearest level
    that has staff; an escalation to the nearest level above whoever had to act."""
    return station.region.path()[::-1]


def staff_at_clause(region_ids: list[int]) -> sa.ColumnElement[bool]:
    """The active congress staff whose region is one of `region_ids` (the SQL of in_region
    for the levels of overseer_levels)."""
    return sa.and_(User.role == STAFF, User.active.is_(True), User.region_id.in_(region_ids))


def managers_clause(station: Station) -> sa.ColumnElement[bool]:
    """The station's active managers (the SQL of manages)."""
    return sa.and_(
        User.role == MGR,
        User.active.is_(True),
        User.id.in_(sa.select(manager_station.c.user_id).where(manager_station.c.station_id == station.id)),
    )


# --- who may be chosen in a step's form (a forged form offers anyone) --------------------


def units_in_reach(concern: Concern) -> sa.ColumnElement[bool]:
    """The active units a concern may be dispatched to: of its station's region or above,
    and taking dispatches (a government that only groups its departments does not)."""
    return sa.and_(
        Unit.region_id.in_([r.id for r in concern.station.region.path()]),
        Unit.is_active,
        Unit.receives_dispatches,
    )


def suggestion_units_clause(suggestion: Suggestion) -> sa.ColumnElement[bool]:
    """The units a suggestion may be assigned to (lead or co-unit): active, taking work, of
    its region or a region above it."""
    return sa.and_(
        Unit.region_id.in_([r.id for r in suggestion.region.path()]),
        Unit.is_active,
        Unit.receives_dispatches,
    )


def may_dispatch_to(concern: Concern, unit: Unit | None) -> bool:
    return (
        unit is not None
        and unit.is_active
        and unit.receives_dispatches
        and covers(unit.region_id, concern.station.region)
    )


def chooses_taker(user) -> bool:
    """Managers and staff choose who takes a concern up (定单); a representative takes it
    up themselves."""
    return role_of(user) != REP


def takers(concern: Concern) -> list[Representative]:
    """Who a manager or staff may give a concern to (定单): the station's representatives in
    office with an account switched on; for a concern written to one representative and
    not passed to the station, that representative alone."""
    today = local_today()
    held = held_for(concern)
    reps = [concern.addressed_rep] if held is not None and concern.addressed_rep else concern.station.representatives
    return [r for r in reps if r.user.active and r.serving_on(today)]


def may_take_up(concern: Concern, rep: Representative | None) -> bool:
    return rep is not None and rep in takers(concern)


# --- the decision -----------------------------------------------------------------------


# --- another system, through an API key (services.api_keys.KeyPrincipal) ----------------
# A key stands in for an account (congress staff of its region, or its unit's handler) and
# is asked about like one, but only for what the API offers: reading the concerns in its
# scope and their figures, and, for an acting key, the steps of the loop that account may
# take. Nothing else an account of that role may do (regions, accounts, rosters) is a key's.
KEY_READS = frozenset({P.CONCERN_INBOX, P.CONCERN_VIEW, P.FIGURES_VIEW})
KEY_STEPS = frozenset(concern_permission(action) for action in CONCERN_STEPS) | {P.CONCERN_FILE_BY_KEY}


def is_key(user) -> bool:
    return getattr(user, "api_key", None) is not None


def key_may(user, action: str) -> bool:
    """Whether a key may be asked about `action` at all (before role and scope)."""
    if action in KEY_READS:
        return True
    return action in KEY_STEPS and not user.read_only and user.api_key.revoked_at is None


def hears(key_principal, obj) -> bool:
    """Whether a key's webhook subscriptions hear of `obj` (a concern or a suggestion): what
    the account the key stands in for would read. A suggestion is no API read, but its
    reply is news for the same scope (the region's congress staff, the lead or co-unit)."""
    if isinstance(obj, Suggestion):
        return _suggestion_view(key_principal, obj)
    return can(key_principal, P.CONCERN_VIEW, obj)


def can(user, action: str, obj=None) -> bool:
    roles, scope = RULES[action]  # an unknown action is a programming error: KeyError
    if is_key(user) and not key_may(user, action):
        return False
    role = role_of(user)
    if role not in roles:
        return False
    if scope is None:
        return True
    return scope(user, obj)


def require(user, action: str, obj=None) -> None:
    if not can(user, action, obj):
        raise PermissionDenied(action)
