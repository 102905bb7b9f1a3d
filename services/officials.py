"""Officials at the station (领导干部代表 / 国家机关负责人进站).

The heads of government departments, courts and procuratorates hold office hours at
liaison stations. Congress staff schedule the hours (shaped like the roster, whose time
rules they share: services.roster.check_times); the station page lists this week's
(本周领导进站); the official checks in and out like a representative on duty
(services.duty.check_in_official); and, checked in, takes a concern of the station up and
at once sends it to their own unit (现场办公) or answers it on the spot (当场办结): two
steps of the concern loop's table each (services.concern_flow), one request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from extensions import db
from models import (
    Concern,
    ConcernEvent,
    OfficeHour,
    Official,
    OfficialSession,
    Station,
    Unit,
    User,
    utcnow,
)
from models.enums import ConcernAction, ConcernStatus, DutyStatus, Role
from services import limits
from services.audit import log
from services.clock import local_today, to_local, utc_at
from services.concern_flow import transition
from services.errors import DomainError, TransitionRefused
from services.permissions import manages_region
from services.roster import check_times, first_clash, still_to_come, weekly_days

A = ConcernAction
WEEK_DAYS = 7  # 本周领导进站: today and the six days after it
NEW_CONCERNS_LIMIT = 50  # what an official checked in sees of the station's new concerns


class OfficialRefused(DomainError):
    """Refusal codes: post_required, post_too_long, unit_inactive, out_of_scope, already_official,
    not_an_official, overlap (with `day`, `starts_at`, `ends_at`, `station`),
    not_checked_in, other_station."""


# --- who is an official --------------------------------------------------------------------


def appoint(actor: User | None, user: User, unit: Unit, post: str) -> Official:
    """Give an account (an official's, or a representative's who is such a leader) the
    official's profile: their unit and post (职务)."""
    post = (post or "").strip()
    if not post:
        raise OfficialRefused("post_required")
    if len(post) > limits.POST_MAX:
        raise OfficialRefused("post_too_long")
    if not unit.is_active:
        raise OfficialRefused("unit_inactive")
    if actor is not None and not manages_region(actor, unit.region):
        raise OfficialRefused("out_of_scope")
    if user.role not in (Role.OFFICIAL, Role.REPRESENTATIVE):
        raise OfficialRefused("not_an_official")
    if user.official is not None:
        raise OfficialRefused("already_official")
    official = Official(user=user, unit=unit, post=post)
    db.session.add(official)
    db.session.flush()
    log(actor, "official.appointed", official, user_id=user.id, unit=unit.id, post=post)
    return official


def officials_of_unit(unit: Unit) -> list[Official]:
    return list(
        db.session.scalars(
            sa.select(Official).where(Official.unit_id == unit.id).join(Official.user).order_by(User.display_name)
        )
    )


def officials_for(station: Station) -> list[Official]:
    """Whom staff may give office hours at `station`: active officials of the units of the
    station's region or the regions above it."""
    region_ids = [r.id for r in station.region.path()]
    return list(
        db.session.scalars(
            sa.select(Official)
            .join(Official.user)
            .join(Official.unit)
            .where(User.active.is_(True), Unit.region_id.in_(region_ids))
            .order_by(User.display_name, Official.id)
        )
    )


# --- office hours --------------------------------------------------------------------------


def add_hours(
    actor: User,
    station: Station,
    official: Official,
    day: date,
    starts_at: time,
    ends_at: time,
    *,
    repeat_weeks: int = 0,
    now: datetime | None = None,
) -> list[OfficeHour]:
    """Office hours for `official` at `station` on `day` and, with repeat_weeks, the same
    weekday of the following weeks (one series). All or nothing. Refuses with the roster's
    time codes, not_an_official (not one the station may have) and overlap."""
    check_times(day, starts_at, ends_at, repeat_weeks, now)
    if all(o.id != official.id for o in officials_for(station)):
        raise OfficialRefused("not_an_official")
    db.session.execute(sa.select(Official.id).where(Official.id == official.id).with_for_update())
    days, series = weekly_days(day, repeat_weeks)
    clash = first_clash(OfficeHour, OfficeHour.official_id == official.id, days, starts_at, ends_at)
    if clash is not None:
        raise OfficialRefused(
            "overlap", day=clash.day, starts_at=clash.starts_at, ends_at=clash.ends_at, station=clash.station.name
        )
    hours = [
        OfficeHour(station=station, official=official, day=d, starts_at=starts_at, ends_at=ends_at, series=series)
        for d in days
    ]
    db.session.add_all(hours)
    db.session.flush()
    log(
        actor,
        "office_hours.added",
        hours[0],
        station=station.code,
        official_id=official.id,
        days=[d.isoformat() for d in days],
        starts_at=starts_at.strftime("%H:%M"),
        ends_at=ends_at.strftime("%H:%M"),
        series=series,
    )
    return hours


