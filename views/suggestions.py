"""Representatives' suggestions (代表建议) for the representative, on the phone:
/me/suggestions lists theirs and those they are invited to co-sign, files a new one, and
shows one with its steps (co-sign, submit, withdraw, rate the reply, rate the result).

The page of one suggestion is the same for everyone (render_suggestion, act): the back
office's /manage/suggestions/<id> (views/manage/suggestions.py) uses it for staff and units."""

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from extensions import db
from models import Suggestion, Unit
from models.enums import Rating, ReplyClass, Role
from models.enums import SuggestionAction as A
from models.enums import SuggestionStatus as S
from services import notifications, refusals
from services import suggestion_flow as flow
from services.codes import format_tracking_code
from services.errors import DomainError, SuggestionRefused
from services.permissions import Permission as P
from services.permissions import can, suggestion_units_clause
from services.workflow import ActionSpec
from views.forms.suggestions import SuggestionForm, SuggestionStepForm
from views.util import get_or_404, require_or_abort

bp = Blueprint("suggestions", __name__)


def _rep():
    rep = current_user.representative if current_user.role == Role.REPRESENTATIVE else None
    if rep is None:
        abort(403)
    return rep


@bp.get("/me/suggestions")
@login_required
def mine():
    rep = _rep()
    require_or_abort(P.SUGGESTION_LIST)
    found = flow.visible(current_user)
    return render_template(
        "suggestions/mine.html",
        own=[s for s in found if s.author_id == rep.id],
        invited=[s for s in found if s.author_id != rep.id],
        may_file=can(current_user, P.SUGGESTION_FILE),
        rep=rep,
    )


def _fill_choices(form: SuggestionForm, rep) -> None:
    form.station.choices = [(s.id, s.name) for s in flow.stations_of(rep)]
    form.signers.choices = [(r.id, r.name) for r in flow.offered_signers(rep)]
    form.concerns.choices = [
        (c.id, f"{format_tracking_code(c.tracking_code)} · {c.content[:30]}…") for c in flow.offered_concerns(rep)
    ]


@bp.route("/me/suggestions/new", methods=["GET", "POST"])
@login_required
def new():
    rep = _rep()
    require_or_abort(P.SUGGESTION_FILE)
    form = SuggestionForm()
    _fill_choices(form, rep)
    status = 200
    if form.validate_on_submit():
        data = flow.SuggestionInput(
            title=form.title.data or "",
            content=form.content.data or "",
            station_id=form.station.data,
            signer_ids=form.signer_ids(),
            concern_ids=form.concern_ids(),
        )
        try:
            suggestion = flow.file(rep, data, actor=current_user)
            db.session.commit()
        except SuggestionRefused as refused:
            db.session.rollback()
            field, message = refusals.explain(refused)
            form_field = getattr(form, field or "", None)
            if form_field is not None:
                form_field.errors = [*form_field.errors, message]
            else:
                flash(message)
            status = 422
        else:
            done = _("Saved as a draft. Submit it to the congress once your co-signers have signed.")
            flash(done if suggestion.signers else _("Saved as a draft. Read it once more, then submit it."))
            return redirect(url_for(".show", suggestion_id=suggestion.id))
    elif form.is_submitted():
        status = 422
    return render_template("suggestions/new.html", form=form), status


@bp.get("/me/suggestions/<int:suggestion_id>")
@login_required
def show(suggestion_id: int):
    return render_suggestion(viewable(suggestion_id), back=url_for(".mine"))


@bp.post("/me/suggestions/<int:suggestion_id>/act")
@login_required
def act_mine(suggestion_id: int):
    return act(suggestion_id, page=".show")


# --- the page of one suggestion, for everyone ------------------------------------------------


def viewable(suggestion_id: int) -> Suggestion:
    suggestion = get_or_404(Suggestion, suggestion_id)
    require_or_abort(P.SUGGESTION_VIEW, suggestion)
    return suggestion


def _may(spec: ActionSpec, suggestion: Suggestion) -> bool:
    return spec.applies(suggestion) and can(current_user, spec.permission, suggestion)


def _units(suggestion: Suggestion) -> list[Unit]:
    return list(db.session.scalars(sa.select(Unit).where(suggestion_units_clause(suggestion)).order_by(Unit.name)))


