"""services.concerns.submit_concern: every refusal by its code, what a success stores,
idempotency by submission key, and the database's own CHECK constraints."""

from datetime import datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from models import Attachment, Concern, ConcernEvent
from models.enums import ConcernSource, ConcernStatus
from services.codes import ALPHABET, TRACKING_CODE_LENGTH
from services.concerns import ConcernInput, find_by_tracking_code, public_events, submit_concern
from services.errors import ConcernRefused
from services.photos import process_photo
from services.storage import LocalStorage
from tests import factories

TEXT = "小区门口的路灯坏了两个月，晚上出行很不方便。"
LIMITS = {"max_bytes": 8 * 1024 * 1024, "max_pixels": 50_000_000, "max_side": 2048}


@pytest.fixture
def storage(tmp_path):
    return LocalStorage(str(tmp_path / "uploads"))


@pytest.fixture
def station(app):
    return factories.station()


@pytest.fixture
def category(app):
    return factories.category()


def count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def submit(station, category, storage, photos=(), **fields):
    data = ConcernInput(
        category_id=fields.pop("category_id", category.id), content=fields.pop("content", TEXT), **fields
    )
    return submit_concern(station, data, list(photos), storage=storage)


def refusal(station, category, storage, photos=(), **fields) -> str:
    with pytest.raises(ConcernRefused) as info:
        submit(station, category, storage, photos, **fields)
    return info.value.code


def a_photo():
    return process_photo(factories.image_bytes("JPEG"), **LIMITS)


# --- refusals ------------------------------------------------------------------------


def test_inactive_station_is_refused(db, category, storage):
    closed = factories.station(is_active=False)
    assert refusal(closed, category, storage) == "station_inactive"
    assert count(db, Concern) == 0


def test_unknown_category_is_refused(db, station, category, storage):
    assert refusal(station, category, storage, category_id=999_999) == "bad_category"


def test_inactive_category_is_refused(db, station, storage):
    retired = factories.category()
    retired.is_active = False
    db.session.flush()
    assert refusal(station, retired, storage) == "bad_category"


@pytest.mark.parametrize(
    "content",
    [
        "",
        "太短了",
        "123456789",  # 9
        "  123456789  ",  # 9 once trimmed
        " " * 40,  # whitespace only
        "\n\t " * 10 + "abc" + " \n" * 10,  # padding does not count
        "x" * 2001,
        "  " + "x" * 2001 + "  ",
    ],
)
def test_content_length_is_refused(db, station, category, storage, content):
    assert refusal(station, category, storage, content=content) == "content_length"
    assert count(db, Concern) == 0


@pytest.mark.parametrize("content", ["1234567890", "x" * 2000, "   " + "x" * 2000 + "   ", "  路灯坏了两个月了啊啊  "])
def test_content_length_bounds_are_inclusive(db, station, category, storage, content):
    concern = submit(station, category, storage, content=content)
    assert concern.content == content.strip()


def test_long_name_is_refused(db, station, category, storage):
    code = refusal(station, category, storage, contact_name="张" * 31, consent=True)
    assert code == "name_too_long"
    assert submit(station, category, storage, contact_name="张" * 30, consent=True).contact_name == "张" * 30


@pytest.mark.parametrize(
    "mobile", ["12345", "12812345678", "1381234567", "138123456789", "abcdefghijk", "+1 415 555 0100"]
)
def test_bad_mobile_is_refused(db, station, category, storage, mobile):
    assert refusal(station, category, storage, contact_mobile=mobile, consent=True) == "bad_mobile"


@pytest.mark.parametrize("mobile", ["１３８１２３４５６７８", "138１２３４５６７８", "13８12345678", "١٣٨١٢٣٤٥٦٧٨"])
def test_mobile_with_non_ascii_digits_is_never_stored_as_typed(db, station, category, storage, mobile):
    # Chinese input methods type full-width digits; \d matches them and other scripts' digits.
    try:
        concern = submit(station, category, storage, contact_mobile=mobile, consent=True)
    except ConcernRefused as refused:
        assert refused.code == "bad_mobile"
    else:
        assert concern.contact_mobile == "13812345678"


