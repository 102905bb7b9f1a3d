"""Personal data that expire: erasure PERSONAL_DATA_DAYS after a concern ended (figures
unchanged, photos gone), the resident's own erasure from the tracking page, and
`flask privacy purge [--dry-run]`."""

from datetime import date, timedelta

import sqlalchemy as sa

from extensions import db as _db
from models import Attachment, AuditLog, Concern, ConcernEvent, MobileCode, Outbox, ResidentMobile, utcnow
from models.enums import ConcernStatus as S
from models.enums import OutboxStatus, Rating, Role
from services import audit, erasure, figures
from services import concern_flow as flow
from services.figures import Period
from services.storage import configured
from tests import factories
from tests.helpers import login

NAME, MOBILE = "张三丰", "13812345678"
CONTENT = f"我是{NAME}，电话{MOBILE}。小区门口的路灯坏了两个月，晚上出行很不方便。"
COMMENT = "修好了，谢谢，但希望以后巡查勤一点。"
DAY = timedelta(days=1)


def filed(**kw) -> Concern:
    concern = factories.concern(content=CONTENT, contact_name=NAME, contact_mobile=MOBILE, consent_at=utcnow(), **kw)
    concern.events.append(ConcernEvent(action="submit", to_status=S.SUBMITTED, note=f"来电人{NAME}"))
    _db.session.flush()
    return concern


def fresh(concern: Concern) -> Concern:
    """The concern as the requests (or the command) left it."""
    _db.session.commit()
    _db.session.expire_all()
    return _db.session.get(Concern, concern.id)


def with_photo(concern: Concern) -> Attachment:
    key = configured().save(factories.image_bytes(), "jpg")
    photo = Attachment(concern=concern, storage_key=key, content_type="image/jpeg", size=10, width=64, height=48)
    _db.session.add(photo)
    _db.session.flush()
    return photo


def closed_with_comment() -> Concern:
    concern = filed()
    rep = factories.representative([concern.station])
    flow.transition(concern, "accept", role=Role.REPRESENTATIVE, representative=rep)
    flow.transition(concern, "dispatch", role=Role.CONGRESS_STAFF, unit=factories.unit())
    flow.transition(concern, "reply", role=Role.UNIT_HANDLER, note=f"已电话联系{NAME}，路灯已修复。")
    flow.transition(concern, "confirm", role=Role.REPRESENTATIVE, note="已到现场查看。")
    flow.rate(concern, Rating.SATISFIED, Rating.BASICALLY_SATISFIED, COMMENT)
    assert concern.status == S.CLOSED
    return concern


def purge(now, **kw):
    """Every batch, as the command runs them."""
    total, after = erasure.Erased(), 0
    while True:
        last, counts = erasure.purge_batch(configured(), after_id=after, now=now, **kw)
        total.add(counts)
        if last is None:
            return total
        after = last


def snapshot():
    admin = factories.user(Role.ADMIN)
    today = date.today()
    period = Period(today - timedelta(days=30), today + timedelta(days=1))
    result = []
    for by in ("station", "unit", "region"):
        f = figures.figures(admin, by, period, utcnow())
        result.append((f.total, [(r.key, r.counts) for r in f.rows]))
    return result


# --- erasure after N days ----------------------------------------------------------------


def test_personal_data_go_n_days_after_closing_not_before_and_the_figures_stay(db):
    concern = closed_with_comment()
    photo = with_photo(concern)
    other = filed()  # still open: never due
    db.session.commit()
    assert configured().read(photo.storage_key) is not None
    before = snapshot()
    closed_at = concern.closed_at

    assert purge(closed_at + 364 * DAY).concerns == 0
    assert concern.contact_name == NAME and concern.personal_data_erased_at is None

    report = purge(closed_at + 366 * DAY)
    db.session.commit()
    assert (report.concerns, report.contacts, report.comments, report.photos) == (1, 1, 1, 1)
    db.session.expire_all()
    concern = db.session.get(Concern, concern.id)
    assert concern.contact_name is None and concern.contact_mobile is None
    assert concern.personal_data_erased_at is not None
    assert NAME not in concern.content and MOBILE not in concern.content and "路灯坏了两个月" in concern.content
    assert concern.rating_comment is None and all(r.comment == "" for r in concern.ratings)
    assert not any(NAME in e.note or COMMENT in e.note for e in concern.events)
    # The record stays: status, ratings, times, the photo's row (marked), the trail.
    assert concern.status == S.CLOSED and concern.closed_at == closed_at
    assert concern.ratings[0].rating_unit == Rating.SATISFIED
    assert concern.attachments[0].erased_at is not None
    assert configured().read(photo.storage_key) is None
    assert snapshot() == before
    assert db.session.get(Concern, other.id).contact_name == NAME

    # Idempotent: nothing more to do.
    assert purge(closed_at + 400 * DAY).concerns == 0


