"""The demo data: complete enough to show every feature, and safe to load twice."""

import pytest
import sqlalchemy as sa
from werkzeug.security import check_password_hash

from app import create_app
from devtools.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, seed_demo
from extensions import create_sqlite_file, db
from models import (
    Booking,
    Category,
    Concern,
    ConcernEvent,
    DraftComment,
    DraftLaw,
    Duty,
    DutySlot,
    MeetingRating,
    OfficeHour,
    Official,
    OfficialSession,
    Outbox,
    Region,
    ReportMeeting,
    Representative,
    Station,
    Suggestion,
    Unit,
    User,
    representative_station,
    utcnow,
)
from models.enums import (
    BookingStatus,
    ConcernStatus,
    Rating,
    RegionLevel,
    RepLevel,
    Role,
    StationCategory,
    StationKind,
    SuggestionStatus,
    UnitKind,
)

CITIES = {"410500": "安阳市", "411100": "漯河市", "411600": "周口市", "410400": "平顶山市", "411700": "驻马店市"}
COUNTIES = {
    "411681": "项城市",
    "411627": "太康县",
    "411621": "扶沟县",
    "411625": "郸城县",
    "411603": "淮阳区",
    "411624": "沈丘县",
    "411623": "商水县",
    "411622": "西华县",
}


@pytest.fixture
def demo_app(tmp_path):
    """An app of its own on an empty schema, so this module needs no shared fixture."""
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path}/t.sqlite3", "RATELIMIT_ENABLED": False})
    with app.app_context():
        create_sqlite_file(db.engine)  # the app never creates a database file itself
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _station_codes() -> dict[str, str]:
    return dict(db.session.execute(sa.select(Station.name, Station.code)).tuples().all())


def _membership_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(representative_station))


def test_seed_demo_twice_adds_nothing_and_keeps_codes(demo_app):
    with demo_app.app_context():
        first = seed_demo()
        db.session.commit()
        codes = _station_codes()
        rep_codes = dict(db.session.execute(sa.select(Representative.id, Representative.code)).all())
        memberships = _membership_count()

        second = seed_demo()
        db.session.commit()

        assert second == first
        assert _station_codes() == codes
        # Every representative has their own code (代表码), kept by a second run.
        assert dict(db.session.execute(sa.select(Representative.id, Representative.code)).all()) == rep_codes
        assert len(set(rep_codes.values())) == len(rep_codes) == first["representatives"]
        # Concerns written to a representative: one waiting for them, one passed to the station.
        written = db.session.scalars(sa.select(Concern).where(Concern.addressed_rep_id.is_not(None))).all()
        assert len(written) == 3
        assert any(c.passed_at is None and c.status == ConcernStatus.SUBMITTED for c in written)
        assert any(c.passed_at is not None and c.assigned_rep_id != c.addressed_rep_id for c in written)
        assert _membership_count() == memberships
        assert first["stations"] >= 12
        assert first == {
            "regions": db.session.scalar(sa.select(sa.func.count()).select_from(Region)),
            "stations": len(codes),
            "representatives": db.session.scalar(sa.select(sa.func.count()).select_from(Representative)),
            "categories": db.session.scalar(sa.select(sa.func.count()).select_from(Category)),
            "units": db.session.scalar(sa.select(sa.func.count()).select_from(Unit)),
            "users": db.session.scalar(sa.select(sa.func.count()).select_from(User)),
            "concerns": db.session.scalar(sa.select(sa.func.count()).select_from(Concern)),
            "duty_slots": db.session.scalar(sa.select(sa.func.count()).select_from(DutySlot)),
            "duties": db.session.scalar(sa.select(sa.func.count()).select_from(Duty)),
            "officials": db.session.scalar(sa.select(sa.func.count()).select_from(Official)),
            "office_hours": db.session.scalar(sa.select(sa.func.count()).select_from(OfficeHour)),
            "bookings": db.session.scalar(sa.select(sa.func.count()).select_from(Booking)),
            "suggestions": db.session.scalar(sa.select(sa.func.count()).select_from(Suggestion)),
            "draft_laws": db.session.scalar(sa.select(sa.func.count()).select_from(DraftLaw)),
            "draft_comments": db.session.scalar(sa.select(sa.func.count()).select_from(DraftComment)),
        }
        assert first["officials"] >= 1 and first["office_hours"] >= 4
        # Booked visits show on the demo stations (demo_data/bookings.yaml): three of them.
        assert first["bookings"] >= 5
        from services.clock import local_today, to_local

        on_slots = sa.select(sa.func.count(sa.distinct(Booking.station_id))).where(
            Booking.duty_slot_id.is_not(None), Booking.status == BookingStatus.BOOKED
        )
        assert db.session.scalar(on_slots) == 3
        # … and on reception days (reception_bookings): two stations.
        on_days = sa.select(sa.func.count(sa.distinct(Booking.station_id))).where(Booking.reception_day_id.is_not(None))
        assert db.session.scalar(on_days) == 2
        # Past visits, marked as they went, for the figures page (bookings.yaml: visits).
        past = dict(
            db.session.execute(
                sa.select(Booking.status, sa.func.count()).where(Booking.day < local_today()).group_by(Booking.status)
            ).all()
        )
        assert past == {BookingStatus.ATTENDED: 3, BookingStatus.NO_SHOW: 2, BookingStatus.CANCELLED: 1}
        # The officials' past visits, one with a concern taken up and sent to the unit there.
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OfficialSession)) == 3
        steps = db.session.scalars(
            sa.select(ConcernEvent.action).where(ConcernEvent.action.in_(["official_take", "official_dispatch"]))
        ).all()
        assert sorted(steps) == ["official_dispatch", "official_take"]
        # 述职 meetings (meetings.yaml): one held, rated by the residents present, one to come.
        held, coming = db.session.scalars(sa.select(ReportMeeting).order_by(ReportMeeting.starts_at)).all()
        assert held.starts_at < utcnow() < coming.starts_at
        assert held.year == to_local(held.starts_at).year and coming.year == to_local(coming.starts_at).year
        rated = dict(
            db.session.execute(
                sa.select(MeetingRating.rating, sa.func.count())
                .where(MeetingRating.meeting_id == held.id)
                .group_by(MeetingRating.rating)
            ).all()
        )
        assert rated == {Rating.SATISFIED: 21, Rating.BASICALLY_SATISFIED: 6, Rating.DISSATISFIED: 2}
        assert db.session.scalar(sa.select(sa.func.count()).where(MeetingRating.comment.is_not(None))) == 3
        assert not db.session.scalars(sa.select(MeetingRating).where(MeetingRating.meeting_id == coming.id)).all()


