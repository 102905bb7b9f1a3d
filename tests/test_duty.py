"""services.duty: check in and out, presence proof, review, auto-close, and many
simultaneous check-ins of one representative (on SQLite and PostgreSQL)."""

import threading
from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from models import CheckInAttempt, Duty, Representative, Station
from models.enums import DutyMethod, DutyStatus, PresencePolicy, Role
from services import duty as duty_service
from services.clock import end_of_day, utc_at
from services.concerns import ConcernInput, submit_concern
from services.duty import Proof, check_in, check_out, close_stale, confirm, kiosk_token, kiosk_window, void
from services.duty_lines import counts
from services.errors import CheckInRefused
from services.reports import annual_report, performance_file
from services.storage import LocalStorage
from tests import factories

SECRET = "test-secret"
# A station of the demo data: 项城市防水行业人大代表联络站.
LAT, LON = 33.4436, 114.8992
NOW = datetime(2024, 5, 10, 2, 0, 0)  # naive UTC, as stored: 10:00 in China


def china(y, mo, d, h=0, mi=0) -> datetime:
    """A China wall-clock time as the naive UTC the database stores."""
    return utc_at(date(y, mo, d), time(h, mi))


def attempts(db, reason: str | None = None) -> list[CheckInAttempt]:
    query = sa.select(CheckInAttempt).order_by(CheckInAttempt.id)
    if reason:
        query = query.where(CheckInAttempt.reason == reason)
    return list(db.session.scalars(query))


def refused(fn, *args, **kw) -> CheckInRefused:
    with pytest.raises(CheckInRefused) as info:
        fn(*args, **kw)
    return info.value


def do_check_in(rep, station, nonce="nonce-0001", proof=Proof(), **kw):
    kw.setdefault("now", NOW)
    return check_in(rep, station, nonce=nonce, proof=proof, secret=SECRET, **kw)


@pytest.fixture
def site(db):
    station = factories.station(name="莲花街道联络站", latitude=LAT, longitude=LON)
    rep = factories.representative(stations=[station])
    db.session.commit()
    return station, rep


# --- check in ----------------------------------------------------------------------------


def test_check_in_opens_a_duty_without_any_attempt(db, site):
    station, rep = site
    duty = do_check_in(rep, station)
    assert duty.status == DutyStatus.OPEN
    assert duty.method == DutyMethod.QR
    assert duty.checked_in_at == NOW
    assert duty.pending_reason is None
    assert duty_service.open_duty(rep) is duty
    assert attempts(db) == []


@pytest.mark.parametrize("nonce", ["", "short", "x" * 65])
def test_bad_nonce_is_refused_and_kept(db, site, nonce):
    station, rep = site
    assert refused(do_check_in, rep, station, nonce=nonce).code == "bad_nonce"
    assert [a.reason for a in attempts(db)] == ["bad_nonce"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Duty)) == 0


def test_same_nonce_returns_the_same_duty(db, site):
    station, rep = site
    first = do_check_in(rep, station, nonce="retry-nonce-1")
    db.session.commit()
    again = do_check_in(rep, station, nonce="retry-nonce-1", now=NOW + timedelta(seconds=5))
    assert again.id == first.id
    assert again.checked_in_at == NOW
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Duty)) == 1
    assert attempts(db) == []


def test_someone_elses_nonce_is_refused(db, site):
    station, rep = site
    other = factories.representative(stations=[station], name="李红梅")
    do_check_in(rep, station, nonce="shared-nonce")
    err = refused(do_check_in, other, station, nonce="shared-nonce")
    assert err.code == "nonce_reused"
    assert [(a.reason, a.representative_id) for a in attempts(db)] == [("nonce_reused", other.id)]


def test_inactive_station_is_refused(db, site):
    station, rep = site
    station.is_active = False
    assert refused(do_check_in, rep, station).code == "station_inactive"
    assert [a.reason for a in attempts(db)] == ["station_inactive"]


