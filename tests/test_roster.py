"""The roster (排班): adding slots, repeat weekly, refusals, removal; the stations a
member of staff looks after."""

from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from models import AuditLog, DutySlot
from models.enums import RegionLevel, Role
from services import roster
from services.clock import local_today
from services.roster import RosterRefused
from services.stations import roster_days
from tests import factories


@pytest.fixture
def setup(db):
    st = factories.station(name="项城市防水行业人大代表联络站")
    rep = factories.representative(stations=[st], name="王建国")
    manager = factories.user(Role.STATION_MANAGER, display_name="孟凡平", managed_stations=[st])
    return st, rep, manager


def future(days: int = 2) -> date:
    return local_today() + timedelta(days=days)


def slots_of(rep) -> list[DutySlot]:
    from extensions import db

    return list(db.session.scalars(sa.select(DutySlot).where(DutySlot.representative_id == rep.id)))


def audit(action: str) -> list[AuditLog]:
    from extensions import db

    return list(db.session.scalars(sa.select(AuditLog).where(AuditLog.action == action)))


# --- adding -----------------------------------------------------------------------------


def test_a_single_slot_is_added_logged_and_shown_on_the_station_page(setup):
    st, rep, manager = setup
    day = future(1)
    (slot,) = roster.add_slots(manager, st, rep, day, time(9), time(12))
    assert (slot.day, slot.starts_at, slot.ends_at, slot.series) == (day, time(9), time(12), None)
    (entry,) = audit("roster.added")
    assert entry.actor_id == manager.id and entry.target_id == slot.id
    assert entry.data["days"] == [day.isoformat()] and entry.data["representative_id"] == rep.id
    # The public page's roster (today and the next 7 days) reads the same rows.
    assert [(d, [s.id for s in slots]) for d, slots in roster_days(st)] == [(day, [slot.id])]


def test_repeat_weekly_makes_n_plus_one_slots_in_one_series(setup):
    st, rep, manager = setup
    day = future(3)
    slots = roster.add_slots(manager, st, rep, day, time(14), time(17, 30), repeat_weeks=4)
    assert len(slots) == 5
    assert [s.day for s in slots] == [day + timedelta(weeks=w) for w in range(5)]
    assert len({s.series for s in slots}) == 1 and slots[0].series
    assert len(slots_of(rep)) == 5
    assert len(audit("roster.added")) == 1  # one action, one trace


def test_twelve_weeks_is_the_maximum(setup):
    st, rep, manager = setup
    assert len(roster.add_slots(manager, st, rep, future(), time(9), time(10), repeat_weeks=12)) == 13


def test_adjacent_slots_do_not_overlap(setup):
    st, rep, manager = setup
    roster.add_slots(manager, st, rep, future(), time(9), time(12))
    roster.add_slots(manager, st, rep, future(), time(12), time(15))
    assert len(slots_of(rep)) == 2


def test_later_today_is_not_in_the_past(setup):
    st, rep, manager = setup
    now = datetime(2030, 5, 6, 1, 0)  # 09:00 in China
    (slot,) = roster.add_slots(manager, st, rep, date(2030, 5, 6), time(8), time(10), now=now)
    assert slot.day == date(2030, 5, 6)


@pytest.mark.parametrize(
    ("code", "kwargs"),
    [
        ("end_before_start", {"starts_at": time(12), "ends_at": time(9)}),
        ("end_before_start", {"starts_at": time(9), "ends_at": time(9)}),
        ("in_the_past", {"day_offset": -1}),
        ("too_many_weeks", {"repeat_weeks": 13}),
        ("too_many_weeks", {"repeat_weeks": -1}),
    ],
)
def test_refusals(setup, code, kwargs):
    st, rep, manager = setup
    day = local_today() + timedelta(days=kwargs.pop("day_offset", 2))
    args = {"starts_at": time(9), "ends_at": time(12), **kwargs}
    with pytest.raises(RosterRefused) as refused:
        roster.add_slots(manager, st, rep, day, args.pop("starts_at"), args.pop("ends_at"), **args)
    assert refused.value.code == code
    assert slots_of(rep) == [] and audit("roster.added") == []


def test_a_slot_that_ended_earlier_today_is_in_the_past(setup):
    st, rep, manager = setup
    now = datetime(2030, 5, 6, 6, 0)  # 14:00 in China
    with pytest.raises(RosterRefused) as refused:
        roster.add_slots(manager, st, rep, date(2030, 5, 6), time(9), time(12), now=now)
    assert refused.value.code == "in_the_past"


def test_a_representative_of_another_station_is_not_a_member(setup):
    st, _rep, manager = setup
    outsider = factories.representative(stations=[factories.station(name="别的站")], name="李四")
    with pytest.raises(RosterRefused) as refused:
        roster.add_slots(manager, st, outsider, future(), time(9), time(12))
    assert refused.value.code == "not_a_member"


def test_overlap_at_any_station_is_refused(setup):
    st, rep, manager = setup
    other = factories.station(name="项城市花园街道联络站")
    rep.stations.append(other)
    roster.add_slots(manager, other, rep, future(), time(10), time(11))
    with pytest.raises(RosterRefused) as refused:
        roster.add_slots(manager, st, rep, future(), time(9), time(12))
    assert refused.value.code == "overlap"
    assert refused.value.details["station"] == "项城市花园街道联络站"
    assert refused.value.details["day"] == future()


def test_overlap_in_a_later_week_refuses_the_whole_series(setup):
    st, rep, manager = setup
    roster.add_slots(manager, st, rep, future() + timedelta(weeks=3), time(11), time(13))
    with pytest.raises(RosterRefused) as refused:
        roster.add_slots(manager, st, rep, future(), time(9), time(12), repeat_weeks=5)
    assert refused.value.code == "overlap"
    assert len(slots_of(rep)) == 1  # all or nothing