def test_demo_covers_every_kind_category_level_and_unit_kind(demo_app):
    with demo_app.app_context():
        seed_demo()
        db.session.commit()

        stations = db.session.scalars(sa.select(Station)).all()
        assert len(stations) >= 12
        assert {s.kind for s in stations} == set(StationKind)
        assert {s.category for s in stations} == set(StationCategory)
        assert len({s.code for s in stations}) == len(stations)
        for station in stations:
            assert (station.kind == StationKind.STATION) == (station.parent_id is None), station.name
            assert station.opens_at is not None and station.closes_at is not None, station.name
            assert station.intro and station.address and station.phone, station.name
            if station.kind != StationKind.POST:
                assert 2 <= len(station.representatives) <= 6, station.name

        reps = db.session.scalars(sa.select(Representative)).all()
        assert {r.level for r in reps} == set(RepLevel)
        assert any(len(r.stations) >= 2 for r in reps)
        assert all(r.user.role == Role.REPRESENTATIVE for r in reps)

        unit_kinds = set(db.session.scalars(sa.select(Unit.kind).distinct()))
        assert {UnitKind.GOVERNMENT, UnitKind.SUPERVISION, UnitKind.COURT, UnitKind.PROCURATORATE} <= unit_kinds

        categories = db.session.scalars(sa.select(Category).order_by(Category.sort_order)).all()
        assert categories[-1].name_zh == "其他"


def test_demo_regions_have_their_real_codes(demo_app):
    with demo_app.app_context():
        seed_demo()
        db.session.commit()

        by_code = {r.code: r for r in db.session.scalars(sa.select(Region))}
        assert by_code["410000"].name == "河南省"
        for code, name in CITIES.items():
            assert by_code[code].name == name
            assert by_code[code].level == RegionLevel.CITY
            assert by_code[code].parent.code == "410000"
        for code, name in COUNTIES.items():
            assert by_code[code].name == name
            assert by_code[code].level == RegionLevel.COUNTY
            assert by_code[code].parent.code == "411600"
        for region in by_code.values():
            if region.level == RegionLevel.TOWNSHIP:
                assert len(region.code) == 9 and region.code.startswith(region.parent.code), region.name
        station = db.session.scalar(sa.select(Station).where(Station.name == "淮阳区驻京人大代表联络站"))
        assert station.region.code == "411603"
        assert station.category == StationCategory.OUT_OF_TOWN


