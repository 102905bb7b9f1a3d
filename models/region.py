from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, enum_column
from models.enums import RegionLevel


class Region(Base):
    """An administrative division, keyed by its GB/T 2260 (or township) code."""

    __tablename__ = "region"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(12), unique=True)
    name: Mapped[str] = mapped_column(sa.String(60))
    level: Mapped[RegionLevel] = mapped_column(enum_column(RegionLevel, "level"))
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("region.id"), index=True)
    # A division abolished or merged (区划调整): kept, since stations and accounts refer to it.
    is_active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())

    parent: Mapped[Region | None] = relationship(remote_side=[id], lazy="joined")

    __table_args__ = (sa.CheckConstraint("length(code) >= 6", name="code_length"),)

    def path(self) -> list[Region]:
        """This region and its ancestors, outermost first."""
        chain: list[Region] = []
        node: Region | None = self
        while node is not None:
            chain.append(node)
            node = node.parent
        return chain[::-1]

    @property
    def full_name(self) -> str:
        return " ".join(r.name for r in self.path())
