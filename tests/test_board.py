"""The station's board (services.board): the reception days' rule and its dates (month ends
included), activities with photos (the limit of 6, thumbnails, EXIF gone), publishing and
unpublishing, the rules of work, a region's notices, and the audit entries of each."""

import io
from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from PIL import Image

from extensions import db as _db
from models import Activity, AuditLog, ReceptionDay
from models.enums import ReceptionKind, RegionLevel, Repeat, Role
from services import board
from services.board import BoardRefused, occurrence_days
from services.errors import PhotoRefused
from services.storage import LocalStorage
from tests import factories

LIMITS = {"max_bytes": 8 * 1024 * 1024, "max_pixels": 50_000_000, "max_side": 2048, "max_decode_bytes": None}


def actions() -> list[str]:
    return list(_db.session.scalars(sa.select(AuditLog.action).order_by(AuditLog.id)))


@pytest.fixture
def store(tmp_path):
    return LocalStorage(str(tmp_path / "uploads"))


@pytest.fixture
def cast(db):
    city = factories.region("411600", "周口市", RegionLevel.CITY)
    county = factories.region("411681", "项城市", RegionLevel.COUNTY, parent=city)
    other = factories.region("411100", "漯河市", RegionLevel.CITY)
    a = factories.station(name="莲花街道联络站", region=county)
    far = factories.station(name="漯河食品产业联络站", region=other)
    rep = factories.representative(stations=[a], name="王建国")
    rep_far = factories.representative(stations=[far], name="孙志强")
    manager = factories.user(Role.STATION_MANAGER, managed_stations=[a])
    staff = factories.user(Role.CONGRESS_STAFF, region=city)
    return {
        "city": city,
        "county": county,
        "other": other,
        "a": a,
        "far": far,
        "rep": rep,
        "rep_far": rep_far,
        "manager": manager,
        "staff": staff,
    }


# --- the rule's dates ---------------------------------------------------------------------------


def test_monthly_on_the_15th_gives_one_date_a_month():
    days = occurrence_days(Repeat.MONTHLY, date(2026, 1, 1), date(2026, 1, 1), date(2026, 4, 30), day_of_month=15)
    assert days == [date(2026, 1, 15), date(2026, 2, 15), date(2026, 3, 15), date(2026, 4, 15)]


def test_monthly_on_the_31st_falls_on_the_last_day_of_a_shorter_month():
    """The 31st in February is 28 February (29 in a leap year), in April the 30th: a monthly
    reception day happens every month, never skipped, never an error."""
    days = occurrence_days(Repeat.MONTHLY, date(2027, 1, 1), date(2027, 1, 1), date(2027, 5, 31), day_of_month=31)
    assert days == [date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30), date(2027, 5, 31)]
    leap = occurrence_days(Repeat.MONTHLY, date(2028, 1, 1), date(2028, 2, 1), date(2028, 2, 29), day_of_month=30)
    assert leap == [date(2028, 2, 29)]


def test_monthly_across_the_year_end_and_within_its_own_span():
    days = occurrence_days(
        Repeat.MONTHLY,
        date(2026, 11, 20),  # starts after November's 15th
        date(2026, 10, 1),
        date(2027, 3, 1),
        day_of_month=15,
        ends_on=date(2027, 2, 14),  # ends before February's
    )
    assert days == [date(2026, 12, 15), date(2027, 1, 15)]


def test_weekly_on_a_weekday():
    # 2026-12-01 is a Tuesday; weekday 2 is Wednesday.
    days = occurrence_days(Repeat.WEEKLY, date(2026, 12, 1), date(2026, 12, 1), date(2026, 12, 31), weekday=2)
    assert days == [date(2026, 12, 2), date(2026, 12, 9), date(2026, 12, 16), date(2026, 12, 23), date(2026, 12, 30)]
    assert all(d.weekday() == 2 for d in days)


def test_once_is_its_date_when_in_range():
    assert occurrence_days(Repeat.ONCE, date(2026, 12, 5), date(2026, 12, 1), date(2026, 12, 31)) == [date(2026, 12, 5)]
    assert occurrence_days(Repeat.ONCE, date(2026, 12, 5), date(2026, 12, 6), date(2026, 12, 31)) == []


def reception(cast, **kw) -> ReceptionDay:
    data = {
        "kind": ReceptionKind.VOTER_RECEPTION,
        "repeat": Repeat.MONTHLY,
        "starts_on": date(2026, 1, 1),
        "starts_at": time(9),
        "ends_at": time(11, 30),
        "representatives": [cast["rep"]],
        "day_of_month": 15,
    }
    data.update(kw)
    return board.add_reception_day(cast["manager"], cast["a"], board.ReceptionInput(**data), today=date(2026, 1, 1))


