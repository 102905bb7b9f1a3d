"""Merged concerns (合并办理): one concern handled for several residents.

A concern merged into another follows it: its resident reads that one's progress and
answer on their own tracking page, hears of it by SMS, and rates it. Merges can chain (a
concern merged into one that is merged later), so both directions follow the chain.
"""

import sqlalchemy as sa

from extensions import db
from models import Concern
from models.enums import ConcernStatus

MAX_FOLLOWERS = 200  # a bound on what one step reads, not a rule of the loop


def merge_chain(concern: Concern) -> list[Concern]:
    """The concern, the one it was merged into, and so on to the one it is handled with."""
    chain = [concern]
    while concern.status == ConcernStatus.MERGED and concern.merged_into_id is not None:
        target = db.session.get(Concern, concern.merged_into_id)
        if target is None or target in chain:
            break
        chain.append(target)
        concern = target
    return chain


def merge_root(concern: Concern) -> Concern:
    """The concern a merged one is handled with; the concern itself when it was not merged."""
    return merge_chain(concern)[-1]


def followers(concern: Concern) -> list[Concern]:
    """The concerns merged into this one, and into those: they follow its progress."""
    found: list[Concern] = []
    frontier = [concern.id]
    while frontier and len(found) < MAX_FOLLOWERS:
        merged = list(
            db.session.scalars(
                sa.select(Concern)
                .where(Concern.merged_into_id.in_(frontier), Concern.status == ConcernStatus.MERGED)
                .order_by(Concern.id)
            )
        )
        found.extend(merged)
        frontier = [c.id for c in merged]
    return found[:MAX_FOLLOWERS]
