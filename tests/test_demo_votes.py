"""The demo's project votes (devtools/demo_data/votes.yaml): last year's, voted, published with
its counts, reported on and rated; next year's, in its voting period with residents' comments
and no ballot yet; the demo tells nobody, and a second run adds nothing."""

import sqlalchemy as sa

from devtools.demo import seed_demo
from extensions import db
from models import BallotCast, Outbox, ProgressPhoto, ProgressReport, ProjectComment, ProjectVote
from models.enums import BallotRound, VoteStage
from services import votes
from services.clock import local_today
from services.storage import open_storage
from tests.test_demo import demo_app  # noqa: F401  (the fixture: an app of its own)


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


def test_the_demo_shows_a_decided_vote_and_an_open_one(demo_app, tmp_path):  # noqa: F811
    demo_app.config["UPLOAD_FOLDER"] = str(tmp_path / "uploads")
    with demo_app.app_context():
        seed_demo()
        db.session.commit()
        counts = (_count(ProjectVote), _count(ProgressReport), _count(ProjectComment), _count(BallotCast))
        seed_demo()
        db.session.commit()
        assert (_count(ProjectVote), _count(ProgressReport), _count(ProjectComment), _count(BallotCast)) == counts
        assert _count(Outbox) == 0

        today = local_today()
        past, coming = db.session.scalars(sa.select(ProjectVote).order_by(ProjectVote.year)).all()
        assert past.year == today.year - 1 and votes.stage(past) == VoteStage.EVALUATED
        results = votes.results(past)
        assert [r.chosen for r in results] == [True, True, False]
        assert all(r.total == past.eligible_count for r in results) and past.eligible_count >= 2
        chosen = [p for p in past.projects if p.chosen]
        assert all(p.reports for p in chosen) and chosen[0].reports[0].percent == 100
        assert all(r.total for r in votes.evaluation_results(past))
        photo = db.session.scalars(sa.select(ProgressPhoto)).first()
        assert open_storage(demo_app.config).read(photo.thumb_key)

        assert votes.stage(coming) == VoteStage.VOTING
        assert votes.cast_count(coming, BallotRound.VOTE) == 0 and votes.eligible(coming)
        assert (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(ProjectComment)
                .join(ProjectComment.project)
                .where(ProjectComment.project_id.in_([p.id for p in coming.projects]))
            )
            == 4
        )