def test_occurrences_carry_times_and_an_address(cast):
    rd = reception(cast)
    found = board.occurrences(rd, date(2026, 3, 1), date(2026, 3, 31))
    assert [(o.day, o.starts_at, o.ends_at) for o in found] == [(date(2026, 3, 15), time(9), time(11, 30))]
    assert found[0].key == f"{rd.id}:2026-03-15"
    assert board.occurrence_by_key(cast["a"], found[0].key) == found[0]
    assert board.occurrence_by_key(cast["a"], f"{rd.id}:2026-03-16") is None  # not one of its days
    assert board.occurrence_by_key(cast["far"], found[0].key) is None  # another station's
    assert board.occurrence_by_key(cast["a"], "nonsense") is None
    assert board.occurrence_on(rd, date(2026, 4, 15)) is not None


def test_a_cancelled_reception_day_has_no_dates_and_an_ended_one_stops(cast):
    rd = reception(cast)
    board.end_reception_day(cast["manager"], rd, date(2026, 4, 30))
    assert [o.day for o in board.occurrences(rd, date(2026, 1, 1), date(2026, 12, 31))] == [
        date(2026, 1, 15),
        date(2026, 2, 15),
        date(2026, 3, 15),
        date(2026, 4, 15),
    ]
    assert board.cancel_reception_day(cast["manager"], rd) is True
    assert board.cancel_reception_day(cast["manager"], rd) is False  # a double tap: nothing more
    assert board.occurrences(rd, date(2026, 1, 1), date(2026, 12, 31)) == []
    with pytest.raises(BoardRefused) as refused:
        board.end_reception_day(cast["manager"], rd, date(2026, 5, 1))
    assert refused.value.code == "cancelled"
    assert actions() == ["board.reception.add", "board.reception.end", "board.reception.cancel"]


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"ends_at": time(8)}, "ends_before_start"),
        ({"repeat": Repeat.ONCE, "day_of_month": None, "starts_on": date(2025, 12, 31)}, "in_past"),
        ({"repeat": Repeat.WEEKLY, "day_of_month": None}, "weekday_missing"),
        ({"day_of_month": 32}, "day_of_month_missing"),
        ({"ends_on": date(2025, 6, 1)}, "ends_on_before_start"),
        ({"representatives": []}, "representatives_missing"),
        ({"note": "长" * 201}, "note_too_long"),
    ],
)
def test_a_reception_day_refuses_an_incomplete_rule(cast, changes, code):
    with pytest.raises(BoardRefused) as refused:
        reception(cast, **changes)
    assert refused.value.code == code


def test_only_the_stations_representatives_receive(cast):
    with pytest.raises(BoardRefused) as refused:
        reception(cast, representatives=[cast["rep_far"]])
    assert refused.value.code == "not_station_representative"


def test_the_database_refuses_a_rule_without_its_day(cast):
    _db.session.add(
        ReceptionDay(
            station_id=cast["a"].id,
            kind=ReceptionKind.LECTURE,
            repeat=Repeat.MONTHLY,
            starts_on=date(2026, 1, 1),
            starts_at=time(9),
            ends_at=time(10),
        )
    )
    with pytest.raises(sa.exc.IntegrityError):
        _db.session.flush()
    _db.session.rollback()


def test_upcoming_leaves_out_what_has_ended_today(cast, monkeypatch):
    rd = reception(cast, repeat=Repeat.WEEKLY, day_of_month=None, weekday=2, starts_at=time(9), ends_at=time(10))
    # Wednesday 2026-12-02, 10:30 in China (02:30 UTC): today's reception is over.
    now = datetime(2026, 12, 2, 2, 30)
    found = board.upcoming(cast["a"], now=now, limit=2)
    assert [o.day for o in found] == [date(2026, 12, 9), date(2026, 12, 16)]
    assert all(o.reception_day is rd for o in found)
    earlier = datetime(2026, 12, 2, 0, 30)  # 08:30 in China: still to come
    assert board.upcoming(cast["a"], now=earlier, limit=1)[0].day == date(2026, 12, 2)


# --- activities and photos --------------------------------------------------------------------------


def jpeg_with_exif() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    return factories.image_bytes(size=(1200, 900), exif=exif.tobytes())


def test_an_activity_keeps_its_photos_reencoded_with_small_thumbnails(cast, store):
    photo = board.read_photo(jpeg_with_exif(), **LIMITS)
    activity = board.create_activity(
        cast["manager"],
        cast["a"],
        board.ActivityInput("代表进站接待", date(2026, 11, 20), "接待群众12人。"),
        [photo],
        storage=store,
    )
    stored = activity.photos[0]
    full = Image.open(io.BytesIO(store.read(stored.storage_key)))
    thumb = Image.open(io.BytesIO(store.read(stored.thumb_key)))
    assert not full.getexif() and not thumb.getexif()
    assert max(thumb.size) <= 240 < max(full.size)
    assert (stored.thumb_width, stored.thumb_height) == thumb.size
    assert activity.published_at is None
    assert actions() == ["board.activity.create"]


def test_a_bad_file_is_refused_as_a_photo(cast):
    with pytest.raises(PhotoRefused) as refused:
        board.read_photo(b"<script>alert(1)</script>", **LIMITS)
    assert refused.value.code == "not_image"


