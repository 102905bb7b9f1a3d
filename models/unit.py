from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, enum_column
from models.enums import UnitKind
from models.region import Region


class Category(Base):
    """What a concern is about, as residents would name it."""

    __tablename__ = "category"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(30), unique=True)
    name_zh: Mapped[str] = mapped_column(sa.String(40))
    name_en: Mapped[str] = mapped_column(sa.String(60))
    sort_order: Mapped[int] = mapped_column(default=0)
    is_active: Mapped[bool] = mapped_column(default=True)
    # The unit staff are offered first when they dispatch a concern of this category.
    default_unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("unit.id", ondelete="SET NULL"))

    default_unit: Mapped[Unit | None] = relationship()

    def display_name(self, locale: str) -> str:
        return self.name_en if locale.startswith("en") else self.name_zh


class Unit(Base):
    """A handling unit: 一府一委两院 (government, supervision commission, court, procuratorate)."""

    __tablename__ = "unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    kind: Mapped[UnitKind] = mapped_column(enum_column(UnitKind, "kind"))
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("region.id"), index=True)
    # A department under a government, a tribunal under a court.
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("unit.id"), index=True)
    # Whether concerns may be dispatched to it (a parent body may only group departments).
    receives_dispatches: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    is_active: Mapped[bool] = mapped_column(default=True)

    region: Mapped[Region] = relationship()
    parent: Mapped[Unit | None] = relationship(remote_side=[id])

    __table_args__ = (
        sa.UniqueConstraint("region_id", "name", name="uq_unit_region_name"),
        sa.CheckConstraint("parent_id IS NULL OR parent_id <> id", name="parent_not_self"),
    )
