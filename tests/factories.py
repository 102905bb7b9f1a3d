"""Test data with sensible defaults. Each function flushes and returns the object."""

import io
import itertools

import sqlalchemy as sa
from PIL import Image

from extensions import db
from models import Category, Concern, Official, OfficialSession, Region, Representative, Station, Unit, User, utcnow
from models.enums import DutyMethod, RegionLevel, RepLevel, Role, StationCategory, StationKind, UnitKind
from services.codes import new_rep_code, new_station_code, new_tracking_code

_seq = itertools.count(1)


def region(code: str | None = None, name: str = "项城市", level=RegionLevel.COUNTY, parent=None) -> Region:
    # 8 digits from "99": never one of the real 6-digit codes that tests spell out.
    obj = Region(code=code or f"99{next(_seq):06d}", name=name, level=level, parent=parent)
    db.session.add(obj)
    db.session.flush()
    return obj


def station(**kw) -> Station:
    kw.setdefault("region", kw.get("region") or region())
    name = kw.pop("name", "项城市防水行业人大代表联络站")
    # A station's name is unique in its region: a second default station gets a number.
    if db.session.scalar(sa.select(Station.id).where(Station.region_id == kw["region"].id, Station.name == name)):
        name = f"{name}{next(_seq)}"
    obj = Station(
        code=kw.pop("code", None) or new_station_code(),
        name=name,
        kind=kw.pop("kind", StationKind.STATION),
        category=kw.pop("category", StationCategory.INDUSTRY),
        address=kw.pop("address", "项城市莲花大道18号"),
        opening_hours=kw.pop("opening_hours", "周一至周五 9:00–17:30"),
        phone=kw.pop("phone", "0394-4321234"),
        **kw,
    )
    db.session.add(obj)
    db.session.flush()
    return obj


def category(code: str | None = None, name_zh: str = "城乡建设", name_en: str = "Urban and rural") -> Category:
    obj = Category(code=code or f"cat{next(_seq)}", name_zh=name_zh, name_en=name_en)
    db.session.add(obj)
    db.session.flush()
    return obj


def user(role=Role.REPRESENTATIVE, username: str | None = None, **kw) -> User:
    from werkzeug.security import generate_password_hash

    obj = User(
        username=username or f"user{next(_seq)}",
        display_name=kw.pop("display_name", "王建国"),
        password_hash=kw.pop("password_hash", generate_password_hash("secret-pass", method="pbkdf2:sha256:1000")),
        role=role,
        **kw,
    )
    db.session.add(obj)
    db.session.flush()
    return obj


def representative(stations=(), level=RepLevel.COUNTY, name: str = "王建国", occupation: str = "防水工程企业负责人"):
    obj = Representative(
        user=user(display_name=name), code=new_rep_code(), level=level, occupation=occupation, stations=list(stations)
    )
    db.session.add(obj)
    db.session.flush()
    return obj


def unit(kind=UnitKind.GOVERNMENT, name: str | None = None, region_obj=None) -> Unit:
    obj = Unit(name=name or f"项城市住房和城乡建设局{next(_seq)}", kind=kind, region=region_obj or region())
    db.session.add(obj)
    db.session.flush()
    return obj


def concern(station_obj=None, category_obj=None, **kw) -> Concern:
    obj = Concern(
        tracking_code=kw.pop("tracking_code", None) or new_tracking_code(),
        station=station_obj or station(),
        category=category_obj or category(),
        content=kw.pop("content", "小区门口的路灯坏了两个月，晚上出行很不方便。"),
        **kw,
    )
    db.session.add(obj)
    db.session.flush()
    return obj