def test_every_demo_account_signs_in_with_the_demo_password(demo_app):
    with demo_app.app_context():
        seed_demo()
        db.session.commit()

        assert {Role(role) for _username, role, _name in DEMO_ACCOUNTS} == set(Role)
        hashes = set()
        for username, role, name in DEMO_ACCOUNTS:
            user = db.session.scalar(sa.select(User).where(User.username == username))
            assert user is not None, username
            assert user.role == Role(role)
            assert user.display_name == name
            if user.role == Role.CONGRESS_STAFF:
                assert user.region is not None
            if user.role == Role.UNIT_HANDLER:
                assert user.unit is not None
            if user.role == Role.STATION_MANAGER:
                assert user.managed_stations
            if user.role == Role.OFFICIAL:
                assert user.official is not None and user.official.post
            hashes.add(user.password_hash)
        # One hash for every demo user (hashing is slow), and it matches the demo password.
        assert len(hashes) == 1
        assert check_password_hash(hashes.pop(), DEMO_PASSWORD)


def test_seed_demo_command(demo_app):
    runner = demo_app.test_cli_runner()

    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "Demo data loaded" in result.output

    result = runner.invoke(args=["seed-demo", "--if-empty"])
    assert result.exit_code == 0, result.output
    assert "not loaded" in result.output


def test_demo_roster_fills_two_weeks_once_and_never_double_books(demo_app):
    with demo_app.app_context():
        seed_demo()
        db.session.commit()
        slots = db.session.scalars(sa.select(DutySlot)).all()
        assert slots, "the demo roster is empty"
        from services.clock import local_today

        # From today on, weekdays only (the past roster keeps the Beijing station's Saturdays).
        coming = [s for s in slots if s.day >= local_today()]
        assert {s.station_id for s in coming} and all(s.day.weekday() < 5 for s in coming)
        places = [(s.representative_id, s.day, s.starts_at) for s in slots]
        assert len(places) == len(set(places))
        seed_demo()
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(DutySlot)) == len(slots)


def test_demo_concerns_run_the_whole_loop_with_unbroken_trails(demo_app):
    from datetime import timedelta

    from devtools.demo import CONCERNS
    from models import ConcernEvent, Outbox, utcnow
    from services.concern_flow import TRANSITIONS, is_overdue

    with demo_app.app_context():
        seed_demo()
        db.session.commit()
        now = utcnow()

        concerns = db.session.scalars(sa.select(Concern).order_by(Concern.id)).all()
        assert len(concerns) == len(CONCERNS) >= 55
        assert {c.status for c in concerns} == set(ConcernStatus)
        assert any(c.rounds == 2 and c.status == ConcernStatus.CLOSED for c in concerns)
        assert any(c.rounds == 2 and c.status != ConcernStatus.CLOSED for c in concerns)
        # Two with deadlines chosen on dispatch and one taken up three weeks ago: overdue even
        # across the longest holiday.
        assert sum(is_overdue(c, now) for c in concerns) >= 3
        actions = {e.action for c in concerns for e in c.events}
        assert {"submit", "accept", "dispatch", "reply", "resolve", "confirm", "rate", "reopen", "reject"} <= actions
        assert {"merge", "withdraw", "return", "send_back", "auto_close", "note"} <= actions

        for concern in concerns:
            events = concern.events
            assert events[0].action == "submit" and events[0].created_at == concern.created_at
            assert now - timedelta(days=93) < concern.created_at <= now
            times = [e.created_at for e in events]
            assert times == sorted(times) and times[-1] <= now, concern.content
            status = ConcernStatus.SUBMITTED
            for event in events[1:]:
                if event.action in ("note", "comment"):
                    continue
                # Each step leaves from where the one before arrived, by a rule of the table.
                assert event.from_status == status, (concern.content, event.action)
                assert TRANSITIONS[(status, event.action)].target == event.to_status
                status = event.to_status
            assert status == concern.status
            if concern.status == ConcernStatus.MERGED:
                assert concern.merged_into_id is not None
            if concern.status == ConcernStatus.REJECTED:
                assert events[-1].note
            if concern.contact_mobile:
                assert concern.contact_mobile.startswith("138") and concern.consent_at == concern.created_at
            if concern.unit is not None:
                # Handled by its own county's or city's unit.
                region_ids = {r.id for r in concern.station.region.path()}
                assert concern.unit.region_id in region_ids
            if concern.assigned_rep is not None:
                assert concern.station in concern.assigned_rep.stations
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Outbox)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ConcernEvent)) > 3 * len(concerns)