@pytest.mark.parametrize("contact", [{"contact_name": "李秀英"}, {"contact_mobile": "13812345678"}])
def test_anonymous_with_contact_is_refused(db, station, category, storage, contact):
    assert refusal(station, category, storage, anonymous=True, consent=True, **contact) == "anonymous_with_contact"


@pytest.mark.parametrize(
    "contact",
    [
        {"contact_name": "李秀英"},
        {"contact_mobile": "13812345678"},
        {"contact_name": "李秀英", "contact_mobile": "13812345678"},
    ],
)
def test_contact_without_consent_is_refused(db, station, category, storage, contact):
    assert refusal(station, category, storage, **contact) == "consent_required"


def test_more_than_three_photos_are_refused(db, station, category, storage):
    photo = a_photo()
    assert refusal(station, category, storage, photos=[photo] * 4) == "too_many_photos"
    assert count(db, Attachment) == 0
    assert not (storage.root.exists() and any(storage.root.rglob("*.jpg"))), "nothing written for a refusal"


# --- success -------------------------------------------------------------------------


def test_success_stores_what_was_given(db, station, category, storage):
    now = datetime(2026, 3, 4, 5, 6, 7)
    data = ConcernInput(
        category_id=category.id,
        content=f"   {TEXT}\n\n",
        contact_name="  李秀英 ",
        contact_mobile="+86 138-1234-5678",
        public=True,
        consent=True,
    )
    concern = submit_concern(station, data, [a_photo(), a_photo()], storage=storage, submission_key="k1", now=now)
    db.session.commit()

    stored = db.session.get(Concern, concern.id)
    assert stored.content == TEXT
    assert stored.contact_name == "李秀英"
    assert stored.contact_mobile == "13812345678"
    assert stored.consent_at == now
    assert stored.is_public is True
    assert stored.is_anonymous is False
    assert stored.status == ConcernStatus.SUBMITTED
    assert stored.source == ConcernSource.QR
    assert stored.station_id == station.id
    assert stored.category_id == category.id
    assert stored.submission_key == "k1"
    assert stored.created_at == now
    assert len(stored.tracking_code) == TRACKING_CODE_LENGTH
    assert set(stored.tracking_code) <= set(ALPHABET)
    assert find_by_tracking_code(stored.tracking_code).id == stored.id

    events = db.session.scalars(sa.select(ConcernEvent).where(ConcernEvent.concern_id == stored.id)).all()
    assert [(e.action, e.from_status, e.to_status, e.is_public) for e in events] == [
        ("submit", None, ConcernStatus.SUBMITTED, True)
    ]
    assert public_events(stored) == events

    assert len(stored.attachments) == 2
    for attachment in stored.attachments:
        assert attachment.content_type == "image/jpeg"
        assert attachment.size > 0
        assert (attachment.width, attachment.height) == (64, 48)
        data_on_disk = storage.read(attachment.storage_key)
        assert data_on_disk is not None
        assert len(data_on_disk) == attachment.size
    assert stored.attachments[0].storage_key != stored.attachments[1].storage_key


@pytest.mark.parametrize(
    ("fields", "name", "mobile"),
    [
        ({"contact_name": "李秀英", "consent": True}, "李秀英", None),
        ({"contact_mobile": "138 1234 5678", "consent": True}, None, "13812345678"),
        ({"contact_mobile": "0086-13812345678", "consent": True}, None, "13812345678"),
        ({"contact_mobile": "(138) 1234-5678", "consent": True}, None, "13812345678"),
    ],
)
def test_consent_time_is_set_with_contact(db, station, category, storage, fields, name, mobile):
    concern = submit(station, category, storage, **fields)
    assert concern.contact_name == name
    assert concern.contact_mobile == mobile
    assert concern.consent_at is not None


@pytest.mark.parametrize(
    "fields", [{}, {"consent": True}, {"anonymous": True}, {"contact_name": "   ", "consent": True}]
)
def test_no_consent_time_without_contact(db, station, category, storage, fields):
    concern = submit(station, category, storage, **fields)
    db.session.commit()
    assert concern.contact_name is None
    assert concern.contact_mobile is None
    assert concern.consent_at is None