def test_rejected_withdrawn_and_merged_concerns_count_from_their_final_step(db):
    withdrawn = filed()
    flow.withdraw(withdrawn)
    root, merged = filed(), filed()
    flow.transition(merged, "merge", role=Role.STATION_MANAGER, merge_into=root, note="同一路段")
    db.session.commit()
    now = utcnow()

    assert purge(now + 300 * DAY).concerns == 0
    assert purge(now + 366 * DAY).concerns == 1  # the merged one waits for the open one it follows
    db.session.commit()
    assert withdrawn.personal_data_erased_at is not None
    assert merged.personal_data_erased_at is None and merged.contact_name == NAME


def test_the_days_are_a_setting(app, db):
    concern = closed_with_comment()
    db.session.commit()
    app.config["PERSONAL_DATA_DAYS"] = 30
    assert purge(concern.closed_at + 31 * DAY).concerns == 1


def test_sms_rows_and_the_number_record_go_unless_another_concern_has_the_number(db):
    concern = closed_with_comment()
    later = filed()  # the same number on an open concern
    db.session.add(Outbox(channel="sms", recipient=MOBILE, body=f"{MOBILE} news", concern_id=concern.id))
    db.session.add(ResidentMobile(mobile=MOBILE, verified_at=utcnow()))
    db.session.commit()
    report = purge(concern.closed_at + 366 * DAY)
    db.session.commit()
    rows = list(db.session.scalars(sa.select(Outbox).where(Outbox.concern_id == concern.id)))
    assert not any(MOBILE in row.recipient or MOBILE in row.body for row in rows)
    residents = [row for row in rows if row.recipient == "138****5678"]
    assert report.messages == len(residents) >= 2 and report.numbers == 0  # the loop's news, and ours
    assert residents[-1].status == OutboxStatus.FAILED and residents[-1].body == "—"
    assert db.session.scalar(sa.select(ResidentMobile)) is not None  # still the open concern's
    assert later.contact_mobile == MOBILE


# --- the command ------------------------------------------------------------------------------


def old_closed(n: int = 3) -> list[Concern]:
    long_ago = utcnow() - 400 * DAY
    made = []
    for _ in range(n):
        c = filed(status=S.CLOSED, closed_at=long_ago, rating_comment=COMMENT)
        with_photo(c)
        made.append(c)
    return made


def test_dry_run_counts_and_changes_nothing(db, runner):
    concerns = old_closed(2)
    staff = factories.user(Role.CONGRESS_STAFF, region=factories.region())
    audit.log(staff, "concern.contact_viewed", concerns[0], purpose="回访")
    db.session.commit()
    entries = db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog))

    result = runner.invoke(args=["privacy", "purge", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "would erase" in result.output and "concerns 2" in result.output and "photos 2" in result.output
    assert all(fresh(c).contact_name == NAME for c in concerns)
    assert all(configured().read(c.attachments[0].storage_key) for c in concerns)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog)) == entries