def test_another_representative_may_share_the_time(setup):
    st, rep, manager = setup
    colleague = factories.representative(stations=[st], name="张秀英")
    roster.add_slots(manager, st, rep, future(), time(9), time(12))
    roster.add_slots(manager, st, colleague, future(), time(9), time(12))
    assert len(slots_of(colleague)) == 1


# --- removing ---------------------------------------------------------------------------


def test_remove_one_slot_of_a_series(setup):
    st, rep, manager = setup
    slots = roster.add_slots(manager, st, rep, future(), time(9), time(12), repeat_weeks=2)
    assert roster.remove_slots(manager, st, slots[1]) == 1
    assert sorted(s.day for s in slots_of(rep)) == [slots[0].day, slots[2].day]
    (entry,) = audit("roster.removed")
    assert entry.data["days"] == [slots[1].day.isoformat()] and entry.actor_id == manager.id


def test_remove_the_whole_series_keeps_other_slots(setup):
    st, rep, manager = setup
    slots = roster.add_slots(manager, st, rep, future(), time(9), time(12), repeat_weeks=3)
    single = roster.add_slots(manager, st, rep, future(1), time(9), time(12))[0]
    assert roster.remove_slots(manager, st, slots[2], whole_series=True) == 4
    assert [s.id for s in slots_of(rep)] == [single.id]
    (entry,) = audit("roster.removed")
    assert entry.data["series"] == slots[0].series and len(entry.data["days"]) == 4


def test_removing_a_series_leaves_the_slots_that_have_ended(setup):
    st, rep, manager = setup
    start = date(2030, 5, 6)
    slots = roster.add_slots(manager, st, rep, start, time(9), time(12), repeat_weeks=3, now=datetime(2030, 5, 1))
    later = datetime(2030, 5, 14, 6, 0)  # the second week's slot ended this morning
    assert roster.remove_slots(manager, st, slots[3], whole_series=True, now=later) == 2
    assert sorted(s.day for s in slots_of(rep)) == [start, start + timedelta(weeks=1)]
    with pytest.raises(RosterRefused) as refused:
        roster.remove_slots(manager, st, slots[0], now=later)
    assert refused.value.code == "in_the_past"


def test_a_slot_of_another_station_is_not_removed_here(setup):
    st, rep, manager = setup
    other = factories.station(name="别的站")
    rep.stations.append(other)
    (slot,) = roster.add_slots(manager, other, rep, future(), time(9), time(12))
    with pytest.raises(RosterRefused) as refused:
        roster.remove_slots(manager, st, slot)
    assert refused.value.code == "not_this_station"


# --- who looks after which station ------------------------------------------------------------


@pytest.fixture
def regions(db):
    city = factories.region("411600", "周口市", RegionLevel.CITY)
    county = factories.region("411681", "项城市", RegionLevel.COUNTY, parent=city)
    town = factories.region("411681001", "花园街道", RegionLevel.TOWNSHIP, parent=county)
    other = factories.region("411100", "漯河市", RegionLevel.CITY)
    return {
        "city": city,
        "county": county,
        "town": town,
        "other": other,
        "st_county": factories.station(name="B 项城市站", region=county),
        "st_town": factories.station(name="A 花园街道站", region=town),
        "st_other": factories.station(name="C 漯河站", region=other),
    }


def names(user, q: str = "") -> list[str]:
    return [s.name for s in roster.overseen_stations(user, q).stations]


def test_congress_staff_see_their_region_and_below_ordered_by_name(regions):
    staff = factories.user(Role.CONGRESS_STAFF, region=regions["city"])
    assert names(staff) == ["A 花园街道站", "B 项城市站"]
    county_staff = factories.user(Role.CONGRESS_STAFF, region=regions["county"])
    assert set(names(county_staff)) == {"B 项城市站", "A 花园街道站"}
    town_staff = factories.user(Role.CONGRESS_STAFF, region=regions["town"])
    assert names(town_staff) == ["A 花园街道站"]
    other_staff = factories.user(Role.CONGRESS_STAFF, region=regions["other"])
    assert names(other_staff) == ["C 漯河站"]


def test_managers_see_their_own_stations_admins_all_others_none(regions):
    manager = factories.user(Role.STATION_MANAGER, managed_stations=[regions["st_town"], regions["st_other"]])
    assert set(names(manager)) == {"A 花园街道站", "C 漯河站"}
    admin = factories.user(Role.ADMIN)
    assert len(names(admin)) == 3
    rep = factories.representative(stations=[regions["st_town"]])
    assert names(rep.user) == []


def test_the_station_list_agrees_with_the_permission_module(regions):
    from services.permissions import oversees_station

    for user in (
        factories.user(Role.CONGRESS_STAFF, region=regions["county"]),
        factories.user(Role.STATION_MANAGER, managed_stations=[regions["st_county"]]),
    ):
        listed = {s.id for s in roster.overseen_stations(user).stations}
        for key in ("st_county", "st_town", "st_other"):
            assert (regions[key].id in listed) == oversees_station(user, regions[key])


def test_name_filter_and_limit(regions):
    admin = factories.user(Role.ADMIN)
    assert names(admin, "花园") == ["A 花园街道站"]
    assert names(admin, "a 花园") == ["A 花园街道站"]  # case does not matter
    assert names(admin, "%") == []  # wildcards are literal
    listing = roster.overseen_stations(admin, limit=2)
    assert len(listing.stations) == 2 and listing.more
    assert not roster.overseen_stations(admin, limit=3).more