def test_second_check_in_anywhere_names_the_open_duty(db, site):
    station, rep = site
    first = do_check_in(rep, station, nonce="first-nonce")
    elsewhere = factories.station(name="产业园联络站")
    err = refused(do_check_in, rep, elsewhere, nonce="second-nonce")
    assert err.code == "already_open"
    assert err.details["duty"].id == first.id
    assert err.details["duty"].station.name == "莲花街道联络站"
    # Here too: a new tap with a new nonce at the same station is refused, never a second duty.
    assert refused(do_check_in, rep, station, nonce="third-nonce").code == "already_open"
    assert [(a.reason, a.station_id) for a in attempts(db)] == [
        ("already_open", elsewhere.id),
        ("already_open", station.id),
    ]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Duty)) == 1


def test_after_check_out_a_new_duty_may_start(db, site):
    station, rep = site
    first = do_check_in(rep, station, nonce="first-nonce")
    check_out(rep, first, residents_received=2, now=NOW + timedelta(hours=2))
    second = do_check_in(rep, station, nonce="second-nonce", now=NOW + timedelta(hours=3))
    assert second.id != first.id and second.status == DutyStatus.OPEN


# --- presence: location ------------------------------------------------------------------


@pytest.fixture
def geo_station(db):
    station = factories.station(
        name="防水行业联络站", latitude=LAT, longitude=LON, presence_policy=PresencePolicy.GEO, geo_radius_m=300
    )
    rep = factories.representative(stations=[station])
    return station, rep


def test_geo_inside_the_radius_stores_the_distance(db, geo_station):
    station, rep = geo_station
    duty = do_check_in(rep, station, proof=Proof(latitude=LAT + 0.001, longitude=LON))  # ~111 m north
    assert duty.pending_reason is None
    assert 105 < duty.distance_m < 118


def test_geo_without_a_location_is_refused(db, geo_station):
    station, rep = geo_station
    assert refused(do_check_in, rep, station).code == "location_unavailable"
    assert refused(do_check_in, rep, station, proof=Proof(latitude=LAT)).code == "location_unavailable"
    assert [a.reason for a in attempts(db)] == ["location_unavailable"] * 2


def test_geo_too_far_is_refused_with_the_distance_on_the_attempt(db, geo_station):
    station, rep = geo_station
    err = refused(do_check_in, rep, station, proof=Proof(latitude=LAT + 0.02, longitude=LON))  # ~2.2 km
    assert err.code == "too_far"
    assert err.details["radius"] == 300
    assert 2200 < err.details["distance_m"] < 2250
    (attempt,) = attempts(db)
    assert attempt.reason == "too_far"
    assert attempt.distance_m == err.details["distance_m"]
    assert attempt.method == DutyMethod.QR


def test_geo_poor_accuracy_gets_the_benefit_of_the_doubt_up_to_100_m(db, geo_station):
    station, rep = geo_station
    near_edge = Proof(latitude=LAT + 0.0035, longitude=LON, accuracy_m=95)  # ~389 m, ±95 m
    assert do_check_in(rep, station, proof=near_edge).pending_reason is None
    other = factories.representative(stations=[station], name="李红梅")
    far = Proof(latitude=LAT + 0.005, longitude=LON, accuracy_m=5000)  # ~556 m: slack capped at 100 m
    assert refused(do_check_in, other, station, nonce="other-nonce", proof=far).code == "too_far"


# --- presence: the station tablet -------------------------------------------------------


@pytest.fixture
def kiosk_station(db):
    station = factories.station(name="南关街道联络站", presence_policy=PresencePolicy.KIOSK)
    rep = factories.representative(stations=[station])
    return station, rep


@pytest.mark.parametrize("age", [0, 1])
def test_kiosk_code_of_this_or_the_last_window_checks_in(db, kiosk_station, age):
    station, rep = kiosk_station
    window = kiosk_window(NOW) - age
    duty = do_check_in(rep, station, proof=Proof(kiosk_token=kiosk_token(SECRET, station, window)))
    assert duty.method == DutyMethod.KIOSK
    assert duty.kiosk_window == window
    assert duty.pending_reason is None


def test_kiosk_window_is_thirty_seconds():
    assert kiosk_window(NOW + timedelta(seconds=30)) == kiosk_window(NOW) + 1
    assert kiosk_window(datetime(1970, 1, 1, 0, 0, 59)) == 1


