""" "My concerns" (我的反映): a resident who lost a tracking code finds their concerns by
the mobile number they gave, proven with a code sent by SMS; and stopping SMS: the link in
every resident SMS, and replies that come back through the gateway (views/hooks.py).

The session keeps the id of the last code asked for (`my_code`), then, once the right code
is typed, the id of that code and until when the list stays open (`my`): never the number.
"""

import time

from flask import Blueprint, abort, current_app, flash, make_response, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from limits import parse_many

from extensions import db, limiter
from services import concern_flow as flow
from services import refusals
from services import resident_mobile as mobiles
from services.codes import format_tracking_code
from services.errors import DomainError
from views.forms import ButtonForm
from views.forms.residents import CodeForm, MobileForm

bp = Blueprint("my", __name__)

ASKED = "my_code"  # the last code asked for: its row id and the masked number
OPEN = "my"  # the confirmed code's row id and until when (epoch seconds) the list shows


def _over_limit(setting: str, scope: str) -> bool:
    """Count one request from this address against `setting`; True once over it."""
    if not current_app.config["RATELIMIT_ENABLED"]:
        return False
    address = get_remote_address()
    return not all(limiter.limiter.hit(item, scope, address) for item in parse_many(current_app.config[setting]))


def confirmed_mobile() -> str | None:
    """The number this browser proved with a code in the last MY_SESSION_MINUTES, or None."""
    opened = session.get(OPEN)
    if not (isinstance(opened, list) and len(opened) == 2):
        return None
    code_id, until = opened
    if not isinstance(code_id, int) or not isinstance(until, int | float) or until < time.time():
        session.pop(OPEN, None)
        return None
    return mobiles.mobile_of_code(code_id)


def _page(template: str, status: int = 200, **context):
    response = make_response(render_template(template, **context), status)
    # Personal pages: never kept by a shared cache or shown again from the back button's cache.
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _ask_page(form: MobileForm | None = None, status: int = 200, notice: str | None = None):
    return _page("my/ask.html", status, form=form or MobileForm(formdata=None), notice=notice)


@bp.get("/my")
def home():
    mobile = confirmed_mobile()
    if mobile is None:
        return _ask_page()
    concerns = mobiles.concerns_for(mobile)
    rows = [
        {
            "code": c.tracking_code,
            "code_display": format_tracking_code(c.tracking_code),
            "station": c.station.name,
            "filed": c.created_at,
            "status": flow.status_for_resident(c.status),
        }
        for c in concerns
    ]
    return _page(
        "my/list.html",
        rows=rows,
        mobile=mobiles.masked(mobile),
        stopped=mobiles.is_stopped(mobile),
        button=ButtonForm(),
        minutes=current_app.config["MY_SESSION_MINUTES"],
    )


@bp.post("/my")
def ask():
    form = MobileForm()
    if not form.validate_on_submit():
        return _ask_page(form, 422)
    if _over_limit("MY_RATE_LIMIT", "my-code"):
        return _ask_page(form, 429, _("Too many codes were asked for from this network. Please try again in an hour."))
    try:
        row = mobiles.request_code(form.mobile.data)
        asked = [row.id, mobiles.masked(row.mobile)]
        db.session.commit()
    except DomainError as refused:
        db.session.rollback()
        form.mobile.errors = [refusals.message(refused)]
        return _ask_page(form, 429 if refused.code.startswith("too_many") else 422)
    session[ASKED] = asked
    session.pop(OPEN, None)
    return redirect(url_for("my.code"), 303)


def _code_page(form: CodeForm | None = None, status: int = 200):
    asked = session.get(ASKED)
    if not (isinstance(asked, list) and len(asked) == 2):
        return redirect(url_for("my.home"), 303)
    return _page(
        "my/code.html",
        status,
        form=form or CodeForm(formdata=None),
        mobile=asked[1],
        minutes=current_app.config["MY_CODE_MINUTES"],
        per_day=current_app.config["UNCONFIRMED_CODES_PER_DAY"],
    )


@bp.get("/my/code")
def code():
    return _code_page()


@bp.post("/my/code")
def verify():
    asked = session.get(ASKED)
    if not (isinstance(asked, list) and len(asked) == 2 and isinstance(asked[0], int)):
        flash(_("Please ask for a code first."))
        return redirect(url_for("my.home"), 303)
    form = CodeForm()
    if not form.validate_on_submit():
        return _code_page(form, 422)
    if _over_limit("MY_VERIFY_RATE_LIMIT", "my-verify"):
        form.code.errors = [_("Too many codes were typed in from this network. Please try again in an hour.")]
        return _code_page(form, 429)
    try:
        mobiles.verify_code(asked[0], form.code.data)
        db.session.commit()
    except DomainError as refused:
        db.session.commit()  # a wrong try counts: keep it
        form.code.errors = [refusals.message(refused)]
        return _code_page(form, 422)
    session.pop(ASKED, None)
    session[OPEN] = [asked[0], int(time.time()) + current_app.config["MY_SESSION_MINUTES"] * 60]
    return redirect(url_for("my.home"), 303)


@bp.post("/my/leave")
def leave():
    if not ButtonForm().validate_on_submit():
        abort(400)
    session.pop(OPEN, None)
    session.pop(ASKED, None)
    flash(_("The list of your concerns is closed on this phone."))
    return redirect(url_for("my.home"), 303)


@bp.post("/my/sms/<any(stop, start):choice>")
def sms(choice: str):
    if not ButtonForm().validate_on_submit():
        abort(400)
    mobile = confirmed_mobile()
    if mobile is None:
        flash(_("Please confirm your number with a code first."))
        return redirect(url_for("my.home"), 303)
    if choice == "stop":
        mobiles.opt_out(mobile, "page")
        message = _("We will send no more SMS to this number.")
    else:
        mobiles.opt_in(mobile)
        message = _("This number will receive SMS about its concerns again.")
    db.session.commit()
    flash(message)
    return redirect(url_for("my.home"), 303)


# --- the stop link in every resident SMS ----------------------------------------------


def _stop_mobile(token: str) -> str:
    mobile = mobiles.mobile_from_stop_token(token)
    if mobile is None:
        abort(404, description=_("This link is not complete. Please open it from the SMS again."))
    return mobile


@bp.get("/sms/stop/<token>")
def stop(token: str):
    mobile = _stop_mobile(token)
    return _page("my/stop.html", mobile=mobiles.masked(mobile), stopped=mobiles.is_stopped(mobile), button=ButtonForm())


@bp.post("/sms/stop/<token>")
def stop_confirm(token: str):
    mobile = _stop_mobile(token)
    if not ButtonForm().validate_on_submit():
        abort(400)
    mobiles.opt_out(mobile, "link")
    db.session.commit()
    flash(_("We will send no more SMS to this number."))
    return redirect(url_for("my.stop", token=token), 303)
