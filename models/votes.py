"""民生实事项目代表票决: a region's representatives choose the year's public-interest projects
by secret ballot, then follow the chosen ones through their handling unit's progress
reports and a satisfaction evaluation at year end.

The ballot is secret by construction. `BallotCast` keeps THAT a representative took part in
a round (vote or evaluation) and nothing else; `BallotTally` keeps WHAT was chosen as one
counter per (project, round, choice), incremented in the same transaction, with no voter,
no time and no row id that could order the casts. No table joins the two (tests/test_votes.py
reads the metadata to prove it).

The station page shows a 票决's stage and its chosen projects (ShownOnStationPage: a change
drops the cached pages); comments and progress reports show only on the project pages,
which are not cached, so a resident's comment does not empty every station's cache.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, ShownOnStationPage, TimestampMixin, WorkflowEventMixin, enum_column, utcnow
from models.board import StoredPhoto
from models.enums import BallotRound, RepLevel, VoteStatus

if TYPE_CHECKING:
    from models.region import Region
    from models.station import Station
    from models.unit import Unit
    from models.user import User

# The choices each round's tally may hold (models.enums.VoteChoice and Rating).
VOTE_CHOICES = ("for", "against", "abstain")
EVALUATION_CHOICES = ("satisfied", "basically_satisfied", "dissatisfied")


class ProjectVote(ShownOnStationPage, TimestampMixin, Base):
    """One year's 票决 of one region: its candidates, the residents' comment period, the
    representatives' voting period (local days, both included) and the threshold a
    candidate's "for" votes must pass: more than `threshold_percent` per cent of the
    representatives eligible when voting closed (`eligible_count`, fixed then).

    Its status is the stage staff moved it to (services.votes.VOTE_FLOW, with a version and
    an event per step; each step also stamps its time below): a draft until published;
    then comments and voting follow from the periods; closed (no ballot any more); results
    published; an evaluation opened and closed."""

    __tablename__ = "project_vote"

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("region.id"), index=True)
    year: Mapped[int]
    # The congress level that votes: the region's own (a county's people's congress …).
    level: Mapped[RepLevel] = mapped_column(enum_column(RepLevel, "level"))
    title: Mapped[str] = mapped_column(sa.String(100))
    comments_open_on: Mapped[date]
    comments_close_on: Mapped[date]
    voting_opens_on: Mapped[date]
    voting_closes_on: Mapped[date]
    threshold_percent: Mapped[int] = mapped_column(default=50)
    published_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    eligible_count: Mapped[int | None]
    results_published_at: Mapped[datetime | None]
    evaluation_opened_at: Mapped[datetime | None]
    evaluation_closed_at: Mapped[datetime | None]
    # How many representatives were eligible when the evaluation closed.
    evaluation_eligible_count: Mapped[int | None]
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    status: Mapped[VoteStatus] = mapped_column(
        enum_column(VoteStatus, "status"), default=VoteStatus.DRAFT, server_default=VoteStatus.DRAFT.value
    )
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    region: Mapped[Region] = relationship()
    projects: Mapped[list[VoteProject]] = relationship(
        back_populates="vote", order_by="VoteProject.position, VoteProject.id", cascade="all, delete-orphan"
    )
    events: Mapped[list[ProjectVoteEvent]] = relationship(
        back_populates="vote", order_by="ProjectVoteEvent.id", cascade="all, delete-orphan"
    )

    # A stage step on a page that showed an older version (a colleague acted, a second tap)
    # is refused, as for concerns and suggestions.
    __mapper_args__ = {"version_id_col": version}

    __table_args__ = (
        sa.UniqueConstraint("region_id", "year", name="uq_project_vote_region_year"),
        sa.CheckConstraint("title <> ''", name="title_not_empty"),
        sa.CheckConstraint("year BETWEEN 2000 AND 2100", name="year_range"),
        sa.CheckConstraint("comments_close_on >= comments_open_on", name="comments_period"),
        sa.CheckConstraint("voting_closes_on >= voting_opens_on", name="voting_period"),
        sa.CheckConstraint("voting_opens_on >= comments_close_on", name="voting_after_comments"),
        sa.CheckConstraint("threshold_percent BETWEEN 1 AND 99", name="threshold_range"),
        sa.CheckConstraint("closed_at IS NULL OR published_at IS NOT NULL", name="closed_after_published"),
        sa.CheckConstraint("closed_at IS NULL OR eligible_count IS NOT NULL", name="closed_counts_eligible"),
        sa.CheckConstraint("results_published_at IS NULL OR closed_at IS NOT NULL", name="results_after_closed"),
        sa.CheckConstraint(
            "evaluation_opened_at IS NULL OR results_published_at IS NOT NULL", name="evaluation_after_results"
        ),
        sa.CheckConstraint(
            "evaluation_closed_at IS NULL"
            " OR (evaluation_opened_at IS NOT NULL AND evaluation_eligible_count IS NOT NULL)",
            name="evaluation_closed_after_opened",
        ),
        # Each stage has the stamp of the step that reached it (the stamps never go back).
        sa.CheckConstraint(
            "(status = 'draft' OR published_at IS NOT NULL)"
            " AND (status IN ('draft', 'published') OR closed_at IS NOT NULL)"
            " AND (status IN ('draft', 'published', 'closed') OR results_published_at IS NOT NULL)"
            " AND (status IN ('draft', 'published', 'closed', 'results') OR evaluation_opened_at IS NOT NULL)"
            " AND (status <> 'evaluated' OR evaluation_closed_at IS NOT NULL)",
            name="status_has_stamp",
        ),
        sa.CheckConstraint("version >= 1", name="version_positive"),
    )


class ProjectVoteEvent(WorkflowEventMixin, Base):
    """One stage step of a 票决 (announced, closed, results, evaluation): who, when, from
    which status to which. Never a ballot: casting writes nothing here (models docstring)."""

    __tablename__ = "project_vote_event"
    status_enum = VoteStatus

    vote_id: Mapped[int] = mapped_column(sa.ForeignKey("project_vote.id", ondelete="CASCADE"), index=True)
    if TYPE_CHECKING:
        from_status: Mapped[VoteStatus | None]
        to_status: Mapped[VoteStatus | None]
        actor: Mapped[User | None]

    vote: Mapped[ProjectVote] = relationship(back_populates="events")


class VoteProject(ShownOnStationPage, Base):
    """A candidate project (候选项目): what it is, its budget (in yuan), the unit that leads
    it and the region it is in. `chosen` is set when the results are published."""

    __tablename__ = "vote_project"

    id: Mapped[int] = mapped_column(primary_key=True)
    vote_id: Mapped[int] = mapped_column(sa.ForeignKey("project_vote.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    title: Mapped[str] = mapped_column(sa.String(100))
    text: Mapped[str] = mapped_column(sa.Text, default="")
    budget_yuan: Mapped[int] = mapped_column(sa.BigInteger)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id"), index=True)
    region_id: Mapped[int | None] = mapped_column(sa.ForeignKey("region.id"))
    chosen: Mapped[bool | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    vote: Mapped[ProjectVote] = relationship(back_populates="projects")
    unit: Mapped[Unit] = relationship()
    region: Mapped[Region | None] = relationship()
    reports: Mapped[list[ProgressReport]] = relationship(
        back_populates="project", order_by="ProgressReport.id.desc()", cascade="all, delete-orphan"
    )

    __table_args__ = (
        sa.CheckConstraint("title <> ''", name="title_not_empty"),
        sa.CheckConstraint("budget_yuan >= 0", name="budget_nonnegative"),
    )


class ProjectComment(Base):
    """A resident's comment on a candidate, sent through a station's page while comments are
    open. Name and number are optional, kept with consent, never shown unmasked in public.
    Staff hide one with a reason; it is never deleted."""

    __tablename__ = "project_comment"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("vote_project.id", ondelete="CASCADE"))
    station_id: Mapped[int] = mapped_column(sa.ForeignKey("station.id"), index=True)
    text: Mapped[str] = mapped_column(sa.Text)
    contact_name: Mapped[str | None] = mapped_column(sa.String(30))
    contact_mobile: Mapped[str | None] = mapped_column(sa.String(11))
    consent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    hidden_at: Mapped[datetime | None]
    hidden_reason: Mapped[str] = mapped_column(sa.String(200), default="")
    hidden_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))

    project: Mapped[VoteProject] = relationship()
    station: Mapped[Station] = relationship()

    __table_args__ = (
        sa.CheckConstraint("text <> ''", name="text_not_empty"),
        sa.CheckConstraint(
            "(contact_name IS NULL AND contact_mobile IS NULL) OR consent_at IS NOT NULL", name="contact_has_consent"
        ),
        sa.CheckConstraint("hidden_at IS NULL OR hidden_reason <> ''", name="hidden_has_reason"),
        sa.Index("ix_project_comment_project_id", "project_id", "id"),
    )


class BallotCast(Base):
    """THAT a representative cast their ballot in a round of a 票决 — once (the primary
    key). Nothing about what they chose, and no time: see BallotTally."""

    __tablename__ = "ballot_cast"

    vote_id: Mapped[int] = mapped_column(sa.ForeignKey("project_vote.id", ondelete="CASCADE"), primary_key=True)
    round: Mapped[BallotRound] = mapped_column(enum_column(BallotRound, "round"), primary_key=True)
    representative_id: Mapped[int] = mapped_column(
        sa.ForeignKey("representative.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class BallotTally(Base):
    """WHAT was chosen: one counter per (project, round, choice), made at zero when the
    round opens and incremented by each ballot. No voter, no time, no row id."""

    __tablename__ = "ballot_tally"

    project_id: Mapped[int] = mapped_column(sa.ForeignKey("vote_project.id", ondelete="CASCADE"), primary_key=True)
    round: Mapped[BallotRound] = mapped_column(enum_column(BallotRound, "round"), primary_key=True)
    choice: Mapped[str] = mapped_column(sa.String(20), primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(default=0)

    __table_args__ = (
        sa.CheckConstraint("count >= 0", name="count_nonnegative"),
        sa.CheckConstraint(
            f"(round = 'vote' AND choice IN {VOTE_CHOICES!r})"
            f" OR (round = 'evaluation' AND choice IN {EVALUATION_CHOICES!r})",
            name="choice_of_round",
        ),
    )


class ProgressReport(Base):
    """A progress report (进度报告) of a chosen project by its lead unit: text, how far it is
    (per cent), photos. Public once posted."""

    __tablename__ = "progress_report"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("vote_project.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(sa.Text)
    percent: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))

    project: Mapped[VoteProject] = relationship(back_populates="reports")
    created_by: Mapped[User | None] = relationship()
    photos: Mapped[list[ProgressPhoto]] = relationship(
        back_populates="report", order_by="ProgressPhoto.id", cascade="all, delete-orphan"
    )

    __table_args__ = (
        sa.CheckConstraint("text <> ''", name="text_not_empty"),
        sa.CheckConstraint("percent BETWEEN 0 AND 100", name="percent_range"),
    )


class ProgressPhoto(StoredPhoto, Base):
    """A photo of a progress report."""

    __tablename__ = "progress_photo"

    report_id: Mapped[int] = mapped_column(sa.ForeignKey("progress_report.id", ondelete="CASCADE"), index=True)

    report: Mapped[ProgressReport] = relationship(back_populates="photos")