def test_purge_runs_in_batches_writes_one_report_and_keeps_staff_entries(db, runner):
    concerns = old_closed(3)
    staff = factories.user(Role.CONGRESS_STAFF, region=factories.region())
    viewed = audit.log(staff, "concern.contact_viewed", concerns[0], purpose="回访")
    db.session.add(MobileCode(mobile=MOBILE, code_hash="x$y", expires_at=utcnow() + DAY))
    db.session.commit()

    result = runner.invoke(args=["privacy", "purge", "--batch", "2"])
    assert result.exit_code == 0, result.output
    assert "erased" in result.output and "concerns 3" in result.output
    assert all(fresh(c).contact_mobile is None for c in concerns)
    assert db.session.scalar(sa.select(MobileCode)) is None
    reports = list(db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "privacy.purged")))
    assert len(reports) == 1
    assert reports[0].data["concerns"] == 3 and reports[0].data["photos"] == 3 and reports[0].data["days"] == 365
    assert MOBILE not in str(reports[0].data) and NAME not in str(reports[0].data)
    assert db.session.get(AuditLog, viewed.id) is not None  # staff entries are never purged

    again = runner.invoke(args=["privacy", "purge"])
    assert "concerns 0" in again.output


# --- the resident's own erasure --------------------------------------------------------------------


def test_the_resident_erases_their_contact_after_a_confirm_step(client, db):
    concern = filed()
    db.session.add(Outbox(channel="sms", recipient=MOBILE, body="…", concern_id=concern.id))
    db.session.add(ResidentMobile(mobile=MOBILE, opted_out_at=None))
    db.session.commit()
    code = concern.tracking_code

    page = client.get(f"/t/{code}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert f"/t/{code}/erase" in page
    confirm = client.get(f"/t/{code}/erase", headers={"Accept-Language": "en"})
    assert confirm.status_code == 200
    assert "can no longer phone you" in confirm.get_data(as_text=True)  # what changes while it is open

    unticked = client.post(f"/t/{code}/erase", data={}, headers={"Accept-Language": "en"})
    assert unticked.status_code == 422 and "Please tick the box" in unticked.get_data(as_text=True)
    assert fresh(concern).contact_name == NAME

    done = client.post(f"/t/{code}/erase", data={"confirm": "y"})
    assert done.status_code == 303
    concern = fresh(concern)
    assert concern.contact_name is None and concern.contact_mobile is None and concern.contact_erased_at
    assert concern.status == S.SUBMITTED and NAME not in concern.content
    row = db.session.scalar(sa.select(Outbox))
    assert row.status == OutboxStatus.FAILED and row.recipient != MOBILE
    assert db.session.scalar(sa.select(ResidentMobile)) is None
    entry = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "concern.contact_erased"))
    assert entry.target_id == concern.id and MOBILE not in str(entry.data)

    # Staff see why there is no contact any more.
    manager = factories.user(Role.STATION_MANAGER, managed_stations=[concern.station])
    login(client, manager)
    staff_page = client.get(f"/manage/concerns/{concern.id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Contact details erased at the resident's request" in staff_page and "Show in full" not in staff_page

    # Again: said, not silently ignored.
    again = client.post(f"/t/{code}/erase", data={"confirm": "y"}, headers={"Accept-Language": "en"})
    assert again.status_code == 303
    followed = client.get(again.headers["Location"], headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "already been erased" in followed


def test_an_unknown_or_forged_code_is_refused(client, db):
    filed()
    db.session.commit()
    assert client.post("/t/ABCDEFGHJK/erase", data={"confirm": "y"}).status_code == 404
    assert client.post("/t/../../etc/erase", data={"confirm": "y"}).status_code == 404
    assert client.get("/t/ABCDEFGHJK/erase").status_code == 404


def test_an_anonymous_concern_has_nothing_to_erase(client, db):
    concern = factories.concern(is_anonymous=True)
    db.session.commit()
    response = client.get(f"/t/{concern.tracking_code}/erase", headers={"Accept-Language": "en"})
    assert response.status_code == 303
    page = client.get(response.headers["Location"], headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "no name or mobile number to erase" in page


def test_erased_photos_say_so_instead_of_a_broken_image(client, db):
    concern = closed_with_comment()
    photo = with_photo(concern)
    db.session.commit()
    purge(concern.closed_at + 366 * DAY)
    db.session.commit()
    page = client.get(f"/t/{concern.tracking_code}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert photo.storage_key not in page and "erased with the personal data" in page
    assert client.get(f"/media/{photo.storage_key}").status_code == 404
