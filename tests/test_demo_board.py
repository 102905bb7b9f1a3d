"""The demo's boards (devtools/demo_data/board.yaml): rules, activities with photos, the monthly
reception day on the 15th and a notice show on the demo stations, and a second run adds nothing."""

import sqlalchemy as sa

from devtools.demo import seed_demo
from extensions import db
from models import Activity, ActivityPhoto, Notice, ReceptionDay, Station
from models.enums import Repeat, StationKind
from services import board
from services.storage import open_storage
from tests.test_demo import demo_app  # noqa: F401  (the fixture: an app of its own)


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


def test_the_demo_stations_have_a_board(demo_app, tmp_path):  # noqa: F811
    demo_app.config["UPLOAD_FOLDER"] = str(tmp_path / "uploads")
    with demo_app.app_context():
        seed_demo()
        db.session.commit()
        counts = (_count(Activity), _count(ActivityPhoto), _count(ReceptionDay), _count(Notice))
        seed_demo()
        db.session.commit()
        assert (_count(Activity), _count(ActivityPhoto), _count(ReceptionDay), _count(Notice)) == counts

        station = db.session.scalar(sa.select(Station).where(Station.name == "项城市防水行业人大代表联络站"))
        summary = board.summary(station)
        assert len(summary.activities) == 3 and all(a.photos for a in summary.activities)
        assert summary.has_rules and summary.notices
        assert summary.receptions
        store = open_storage(demo_app.config)
        photo = summary.activities[0].photos[0]
        assert store.read(photo.storage_key) and store.read(photo.thumb_key)

        monthly = db.session.scalars(sa.select(ReceptionDay).where(ReceptionDay.repeat == Repeat.MONTHLY)).all()
        assert monthly and all(rd.day_of_month == 15 and rd.representatives for rd in monthly)
        stations = db.session.scalars(sa.select(Station).where(Station.kind != StationKind.POST)).all()
        with_reps = [s for s in stations if s.representatives]
        assert {rd.station_id for rd in monthly} == {s.id for s in with_reps}


def test_the_demo_books_a_reception_day_once(demo_app, tmp_path):  # noqa: F811
    """The demo shows a booking on a reception day's date (demo_data/bookings.yaml)."""
    from models import Booking

    demo_app.config["UPLOAD_FOLDER"] = str(tmp_path / "uploads")
    with demo_app.app_context():
        seed_demo()
        db.session.commit()
        on_days = sa.select(sa.func.count()).select_from(Booking).where(Booking.reception_day_id.is_not(None))
        count = db.session.scalar(on_days)
        assert count and count >= 2
        seed_demo()
        db.session.commit()
        assert db.session.scalar(on_days) == count
        station = db.session.scalar(sa.select(Station).where(Station.name == "项城市防水行业人大代表联络站"))
        booked = db.session.scalars(
            sa.select(Booking).where(Booking.station_id == station.id, Booking.reception_day_id.is_not(None))
        ).all()
        assert booked and all(b.reception_day.station_id == station.id for b in booked)
