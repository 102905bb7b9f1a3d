from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class ImportUpload(Base):
    """A spreadsheet uploaded for import, kept between its preview and its apply: apply
    reads these very bytes again, so what is applied is what was previewed."""

    __tablename__ = "import_upload"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))  # stations | representatives | units | categories | regions
    filename: Mapped[str] = mapped_column(sa.String(200), default="")
    content: Mapped[bytes] = mapped_column(sa.LargeBinary)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    applied_at: Mapped[datetime | None]
    # What the apply did, for the page that reports it: {"created": n, "updated": n, ...}.
    summary: Mapped[dict] = mapped_column(sa.JSON, default=dict)