def test_an_activity_has_at_most_six_photos(cast, store):
    photo = board.read_photo(factories.image_bytes(), **LIMITS)
    data = board.ActivityInput("六张照片", date(2026, 11, 20), "")
    with pytest.raises(BoardRefused) as refused:
        board.create_activity(cast["manager"], cast["a"], data, [photo] * 7, storage=store)
    assert refused.value.code == "too_many_photos"
    activity = board.create_activity(cast["manager"], cast["a"], data, [photo] * 6, storage=store)
    assert len(activity.photos) == 6
    with pytest.raises(BoardRefused):
        board.edit_activity(cast["manager"], activity, data, [photo], storage=store)
    # Removing one makes room for one.
    gone = board.edit_activity(cast["manager"], activity, data, [photo], remove=[activity.photos[0].id], storage=store)
    assert len(gone) == 2 and len(activity.photos) == 6


def test_publish_and_unpublish_are_recorded_once_each(cast, store):
    data = board.ActivityInput("立法意见征询会", date(2026, 11, 20), "")
    activity = board.create_activity(cast["manager"], cast["a"], data, storage=store)
    assert board.published_activities(cast["a"], limit=10) == []
    assert board.publish_activity(cast["manager"], activity) is True
    assert board.publish_activity(cast["manager"], activity) is False
    assert board.published_activities(cast["a"], limit=10) == [activity]
    assert board.activity_of(cast["a"], activity.id, published_only=True) is activity
    assert board.activity_of(cast["far"], activity.id, published_only=False) is None
    assert board.unpublish_activity(cast["manager"], activity) is True
    assert board.activity_of(cast["a"], activity.id, published_only=True) is None
    assert board.activity_of(cast["a"], activity.id, published_only=False) is activity
    assert actions() == ["board.activity.create", "board.activity.publish", "board.activity.unpublish"]


def test_an_activity_sent_twice_is_one_activity(cast, store):
    data = board.ActivityInput("双击", date(2026, 11, 20), "同一条")
    first = board.create_activity(cast["manager"], cast["a"], data, storage=store)
    second = board.create_activity(cast["manager"], cast["a"], data, storage=store)
    assert first is second
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(Activity)) == 1


@pytest.mark.parametrize(
    ("title", "text", "code"),
    [("   ", "", "title_missing"), ("题" * 101, "", "title_too_long"), ("标题", "字" * 5001, "text_too_long")],
)
def test_an_activity_needs_a_title_and_keeps_to_the_limits(cast, store, title, text, code):
    with pytest.raises(BoardRefused) as refused:
        board.create_activity(
            cast["manager"], cast["a"], board.ActivityInput(title, date(2026, 11, 20), text), storage=store
        )
    assert refused.value.code == code


def test_an_edit_records_what_changed(cast, store):
    activity = board.create_activity(
        cast["manager"], cast["a"], board.ActivityInput("旧标题", date(2026, 11, 20), ""), storage=store
    )
    board.edit_activity(cast["manager"], activity, board.ActivityInput("新标题", date(2026, 11, 20), ""), storage=store)
    entry = _db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "board.activity.edit")).one()
    assert entry.data["changes"] == {"title": ["旧标题", "新标题"]}


# --- rules and notices -------------------------------------------------------------------------------


def test_rules_are_plain_text_with_their_line_breaks(cast):
    board.set_rules(cast["manager"], cast["a"], "一、代表每月进站一次。\r\n二、<b>接待</b>群众\x00。")
    assert board.rules_of(cast["a"]) == "一、代表每月进站一次。\n二、<b>接待</b>群众。"
    board.set_rules(cast["manager"], cast["a"], "一、代表每月进站一次。\n二、<b>接待</b>群众。")  # unchanged
    assert actions() == ["board.rules.update"]
    with pytest.raises(BoardRefused) as refused:
        board.set_rules(cast["manager"], cast["a"], "字" * 5001)
    assert refused.value.code == "rules_too_long"


def test_a_notice_shows_on_every_station_below_its_region_until_withdrawn(cast):
    below = factories.station(name="项城市花园街道联络站", region=cast["county"])
    notice = board.publish_notice(cast["staff"], cast["city"], "春节期间接待安排", "2月10日至17日暂停接待。")
    assert board.notices_for(cast["a"]) == [notice]
    assert board.notices_for(below) == [notice]
    assert board.notices_for(cast["far"]) == []
    assert set(board.stations_under(cast["city"])) == {cast["a"].code, below.code}
    assert board.withdraw_notice(cast["staff"], notice) is True
    assert board.withdraw_notice(cast["staff"], notice) is False
    assert board.notices_for(cast["a"]) == []
    assert actions() == ["board.notice.publish", "board.notice.withdraw"]


def test_the_station_page_summary(cast, store):
    reception(cast, starts_on=date.today() - timedelta(days=40))
    data = board.ActivityInput("已发布", date(2026, 11, 20), "")
    published = board.create_activity(cast["manager"], cast["a"], data, storage=store, publish=True)
    board.create_activity(
        cast["manager"], cast["a"], board.ActivityInput("草稿", date(2026, 11, 21), ""), storage=store
    )
    summary = board.summary(cast["a"])
    assert summary.activities == [published]
    assert 2 <= len(summary.receptions) <= 3  # the next three months each have a 15th
    assert summary.has_rules is False