def test_anonymous_flag_is_stored(db, station, category, storage):
    assert submit(station, category, storage, anonymous=True).is_anonymous is True


def test_tracking_codes_differ(db, station, category, storage):
    codes = {submit(station, category, storage, content=f"{TEXT} {i}").tracking_code for i in range(20)}
    assert len(codes) == 20


def test_same_submission_key_returns_the_same_concern(db, station, category, storage):
    data = ConcernInput(category_id=category.id, content=TEXT)
    first = submit_concern(station, data, [a_photo()], storage=storage, submission_key="same-key")
    db.session.commit()
    # A double tap: even with different text or more photos it is the same submission.
    again = submit_concern(
        station,
        ConcernInput(category_id=category.id, content=TEXT + "（再次提交）"),
        [a_photo(), a_photo()],
        storage=storage,
        submission_key="same-key",
    )
    db.session.commit()
    assert again.id == first.id
    assert again.tracking_code == first.tracking_code
    assert count(db, Concern) == 1
    assert count(db, ConcernEvent) == 1
    assert count(db, Attachment) == 1
    assert len(list(storage.root.rglob("*.jpg"))) == 1

    other = submit_concern(station, data, [], storage=storage, submission_key="another-key")
    assert other.id != first.id
    assert count(db, Concern) == 2


def test_no_submission_key_makes_a_new_concern_each_time(db, station, category, storage):
    submit(station, category, storage)
    submit(station, category, storage)
    assert count(db, Concern) == 2
    assert db.session.scalars(sa.select(Concern.submission_key)).all() == [None, None]


# --- the database refuses bad rows by itself -----------------------------------------


def _insert(db, **overrides):
    st = factories.station()
    cat = factories.category()
    fields = {"tracking_code": "K7M3QXP29D", "station": st, "category": cat, "content": TEXT, **overrides}
    db.session.add(Concern(**fields))
    db.session.flush()


@pytest.mark.parametrize(
    "overrides",
    [
        {"contact_name": "李秀英"},  # contact without consent
        {"contact_mobile": "13812345678"},
        {"content": "short"},  # 5 characters
        {"content": "x" * 2001},
        {"rating_unit": "great"},
        {"status": ConcernStatus.MERGED},  # merged needs a target
    ],
    ids=["name-no-consent", "mobile-no-consent", "content-5", "content-2001", "rating", "merged"],
)
def test_check_constraints_refuse_bad_rows(db, overrides):
    with pytest.raises(IntegrityError):
        _insert(db, **overrides)
    db.session.rollback()
    assert count(db, Concern) == 0


def test_version_must_stay_positive_in_the_database(db):
    # The ORM manages `version` itself (optimistic versioning), so go around it.
    import sqlalchemy as sa

    _insert(db)
    with pytest.raises(IntegrityError):
        db.session.execute(sa.update(Concern).values(version=0).execution_options(figures_unaffected=True))
    db.session.rollback()


def test_check_constraints_accept_a_good_row(db):
    _insert(db, contact_name="李秀英", consent_at=datetime(2026, 1, 1), content="x" * 10)
    assert count(db, Concern) == 1


def test_tracking_code_is_unique_in_the_database(db):
    _insert(db)
    with pytest.raises(IntegrityError):
        _insert(db)
    db.session.rollback()


def test_submission_key_is_unique_in_the_database(db):
    _insert(db, submission_key="k", tracking_code="AAAAAAAAAA")
    with pytest.raises(IntegrityError):
        _insert(db, submission_key="k", tracking_code="BBBBBBBBBB")
    db.session.rollback()


def test_a_new_concern_is_due_to_be_taken_up_within_two_working_days(db, station, category, storage):
    from datetime import datetime

    data = ConcernInput(category_id=category.id, content=TEXT)
    # Filed on Wednesday 30 September 2026 at 10:00 in China: 1–7 October are off.
    concern = submit_concern(station, data, [], storage=storage, now=datetime(2026, 9, 30, 2, 0))
    assert concern.due_at == datetime(2026, 10, 9, 15, 59, 59) and not concern.due_estimated
