"""Closing a station, opening it again, replacing its poster's code (services.station_lifecycle),
and the codes it never gives twice (services.codes)."""

import secrets
from datetime import time, timedelta

import pytest
import sqlalchemy as sa

from extensions import db as _db
from models import AuditLog, Duty, DutySlot, KioskDevice, Station, StationCodeAlias, utcnow
from models.enums import DutyMethod, DutyStatus, RegionLevel, Role, StationKind
from services import codes, limits
from services import station_lifecycle as lifecycle
from services.clock import local_today
from services.station_lifecycle import StationRefused
from tests import factories

NOW = utcnow().replace(microsecond=0)


@pytest.fixture
def world(db):
    city = factories.region("411600", "周口市", RegionLevel.CITY)
    county = factories.region("411681", "项城市", RegionLevel.COUNTY, parent=city)
    other_city = factories.region("411100", "漯河市", RegionLevel.CITY)
    a = factories.station(name="莲花街道联络站", region=county)
    b = factories.station(name="光武街道联络站", region=county)
    c = factories.station(name="东方街道联络站", region=county)
    far = factories.station(name="漯河食品产业联络站", region=other_city)
    w = {
        "city": city,
        "county": county,
        "a": a,
        "b": b,
        "c": c,
        "far": far,
        "staff": factories.user(Role.CONGRESS_STAFF, region=city),
        "county_staff": factories.user(Role.CONGRESS_STAFF, region=county),
        "manager": factories.user(Role.STATION_MANAGER, managed_stations=[a]),
        "admin": factories.user(Role.ADMIN),
    }
    db.session.flush()
    return w


def audit(db, action: str) -> list[AuditLog]:
    return list(db.session.scalars(sa.select(AuditLog).where(AuditLog.action == action)))


def open_duty(station, rep) -> Duty:
    duty = Duty(
        station=station, representative=rep, checked_in_at=NOW, method=DutyMethod.QR, nonce=secrets.token_hex(8)
    )
    _db.session.add(duty)
    _db.session.flush()
    return duty


# --- closing ---------------------------------------------------------------------------------


def test_closing_dates_notes_and_names_the_successor_with_an_audit_entry(db, world):
    a, b = world["a"], world["b"]
    lifecycle.close_station(world["staff"], a, note="已并入光武街道联络站", successor=b, now=NOW)
    assert a.is_active is False
    assert a.closed_at == NOW
    assert a.closed_note == "已并入光武街道联络站"
    assert a.successor is b
    (entry,) = audit(db, "station.closed")
    assert entry.actor_id == world["staff"].id
    assert entry.target_id == a.id
    assert entry.data["successor"] == b.code
    assert entry.data["note"] == "已并入光武街道联络站"


def test_closing_without_a_successor_needs_a_note(db, world):
    with pytest.raises(StationRefused) as refused:
        lifecycle.close_station(world["staff"], world["a"], note="   ", now=NOW)
    assert refused.value.code == "note_required"
    assert world["a"].is_active
    lifecycle.close_station(world["staff"], world["a"], note="联络站撤销，请到镇人大办公室反映", now=NOW)
    assert world["a"].successor is None


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("self", "successor_self"),
        ("closed", "successor_inactive"),
        ("out_of_scope", "successor_out_of_scope"),
        ("already_closed", "already_closed"),
        ("long_note", "note_too_long"),
    ],
)
def test_closing_refusals(db, world, case, code):
    a, b = world["a"], world["b"]
    actor = world["county_staff"]
    kwargs = {"note": "迁址", "successor": b}
    if case == "self":
        kwargs["successor"] = a
    elif case == "closed":
        lifecycle.close_station(actor, b, note="撤销", now=NOW)
    elif case == "out_of_scope":
        kwargs["successor"] = world["far"]  # another city: not the county staff's to send people to
    elif case == "already_closed":
        lifecycle.close_station(actor, a, note="撤销", now=NOW)
    elif case == "long_note":
        kwargs["note"] = "字" * (limits.STATION_CLOSED_NOTE_MAX + 1)
    with pytest.raises(StationRefused) as refused:
        lifecycle.close_station(actor, a, now=NOW, **kwargs)
    assert refused.value.code == code


def test_the_admin_may_send_residents_anywhere(db, world):
    lifecycle.close_station(world["admin"], world["a"], note="", successor=world["far"], now=NOW)
    assert world["a"].successor is world["far"]