def remove_hours(
    actor: User, station: Station, hour: OfficeHour, *, whole_series: bool = False, now: datetime | None = None
) -> int:
    """Remove office hours that have not ended (one, or the rest of its series)."""
    doomed = still_to_come(OfficeHour, hour, station, whole_series=whole_series, now=now)
    log(
        actor,
        "office_hours.removed",
        hour,
        station=station.code,
        official_id=hour.official_id,
        days=[h.day.isoformat() for h in doomed],
        series=hour.series if whole_series else None,
    )
    for h in doomed:
        db.session.delete(h)
    db.session.flush()
    return len(doomed)


def hours_ahead(station: Station, first: date | None = None, days: int = WEEK_DAYS) -> list[OfficeHour]:
    """The station's office hours from `first` (today) for `days` days, in order: 本周领导进站."""
    first = first or local_today()
    return list(
        db.session.scalars(
            sa.select(OfficeHour)
            .options(selectinload(OfficeHour.official))
            .where(
                OfficeHour.station_id == station.id,
                OfficeHour.day >= first,
                OfficeHour.day < first + timedelta(days=days),
            )
            .order_by(OfficeHour.day, OfficeHour.starts_at, OfficeHour.id)
        )
    )


def on_site_now(station: Station) -> list[OfficialSession]:
    """The officials checked in at the station now."""
    return list(
        db.session.scalars(
            sa.select(OfficialSession)
            .options(selectinload(OfficialSession.official))
            .where(OfficialSession.station_id == station.id, OfficialSession.status == DutyStatus.OPEN)
            .order_by(OfficialSession.checked_in_at)
        )
    )


def station_sessions(station: Station, start: datetime, end: datetime) -> list[OfficialSession]:
    """The officials' sessions at the station checked in from `start` to `end` (UTC), newest
    first, voided ones too: the attendance review lists them for the manager."""
    return list(
        db.session.scalars(
            sa.select(OfficialSession)
            .options(selectinload(OfficialSession.official), selectinload(OfficialSession.confirmed_by))
            .where(
                OfficialSession.station_id == station.id,
                OfficialSession.checked_in_at >= start,
                OfficialSession.checked_in_at < end,
            )
            .order_by(OfficialSession.checked_in_at.desc())
        )
    )


# --- 现场办公: taking a concern up at the station ---------------------------------------------


def new_concerns_at(station: Station, limit: int = NEW_CONCERNS_LIMIT) -> list[Concern]:
    """The station's concerns nobody has taken up yet, newest first."""
    return list(
        db.session.scalars(
            sa.select(Concern)
            .where(Concern.station_id == station.id, Concern.status == ConcernStatus.SUBMITTED)
            .order_by(Concern.created_at.desc(), Concern.id.desc())
            .limit(limit)
        )
    )


def _session_for(official: Official, session: OfficialSession | None, concern: Concern) -> OfficialSession:
    if session is None or session.official_id != official.id or session.status != DutyStatus.OPEN:
        raise OfficialRefused("not_checked_in")
    if session.station_id != concern.station_id:
        raise OfficialRefused("other_station")
    return session


