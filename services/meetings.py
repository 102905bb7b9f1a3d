"""述职 meetings with the residents' evaluation (代表述职、群众评议).

A representative's annual report (services.reports) is presented at a station on a date.
The station's manager or congress staff above it schedule the meeting (`schedule`), and
may move or cancel it until it starts (`move`, `cancel`): MEETING_FLOW, a table on
services.workflow, with a status, a version and one ReportMeetingEvent per step; each
change is also in the audit log and the representative is told through the outbox.

    (schedule) ──▶ scheduled ──cancel (before it starts)──▶ cancelled
                   scheduled ──move (before it starts)──▶ scheduled

Residents present open /m/<code> (the code shown on the screen at the meeting) and rate the
report: satisfied / basically satisfied / dissatisfied, with an optional comment. No account:
one rating per phone is held by a signed cookie naming the meeting and carrying a random
token (`issue_token`, `read_token`); the database keeps a keyed digest of the token,
unique, so the same cookie never rates twice (two taps, the page sent again). The view adds
a per-address limit for the meeting (MEETING_RATING_RATE_LIMIT), wide enough for a hall on
one Wi-Fi. Ratings are taken only within the meeting's window, [starts_at, ends_at).

The results (counts and the satisfaction rate, satisfied or basically satisfied among the
ratings) sit beside the report (`report_meetings`) and in the figures (`by_region`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import joinedload, selectinload

from extensions import db
from models import MeetingRating, Region, ReportMeeting, ReportMeetingEvent, Representative, Station, User, utcnow
from models.enums import MeetingAction, MeetingStatus, Rating
from services import audit, notifications
from services.clock import to_local, utc_at
from services.codes import new_meeting_code
from services.concerns import clean_text
from services.errors import MeetingRefused
from services.figures import FIRST_YEAR, SATISFIED, Period
from services.limits import MEETING_COMMENT_MAX, MEETING_HOURS_MAX
from services.permissions import Permission, can, overseen_stations_clause, roles_for
from services.workflow import ActionSpec, Workflow

COOKIE_SALT = "report-meeting"
S, A = MeetingStatus, MeetingAction


# --- the steps: a table on the workflow engine ----------------------------------------------


def _not_begun(meeting: ReportMeeting) -> bool:
    """Moved or cancelled only before it starts: residents may be rating it already."""
    return meeting.starts_at > utcnow()


def _spec(action: MeetingAction, sources, target: MeetingStatus | None, **row) -> ActionSpec:
    permission = Permission.MEETING_MANAGE
    return ActionSpec(action, frozenset(sources), target, roles_for(permission), permission=permission, **row)


MEETING_STEPS = (
    # schedule() makes the meeting: the engine never takes this step.
    _spec(A.SCHEDULE, (), S.SCHEDULED, title=_l("Meeting scheduled"), notice="scheduled"),
    _spec(
        A.MOVE,
        {S.SCHEDULED},
        None,
        when=_not_begun,
        title=_l("Meeting moved"),
        button=_l("Move the meeting"),
        done=_l("The meeting is moved."),
        needs="when",
        notice="moved",
    ),
    _spec(
        A.CANCEL,
        {S.SCHEDULED},
        S.CANCELLED,
        when=_not_begun,
        title=_l("Cancelled"),
        button=_l("Cancel the meeting"),
        done=_l("The meeting is cancelled."),
        danger=True,
        notice="cancelled",
    ),
)


def _tell_representative(meeting: ReportMeeting, event: ReportMeetingEvent, spec: ActionSpec) -> list:
    actor = db.session.get(User, event.actor_id) if event.actor_id is not None else None
    return notifications.queue_meeting_news(meeting, actor, spec.notice)


MEETING_FLOW: Workflow = Workflow(
    "report_meeting", A, MEETING_STEPS, event=ReportMeetingEvent, notify=_tell_representative
)
# A meeting that has begun is held: nothing more to do but rate it (the window).
FINAL = frozenset({S.CANCELLED})


def is_final(meeting: ReportMeeting) -> bool:
    return meeting.status in FINAL or not _not_begun(meeting)


def action_title(action: str, for_resident: bool = False) -> str:
    spec = MEETING_FLOW.spec(action)
    return spec.timeline_title(for_resident=for_resident) if spec is not None else str(action)


def by_resident(_action: str) -> bool:
    return False


def steps_for(meeting: ReportMeeting, user) -> list[ActionSpec]:
    """The steps `user` may take on the meeting now (the back office's buttons)."""
    return [
        spec
        for spec in MEETING_FLOW
        if spec.button is not None and spec.applies(meeting) and can(user, spec.permission, meeting)
    ]


# --- scheduling (the station's overseers) -------------------------------------------------


@dataclass(frozen=True)
class When:
    """A meeting's day and its rating window, in local time."""

    day: date
    starts_at: time
    ends_at: time

    def utc(self) -> tuple[datetime, datetime]:
        return utc_at(self.day, self.starts_at), utc_at(self.day, self.ends_at)


def when_of(meeting: ReportMeeting) -> When:
    start, end = to_local(meeting.starts_at), to_local(meeting.ends_at)
    return When(start.date(), start.time(), end.time())


def _check_when(when: When, now: datetime) -> tuple[datetime, datetime]:
    if when.ends_at <= when.starts_at:
        raise MeetingRefused("ends_before_start")
    start, end = when.utc()
    if end - start > timedelta(hours=MEETING_HOURS_MAX):
        raise MeetingRefused("too_long", hours=MEETING_HOURS_MAX)
    if start <= now:
        raise MeetingRefused("in_past")
    return start, end


def _unused_code() -> str:
    while True:
        code = new_meeting_code()
        if find_by_code(code) is None:
            return code


def schedule(
    actor: User, station: Station, rep: Representative, year: int, when: When, now: datetime | None = None
) -> ReportMeeting:
    """A new meeting of `rep` presenting the report of `year` at `station`. Refuses:
    station_inactive, not_station_representative, bad_year (before FIRST_YEAR or after the
    meeting's year), ends_before_start, too_long, in_past."""
    now = now or utcnow()
    if not station.is_active:
        raise MeetingRefused("station_inactive")
    if all(r.id != rep.id for r in station.representatives):
        raise MeetingRefused("not_station_representative")
    if not FIRST_YEAR <= year <= when.day.year:
        raise MeetingRefused("bad_year", first=FIRST_YEAR, latest=when.day.year)
    start, end = _check_when(when, now)
    meeting = ReportMeeting(
        code=_unused_code(),
        representative_id=rep.id,
        station_id=station.id,
        year=year,
        starts_at=start,
        ends_at=end,
        created_by_id=actor.id,
        status=S.SCHEDULED,
        created_at=now,
        updated_at=now,
    )
    db.session.add(meeting)
    db.session.flush()
    spec = MEETING_FLOW[A.SCHEDULE]
    event = MEETING_FLOW.record(meeting, spec, actor=actor, before=None, note="", public=True, now=now)
    audit.log(
        actor,
        "meeting.scheduled",
        meeting,
        station=station.code,
        representative_id=rep.id,
        year=year,
        starts_at=start.isoformat(),
        ends_at=end.isoformat(),
    )
    event.notified = _tell_representative(meeting, event, spec)
    return meeting


def _started(meeting: ReportMeeting, now: datetime) -> None:
    """The table's `when` reads the clock; a step told another `now` checks against it too."""
    if meeting.starts_at <= now:
        raise MeetingRefused("started")


def move(
    actor: User, meeting: ReportMeeting, when: When, now: datetime | None = None, *, expected_version: int | None = None
) -> ReportMeeting:
    """Another day or window, before it starts (MEETING_FLOW). Refuses: the table's codes
    (changed, not_allowed_now: cancelled or begun, role_not_allowed), started, and the new
    window's codes (ends_before_start, too_long, in_past, bad_year). The same window again
    changes nothing and records nothing."""
    now = now or utcnow()
    window: list[datetime] = []

    def guard(_spec: ActionSpec, at: datetime) -> None:
        _started(meeting, at)
        start, end = _check_when(when, at)
        if not when.day.year >= meeting.year:
            raise MeetingRefused("bad_year", first=FIRST_YEAR, latest=when.day.year)
        window.extend((start, end))

    if when.utc() == (meeting.starts_at, meeting.ends_at):  # a second tap, or nothing changed
        MEETING_FLOW.check(meeting, A.MOVE, role=actor.role, note="", expected_version=expected_version)
        _started(meeting, now)
        return meeting
    before = {"starts_at": meeting.starts_at.isoformat(), "ends_at": meeting.ends_at.isoformat()}

    def effect(_spec: ActionSpec, _before, _at: datetime) -> None:
        meeting.starts_at, meeting.ends_at = window

    MEETING_FLOW.step(
        meeting,
        A.MOVE,
        role=actor.role,
        actor=actor,
        expected_version=expected_version,
        now=now,
        guard=guard,
        effect=effect,
    )
    start, end = window
    audit.log_change(
        actor, "meeting.moved", meeting, before, {"starts_at": start.isoformat(), "ends_at": end.isoformat()}
    )
    return meeting


def cancel(
    actor: User, meeting: ReportMeeting, now: datetime | None = None, *, expected_version: int | None = None
) -> ReportMeeting:
    """Called off before it starts (MEETING_FLOW); the row stays (its code then says so).
    Refuses: the table's codes (changed, not_allowed_now: cancelled or begun,
    role_not_allowed) and started."""

    def guard(_spec: ActionSpec, at: datetime) -> None:
        _started(meeting, at)

    def effect(_spec: ActionSpec, _before, at: datetime) -> None:
        meeting.cancelled_at, meeting.cancelled_by_id = at, actor.id

    MEETING_FLOW.step(
        meeting,
        A.CANCEL,
        role=actor.role,
        actor=actor,
        expected_version=expected_version,
        now=now,
        guard=guard,
        effect=effect,
    )
    audit.log(
        actor, "meeting.cancelled", meeting, station=meeting.station.code, starts_at=meeting.starts_at.isoformat()
    )
    return meeting


def find_by_code(code: str) -> ReportMeeting | None:
    return db.session.scalar(
        sa.select(ReportMeeting)
        .options(joinedload(ReportMeeting.representative).joinedload(Representative.user))
        .where(ReportMeeting.code == code)
    )


def station_meetings(station: Station) -> list[ReportMeeting]:
    """A station's meetings, the latest first (cancelled ones too)."""
    return list(
        db.session.scalars(
            sa.select(ReportMeeting)
            .options(
                joinedload(ReportMeeting.representative).joinedload(Representative.user),
                selectinload(ReportMeeting.events),
            )
            .where(ReportMeeting.station_id == station.id)
            .order_by(ReportMeeting.starts_at.desc(), ReportMeeting.id.desc())
        )
    )


def upcoming_for(rep: Representative, now: datetime | None = None) -> list[ReportMeeting]:
    """The representative's meetings not yet over (and not cancelled), soonest first."""
    now = now or utcnow()
    return list(
        db.session.scalars(
            sa.select(ReportMeeting)
            .options(joinedload(ReportMeeting.station))
            .where(
                ReportMeeting.representative_id == rep.id,
                ReportMeeting.cancelled_at.is_(None),
                ReportMeeting.ends_at > now,
            )
            .order_by(ReportMeeting.starts_at)
        )
    )


# --- the state of a meeting for the resident ---------------------------------------------


def phase(meeting: ReportMeeting, now: datetime | None = None) -> str:
    """cancelled, not_open (before the window), open, closed (after it)."""
    now = now or utcnow()
    if meeting.status == S.CANCELLED:
        return "cancelled"
    if now < meeting.starts_at:
        return "not_open"
    if now >= meeting.ends_at:
        return "closed"
    return "open"


# --- one rating per phone: the signed cookie's token --------------------------------------


def cookie_name(meeting: ReportMeeting) -> str:
    return f"m_{meeting.code}"


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=COOKIE_SALT)


