"""The resources of /api/v1/: thin, as every view (load → check → one service → commit)."""

from __future__ import annotations

import functools
from datetime import UTC

from flask import request, url_for
from flask_babel import get_locale

from extensions import db
from models import Concern, ConcernEvent, Station
from models.enums import ConcernAction as A
from services import api_reads, rep_pages, tracking, webhooks
from services import concern_flow as flow
from services import concerns as concern_service
from services import figures as figures_service
from services import stations as station_service
from services.clock import end_of_day, local_today
from services.codes import normalize_rep_code, normalize_station_code, normalize_tracking_code
from services.errors import ApiRefused
from services.permissions import Permission as P
from services.permissions import can
from views.api import SECURITY, bp, principal, require_key
from views.api import schemas as s
from views.api.idempotency import idempotent

NOT_MODIFIED = "Not Modified: the ETag given in If-None-Match is still current."
PROBLEM_TYPE = "application/problem+json"


def _answers(status: int, schema, *problems: int, secured: bool = False, not_modified: bool = True):
    """The documented answers of an operation: `schema` with `status`, 304 on a matching
    ETag (GETs), and the problems (statuses) it may answer with; the key it needs."""

    def decorate(view):
        for code in problems:
            view = bp.alt_response(code, schema=s.Problem, content_type=PROBLEM_TYPE)(view)
        if not_modified:
            view = bp.alt_response(304, description=NOT_MODIFIED)(view)
        view = bp.response(status, schema)(view)
        return bp.doc(security=SECURITY)(view) if secured else view

    return decorate


def _lang() -> str:
    return str(get_locale() or "zh_Hans")


def _ref(code: str, name: str) -> dict:
    return {"code": code, "name": name}


def _station_ref(st: Station) -> dict:
    return _ref(st.code, st.name)


def _public_url(endpoint: str, **values) -> str:
    from flask import current_app

    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + url_for(endpoint, **values)


def _utc(value):
    """Naive UTC as stored, sent with its zone."""
    return value.replace(tzinfo=UTC) if value is not None else None


def _by_code(code: str, normalize, find):
    """What a public code names (as typed: any case, dashes), or a 404 problem."""
    canonical = normalize(code)
    found = find(canonical) if canonical else None
    if found is None:
        raise ApiRefused("not_found")
    return found


# --- stations --------------------------------------------------------------------------------


def _station_item(st: Station) -> dict:
    return {
        "code": st.code,
        "name": st.name,
        "kind": st.kind.value,
        "category": st.category.value,
        "region": _ref(st.region.code, st.region.name),
        "address": st.address,
        "url": _public_url("public.station", code=st.code),
    }


@bp.get("/stations")
@bp.arguments(s.StationsArgs, location="query")
@_answers(200, s.StationPage, 400, 404)
def stations(args):
    """Open stations (public), in a region and the regions below it."""
    page = api_reads.stations(args.get("region"), args.get("cursor"), args["limit"])
    return {"items": [_station_item(st) for st in page.items], "next": page.next}


@bp.get("/stations/<code>")
@_answers(200, s.Station, 404)
def station(code: str):
    """One open station (public): who is on duty now, and the roster of the next days."""
    st = _by_code(code, normalize_station_code, station_service.get_active_station)
    return {
        **_station_item(st),
        "opening_hours": st.opening_hours,
        "phone": st.phone,
        "latitude": st.latitude,
        "longitude": st.longitude,
        "representatives": [
            {"code": r.code, "name": r.name, "level": r.level.value}
            for r in station_service.representatives_in_order(st)
        ],
        "on_duty_now": [
            {"name": d.representative.name, "level": d.representative.level.value, "since": _utc(d.checked_in_at)}
            for d in station_service.on_duty_now(st)
        ],
        "roster": [
            {
                "day": day,
                "starts_at": slot.starts_at,
                "ends_at": slot.ends_at,
                "representative": slot.representative.name,
            }
            for day, slots in station_service.roster_days(st)
            for slot in slots
        ],
    }


# --- representatives ------------------------------------------------------------------------