def take_on_site(
    official: Official,
    session: OfficialSession | None,
    concern: Concern,
    *,
    answer: str | None = None,
    note: str = "",
    expected_version: int | None = None,
    now: datetime | None = None,
) -> list[ConcernEvent]:
    """现场办公: take `concern` up and, in the same transaction, send it to the official's own
    unit (deadline counted in working days as for any dispatch) or, with an `answer`,
    answer it on the spot (当场办结: the station checks the answer, 代表督单, then the resident
    rates it). Two events, each a
    row of the loop's table. Refuses: not_checked_in, other_station (OfficialRefused),
    the table's codes (TransitionRefused: not_allowed_now for a concern already taken up,
    changed, note_required) and unit_required (a unit that takes no concerns). The caller
    rolls back on a refusal."""
    _session_for(official, session, concern)
    now = now or utcnow()
    role = official.user.role
    if answer is not None and not answer.strip():
        raise TransitionRefused("note_required")
    if len((answer or "").strip()) > limits.NOTE_MAX or len((note or "").strip()) > limits.NOTE_MAX:
        raise TransitionRefused("note_too_long", maximum=limits.NOTE_MAX)
    taken = transition(
        concern,
        A.OFFICIAL_TAKE,
        role=role,
        actor=official.user,
        official=official,
        expected_version=expected_version,
        now=now,
    )
    if answer is None:
        second = transition(
            concern, A.OFFICIAL_DISPATCH, role=role, actor=official.user, official=official, note=note, now=now
        )
    else:
        second = transition(
            concern, A.OFFICIAL_ANSWER, role=role, actor=official.user, official=official, note=answer, now=now
        )
    return [taken, second]


# --- the official's record --------------------------------------------------------------------


@dataclass
class SessionLine:
    session: OfficialSession
    minutes: int
    concerns: list[ConcernEvent] = field(default_factory=list)

    @property
    def local_in(self) -> datetime:
        return to_local(self.session.checked_in_at)

    @property
    def local_out(self) -> datetime | None:
        return to_local(self.session.checked_out_at) if self.session.checked_out_at else None


@dataclass
class OfficialRecord:
    official: Official
    year: int
    open_session: OfficialSession | None
    lines: list[SessionLine]
    upcoming: list[OfficeHour]

    @property
    def sessions(self) -> int:
        return len(self.lines)

    @property
    def hours(self) -> float:
        return round(sum(line.minutes for line in self.lines) / 60, 1)

    @property
    def residents(self) -> int:
        return sum(line.session.residents_received for line in self.lines)

    @property
    def taken(self) -> int:
        return sum(len(line.concerns) for line in self.lines)


def record(official: Official, year: int, now: datetime | None = None) -> OfficialRecord:
    """The official's sessions of `year` (local time), with the concerns they took up in
    each (the take-up events between check-in and check-out), and their coming hours."""
    now = now or utcnow()
    start, end = utc_at(date(year, 1, 1), time(0, 0)), utc_at(date(year + 1, 1, 1), time(0, 0))
    sessions = list(
        db.session.scalars(
            sa.select(OfficialSession)
            .options(selectinload(OfficialSession.station))
            .where(
                OfficialSession.official_id == official.id,
                OfficialSession.checked_in_at >= start,
                OfficialSession.checked_in_at < end,
                OfficialSession.status != DutyStatus.VOIDED,
            )
            .order_by(OfficialSession.checked_in_at.desc())
        )
    )
    takes = list(
        db.session.scalars(
            sa.select(ConcernEvent)
            .options(selectinload(ConcernEvent.concern))
            .where(
                ConcernEvent.actor_id == official.user_id,
                ConcernEvent.action == A.OFFICIAL_TAKE,
                ConcernEvent.created_at >= start,
                ConcernEvent.created_at < end,
            )
            .order_by(ConcernEvent.created_at)
        )
    )
    lines = []
    for s in sessions:
        until = s.checked_out_at or now
        minutes = max(0, int((until - s.checked_in_at).total_seconds() // 60))
        mine = [e for e in takes if s.checked_in_at <= e.created_at <= until and e.concern.station_id == s.station_id]
        lines.append(SessionLine(s, minutes, mine))
    open_now = next((s for s in sessions if s.status == DutyStatus.OPEN), None)
    if open_now is None:
        open_now = db.session.scalar(
            sa.select(OfficialSession).where(
                OfficialSession.official_id == official.id, OfficialSession.status == DutyStatus.OPEN
            )
        )
    upcoming = list(
        db.session.scalars(
            sa.select(OfficeHour)
            .options(selectinload(OfficeHour.station))
            .where(OfficeHour.official_id == official.id, OfficeHour.day >= local_today(now))
            .order_by(OfficeHour.day, OfficeHour.starts_at)
            .limit(20)
        )
    )
    return OfficialRecord(official, year, open_now, lines, upcoming)