def render_suggestion(suggestion: Suggestion, *, back: str, error=None, values=None, status: int = 200):
    steps = [spec for spec in flow.SUGGESTION_FLOW if spec.button is not None and _may(spec, suggestion)]
    rate = flow.SUGGESTION_FLOW[A.RATE_RESULT]
    may_rate = can(current_user, rate.permission, suggestion)
    staff_side = current_user.role != Role.REPRESENTATIVE
    return (
        render_template(
            "suggestions/show.html",
            s=suggestion,
            steps=steps,
            rate_reply=may_rate and suggestion.status == S.REPLIED,
            rate_result=may_rate and suggestion.status == S.DONE,
            may_send_back=flow.SUGGESTION_FLOW[A.SEND_BACK].applies(suggestion),
            units=_units(suggestion) if any(spec.needs == "units" for spec in steps) else [],
            default_days=flow.default_days(),
            ratings=list(Rating),
            classes=list(ReplyClass),
            events=[e for e in suggestion.events if e.is_public or staff_side],
            overdue=flow.is_overdue(suggestion),
            form=SuggestionStepForm(formdata=None),
            act_url=url_for(
                "manage.suggestion_act" if staff_side else "suggestions.act_mine", suggestion_id=suggestion.id
            ),
            back=back,
            error=error,
            values=values or {},
        ),
        status,
    )


def _as_typed(form) -> dict:
    return {field.name: field.raw_data if field.raw_data else [] for field in form}


def _chosen_units(suggestion: Suggestion, form: SuggestionStepForm) -> dict:
    """The lead unit and co-units chosen, within reach (a forged form offers any: what is out
    of reach counts as not chosen, or as a bad co-unit)."""
    reach = {u.id: u for u in _units(suggestion)}
    lead = reach.get(form.lead_unit.data or 0)
    co_ids = [i for i in dict.fromkeys(form.co_units.data or []) if i]
    if any(i not in reach for i in co_ids):
        raise SuggestionRefused("bad_co_unit", n=flow.CO_UNITS_MAX)
    return {"lead_unit": lead, "co_units": [reach[i] for i in co_ids], "days": form.days.data}


def _reply(form: SuggestionStepForm) -> dict:
    form.planned_on.validate(form)
    if form.planned_on.errors:
        raise SuggestionRefused("planned_date_required")
    raw = form.reply_class.data or ""
    return {
        "reply_class": ReplyClass(raw) if raw in ReplyClass._value2member_map_ else None,
        "planned_on": form.planned_on.data,
    }


def _rating(form: SuggestionStepForm) -> Rating:
    raw = form.rating.data or ""
    if raw not in Rating._value2member_map_:
        raise SuggestionRefused("rating_required")
    return Rating(raw)


def act(suggestion_id: int, *, page: str):
    """A step on a suggestion's page: load → permission → one service call → commit → back
    to the page; a refusal shows the page as it is now, with what was typed."""
    suggestion = viewable(suggestion_id)
    form = SuggestionStepForm()
    if not form.validate_on_submit():
        abort(400)
    action = form.action.data or ""
    spec = flow.SUGGESTION_FLOW.spec(action)
    if spec is None or (spec.button is None and action not in (A.RATE_REPLY, A.RATE_RESULT)):
        abort(400)
    require_or_abort(spec.permission, suggestion)
    try:
        if action in (A.RATE_REPLY, A.RATE_RESULT):
            event = flow.rate(
                suggestion,
                _rating(form),
                actor=current_user,
                comment=form.note.data or "",
                send_back=action == A.RATE_REPLY and bool(form.send_back.data),
                expected_version=form.version.data,
            )
            closed = suggestion.status == S.CLOSED
            done = _("Thank you: the suggestion is closed.") if closed else str(flow.action_title(event.action))
        else:
            extra = _chosen_units(suggestion, form) if spec.needs == "units" else {}
            if spec.needs == "reply_class":
                extra = _reply(form)
            event = flow.transition(
                suggestion,
                spec.action,
                role=current_user.role,
                actor=current_user,
                note=form.note.data or "",
                expected_version=form.version.data,
                **extra,
            )
            done = str(spec.done)
        db.session.commit()
    except DomainError as refused:
        db.session.rollback()
        suggestion = viewable(suggestion_id)
        message = refusals.message(refused, refusals.SUGGESTION)
        back = url_for(".mine") if page == ".show" else url_for("manage.suggestions")
        return render_suggestion(suggestion, back=back, error=(action, message), values=_as_typed(form), status=409)
    notified = getattr(event, "notified", [])
    flash(f"{done} {notifications.told_whom(notified)}" if notified else done)
    return redirect(url_for(page, suggestion_id=suggestion_id))