@bp.get("/representatives/<code>")
@_answers(200, s.Representative, 404)
def representative(code: str):
    """A representative's public profile, as their page (/r/<code>) shows it."""
    rep = _by_code(code, normalize_rep_code, rep_pages.by_code)
    slot = rep_pages.next_duty(rep)
    summary = rep_pages.year_summary(rep)
    return {
        "code": rep.code,
        "name": rep.name,
        "level": rep.level.value,
        "delegation": rep.delegation,
        "occupation": rep.occupation,
        "post": rep.post,
        "bio": rep.bio,
        "focus_areas": rep.focus_areas,
        "serving": rep.serving_on(local_today()),
        "accepts_concerns": rep_pages.accepts_concerns(rep),
        "stations": [_station_ref(st) for st in rep_pages.active_stations(rep)],
        "next_duty": {
            "day": slot.day,
            "starts_at": slot.starts_at,
            "ends_at": slot.ends_at,
            "station": _station_ref(slot.station),
        }
        if slot is not None
        else None,
        "summary": {name: getattr(summary, name) for name in s.YearSummary().fields},
        "url": _public_url("public.rep", code=rep.code),
    }


# --- categories and units ----------------------------------------------------------------------


@bp.get("/categories")
@_answers(200, s.CategoryList)
def categories():
    """The active categories of concerns (public)."""
    lang = _lang()
    return {
        "items": [
            {"code": c.code, "name": c.display_name(lang), "name_zh": c.name_zh, "name_en": c.name_en}
            for c in station_service.active_categories()
        ]
    }


@bp.get("/units")
@bp.arguments(s.UnitsArgs, location="query")
@_answers(200, s.UnitPage, 400, 404)
def units(args):
    """Active handling units (一府一委两院, public), in a region and the regions below it."""
    page = api_reads.units(args.get("region"), args.get("cursor"), args["limit"])
    return {
        "items": [
            {
                "id": u.id,
                "name": u.name,
                "kind": u.kind.value,
                "region": _ref(u.region.code, u.region.name),
                "receives_dispatches": u.receives_dispatches,
            }
            for u in page.items
        ],
        "next": page.next,
    }


# --- a concern, publicly: by its tracking code -----------------------------------------------


def _public_event(e) -> dict:
    return {
        "at": _utc(e.created_at),
        "action": str(e.action),
        "title": flow.action_title(e.action, for_resident=True),
        "note": e.note if e.note and e.is_public else "",
    }


@bp.get("/concerns/track/<code>")
@_answers(200, s.PublicConcern, 404)
def track(code: str):
    """A concern as its tracking page shows it (public, to whoever holds the code): no
    name, no number, no internal note."""
    concern = _by_code(code, normalize_tracking_code, concern_service.find_by_tracking_code)
    t = tracking.tracking(concern)
    lang = _lang()
    followed = t.followed
    return {
        "tracking_code": concern.tracking_code,
        "status": followed.status.value,
        "status_title": t.status_title,
        "stage_done": t.done,
        "stages": [{"key": key, "title": str(title), "term": term} for key, title, term in flow.STAGES],
        "station": _station_ref(concern.station),
        "category": _ref(concern.category.code, concern.category.display_name(lang)),
        "filed_at": _utc(concern.created_at),
        "content": concern.content,
        "written_to": concern.addressed_rep.name if concern.addressed_rep else None,
        "representative": followed.assigned_rep.name if followed.assigned_rep else None,
        "unit": followed.unit.name if followed.unit else None,
        "merged": t.merged,
        "second_round": t.second_round or t.handled_again,
        "listed": t.listed,
        "answer": {"answer": _public_event(t.reply), "check": _public_event(t.check) if t.check else None}
        if t.reply is not None
        else None,
        "ratings": [
            {
                "round": r.round,
                "unit": r.rating_unit.value,
                "representative": r.rating_rep.value,
                "comment": r.comment,
                "at": _utc(r.created_at),
            }
            for r in concern.ratings
        ],
        "timeline": [_public_event(e) for e in t.events],
        "url": _public_url("public.track", code=concern.tracking_code),
    }


# --- concerns in a key's scope ------------------------------------------------------------------