def test_demo_accounts_find_work_in_their_inbox(demo_app):
    from devtools.demo import _DEMO_REP_USERNAMES
    from models.enums import ConcernStatus
    from services.inbox import InboxFilter, page

    def inbox(username: str, box: str) -> list[Concern]:
        user = db.session.scalar(sa.select(User).where(User.username == username))
        return page(user, InboxFilter(box=box), size=100).concerns

    with demo_app.app_context():
        seed_demo()
        db.session.commit()

        for handler in ("xc_housing", "xc_court"):
            waiting = inbox(handler, "handle")
            assert len(waiting) >= 2, handler
            assert all(c.status == ConcernStatus.DISPATCHED and c.due_at for c in waiting)
        for username in _DEMO_REP_USERNAMES:
            assert inbox(username, "take"), username
            supervise = inbox(username, "supervise")
            assert any(c.status == ConcernStatus.REPLIED for c in supervise), username
        for manager in ("xc_manager", "lh_manager", "ay_manager"):
            assert any(c.status == ConcernStatus.SUBMITTED for c in inbox(manager, "all")), manager
        for staff in ("zk_staff", "xc_staff", "lh_staff"):
            assert inbox(staff, "all"), staff


def test_demo_has_three_months_of_duties_in_every_standing(demo_app):
    from datetime import date

    from models.enums import DutyStatus, PresencePolicy
    from services.clock import local_today, to_local
    from services.duty_lines import Standing, standing

    with demo_app.app_context():
        seed_demo()
        db.session.commit()
        today = local_today()
        duties = db.session.scalars(sa.select(Duty).order_by(Duty.checked_in_at)).all()
        past_slots = db.session.scalars(sa.select(DutySlot).where(DutySlot.day < today)).all()

        months = {(to_local(d.checked_in_at).year, to_local(d.checked_in_at).month) for d in duties}
        this_month = (today.year, today.month)
        assert len(months - {this_month}) >= 3, months
        assert all(to_local(d.checked_in_at).date() < today for d in duties)
        assert (today - to_local(duties[0].checked_in_at).date()).days <= 93
        by_standing: dict[Standing, list[Duty]] = {}
        for duty in duties:
            by_standing.setdefault(standing(duty), []).append(duty)
        assert set(by_standing) == {Standing.COUNTED, Standing.VOIDED, Standing.AUTO_CLOSED, Standing.PENDING}
        assert len(by_standing[Standing.COUNTED]) > 10 * len(by_standing[Standing.VOIDED])
        for duty in duties:
            # Nothing is left open; every duty is at a station of its representative, in a
            # slot of the past roster, and has ended.
            assert duty.status != DutyStatus.OPEN and duty.checked_out_at is not None
            assert duty.station in duty.representative.stations
            assert duty.checked_out_at >= duty.checked_in_at
        for duty in by_standing[Standing.VOIDED]:
            assert duty.review_note and duty.confirmed_by_id is not None
        # Pending at the stations that ask for a proof: older ones confirmed, one each waiting.
        pending_kind = [d for d in duties if d.pending_reason]
        assert {d.station.presence_policy for d in pending_kind} <= {PresencePolicy.GEO, PresencePolicy.KIOSK}
        assert any(d.confirmed_by_id for d in pending_kind)
        counted_kiosk = [d for d in by_standing[Standing.COUNTED] if d.kiosk_window is not None]
        assert counted_kiosk, "kiosk check-ins carry their tablet window"
        # Slots missed: past slots that no duty of the representative covers exist too.
        covered = {(d.representative_id, to_local(d.checked_in_at).date()) for d in duties}
        assert any((s.representative_id, s.day) not in covered for s in past_slots)
        assert all(s.day >= date(2000, 1, 1) and s.day.weekday() in (0, 1, 2, 3, 4, 5) for s in past_slots)