def test_kiosk_without_a_code_is_refused(db, kiosk_station):
    station, rep = kiosk_station
    assert refused(do_check_in, rep, station).code == "kiosk_required"
    assert [(a.reason, a.method) for a in attempts(db)] == [("kiosk_required", DutyMethod.QR)]


def _tampered(token: str) -> str:
    last = token[-1]
    return token[:-1] + ("0" if last != "0" else "1")


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda other, window: kiosk_token(SECRET, other, window), id="another-station"),
        pytest.param(lambda other, window: kiosk_token("another-secret", other, window), id="another-secret"),
        pytest.param(lambda _o, window: "garbage", id="garbage"),
        pytest.param(lambda _o, window: f"{window}-", id="no-signature"),
        pytest.param(lambda _o, window: f"-{window}", id="no-window"),
        pytest.param(lambda _o, window: f"{window}-{'0' * 20}-extra", id="extra-part"),
    ],
)
def test_kiosk_invalid_codes_are_refused(db, kiosk_station, make_token):
    station, rep = kiosk_station
    other = factories.station(name="别的联络站", presence_policy=PresencePolicy.KIOSK)
    token = make_token(other, kiosk_window(NOW))
    assert refused(do_check_in, rep, station, proof=Proof(kiosk_token=token)).code == "kiosk_invalid"
    assert [(a.reason, a.method) for a in attempts(db)] == [("kiosk_invalid", DutyMethod.KIOSK)]


def test_kiosk_tampered_signature_or_window_is_refused(db, kiosk_station):
    station, rep = kiosk_station
    window = kiosk_window(NOW)
    good = kiosk_token(SECRET, station, window)
    signature = good.split("-", 1)[1]
    for token in (_tampered(good), f"{window - 1}-{signature}", good.upper()):
        assert refused(do_check_in, rep, station, proof=Proof(kiosk_token=token)).code == "kiosk_invalid"
    assert [a.reason for a in attempts(db)] == ["kiosk_invalid"] * 3


@pytest.mark.parametrize("offset", [-2, -3, -100, 1, 2])
def test_kiosk_code_older_than_two_windows_or_from_the_future_is_expired(db, kiosk_station, offset):
    station, rep = kiosk_station
    token = kiosk_token(SECRET, station, kiosk_window(NOW) + offset)
    assert refused(do_check_in, rep, station, proof=Proof(kiosk_token=token)).code == "kiosk_expired"
    assert [a.reason for a in attempts(db)] == ["kiosk_expired"]


def test_a_valid_tablet_code_at_a_station_without_the_policy_is_kept_as_evidence(db, site):
    station, rep = site
    window = kiosk_window(NOW)
    duty = do_check_in(rep, station, proof=Proof(kiosk_token=kiosk_token(SECRET, station, window)))
    assert (duty.method, duty.kiosk_window) == (DutyMethod.KIOSK, window)


def test_an_invalid_tablet_code_at_a_station_without_the_policy_is_ignored(db, site):
    station, rep = site
    duty = do_check_in(rep, station, proof=Proof(kiosk_token="garbage"))
    assert (duty.method, duty.kiosk_window, duty.pending_reason) == (DutyMethod.QR, None, None)


# --- each tablet code checks in once ------------------------------------------------------------


def test_a_tablet_code_checks_in_once_and_the_next_one_works(db, kiosk_station):
    station, rep = kiosk_station
    colleague = factories.representative(stations=[station])
    window = kiosk_window(NOW)
    token = kiosk_token(SECRET, station, window)
    assert duty_service.current_kiosk_code(SECRET, station, window) == (token, f"{window}.0")
    duty = do_check_in(rep, station, proof=Proof(kiosk_token=token))
    assert (duty.kiosk_code, duty.kiosk_window) == (token, window)  # bound to the check-in
    check_out(rep, duty, residents_received=0, now=NOW + timedelta(seconds=5))
    # The same representative again, then a colleague it was forwarded to (even pending).
    assert refused(do_check_in, rep, station, nonce="nonce-0002", proof=Proof(kiosk_token=token)).code == "kiosk_used"
    forwarded = Proof(kiosk_token=token)
    assert refused(do_check_in, colleague, station, nonce="nonce-0003", proof=forwarded, allow_pending=True).code == (
        "kiosk_used"
    )
    assert [(a.reason, a.method) for a in attempts(db)] == [("kiosk_used", DutyMethod.KIOSK)] * 2
    # The tablet now shows the window's next code, which differs and works.
    following, code_id = duty_service.current_kiosk_code(SECRET, station, window)
    assert following != token and code_id == f"{window}.1"
    second = do_check_in(colleague, station, nonce="nonce-0004", proof=Proof(kiosk_token=following))
    assert (second.method, second.kiosk_code) == (DutyMethod.KIOSK, following)
    assert duty_service.current_kiosk_code(SECRET, station, window)[1] == f"{window}.2"
    assert duty_service.current_kiosk_code(SECRET, station, window + 1)[1] == f"{window + 1}.0"