def image_bytes(fmt: str = "JPEG", size=(64, 48), exif: bytes | None = None, color=(200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    img = Image.new("RGB", size, color)
    params = {"exif": exif} if exif else {}
    img.save(buf, fmt, **params)
    return buf.getvalue()


def official(unit_obj=None, *, name: str = "刘卫东", post: str = "局长", user_obj=None) -> Official:
    """An official (领导进站): an account of the role `official`, or `user_obj` (a
    representative's account) given the profile."""
    obj = Official(user=user_obj or user(Role.OFFICIAL, display_name=name), unit=unit_obj or unit(), post=post)
    db.session.add(obj)
    db.session.flush()
    return obj


def official_session(official_obj: Official, station_obj, **kw) -> OfficialSession:
    obj = OfficialSession(
        official=official_obj,
        station=station_obj,
        checked_in_at=kw.pop("checked_in_at", None) or utcnow(),
        method=kw.pop("method", DutyMethod.QR),
        nonce=kw.pop("nonce", None) or f"nonce-{next(_seq)}-official",
        residents_received=0,
        notes="",
        **kw,
    )
    db.session.add(obj)
    db.session.flush()
    return obj


def slot(station_obj, rep, day=None, starts_at=None, ends_at=None, **kw):
    """A roster slot, tomorrow 9:00–11:00 by default."""
    from datetime import time, timedelta

    from models import DutySlot
    from services.clock import local_today

    obj = DutySlot(
        station=station_obj,
        representative=rep,
        day=day or local_today() + timedelta(days=1),
        starts_at=starts_at or time(9, 0),
        ends_at=ends_at or time(11, 0),
        **kw,
    )
    db.session.add(obj)
    db.session.flush()
    return obj


def booking(slot_obj, mobile: str = "13912345678", seat: int = 1, **kw):
    """A booked visit on a roster slot, with its resident's consent."""
    from models import Booking, utcnow
    from services.bookings import mobile_digest
    from services.codes import new_booking_code

    obj = Booking(
        code=kw.pop("code", None) or new_booking_code(),
        station_id=slot_obj.station_id,
        duty_slot_id=slot_obj.id,
        representative_id=slot_obj.representative_id,
        day=slot_obj.day,
        starts_at=slot_obj.starts_at,
        ends_at=slot_obj.ends_at,
        seat=seat,
        name=kw.pop("name", "李秀兰"),
        mobile=mobile,
        mobile_digest=mobile_digest(mobile),
        subject=kw.pop("subject", "小区加装电梯的事"),
        consent_at=utcnow(),
        **kw,
    )
    db.session.add(obj)
    db.session.flush()
    return obj


def meeting(station_obj, rep, *, starts_in_minutes: int = -30, minutes: int = 120, year: int = 2025, **kw):
    """A 述职 meeting at `station_obj`, its rating window starting `starts_in_minutes` from
    now (open now, by default) and lasting `minutes`."""
    from datetime import timedelta

    from models import ReportMeeting
    from models.enums import MeetingStatus
    from services.codes import new_meeting_code

    start = utcnow().replace(microsecond=0) + timedelta(minutes=starts_in_minutes)
    kw.setdefault("status", MeetingStatus.CANCELLED if kw.get("cancelled_at") else MeetingStatus.SCHEDULED)
    obj = ReportMeeting(
        code=kw.pop("code", None) or new_meeting_code(),
        station_id=station_obj.id,
        representative_id=rep.id,
        year=year,
        starts_at=start,
        ends_at=start + timedelta(minutes=minutes),
        **kw,
    )
    db.session.add(obj)
    db.session.flush()
    return obj


def suggestion(author, *, region_obj=None, lead_unit=None, co_units=(), signers=(), **kw):
    """A representative's suggestion as it stands (no trail): assigned when it has a lead unit."""
    from models import Suggestion, SuggestionCoUnit, SuggestionSigner
    from models.enums import SuggestionStatus

    obj = Suggestion(
        title=kw.pop("title", "关于老旧小区雨水管网改造的建议"),
        content=kw.pop("content", "花园街道多个老旧小区雨水管网老化堵塞，每逢大雨积水严重，建议纳入年度改造计划。"),
        author=author,
        region=region_obj or author.stations[0].region,
        status=kw.pop("status", SuggestionStatus.ASSIGNED if lead_unit is not None else SuggestionStatus.DRAFT),
        lead_unit=lead_unit,
        co_units=[SuggestionCoUnit(unit=u) for u in co_units],
        signers=[SuggestionSigner(representative=r) for r in signers],
        **kw,
    )
    db.session.add(obj)
    db.session.flush()
    return obj


DRAFT_TEXT = """第一章 总则
第一条 为了规范城市养犬行为，制定本条例。
第二条 本条例适用于本市城市建成区。
第二章 管理
第三条 养犬人应当办理养犬登记。
"""


def draft_law(region_obj, *, published: bool = True, stations=None, text: str = DRAFT_TEXT, **kw):
    """A draft law of `region_obj` (all its contact points unless `stations`), open for
    comment for ten days, or still being prepared."""
    from datetime import timedelta

    from models import DraftItem, DraftLaw, utcnow
    from models.enums import DraftStatus
    from services.drafts import split_text

    now = utcnow()
    obj = DraftLaw(
        region=region_obj,
        title=kw.pop("title", "周口市城市养犬管理条例（草案）"),
        issuing_body=kw.pop("issuing_body", "周口市人大常委会法制工作委员会"),
        closes_at=kw.pop("closes_at", now + timedelta(days=10)),
        status=DraftStatus.PUBLISHED if published else DraftStatus.DRAFT,
        published_at=now if published else None,
        all_stations=stations is None,
        stations=list(stations or []),
        source_text=text,
        items=[
            DraftItem(position=i, kind=p.kind, number=p.number, label=p.label, text=p.text)
            for i, p in enumerate(split_text(text).pieces, start=1)
        ],
        **kw,
    )
    db.session.add(obj)
    db.session.flush()
    return obj