def test_demo_past_shows_in_figures_and_the_representatives_reports(demo_app):
    from datetime import timedelta

    from devtools.demo import _DEMO_REP_USERNAMES
    from models import utcnow
    from models.enums import ConcernAction, ConcernStatus
    from services import figures
    from services.attendance import Month, month_attendance
    from services.clock import local_today, month_bounds
    from services.concern_flow import OPEN_STATUSES, is_overdue
    from services.reports import annual_report

    with demo_app.app_context():
        seed_demo()
        db.session.commit()
        now, today = utcnow(), local_today()
        this_month_start = month_bounds(today.year, today.month)[0]
        concerns = db.session.scalars(sa.select(Concern)).all()

        closed_before = [c for c in concerns if c.status == ConcernStatus.CLOSED and c.closed_at < this_month_start]
        assert len(closed_before) >= 8
        assert sum(c.rating_rep is not None for c in closed_before) >= 6
        twice_rated = [c for c in concerns if len(c.ratings) == 2]
        assert len(twice_rated) >= 4
        assert (
            sum(
                (c.ratings[0].rating_rep, c.ratings[0].rating_unit) != (c.rating_rep, c.rating_unit)
                for c in twice_rated
            )
            >= 4
        )
        assert sum(any(e.action == ConcernAction.SEND_BACK for e in c.events) for c in concerns) >= 3
        public_answers = [
            c
            for c in concerns
            if c.is_public
            and any(e.action in (ConcernAction.REPLY, ConcernAction.RESOLVE) and e.is_public for e in c.events)
        ]
        assert len(public_answers) >= 5
        assert sum(c.is_public and c.status == ConcernStatus.CLOSED for c in concerns) >= 4
        assert sum(is_overdue(c, now) for c in concerns) >= 4
        due_soon = [
            c for c in concerns if c.status in OPEN_STATUSES and c.due_at and now < c.due_at <= now + timedelta(days=2)
        ]
        assert len(due_soon) >= 2

        # Each demo representative's file and annual report have a past.
        years = sorted({(today - timedelta(days=d)).year for d in (0, 92)})
        for username in _DEMO_REP_USERNAMES:
            rep = db.session.scalar(sa.select(User).where(User.username == username)).representative
            reports = [annual_report(rep, year, now) for year in years]
            assert sum(r.total.duties for r in reports) >= 3, username
            assert sum(r.concerns.taken_up for r in reports) >= 2, username
            assert sum(r.concerns.counts.closed for r in reports) >= 1, username
        wang = db.session.scalar(sa.select(User).where(User.username == "rep_wangjianjun")).representative
        work = [annual_report(wang, year, now).concerns for year in years]
        assert sum(w.supervised for w in work) >= 3 and sum(w.sent_back for w in work) >= 1

        # The figures of the last three months, as 周口 congress staff see them.
        zk_staff = db.session.scalar(sa.select(User).where(User.username == "zk_staff"))
        period = figures.Period(today - timedelta(days=92), today)
        total = figures.figures(zk_staff, "station", period, now).total
        assert total.closed >= 10 and total.rated_rep >= 8
        assert total.first_rep_satisfaction < total.rep_satisfaction

        # The attendance review of last month at the 项城 waterproofing station.
        station = db.session.scalar(sa.select(Station).where(Station.name == "项城市防水行业人大代表联络站"))
        last_month = Month.of(today.replace(day=1) - timedelta(days=1))
        att = month_attendance(station, last_month)
        assert att.total.scheduled >= 6 and att.total.attended >= 4


def test_demo_duty_history_leaves_out_a_representative_on_duty_now(demo_app):
    from models import utcnow
    from models.enums import DutyMethod, DutyStatus

    with demo_app.app_context():
        seed_demo()
        db.session.commit()
        # A database in use whose past roster is gone, with 王建军 on duty right now.
        db.session.execute(sa.delete(Duty))
        # (A booked visit holds its slot: the database refuses to remove one under it.)
        db.session.execute(sa.delete(Booking))
        db.session.execute(sa.delete(DutySlot))
        wang = db.session.scalar(sa.select(User).where(User.username == "rep_wangjianjun")).representative
        now = utcnow()
        db.session.add(
            Duty(
                station=wang.stations[0],
                representative=wang,
                checked_in_at=now,
                method=DutyMethod.QR,
                status=DutyStatus.OPEN,
                nonce="on-duty-now-0001",
            )
        )
        db.session.commit()

        seed_demo()
        db.session.commit()
        mine = db.session.scalars(sa.select(Duty).where(Duty.representative_id == wang.id)).all()
        assert [d.nonce for d in mine] == ["on-duty-now-0001"]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Duty)) > 200