def test_closing_is_refused_while_a_representative_is_checked_in(db, world):
    a = world["a"]
    rep = factories.representative(stations=[a], name="王建军")
    duty = open_duty(a, rep)
    with pytest.raises(StationRefused) as refused:
        lifecycle.close_station(world["staff"], a, note="撤销", now=NOW)
    assert refused.value.code == "duty_open"
    assert "王建军" in refused.value.details["names"]
    duty.status = DutyStatus.CLOSED
    duty.checked_out_at = NOW
    db.session.flush()
    lifecycle.close_station(world["staff"], a, note="撤销", now=NOW)
    assert not a.is_active


def test_closing_removes_slots_to_come_keeps_past_ones_and_unpairs_tablets(db, world):
    a = world["a"]
    rep = factories.representative(stations=[a])
    today = local_today(NOW)
    past = DutySlot(station=a, representative=rep, day=today - timedelta(days=3), starts_at=time(9), ends_at=time(11))
    future = DutySlot(station=a, representative=rep, day=today + timedelta(days=3), starts_at=time(9), ends_at=time(11))
    db.session.add_all([past, future])
    tablet = KioskDevice(station=a, name="前台", token_hash=secrets.token_hex(32), created_at=NOW - timedelta(days=1))
    db.session.add(tablet)
    db.session.flush()
    future_id = future.id

    lifecycle.close_station(world["staff"], a, note="撤销", now=NOW)

    assert db.session.get(DutySlot, future_id) is None
    assert db.session.get(DutySlot, past.id) is not None
    assert tablet.revoked_at is not None
    (entry,) = audit(db, "station.closed")
    assert entry.data["slots_removed"] == 1 and entry.data["tablets_revoked"] == 1
    assert len(audit(db, "kiosk.revoked")) == 1


def test_concerns_filed_before_closing_stay_with_the_station(db, world):
    concern = factories.concern(world["a"])
    lifecycle.close_station(world["staff"], world["a"], note="撤销", now=NOW)
    assert concern.station is world["a"]


# --- the successor chain ----------------------------------------------------------------------


def test_the_page_follows_successors_to_the_first_open_station(db, world):
    a, b, c = world["a"], world["b"], world["c"]
    staff = world["staff"]
    lifecycle.close_station(staff, a, note="", successor=b, now=NOW)
    assert lifecycle.current_successor(a) is b
    lifecycle.close_station(staff, b, note="", successor=c, now=NOW)
    assert lifecycle.current_successor(a) is c
    lifecycle.close_station(staff, c, note="撤销", now=NOW)
    assert lifecycle.current_successor(a) is None


def test_a_loop_of_successors_written_by_hand_ends(db, world):
    a, b = world["a"], world["b"]
    for station, other in ((a, b), (b, a)):  # one flush each: the ORM refuses a loop in one
        station.is_active = False
        station.closed_note = "x"
        station.successor = other
        db.session.flush()
    assert lifecycle.current_successor(a) is None


# --- opening again ----------------------------------------------------------------------------


def test_reopening_clears_the_closing_and_is_logged(db, world):
    a = world["a"]
    lifecycle.close_station(world["staff"], a, note="临时关闭", successor=world["b"], now=NOW)
    lifecycle.reopen_station(world["staff"], a, now=NOW)
    assert a.is_active and a.closed_at is None and a.closed_note == "" and a.successor is None
    assert len(audit(db, "station.reopened")) == 1
    with pytest.raises(StationRefused) as refused:
        lifecycle.reopen_station(world["staff"], a, now=NOW)
    assert refused.value.code == "not_closed"


def test_a_station_of_an_abolished_region_is_not_reopened(db, world):
    a = world["a"]
    lifecycle.close_station(world["staff"], a, note="区划调整", now=NOW)
    world["county"].is_active = False
    db.session.flush()
    with pytest.raises(StationRefused) as refused:
        lifecycle.reopen_station(world["staff"], a, now=NOW)
    assert refused.value.code == "region_inactive"


# --- replacing the code -----------------------------------------------------------------------


def test_replacing_the_code_keeps_the_old_one_as_an_alias_that_forwards(db, world):
    a = world["a"]
    old = a.code
    new = lifecycle.replace_code(world["manager"], a, forward_days=30, reason="海报被涂改", now=NOW)
    assert new == a.code != old
    alias = db.session.scalar(sa.select(StationCodeAlias).where(StationCodeAlias.code == old))
    assert alias.station is a and alias.retired_at == NOW and alias.reason == "海报被涂改"
    assert alias.forward_until == NOW + timedelta(days=30)
    assert alias.retired_by_id == world["manager"].id
    assert lifecycle.is_forwarding(alias, NOW + timedelta(days=29))
    assert not lifecycle.is_forwarding(alias, NOW + timedelta(days=30))
    found = lifecycle.lookup_code(old)
    assert found.station is a and found.alias is alias
    assert lifecycle.lookup_code(new).alias is None
    (entry,) = audit(db, "station.code_replaced")
    assert entry.data == {"old": old, "new": new, "forward_days": 30, "reason": "海报被涂改"}


