"""Test data with sensible defaults. Each function flushes and returns the object."""

import io
import itertools

import sqlalchemy as sa
from PIL import Image

from extensions import db
from models import Category, Concern, Region, Representative, Station, Unit, User
from models.enums import RegionLevel, RepLevel, Role, StationCategory, StationKind, UnitKind
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