def test_seed_demo_refuses_under_production(demo_app):
    from models import User

    demo_app.config["APP_ENV"] = "production"
    try:
        result = demo_app.test_cli_runner().invoke(args=["seed-demo"])
        assert result.exit_code != 0
        assert "APP_ENV=production" in result.output
        with demo_app.app_context():
            assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0
    finally:
        demo_app.config["APP_ENV"] = "development"


def test_the_demo_official_has_weekly_hours_this_week_at_a_demo_station(demo_app):
    """领导进站 on the demo stations: the county housing bureau's head, with office hours
    within the next 7 days (the station page's 本周领导进站), every week for four weeks."""
    from services.clock import local_today
    from services.officials import hours_ahead

    with demo_app.app_context():
        seed_demo()
        db.session.commit()
        head = db.session.scalar(sa.select(User).where(User.username == "xc_housing_head"))
        assert head is not None and head.role == Role.OFFICIAL
        assert head.official is not None and head.official.unit.name == "项城市住房和城乡建设局"
        station = db.session.scalar(sa.select(Station).where(Station.name == "项城市花园街道人大代表联络站"))
        this_week = hours_ahead(station)
        assert [h.official.user.username for h in this_week] == ["xc_housing_head"]
        assert 0 <= (this_week[0].day - local_today()).days < 7
        days = db.session.scalars(sa.select(OfficeHour.day).where(OfficeHour.official_id == head.official.id)).all()
        assert len(days) == 4 and all((b - a).days == 7 for a, b in zip(days, days[1:], strict=False))


def test_demo_suggestions_stand_at_every_stage(demo_app):
    """代表建议: one at each stage of its loop, a key one, one that grew out of a concern, and
    nothing told anyone (the stories happened in the past)."""
    with demo_app.app_context():
        seed_demo()
        db.session.commit()
        suggestions = db.session.scalars(sa.select(Suggestion)).all()
        assert {s.status for s in suggestions} == set(SuggestionStatus)
        assert any(s.is_key for s in suggestions)
        assert any(s.concerns for s in suggestions if s.status != SuggestionStatus.DRAFT)
        assert {s.reply_class for s in suggestions if s.reply_class} == {"A", "B", "C"}
        assert any(s.rounds == 2 for s in suggestions)  # sent back once
        assert any(s.signers and all(g.signed_at for g in s.signers) for s in suggestions)
        assert any(g.signed_at is None for s in suggestions for g in s.signers)  # one waits to be co-signed
        told = db.session.scalar(sa.select(sa.func.count()).select_from(Outbox).where(Outbox.kind.like("suggestion.%")))
        assert told == 0


def test_the_demo_puts_a_draft_law_out_for_comment_at_its_contact_points(demo_app):
    from services import drafts

    with demo_app.app_context():
        seed_demo()
        db.session.commit()
        points = db.session.scalars(sa.select(Station).where(Station.is_legislative_point)).all()
        assert {s.name for s in points} >= {"周口市川汇区七一路街道基层立法联系点"}
        draft = db.session.scalar(sa.select(DraftLaw))
        assert drafts.is_open(draft) and len(draft.articles) >= 8
        assert all(drafts.open_at(s) == [draft] for s in points)
        counts = drafts.counts_by_status(draft)
        assert all(counts[status] >= 1 for status in ("pending", "accepted", "merged", "rejected"))
        # Each comment is at a contact point that shows the draft; some gave a name or number.
        comments = db.session.scalars(sa.select(DraftComment)).all()
        assert all(drafts.reaches(draft, c.station) for c in comments)
        assert any(c.mobile for c in comments) and any(c.item is None for c in comments)
        client = demo_app.test_client()
        page = client.get(f"/s/{points[0].code}").get_data(as_text=True)
        assert f"/drafts/{draft.id}" in page