def issue_token(meeting: ReportMeeting, secret: str) -> str:
    """A new cookie value: the meeting's id and a random token, signed with `secret`."""
    return str(_serializer(secret).dumps({"m": meeting.id, "t": secrets.token_urlsafe(18)}))


def read_token(meeting: ReportMeeting, value: str | None, secret: str) -> str | None:
    """The token of a cookie value signed for this meeting; None for anything else (none,
    forged, or another meeting's)."""
    if not value:
        return None
    try:
        data = _serializer(secret).loads(value)
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("m") != meeting.id or not isinstance(data.get("t"), str):
        return None
    return data["t"]


def token_hash(token: str, secret: str) -> str:
    """Keyed: the table alone does not tell which cookie rated."""
    return hmac.new(secret.encode(), f"meeting-token:{token}".encode(), hashlib.sha256).hexdigest()


def rating_of(meeting: ReportMeeting, token: str | None, secret: str) -> MeetingRating | None:
    """The rating this cookie's token already gave, if any."""
    if token is None:
        return None
    return db.session.scalar(
        sa.select(MeetingRating).where(
            MeetingRating.meeting_id == meeting.id, MeetingRating.token_hash == token_hash(token, secret)
        )
    )


def rate(
    meeting: ReportMeeting,
    token: str | None,
    rating: str,
    comment: str,
    *,
    secret: str,
    now: datetime | None = None,
) -> MeetingRating:
    """A resident's rating, once per token: the same token again returns the rating it gave
    (a double tap). Refuses: cancelled, not_open, closed, no_cookie, bad_rating,
    comment_too_long. The unique token digest refuses (IntegrityError) a simultaneous
    second tap; the view then finds the first."""
    now = now or utcnow()
    state = phase(meeting, now)
    if state != "open":
        raise MeetingRefused(state)
    if token is None:
        raise MeetingRefused("no_cookie")
    existing = rating_of(meeting, token, secret)
    if existing is not None:
        return existing
    try:
        chosen = Rating(rating)
    except ValueError:
        raise MeetingRefused("bad_rating") from None
    text = clean_text(comment or "")
    if len(text) > MEETING_COMMENT_MAX:
        raise MeetingRefused("comment_too_long", maximum=MEETING_COMMENT_MAX)
    row = MeetingRating(
        meeting_id=meeting.id,
        rating=chosen,
        comment=text or None,
        token_hash=token_hash(token, secret),
        created_at=now,
    )
    db.session.add(row)
    db.session.flush()
    return row


