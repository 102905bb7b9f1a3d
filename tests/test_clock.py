"""services.clock: the local zone, local days and periods as the naive UTC stored.

The expected values are written out by hand (China is UTC+8), not computed by the module.
"""

from datetime import UTC, date, datetime, time, timedelta

import pytest

from services import clock


def test_the_zone_is_china_and_has_no_daylight_saving_time():
    assert clock.LOCAL_TZ.key == clock.LOCAL_TZ_NAME == "Asia/Shanghai"
    day = date(2024, 1, 1)
    while day.year < 2027:
        midday = datetime.combine(day, time(12), tzinfo=clock.LOCAL_TZ)
        assert midday.utcoffset() == timedelta(hours=8)
        assert not midday.dst()
        start, end = clock.day_bounds(day)
        assert end - start == timedelta(hours=24)
        day += timedelta(days=1)


def test_to_local_and_to_utc():
    stored = datetime(2024, 5, 10, 2, 30)  # naive UTC
    local = clock.to_local(stored)
    assert local.tzinfo is clock.LOCAL_TZ
    assert (local.date(), local.time()) == (date(2024, 5, 10), time(10, 30))
    assert clock.to_utc(local) == stored
    assert clock.to_utc(local).tzinfo is None
    assert clock.to_utc(datetime(2024, 5, 10, 2, 30, tzinfo=UTC)) == stored


@pytest.mark.parametrize(
    "stored",
    [datetime(2024, 1, 1), datetime(2024, 2, 29, 15, 59, 59), datetime(2024, 12, 31, 16), datetime(2025, 6, 30, 23)],
)
def test_round_trips(stored):
    assert clock.to_utc(clock.to_local(stored)) == stored
    local = clock.to_local(stored)
    assert clock.utc_at(local.date(), local.time()) == stored


def test_now_and_today_take_naive_utc_or_aware_times():
    # 16:30 UTC on 31 December is already New Year's Day in China.
    stored = datetime(2024, 12, 31, 16, 30)
    assert clock.local_today(stored) == date(2025, 1, 1)
    assert clock.local_today(stored.replace(tzinfo=UTC)) == date(2025, 1, 1)
    assert clock.local_now(stored) == datetime(2025, 1, 1, 0, 30, tzinfo=clock.LOCAL_TZ)
    assert clock.local_today(datetime(2024, 12, 31, 15, 59)) == date(2024, 12, 31)

    real = clock.local_now()
    assert real.utcoffset() == timedelta(hours=8)
    assert abs(clock.to_utc(real) - datetime.now(UTC).replace(tzinfo=None)) < timedelta(minutes=1)
    assert clock.local_today() in (real.date(), real.date() + timedelta(days=1))


def test_a_local_wall_clock_time_as_utc():
    assert clock.utc_at(date(2024, 5, 10), time(9)) == datetime(2024, 5, 10, 1)
    assert clock.utc_at(date(2024, 5, 10), time(7)) == datetime(2024, 5, 9, 23)


def test_bounds_of_a_day():
    assert clock.day_start(date(2024, 5, 10)) == datetime(2024, 5, 9, 16)
    assert clock.day_bounds(date(2024, 5, 10)) == (datetime(2024, 5, 9, 16), datetime(2024, 5, 10, 16))


def test_end_of_a_day():
    assert time(23, 59, 59) == clock.END_OF_DAY
    assert clock.end_of_day(date(2026, 10, 8)) == datetime(2026, 10, 8, 15, 59, 59)
    start, end = clock.day_bounds(date(2026, 10, 8))
    assert start < clock.end_of_day(date(2026, 10, 8)) < end
    assert clock.local_today(clock.end_of_day(date(2026, 10, 8))) == date(2026, 10, 8)


@pytest.mark.parametrize(
    ("year", "month", "start", "end"),
    [
        (2025, 3, datetime(2025, 2, 28, 16), datetime(2025, 3, 31, 16)),
        (2024, 2, datetime(2024, 1, 31, 16), datetime(2024, 2, 29, 16)),  # a leap year
        (2024, 12, datetime(2024, 11, 30, 16), datetime(2024, 12, 31, 16)),  # into the next year
    ],
)
def test_bounds_of_a_month(year, month, start, end):
    assert clock.month_bounds(year, month) == (start, end)


def test_bounds_of_a_period_include_both_days():
    assert clock.period_bounds(date(2025, 1, 1), date(2025, 1, 31)) == (
        datetime(2024, 12, 31, 16),
        datetime(2025, 1, 31, 16),
    )
    assert clock.period_bounds(date(2025, 3, 1), date(2025, 3, 31)) == clock.month_bounds(2025, 3)
    assert clock.period_bounds(date(2025, 3, 5), date(2025, 3, 5)) == clock.day_bounds(date(2025, 3, 5))


def test_bounds_of_a_year():
    assert clock.year_bounds(2025) == (datetime(2024, 12, 31, 16), datetime(2025, 12, 31, 16))
    # The first hours of the year in China are still last year in UTC.
    assert clock.year_start(datetime(2024, 12, 31, 17)) == datetime(2024, 12, 31, 16)
    assert clock.year_start(datetime(2024, 12, 31, 15)) == datetime(2023, 12, 31, 16)
    assert clock.year_start() <= datetime.now(UTC).replace(tzinfo=None)
