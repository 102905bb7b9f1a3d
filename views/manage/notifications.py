"""Notifications that did not go out: staff see whom to tell another way, and say when they did."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from extensions import db
from models import Outbox
from services import notifications
from services.permissions import Permission as P
from views.forms import ButtonForm
from views.manage import bp
from views.util import get_or_404, id_arg, require_or_abort, safe_next


@bp.get("/not-notified")
@login_required
def not_notified():
    require_or_abort(P.NOTIFICATIONS_NOT_SENT)
    handled = request.args.get("handled") == "1"
    page = notifications.not_sent(current_user, handled=handled, before=request.args.get("before", type=id_arg))
    return render_template("manage/not_notified.html", page=page, handled=handled, why=notifications.why_not_sent)


@bp.post("/not-notified/<int:row_id>/handled")
@login_required
def not_notified_handled(row_id: int):
    row = get_or_404(Outbox, row_id)
    if row.concern is None:
        abort(404)
    require_or_abort(P.NOTIFICATIONS_NOT_SENT)
    require_or_abort(P.CONCERN_VIEW, row.concern)
    if not ButtonForm().validate_on_submit():
        abort(400)
    notifications.mark_handled(row, current_user)
    db.session.commit()
    flash(_("Marked as told another way."))
    return redirect(safe_next(request.form.get("next"), url_for(".not_notified")))