def test_zero_days_stops_forwarding_at_once(db, world):
    old = world["a"].code
    lifecycle.replace_code(world["manager"], world["a"], forward_days=0, reason="假海报", now=NOW)
    assert not lifecycle.is_forwarding(lifecycle.lookup_code(old).alias, NOW)


@pytest.mark.parametrize(
    ("days", "reason", "code"),
    [
        (-1, "x", "bad_days"),
        (limits.CODE_FORWARD_DAYS_MAX + 1, "x", "bad_days"),
        (10**20, "x", "bad_days"),
        ("30", "x", "bad_days"),
        (30, "  ", "reason_required"),
        (30, "字" * (limits.CODE_REASON_MAX + 1), "reason_too_long"),
    ],
)
def test_replacing_refusals(db, world, days, reason, code):
    old = world["a"].code
    with pytest.raises(StationRefused) as refused:
        lifecycle.replace_code(world["manager"], world["a"], forward_days=days, reason=reason, now=NOW)
    assert refused.value.code == code
    assert world["a"].code == old


def test_a_closed_station_keeps_its_code(db, world):
    lifecycle.close_station(world["staff"], world["a"], note="撤销", now=NOW)
    with pytest.raises(StationRefused) as refused:
        lifecycle.replace_code(world["staff"], world["a"], forward_days=1, reason="x", now=NOW)
    assert refused.value.code == "station_closed"


def test_new_codes_are_never_a_retired_code(db, world, monkeypatch):
    """The random draw is made to hit a station's code, then a retired one: both are passed over."""
    a = world["a"]
    old = a.code
    lifecycle.replace_code(world["manager"], a, forward_days=0, reason="x", now=NOW)
    draws = iter([world["b"].code, old, "NEWC9D"])
    monkeypatch.setattr(codes, "random_code", lambda _n: next(draws))
    assert codes.station_code_taken(old) and codes.station_code_taken(world["b"].code)
    assert codes.new_station_code() == "NEWC9D"


def test_a_replaced_code_is_never_given_back_to_the_station(db, world, monkeypatch):
    a = world["a"]
    first = a.code
    second = lifecycle.replace_code(world["manager"], a, forward_days=0, reason="x", now=NOW)
    draws = iter([first, second, "HJKMNP"])
    monkeypatch.setattr(codes, "random_code", lambda _n: next(draws))
    third = lifecycle.replace_code(world["manager"], a, forward_days=0, reason="y", now=NOW)
    assert third == "HJKMNP"
    assert [x.code for x in lifecycle.retired_codes(a)] == [second, first]


def test_the_columns_hold_the_limits():
    assert Station.closed_note.type.length >= limits.STATION_CLOSED_NOTE_MAX
    assert StationCodeAlias.reason.type.length >= limits.CODE_REASON_MAX


# --- posters for a whole region ---------------------------------------------------------------


def test_region_posters_are_the_open_stations_in_scope_ordered_by_region_then_name(db, world):
    town = factories.region("41168101", "莲花街道", RegionLevel.TOWNSHIP, parent=world["county"])
    point = factories.station(name="阿里社区联络点", region=town, kind=StationKind.POINT, parent=world["a"])
    lifecycle.close_station(world["staff"], world["c"], note="撤销", now=NOW)
    got = lifecycle.region_posters(world["staff"], world["city"])
    # 411681 (光武 before 莲花, by name) before 41168101; the closed one and the other city left out
    assert got == [world["b"], world["a"], point]
    assert lifecycle.region_posters(world["staff"], world["city"], StationKind.POINT) == [point]
    assert lifecycle.region_posters(world["admin"], world["city"]) == got


def test_regions_with_stations_counts_each_region_and_those_below(db, world):
    counts = {rc.region.code: (rc.depth, rc.stations) for rc in lifecycle.regions_with_stations(world["staff"])}
    assert counts == {"411600": (0, 3), "411681": (1, 3)}
    county = {rc.region.code: rc.stations for rc in lifecycle.regions_with_stations(world["county_staff"])}
    assert county == {"411681": 3}
    everything = {rc.region.code: rc.stations for rc in lifecycle.regions_with_stations(world["admin"])}
    assert everything == {"411600": 3, "411681": 3, "411100": 1}
    assert lifecycle.regions_with_stations(world["manager"]) == []
