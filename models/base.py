"""Declarative base with a constraint naming convention and shared mixins."""

from datetime import UTC, datetime
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# The largest id a row can have: integer primary keys are 32-bit on PostgreSQL. A number
# past it in a URL or a form is refused before it reaches the database (which would fail).
ID_MAX = 2**31 - 1


def utcnow() -> datetime:
    """Naive UTC: SQLite keeps no zone, so every timestamp is stored as UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class ShownOnStationPage:
    """A row whose changes show on the public station pages: a commit that adds, changes or
    deletes one tells every app server to drop its cached pages (services/page_cache.py)."""


class ShownOnTrackingPage:
    """A row whose changes show on its concern's tracking page: a commit that adds, changes or
    deletes one notes that concern in page_change, so that every app server drops its kept
    copy of that page (services/page_cache.py)."""

    def tracked_concern_id(self) -> int | None:
        return getattr(self, "concern_id", None)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class WorkflowEventMixin:
    """One step on a workflow record's trail (services.workflow): who did what, from which
    status to which, with what note, seen by whom. Every workflow's event table has these
    columns, read the same way by timelines, figures and the engine; a subclass names its
    status enum (`status_enum`) and adds the key of its record."""

    status_enum: ClassVar[type]

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    action: Mapped[str] = mapped_column(sa.String(30))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    is_public: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @declared_attr
    def from_status(cls) -> Mapped[Any]:
        return mapped_column(enum_column(cls.status_enum, "from_status"), nullable=True)

    @declared_attr
    def to_status(cls) -> Mapped[Any]:
        return mapped_column(enum_column(cls.status_enum, "to_status"), nullable=True)

    @declared_attr
    def actor(cls) -> Mapped[Any]:
        return relationship("User")


def enum_column(enum_cls, name: str, **kw) -> sa.Enum:
    """An enum stored as its short string value, guarded by a CHECK constraint."""
    return sa.Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
        **kw,
    )
