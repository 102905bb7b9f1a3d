"""What a concern's tracking page (/t/<code>) shows, computed once for the page and for
the API's public view of a concern (GET /api/v1/concerns/track/<code>): never the
resident's contact details, never an internal note."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _

from models import Concern, ConcernEvent
from models.enums import ConcernAction as A
from models.enums import ConcernStatus
from services import concern_flow as flow
from services import public_answers
from services.concerns import SharedEvent, public_events, shared_events
from services.merges import merge_root


@dataclass
class Tracking:
    concern: Concern
    followed: Concern  # the concern it was merged into, or itself
    merged: bool
    events: list  # ConcernEvent or SharedEvent, oldest first
    done: int | None  # the last stage done (index into flow.STAGES)
    status_title: str
    second_round: bool
    handled_again: bool
    reply: ConcernEvent | SharedEvent | None  # the latest answer, once there is one to rate
    check: ConcernEvent | SharedEvent | None  # the representative's check of it
    listed: bool  # on the station's public answers


def rated(concern: Concern, round_no: int) -> bool:
    return any(r.round == round_no for r in concern.ratings)


def answer(events: list) -> tuple:
    """The latest answer (the unit's reply or the on-the-spot resolution) and the
    representative's check of it: what the resident is asked to rate."""
    reply = next((e for e in reversed(events) if e.action in flow.ANSWERS), None)
    check = next((e for e in reversed(events) if e.action == A.CONFIRM), None)
    return reply, check


def tracking(concern: Concern) -> Tracking:
    # A merged concern follows the one it was merged into: its progress, answer and rating
    # form are that one's; what the resident wrote and their own ratings stay their own.
    followed = merge_root(concern)
    merged = followed is not concern
    events: list = public_events(concern)
    followed_events: list = shared_events(followed) if merged else events
    if merged:
        events = sorted(events + followed_events, key=lambda e: (e.created_at, e.id))
    answered = followed.status in (ConcernStatus.CONFIRMED, ConcernStatus.CLOSED)
    reply, check = answer(followed_events) if answered else (None, None)
    # "Waiting for your rating" is the other resident's to read once this one has rated.
    rated_while_waiting = merged and followed.status == ConcernStatus.CONFIRMED and rated(concern, followed.rounds)
    return Tracking(
        concern=concern,
        followed=followed,
        merged=merged,
        events=events,
        done=len(flow.STAGES) - 1 if rated_while_waiting else flow.stage_done(followed.status),
        status_title=_("You have rated the answer")
        if rated_while_waiting
        else flow.status_for_resident(followed.status),
        second_round=flow.in_second_round(followed) and not merged,
        handled_again=flow.in_second_round(followed) and merged,
        reply=reply,
        check=check,
        listed=public_answers.is_listed(concern),
    )