def test_a_tablet_codes_count_is_signed(db, kiosk_station):
    station, rep = kiosk_station
    window = kiosk_window(NOW)
    head, signature = kiosk_token(SECRET, station, window, 0).split("-")
    assert refused(do_check_in, rep, station, proof=Proof(kiosk_token=f"{window}.1-{signature}")).code == (
        "kiosk_invalid"
    )


def test_a_used_tablet_code_at_a_station_without_the_policy_is_not_evidence(db, site):
    station, rep = site
    colleague = factories.representative(stations=[station])
    token = kiosk_token(SECRET, station, kiosk_window(NOW))
    assert do_check_in(rep, station, proof=Proof(kiosk_token=token)).method == DutyMethod.KIOSK
    duty = do_check_in(colleague, station, nonce="nonce-0002", proof=Proof(kiosk_token=token))
    assert (duty.method, duty.kiosk_code, duty.kiosk_window) == (DutyMethod.QR, None, None)


def test_the_database_refuses_one_tablet_code_twice_at_a_station(db, kiosk_station):
    station, rep = kiosk_station
    colleague = factories.representative(stations=[station])
    token = kiosk_token(SECRET, station, kiosk_window(NOW))
    for who, nonce in ((rep, "nonce-a"), (colleague, "nonce-b")):
        db.session.add(
            Duty(
                station=station,
                representative=who,
                checked_in_at=NOW,
                method=DutyMethod.KIOSK,
                nonce=nonce,
                kiosk_window=kiosk_window(NOW),
                kiosk_code=token,
            )
        )
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()


def test_a_race_on_one_tablet_code_is_refused_as_used(db, kiosk_station, monkeypatch):
    """Two representatives scan the same code at once: the lookup misses the other's
    check-in, the unique constraint does not."""
    station, rep = kiosk_station
    colleague = factories.representative(stations=[station])
    token = kiosk_token(SECRET, station, kiosk_window(NOW))
    do_check_in(rep, station, proof=Proof(kiosk_token=token))
    db.session.commit()
    real = duty_service.kiosk_code_used
    calls = []

    def blind_once(st, code):
        calls.append(code)
        return False if len(calls) == 1 else real(st, code)

    monkeypatch.setattr(duty_service, "kiosk_code_used", blind_once)
    assert refused(do_check_in, colleague, station, nonce="nonce-0002", proof=Proof(kiosk_token=token)).code == (
        "kiosk_used"
    )
    assert len(calls) == 2
    assert [d.representative_id for d in db.session.scalars(sa.select(Duty))] == [rep.id]


def test_simultaneous_scans_of_one_tablet_code_check_in_one_representative(app, db):
    station = factories.station(name="南关街道联络站", presence_policy=PresencePolicy.KIOSK)
    reps = [factories.representative(stations=[station]) for _ in range(8)]
    db.session.commit()
    token = kiosk_token(SECRET, station, kiosk_window())
    station_id, rep_ids = station.id, [r.id for r in reps]
    barrier = threading.Barrier(len(rep_ids))
    results: list[str] = [""] * len(rep_ids)

    def work(i: int) -> None:
        with app.test_request_context("/s/x/check-in", method="POST"):
            from extensions import db as thread_db

            barrier.wait()
            try:
                rep = thread_db.session.get(Representative, rep_ids[i])
                st = thread_db.session.get(Station, station_id)
                check_in(rep, st, nonce=f"nonce-scan-{i:04d}", proof=Proof(kiosk_token=token), secret=SECRET)
                thread_db.session.commit()
                results[i] = "ok"
            except CheckInRefused as refusal:
                thread_db.session.commit()
                results[i] = refusal.code
            except Exception as exc:  # the test says which, and fails
                thread_db.session.rollback()
                results[i] = f"error {type(exc).__name__}: {exc}"

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(rep_ids))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(results) == ["kiosk_used"] * (len(rep_ids) - 1) + ["ok"]
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Duty)) == 1