def _concern_item(c: Concern) -> dict:
    lang = _lang()
    return {
        "id": c.id,
        "tracking_code": c.tracking_code,
        "status": c.status.value,
        "version": c.version,
        "station": _station_ref(c.station),
        "category": _ref(c.category.code, c.category.display_name(lang)),
        "content": c.content,
        "source": c.source.value,
        "created_at": _utc(c.created_at),
        "updated_at": _utc(c.updated_at),
        "due_at": _utc(c.due_at),
        "overdue": flow.is_overdue(c),
        "representative": c.assigned_rep.name if c.assigned_rep else None,
        "unit": {"id": c.unit.id, "name": c.unit.name} if c.unit else None,
        "rounds": c.rounds,
    }


def _event(e: ConcernEvent) -> dict:
    return {
        "id": e.id,
        "at": _utc(e.created_at),
        "action": e.action,
        "title": flow.action_title(e.action),
        "from_status": e.from_status.value if e.from_status else None,
        "to_status": e.to_status.value if e.to_status else None,
        "note": e.note,
        "public": e.is_public,
        "actor": e.actor.display_name if e.actor is not None else None,
        "api_key": e.api_key.name if e.api_key is not None else None,
    }


IDEMPOTENCY_KEY = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    "description": "Any unique string (a UUID): the same request sent again with it within 24 hours is "
    "answered as the first was, and done once.",
}

# The steps a system may take through the API: the back office's buttons, and notes.
NOTES = {A.NOTE.value: False, A.COMMENT.value: True}


def _may(p, spec, concern: Concern) -> bool:
    return spec.applies(concern) and can(p, spec.permission, concern)


def _concern(p, c: Concern) -> dict:
    actions = [
        spec.action.value
        for spec in flow.CONCERN_FLOW
        if (spec.button is not None or spec.action.value in NOTES) and _may(p, spec, c)
    ]
    return {**_concern_item(c), "actions": actions, "timeline": [_event(e) for e in c.events]}


def _viewable(concern_id: int):
    p = require_key()
    concern = api_reads.concern_in_scope(p, concern_id)
    if concern is None:
        raise ApiRefused("not_found")  # out of scope reads as unknown: no existence leaks
    return p, concern


@bp.get("/concerns")
@bp.arguments(s.ConcernsArgs, location="query")
@_answers(200, s.ConcernPage, 400, 401, 404, secured=True)
def concerns(args):
    """The concerns in the key's scope, newest first."""
    p = require_key()
    since = args.get("since")
    if since is not None and since.tzinfo is not None:
        since = since.astimezone(UTC).replace(tzinfo=None)
    page = api_reads.concerns(p, args.get("status", ""), args.get("station"), since, args.get("cursor"), args["limit"])
    return {"items": [_concern_item(c) for c in page.items], "next": page.next}


@bp.get("/concerns/<int:concern_id>")
@_answers(200, s.Concern, 401, 404, secured=True)
def concern(concern_id: int):
    """One concern in the key's scope, with its whole timeline and what the key may do now."""
    p, c = _viewable(concern_id)
    return _concern(p, c)


@bp.post("/concerns/<int:concern_id>/actions")
@idempotent(principal)
@bp.arguments(s.ActionIn)
@_answers(201, s.ActionOut, 400, 401, 403, 404, 409, 422, secured=True, not_modified=False)
@bp.doc(parameters=[IDEMPOTENCY_KEY])
def concern_action(body, concern_id: int):
    """Take one step of the closed loop, as the back office does: the same transition table,
    permissions and refusal codes (409 with the code when the step is refused). With an
    `Idempotency-Key` header, the same request sent again within 24 hours is answered as
    the first was (header `Idempotent-Replayed: true`) and taken once; the same key with
    another body is refused (422 `idempotency_key_reused`)."""
    p, c = _viewable(concern_id)
    return _take_step(p, c, body)


