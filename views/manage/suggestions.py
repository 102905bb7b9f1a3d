"""Representatives' suggestions in the back office: congress staff register and assign
them and mark 重点建议; the lead unit replies and reports them done, co-units give their
opinion; the leadership's list of key suggestions. The page of one suggestion is shared
with the representatives' (views/suggestions.py)."""

from flask import render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from models import Suggestion, utcnow
from models.enums import SuggestionStatus as S
from services import suggestion_flow as flow
from services.permissions import Permission as P
from services.permissions import can, units_of
from views import suggestions as pages
from views.manage import bp
from views.util import require_or_abort

BOXES = {
    "todo": _l("To act on"),
    "open": _l("Open"),
    "all": _l("All"),
}
# What each side of the loop acts on next (the "to act on" box).
STAFF_TODO = (S.SUBMITTED, S.REGISTERED)
UNIT_TODO = (S.ASSIGNED, S.IMPLEMENTING)


def _todo_clause(user):
    if units_of(user):
        return Suggestion.status.in_(UNIT_TODO)
    return Suggestion.status.in_(STAFF_TODO)


@bp.get("/suggestions")
@login_required
def suggestions():
    require_or_abort(P.SUGGESTION_LIST)
    box = request.args.get("box", "todo")
    if box not in BOXES:
        box = "todo"
    where = {
        "todo": [_todo_clause(current_user)],
        "open": [Suggestion.status.in_(flow.OPEN_STATUSES)],
        "all": [],
    }[box]
    return render_template(
        "manage/suggestions.html",
        rows=flow.visible(current_user, *where),
        box=box,
        boxes=BOXES,
        may_key_list=can(current_user, P.SUGGESTION_KEY_LIST),
        now=utcnow(),
        is_overdue=flow.is_overdue,
    )


@bp.get("/suggestions/key")
@login_required
def key_suggestions():
    """重点建议, for the congress leadership's supervision: open ones first, by deadline."""
    require_or_abort(P.SUGGESTION_KEY_LIST)
    return render_template(
        "manage/suggestions_key.html",
        rows=flow.key_suggestions(current_user),
        is_overdue=flow.is_overdue,
    )


@bp.get("/suggestions/<int:suggestion_id>")
@login_required
def suggestion(suggestion_id: int):
    return pages.render_suggestion(pages.viewable(suggestion_id), back=url_for(".suggestions"))


@bp.post("/suggestions/<int:suggestion_id>/act")
@login_required
def suggestion_act(suggestion_id: int):
    return pages.act(suggestion_id, page="manage.suggestion")