# --- what proves presence ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "distance", "evidence"),
    [
        (DutyMethod.KIOSK, None, "tablet_code"),
        (DutyMethod.KIOSK, 12.0, "tablet_code"),
        (DutyMethod.MANUAL, None, "manual"),
        (DutyMethod.QR, 12.0, "browser_position"),
        (DutyMethod.QR, None, "scan"),
    ],
)
def test_a_duty_says_what_proved_presence(method, distance, evidence):
    assert Duty(method=method, distance_m=distance).evidence == evidence


# --- pending -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "proof", "reason"),
    [
        (PresencePolicy.GEO, Proof(), "location_unavailable"),
        (PresencePolicy.GEO, Proof(latitude=LAT + 0.02, longitude=LON), "too_far"),
        (PresencePolicy.KIOSK, Proof(), "kiosk_required"),
        (PresencePolicy.KIOSK, Proof(kiosk_token="garbage"), "kiosk_invalid"),
        (PresencePolicy.KIOSK, Proof(kiosk_token="PAST"), "kiosk_expired"),
    ],
)
def test_allow_pending_records_a_duty_that_counts_only_once_confirmed(db, policy, proof, reason):
    station = factories.station(latitude=LAT, longitude=LON, presence_policy=policy)
    rep = factories.representative(stations=[station])
    manager = factories.user(Role.STATION_MANAGER, managed_stations=[station])
    if proof.kiosk_token == "PAST":
        proof = Proof(kiosk_token=kiosk_token(SECRET, station, kiosk_window(NOW) - 5))
    duty = do_check_in(rep, station, proof=proof, allow_pending=True)
    assert duty.status == DutyStatus.OPEN
    assert duty.pending_reason == reason
    assert duty.kiosk_window is None
    assert attempts(db) == []  # not refused: recorded, with its reason, for the manager
    check_out(rep, duty, residents_received=3, now=NOW + timedelta(hours=2))
    assert duty.status == DutyStatus.CLOSED
    assert not counts(duty)
    assert performance_file(rep, 2024).year.duties == 0
    assert performance_file(rep, 2024).year.pending == 1
    confirm(manager, duty, "在站，手机定位失灵")
    assert counts(duty)
    assert duty.confirmed_by_id == manager.id
    assert performance_file(rep, 2024).year.duties == 1


def test_allow_pending_does_not_cover_other_refusals(db, site):
    station, rep = site
    do_check_in(rep, station, nonce="first-nonce")
    assert refused(do_check_in, rep, station, nonce="second-nonce", allow_pending=True).code == "already_open"
    station.is_active = False
    assert refused(do_check_in, rep, station, nonce="third-nonce", allow_pending=True).code == "station_inactive"


def test_a_pending_duty_is_open_so_it_blocks_a_second_check_in(db, geo_station):
    station, rep = geo_station
    do_check_in(rep, station, allow_pending=True)
    assert refused(do_check_in, rep, station, nonce="second-nonce").code == "already_open"


# --- check out, confirm, void ----------------------------------------------------------------


def test_check_out_records_the_reception(db, site):
    station, rep = site
    duty = do_check_in(rep, station)
    check_out(rep, duty, residents_received=4, notes="  接待群众4人，反映停车难问题。 ", now=NOW + timedelta(hours=3))
    assert duty.status == DutyStatus.CLOSED
    assert duty.checked_out_at == NOW + timedelta(hours=3)
    assert (duty.residents_received, duty.notes) == (4, "接待群众4人，反映停车难问题。")
    assert counts(duty)