def _take_step(p, c: Concern, body: dict) -> dict:
    """The one way a system's step reaches the loop (the actions endpoint and the signed
    inbound one): checked, taken through concern_flow, committed."""
    action = body["action"]
    spec = flow.CONCERN_FLOW.spec(action)
    if spec is None or (spec.button is None and action not in NOTES):
        raise ApiRefused("unknown_action", action=action)
    if p.read_only:
        raise ApiRefused("read_only_key")
    if not can(p, spec.permission, c):
        raise ApiRefused("not_permitted")
    if action in NOTES:
        event = flow.add_note(c, body["note"], role=p.role, actor=None, public=NOTES[action])
    else:
        due = body.get("due")
        targets = flow.step_targets(
            p,
            spec,
            c,
            representative_id=body.get("representative_id") or _rep_id(body.get("representative")),
            unit_id=body.get("unit_id"),
            merge_code=normalize_tracking_code(body.get("merge_into") or ""),
            due_at=end_of_day(due) if due is not None else None,
        )
        event = flow.transition(
            c, spec.action, role=p.role, actor=None, note=body["note"], expected_version=body.get("version"), **targets
        )
    # The step's event names the key that took it (the actor is no person), in this transaction.
    event.api_key = p.api_key
    db.session.commit()
    return {"event": _event(event), "concern": _concern(p, c)}


def _rep_id(code: str | None) -> int | None:
    """The id of the representative with this public code (what the API shows of them)."""
    canonical = normalize_rep_code(code or "")
    rep = rep_pages.by_code(canonical) if canonical is not None else None
    return rep.id if rep is not None else None


# --- figures --------------------------------------------------------------------------------------


def _counts(counts) -> dict:
    out = {name: getattr(counts, name) for name in s.Counts().fields if name != "average_close_days"}
    return {**out, "average_close_days": counts.avg_close_days}


@bp.get("/figures")
@bp.arguments(s.FiguresArgs, location="query")
@_answers(200, s.Figures, 400, 401, 403, secured=True)
def figures(args):
    """The figures page's counts for the key's scope and a period (local days, both included)."""
    p = require_key()
    if not can(p, P.FIGURES_VIEW):
        raise ApiRefused("not_permitted")
    start, end = args.get("start"), args.get("end")
    period, problem = figures_service.Period.parse(
        start.isoformat() if start else None, end.isoformat() if end else None, local_today()
    )
    if problem is not None:
        raise ApiRefused("bad_period")
    from models import utcnow

    table = figures_service.figures(p, args["by"], period, utcnow())
    return {
        "by": table.by,
        "start": period.start,
        "end": period.end,
        "total": _counts(table.total),
        "rows": [{"id": row.key, "name": row.name, "counts": _counts(row.counts)} for row in table.rows],
    }


# --- inbound updates from a unit's own system (signed, services.webhooks) -------------------------

SIGNATURE_HEADERS = [
    {
        "in": "header",
        "name": webhooks.HEADER_TIMESTAMP,
        "required": True,
        "schema": {"type": "string"},
        "description": "Unix seconds when the request was signed (at most 5 minutes ago).",
    },
    {
        "in": "header",
        "name": webhooks.HEADER_SIGNATURE,
        "required": True,
        "schema": {"type": "string"},
        "description": "v1=<hex HMAC-SHA256(secret, timestamp + '.' + raw body)>, with the signing secret "
        "of one of the key's webhook subscriptions.",
    },
]


def _signed(view):
    """The inbound endpoint's checks, before its body is even parsed: a unit's key, and a
    signature of this very body by that key's system, made within the replay window."""

    @functools.wraps(view)
    def checked(*args, **kwargs):
        p = require_key()
        webhooks.verify(
            p.api_key,
            request.headers.get(webhooks.HEADER_TIMESTAMP),
            request.headers.get(webhooks.HEADER_SIGNATURE),
            request.get_data(cache=True),
        )
        if p.unit_id is None:
            raise ApiRefused("not_permitted")  # inbound updates are a handling unit's
        return view(*args, **kwargs)

    return checked


@bp.post("/inbound/concerns/<int:concern_id>")
@_signed
@idempotent(principal)
@bp.arguments(s.InboundIn)
@bp.doc(parameters=[*SIGNATURE_HEADERS, IDEMPOTENCY_KEY])
@_answers(201, s.ActionOut, 400, 401, 403, 404, 409, 422, secured=True, not_modified=False)
def inbound_concern(body, concern_id: int):
    """A handling unit's own system answers (`reply`) or returns (`return`) a concern
    dispatched to its unit: signed like the webhooks it receives (401 bad_signature,
    stale_timestamp), then the same step, permissions and refusal codes as the actions
    endpoint and the back office. An `Idempotency-Key` works as on the actions endpoint:
    a resend (newly signed, same body) is answered as the first was."""
    p, c = _viewable(concern_id)
    return _take_step(p, c, body)