# --- results ---------------------------------------------------------------------------------


@dataclass
class Results:
    counts: dict[Rating, int] = field(default_factory=lambda: {r: 0 for r in Rating})

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def satisfied(self) -> int:
        return sum(n for r, n in self.counts.items() if r.value in SATISFIED)

    @property
    def satisfaction(self) -> float | None:
        return self.satisfied / self.total if self.total else None


def results(meeting_ids: list[int]) -> dict[int, Results]:
    """Each meeting's counts, in one query."""
    found = {mid: Results() for mid in meeting_ids}
    if not meeting_ids:
        return found
    rows = db.session.execute(
        sa.select(MeetingRating.meeting_id, MeetingRating.rating, sa.func.count())
        .where(MeetingRating.meeting_id.in_(meeting_ids))
        .group_by(MeetingRating.meeting_id, MeetingRating.rating)
    ).tuples()
    for mid, rating, n in rows:
        found[mid].counts[Rating(rating)] = n
    return found


@dataclass
class MeetingResult:
    meeting: ReportMeeting
    results: Results
    comments: list[MeetingRating]


def report_meetings(rep: Representative, year: int) -> list[MeetingResult]:
    """The meetings where the representative presented (or will present) the report of
    `year`, not cancelled, in date order, with their results and comments (for the
    representative and staff: the report's readers)."""
    meetings = list(
        db.session.scalars(
            sa.select(ReportMeeting)
            .options(joinedload(ReportMeeting.station))
            .where(
                ReportMeeting.representative_id == rep.id,
                ReportMeeting.year == year,
                ReportMeeting.cancelled_at.is_(None),
            )
            .order_by(ReportMeeting.starts_at)
        )
    )
    ids = [m.id for m in meetings]
    counted = results(ids)
    comments: dict[int, list[MeetingRating]] = {mid: [] for mid in ids}
    if ids:
        for row in db.session.scalars(
            sa.select(MeetingRating)
            .where(MeetingRating.meeting_id.in_(ids), MeetingRating.comment.is_not(None))
            .order_by(MeetingRating.created_at, MeetingRating.id)
        ):
            comments[row.meeting_id].append(row)
    return [MeetingResult(m, counted[m.id], comments[m.id]) for m in meetings]


