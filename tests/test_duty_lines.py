"""One duty counter: the representative's performance file (履职档案) and the manager's
attendance review count the same duties the same way.

Each case walks one representative's duties through the real actions (check in with or
without the presence proof, confirm, check out, close-stale, void), then reads both.
"""

from datetime import datetime, time, timedelta

import pytest

from models.enums import PresencePolicy, Role
from services.attendance import Month, month_attendance
from services.duty import Proof, check_in, check_out, close_stale, confirm, void
from services.reports import performance_file
from tests import factories

NOW = datetime(2024, 5, 10, 2, 0)  # naive UTC, as stored: 10:00 on 10 May in China
LAT, LON = 33.4436, 114.8992


def _in(rep, station, nonce, now, **proof):
    return check_in(rep, station, nonce=nonce, proof=Proof(**proof), secret="s", allow_pending=True, now=now)


def _out(rep, duty, now, residents=3):
    return check_out(rep, duty, residents_received=residents, now=now + timedelta(hours=2))


TOO_FAR = {"latitude": LAT + 0.02, "longitude": LON}


def normal_checkout(rep, st, manager, now=NOW):
    _out(rep, _in(rep, st["none"], f"nonce-normal-{now:%d}", now), now)


def pending_confirmed_while_open(rep, st, manager, now=NOW):
    duty = _in(rep, st["geo"], "nonce-open-confirmed", now)  # no location: pending
    confirm(manager, duty, "当面确认", now=now + timedelta(minutes=30))


def pending_confirmed_while_open_then_out(rep, st, manager, now=NOW):
    duty = _in(rep, st["geo"], "nonce-confirmed-out", now)
    confirm(manager, duty, "当面确认", now=now + timedelta(minutes=30))
    _out(rep, duty, now)


def pending_out_then_confirmed(rep, st, manager, now=NOW):
    duty = _out(rep, _in(rep, st["geo"], "nonce-out-confirmed", now, **TOO_FAR), now)
    confirm(manager, duty, "位置信号差", now=now + timedelta(hours=3))


def geo_pending_out(rep, st, manager, now=NOW):
    _out(rep, _in(rep, st["geo"], "nonce-geo-pending", now, **TOO_FAR), now)


def kiosk_pending_open(rep, st, manager, now=NOW):
    _in(rep, st["kiosk"], "nonce-kiosk-pending", now)  # no tablet code: pending


def kiosk_pending_out(rep, st, manager, now=NOW):
    _out(rep, _in(rep, st["kiosk"], "nonce-kiosk-out", now, kiosk_token="garbage"), now)


def auto_closed(rep, st, manager, now=NOW):
    _in(rep, st["none"], "nonce-auto", now)
    close_stale(now=now + timedelta(days=1))


def pending_auto_closed(rep, st, manager, now=NOW):
    _in(rep, st["geo"], "nonce-pending-auto", now)
    close_stale(now=now + timedelta(days=1))


def voided(rep, st, manager, now=NOW):
    duty = _out(rep, _in(rep, st["none"], "nonce-voided", now), now)
    void(manager, duty, "代签", now=now + timedelta(hours=3))


def pending_voided(rep, st, manager, now=NOW):
    duty = _in(rep, st["kiosk"], "nonce-pending-voided", now)
    void(manager, duty, "未到站", now=now + timedelta(hours=1))


def open_with_proof(rep, st, manager, now=NOW):
    _in(rep, st["none"], "nonce-open", now)


def a_month_of_everything(rep, st, manager, now=NOW):
    """Several duties of one representative, a day apart, the last one still open."""
    steps = (normal_checkout, pending_out_then_confirmed, geo_pending_out, voided, pending_auto_closed)
    for days, step in enumerate((*steps, pending_confirmed_while_open)):
        step(rep, st, manager, now + timedelta(days=days))


# case → (counted duties, minutes, residents, pending, auto-closed)
CASES = {
    normal_checkout: (1, 120, 3, 0, 0),
    pending_confirmed_while_open: (0, 0, 0, 0, 0),  # confirmed, but open: no minutes yet
    pending_confirmed_while_open_then_out: (1, 120, 3, 0, 0),
    pending_out_then_confirmed: (1, 120, 3, 0, 0),
    geo_pending_out: (0, 0, 0, 1, 0),
    kiosk_pending_open: (0, 0, 0, 1, 0),
    kiosk_pending_out: (0, 0, 0, 1, 0),
    auto_closed: (0, 0, 0, 0, 1),
    pending_auto_closed: (0, 0, 0, 0, 1),  # closed automatically: nothing left to confirm
    voided: (0, 0, 0, 0, 0),
    pending_voided: (0, 0, 0, 0, 0),
    open_with_proof: (0, 0, 0, 0, 0),
    a_month_of_everything: (2, 240, 6, 1, 1),
}


@pytest.mark.parametrize("case", CASES, ids=[c.__name__ for c in CASES])
def test_the_performance_file_and_the_attendance_review_agree(db, case):
    stations = {
        "none": factories.station(name="莲花街道联络站", closes_at=time(17, 30)),
        "geo": factories.station(name="东城联络站", latitude=LAT, longitude=LON, presence_policy=PresencePolicy.GEO),
        "kiosk": factories.station(name="西城联络站", presence_policy=PresencePolicy.KIOSK),
    }
    rep = factories.representative(stations=list(stations.values()))
    manager = factories.user(Role.STATION_MANAGER, managed_stations=list(stations.values()))
    case(rep, stations, manager)
    db.session.flush()

    year = performance_file(rep, 2024).year
    in_file = (year.duties, year.minutes, year.residents, year.pending, year.auto_closed)
    in_review = [0, 0, 0, 0, 0]
    for station in stations.values():
        att = month_attendance(station, Month(2024, 5), now=NOW + timedelta(days=8))
        for row in att.rows:
            if row.rep.id == rep.id:
                f = row.figures  # no roster: every counted duty is "attended outside the roster"
                for i, value in enumerate((f.attended, f.minutes, f.residents, f.pending, f.auto_closed)):
                    in_review[i] += value
    assert in_file == tuple(in_review) == CASES[case]