def test_retried_check_out_changes_nothing(db, site):
    station, rep = site
    duty = do_check_in(rep, station)
    check_out(rep, duty, residents_received=4, notes="第一次", now=NOW + timedelta(hours=3))
    db.session.commit()
    again = check_out(rep, duty, residents_received=9, notes="第二次", now=NOW + timedelta(hours=5))
    assert again is duty
    assert (duty.residents_received, duty.notes, duty.checked_out_at) == (4, "第一次", NOW + timedelta(hours=3))


def test_check_out_of_someone_elses_duty_is_refused(db, site):
    station, rep = site
    duty = do_check_in(rep, station)
    other = factories.representative(stations=[station], name="李红梅")
    assert refused(check_out, other, duty, residents_received=1).code == "not_yours"
    assert duty.status == DutyStatus.OPEN


@pytest.mark.parametrize("residents", [-1, 1001])
def test_check_out_with_a_bad_count_is_refused(db, site, residents):
    station, rep = site
    duty = do_check_in(rep, station)
    assert refused(check_out, rep, duty, residents_received=residents).code == "bad_residents"
    assert duty.status == DutyStatus.OPEN


def test_check_out_of_a_voided_or_auto_closed_duty_is_refused(db, site):
    station, rep = site
    manager = factories.user(Role.STATION_MANAGER, managed_stations=[station])
    duty = do_check_in(rep, station)
    void(manager, duty, "未在站", now=NOW + timedelta(hours=1))
    assert refused(check_out, rep, duty, residents_received=1).code == "not_open"
    second = do_check_in(rep, station, nonce="second-nonce", now=NOW + timedelta(days=2))
    second.status = DutyStatus.AUTO_CLOSED
    assert refused(check_out, rep, second, residents_received=1).code == "not_open"


def test_void_needs_a_reason_and_happens_once(db, site):
    station, rep = site
    manager = factories.user(Role.STATION_MANAGER, managed_stations=[station])
    duty = do_check_in(rep, station)
    check_out(rep, duty, residents_received=1, now=NOW + timedelta(hours=1))
    for reason in ("", "   ", None):
        assert refused(void, manager, duty, reason).code == "reason_required"
    assert duty.status == DutyStatus.CLOSED
    void(manager, duty, "代签到", now=NOW + timedelta(days=1))
    assert (duty.status, duty.review_note) == (DutyStatus.VOIDED, "代签到")
    assert not counts(duty)
    assert refused(void, manager, duty, "again").code == "voided"
    assert refused(confirm, manager, duty).code == "voided"
    # The record stays, it only stops counting.
    assert db.session.get(Duty, duty.id) is not None


def test_voiding_an_open_duty_frees_the_representative(db, site):
    station, rep = site
    manager = factories.user(Role.STATION_MANAGER, managed_stations=[station])
    duty = do_check_in(rep, station)
    void(manager, duty, "误操作", now=NOW + timedelta(minutes=5))
    assert duty.checked_out_at == NOW + timedelta(minutes=5)
    assert do_check_in(rep, station, nonce="second-nonce").id != duty.id


# --- close-stale -------------------------------------------------------------------------------


def test_close_stale_closes_at_the_stations_closing_time_in_china(db):
    station = factories.station(opens_at=time(9, 0), closes_at=time(17, 30))
    reps = [factories.representative(stations=[station], name=f"代表{i}") for i in range(4)]
    # Yesterday 09:00 China, never checked out.
    yesterday = do_check_in(reps[0], station, nonce="nonce-yesterday", now=china(2024, 5, 9, 9, 0))
    # Today 07:00 China is still yesterday in UTC: its closing time is today's 17:30, not yesterday's.
    early = do_check_in(reps[1], station, nonce="nonce-early", now=china(2024, 5, 10, 7, 0))
    today = do_check_in(reps[2], station, nonce="nonce-today", now=china(2024, 5, 10, 9, 30))
    # Checked in after closing yesterday: given until the end of that day.
    late = do_check_in(reps[3], station, nonce="nonce-late", now=china(2024, 5, 9, 19, 0))
    db.session.commit()

    closed = close_stale(now=china(2024, 5, 10, 12, 0))
    assert {d.id for d in closed} == {yesterday.id, late.id}
    assert yesterday.status == DutyStatus.AUTO_CLOSED
    assert yesterday.checked_out_at == china(2024, 5, 9, 17, 30)
    assert late.checked_out_at == end_of_day(date(2024, 5, 9)) == china(2024, 5, 9, 23, 59) + timedelta(seconds=59)
    assert early.status == today.status == DutyStatus.OPEN
    assert not counts(yesterday)
    db.session.commit()

    closed = close_stale(now=china(2024, 5, 10, 18, 0))
    assert {d.id for d in closed} == {early.id, today.id}
    assert today.checked_out_at == early.checked_out_at == china(2024, 5, 10, 17, 30)
    assert close_stale(now=china(2024, 5, 10, 19, 0)) == []