def overall(entries: list[MeetingResult]) -> Results:
    total = Results()
    for entry in entries:
        for rating, n in entry.results.counts.items():
            total.counts[rating] += n
    return total


# --- the figures for the congress office ----------------------------------------------------


@dataclass
class RegionRow:
    region_id: int
    name: str
    held: int = 0  # meetings begun in the period (not cancelled)
    ratings: int = 0
    satisfied: int = 0

    @property
    def satisfaction(self) -> float | None:
        return self.satisfied / self.ratings if self.ratings else None


def by_region(user: User, period: Period, now: datetime | None = None) -> tuple[list[RegionRow], RegionRow]:
    """Per region of the station, in the viewer's scope: the meetings held in the period
    (begun by now, not cancelled), their ratings and how many were satisfied or basically
    satisfied. Busiest first; and the total."""
    now = now or utcnow()
    start, end = period.utc_bounds()
    held = sa.and_(
        ReportMeeting.cancelled_at.is_(None),
        ReportMeeting.starts_at >= start,
        ReportMeeting.starts_at < end,
        ReportMeeting.starts_at <= now,
    )
    scope = sa.and_(held, overseen_stations_clause(user))
    held_by_region: dict[int, int] = {
        region_id: n
        for region_id, n in db.session.execute(
            sa.select(Station.region_id, sa.func.count())
            .select_from(ReportMeeting)
            .join(Station, Station.id == ReportMeeting.station_id)
            .where(scope)
            .group_by(Station.region_id)
        )
    }
    ratings = {
        region_id: (n, satisfied)
        for region_id, n, satisfied in db.session.execute(
            sa.select(
                Station.region_id,
                sa.func.count(),
                sa.func.count().filter(MeetingRating.rating.in_(SATISFIED)),
            )
            .select_from(MeetingRating)
            .join(ReportMeeting, ReportMeeting.id == MeetingRating.meeting_id)
            .join(Station, Station.id == ReportMeeting.station_id)
            .where(scope)
            .group_by(Station.region_id)
        ).tuples()
    }
    names: dict[int, str] = {
        region_id: name
        for region_id, name in db.session.execute(
            sa.select(Region.id, Region.name).where(Region.id.in_(list(held_by_region)))
        )
    }
    rows = [RegionRow(rid, names.get(rid, ""), n, *ratings.get(rid, (0, 0))) for rid, n in held_by_region.items()]
    rows.sort(key=lambda r: (-r.held, r.name))
    total = RegionRow(0, "")
    for row in rows:
        total.held, total.ratings, total.satisfied = (
            total.held + row.held,
            total.ratings + row.ratings,
            total.satisfied + row.satisfied,
        )
    return rows, total