def test_close_stale_uses_twelve_hours_without_a_closing_time(db, site):
    station, rep = site
    assert station.closes_at is None
    other = factories.representative(stations=[station], name="李红梅")
    old = do_check_in(rep, station, nonce="nonce-old", now=NOW - timedelta(hours=13))
    recent = do_check_in(other, station, nonce="nonce-recent", now=NOW - timedelta(hours=11))
    closed = close_stale(now=NOW)
    assert [d.id for d in closed] == [old.id]
    assert old.status == DutyStatus.AUTO_CLOSED
    assert old.checked_out_at == NOW - timedelta(hours=1)
    assert recent.status == DutyStatus.OPEN


def test_close_stale_leaves_closed_and_voided_duties_alone(db, site):
    station, rep = site
    duty = do_check_in(rep, station, now=NOW - timedelta(days=3))
    check_out(rep, duty, residents_received=1, now=NOW - timedelta(days=3) + timedelta(hours=2))
    assert close_stale(now=NOW) == []
    assert duty.status == DutyStatus.CLOSED


# --- concerns filed while on duty -----------------------------------------------------------


def test_a_concern_filed_while_on_duty_is_linked_and_counted(db, site, tmp_path):
    station, rep = site
    category = factories.category()
    storage = LocalStorage(str(tmp_path))
    data = ConcernInput(category_id=category.id, content="小区东门的路灯坏了两个月，晚上出行很不方便。")

    before = submit_concern(station, data, [], storage=storage, now=NOW - timedelta(hours=1))
    duty = do_check_in(rep, station, now=NOW)
    during = submit_concern(station, data, [], storage=storage, now=NOW + timedelta(minutes=10))
    elsewhere = submit_concern(factories.station(name="别处"), data, [], storage=storage)
    assert before.duty_id is None
    assert during.duty_id == duty.id
    assert elsewhere.duty_id is None
    assert duty_service.linked_concerns(duty) == 1

    check_out(rep, duty, residents_received=2, now=NOW + timedelta(hours=2))
    file = performance_file(rep, 2024)
    assert file.year.concerns == 1
    assert file.year.residents == 2
    assert file.lines[0].concerns == [during.tracking_code]
    report = annual_report(rep, 2024)
    assert report.by_station == [("莲花街道联络站", report.total)]
    assert (report.total.duties, report.total.concerns, report.total.minutes) == (1, 1, 120)


def test_a_concern_goes_to_the_earliest_open_duty_at_the_station(db, site):
    station, rep = site
    other = factories.representative(stations=[station], name="李红梅")
    later = do_check_in(other, station, nonce="nonce-later", now=NOW + timedelta(minutes=30))
    first = do_check_in(rep, station, nonce="nonce-first", now=NOW)
    assert later.id < first.id
    assert duty_service.duty_for_new_concern(station).id == first.id


# --- the database has the last word --------------------------------------------------------


def test_the_partial_unique_index_allows_one_open_duty_per_representative(db, site):
    station, rep = site
    do_check_in(rep, station, nonce="nonce-one")
    db.session.commit()
    db.session.add(
        Duty(station=station, representative=rep, checked_in_at=NOW, method=DutyMethod.QR, nonce="nonce-two")
    )
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_a_race_the_lock_missed_is_turned_into_already_open(db, site, monkeypatch):
    """As if another request had committed its duty between our look and our insert: the
    index refuses the second, and the service answers already_open, not an error."""
    station, rep = site
    first = do_check_in(rep, station, nonce="nonce-first")
    db.session.commit()
    first_id = first.id
    real_open_duty = duty_service.open_duty
    calls = []

    def blind_once(r):
        calls.append(r)
        return None if len(calls) == 1 else real_open_duty(r)

    monkeypatch.setattr(duty_service, "open_duty", blind_once)
    err = refused(do_check_in, rep, station, nonce="nonce-second")
    assert err.code == "already_open"
    assert err.details["duty"].id == first_id
    db.session.commit()
    assert [a.reason for a in attempts(db)] == ["already_open"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Duty)) == 1


def test_a_race_on_the_same_nonce_returns_the_duty_it_made(db, site, monkeypatch):
    station, rep = site
    first = do_check_in(rep, station, nonce="nonce-same")
    db.session.commit()
    real = duty_service.duty_by_nonce
    calls = []

    def blind_once(nonce):
        calls.append(nonce)
        return None if len(calls) == 1 else real(nonce)

    monkeypatch.setattr(duty_service, "duty_by_nonce", blind_once)
    monkeypatch.setattr(duty_service, "open_duty", lambda r: None)
    assert do_check_in(rep, station, nonce="nonce-same").id == first.id


# --- many check-ins at once ----------------------------------------------------------------------

THREADS = 24


def _check_in_at_once(app, rep_id: int, station_id: int, nonces: list[str]) -> list[tuple]:
    """Each thread with its own app context and session, inside a POST request context so
    that SQLite takes its write lock up front (BEGIN IMMEDIATE) as in production; all
    released together by a barrier."""
    barrier = threading.Barrier(len(nonces))
    results: list[tuple] = [()] * len(nonces)

    def work(i: int, nonce: str) -> None:
        with app.test_request_context("/s/x/check-in", method="POST"):
            from extensions import db

            barrier.wait()
            try:
                rep = db.session.get(Representative, rep_id)
                station = db.session.get(Station, station_id)
                duty = check_in(rep, station, nonce=nonce, proof=Proof(), secret=SECRET)
                db.session.commit()
                results[i] = ("ok", duty.id)
            except CheckInRefused as refusal:
                db.session.commit()
                results[i] = (refusal.code, refusal.details.get("duty").id if refusal.details.get("duty") else None)
            except Exception as exc:  # the test says which, and fails
                db.session.rollback()
                results[i] = ("error", f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=work, args=(i, n)) for i, n in enumerate(nonces)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a check-in thread hung"
    return results


@pytest.fixture
def committed_site(db):
    station = factories.station(name="莲花街道联络站")
    rep = factories.representative(stations=[station])
    db.session.commit()
    return station.id, rep.id


def _open_duties(db, rep_id: int) -> list[Duty]:
    db.session.rollback()  # a fresh snapshot
    return list(
        db.session.scalars(sa.select(Duty).where(Duty.representative_id == rep_id, Duty.status == DutyStatus.OPEN))
    )


def test_simultaneous_check_ins_with_different_nonces_make_one_duty(app, db, committed_site):
    station_id, rep_id = committed_site
    results = _check_in_at_once(app, rep_id, station_id, [f"nonce-{i:04d}-different" for i in range(THREADS)])
    (open_duty,) = _open_duties(db, rep_id)
    assert [r for r in results if r[0] == "ok"] == [("ok", open_duty.id)]
    assert sorted(results) == sorted([("ok", open_duty.id)] + [("already_open", open_duty.id)] * (THREADS - 1))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Duty)) == 1
    assert len(attempts(db, "already_open")) == THREADS - 1


def test_simultaneous_check_ins_with_the_same_nonce_return_one_duty(app, db, committed_site):
    station_id, rep_id = committed_site
    results = _check_in_at_once(app, rep_id, station_id, ["nonce-double-tap"] * THREADS)
    (open_duty,) = _open_duties(db, rep_id)
    assert results == [("ok", open_duty.id)] * THREADS
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Duty)) == 1
    assert attempts(db) == []
