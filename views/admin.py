"""Administration: accounts of every role with their scope, and the working-day calendar.

Every page here is for the `user.manage` action (administrators); the calendar pages also
ask for `calendar.manage`. Each state change is a POST that calls one service (services.auth,
services.account_links, services.workdays), which leaves an AuditLog row. Nobody types
anyone's password here: a new account gets an invitation to set its own, and a forgotten
one a link to set a new one (the buttons of templates/manage/_account_state.html).
"""

from datetime import date

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.datastructures import FileStorage

from extensions import db
from models import ApiKey, AuditLog, User, WebhookSubscription, utcnow
from models.enums import Role
from services import account_links, api_keys, refusals, webhooks, workdays
from services import auth as auth_service
from services import sessions as session_service
from services.account_links import LinkRefused
from services.auth import AuthRefused
from services.clock import local_today
from services.errors import ApiRefused
from services.limits import (
    SEARCH_QUERY_MAX,
)
from services.permissions import Permission as P
from services.workdays import CalendarRefused
from views.forms import ButtonForm
from views.forms.admin import (
    CalendarDayForm,
    CalendarImportForm,
    ContactForm,
    SwitchForm,
    UserForm,
)
from views.forms.api_keys import ApiKeyForm
from views.forms.webhooks import WebhookForm
from views.util import get_or_404, id_arg, require_or_abort

bp = Blueprint("admin", __name__, url_prefix="/admin")

# What an administrator reads in an account's history.
AUDIT_TITLES = {
    "account.created": _l("Account created"),
    "account.locked": _l("Locked after too many wrong passwords"),
    "account.unlocked": _l("Unlocked"),
    "account.password_changed": _l("Password changed by its owner"),
    "account.password_reset": _l("Password reset by an administrator"),
    "account.invited": _l("Invitation sent"),
    "account.invite_resent": _l("Invitation sent again"),
    "account.reset_sent": _l("Link to set a new password sent"),
    "account.reset_requested": _l("New password asked for (“forgot password”)"),
    "account.password_set_via_link": _l("Password set through a link"),
    "account.switched_off": _l("Switched off"),
    "account.switched_on": _l("Switched on"),
    "account.contact_changed": _l("Contact details changed"),
    "account.signed_out_everywhere": _l("Signed out everywhere"),
    "api_key.created": _l("API key created"),
    "api_key.revoked": _l("API key revoked"),
    "webhook.created": _l("Webhook added"),
    "webhook.paused": _l("Webhook paused"),
    "webhook.resumed": _l("Webhook resumed"),
    "webhook.deleted": _l("Webhook deleted"),
    "webhook.test_sent": _l("Webhook test event queued"),
}


@bp.before_request
def only_administrators():
    require_or_abort(P.USER_MANAGE)


def _actor() -> User:
    return current_user._get_current_object()


@bp.get("/")
def index():
    return redirect(url_for("admin.users"))


@bp.get("/users")
def users():
    role = request.args.get("role", "")
    role = Role(role) if role in {r.value for r in Role} else None
    query = (request.args.get("q") or "").strip()[:SEARCH_QUERY_MAX]
    before = request.args.get("before", type=id_arg)
    page = auth_service.list_users(role=role, query=query, before=before, limit=auth_service.PAGE_SIZE + 1)
    more = len(page) > auth_service.PAGE_SIZE
    page = page[: auth_service.PAGE_SIZE]
    return render_template(
        "admin/users.html",
        users=page,
        role=role,
        roles=list(Role),
        query=query,
        next_before=page[-1].id if more else None,
        is_locked=auth_service.is_locked,
    )


@bp.route("/users/new", methods=["GET", "POST"])
def user_new():
    form = UserForm()
    if request.method == "GET" and request.args.get("role") in {r.value for r in Role}:
        form.role.data = request.args["role"]
    if form.validate_on_submit():
        try:
            user = auth_service.create_user(
                actor=_actor(),
                username=form.username.data,
                display_name=form.display_name.data,
                role=form.role.data,
                mobile=form.mobile.data or None,
                email=form.email.data or None,
                **form.scope(),
            )
        except AuthRefused as refused:
            db.session.rollback()
            for code, details in refused.details.get("problems", [(refused.code, refused.details)]):
                field_name, message = refusals.explain(AuthRefused(code, **details))
                if code == "scope_not_for_role":  # the view only passes the role's scope
                    field_name = details.get("field")
                getattr(form, field_name or "role").errors.append(message)
        else:
            # The person sets their own password through the invitation, sent in this step.
            try:
                link = account_links.invite(_actor(), user)
            except LinkRefused:  # no_contact: the form lets both contact fields be empty
                link = None
            db.session.commit()
            if link is None:
                flash(
                    _(
                        "Account %(username)s created, but no invitation was sent: it has neither mobile number nor "
                        "e-mail. Add one below, then send the invitation.",
                        username=user.username,
                    )
                )
            else:
                flash(
                    _(
                        "Account %(username)s created. An invitation to set a password goes out by %(channel)s "
                        "within a minute: this page shows when it has left.",
                        username=user.username,
                        channel=_("SMS") if link.channel == "sms" else _("e-mail"),
                    )
                )
            return redirect(url_for("admin.user_detail", user_id=user.id), 303)
    return render_template("admin/user_new.html", form=form), 422 if form.errors else 200


@bp.get("/users/<int:user_id>")
def user_detail(user_id: int):
    user = get_or_404(User, user_id)
    return _render_detail(user)


def _render_detail(user: User, contact_form: ContactForm | None = None, status=200):
    history = db.session.scalars(
        sa.select(AuditLog)
        .where(AuditLog.target_type == "user", AuditLog.target_id == user.id)
        .order_by(AuditLog.id.desc())
        .limit(20)
    ).all()
    actor_ids = {entry.actor_id for entry in history if entry.actor_id}
    actors = {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(actor_ids)))} if actor_ids else {}
    return (
        render_template(
            "admin/user_detail.html",
            user=user,
            locked=auth_service.is_locked(user),
            switch_form=SwitchForm(formdata=None),
            contact_form=contact_form or ContactForm(formdata=None, email=user.email, mobile=user.mobile),
            history=history,
            actors=actors,
            live_sessions=session_service.live_sessions(
                user, utcnow(), session_service.Limits.from_config(current_app.config)
            ),
            audit_titles=AUDIT_TITLES,
        ),
        status,
    )


@bp.post("/users/<int:user_id>/active")
def user_set_active(user_id: int):
    user = get_or_404(User, user_id)
    form = SwitchForm()
    if not form.validate_on_submit():
        abort(400)
    active = form.switch_on
    try:
        changed = auth_service.set_active(_actor(), user, active)
    except AuthRefused as refused:
        db.session.rollback()
        flash(refusals.message(refused))
        return redirect(url_for("admin.user_detail", user_id=user_id), 303)
    db.session.commit()
    if changed:
        flash(_("The account is switched on.") if active else _("The account is switched off and signed out."))
    return redirect(url_for("admin.user_detail", user_id=user_id), 303)


@bp.post("/users/<int:user_id>/unlock")
def user_unlock(user_id: int):
    user = get_or_404(User, user_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    auth_service.unlock(_actor(), user)
    db.session.commit()
    flash(_("The account is unlocked."))
    return redirect(url_for("admin.user_detail", user_id=user_id), 303)


@bp.post("/users/<int:user_id>/sign-out")
def user_sign_out_everywhere(user_id: int):
    """End every session of the account (the administrator's own too, when it is theirs)."""
    user = get_or_404(User, user_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    ended = session_service.sign_out_everywhere(_actor(), user, utcnow())
    db.session.commit()
    flash(_("%(username)s is signed out everywhere (%(n)d sessions).", username=user.username, n=ended))
    return redirect(url_for("admin.user_detail", user_id=user_id), 303)


@bp.post("/users/<int:user_id>/contact")
def user_set_contact(user_id: int):
    user = get_or_404(User, user_id)
    form = ContactForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        changed = auth_service.set_contact(_actor(), user, email=form.email.data, mobile=form.mobile.data)
    except AuthRefused as refused:
        db.session.rollback()
        field_name, message = refusals.explain(refused)
        getattr(form, field_name or "email").errors.append(message)
        return _render_detail(user, contact_form=form, status=422)
    db.session.commit()
    if changed:
        flash(_("Contact details saved. Notifications go by e-mail when there is an address, else by SMS."))
    return redirect(url_for("admin.user_detail", user_id=user_id), 303)


# --- the working-day calendar ----------------------------------------------------------------

# chinese_calendar names its holidays in English; these are the names people read.
LIBRARY_HOLIDAYS = {
    "New Year's Day": _l("New Year's Day"),
    "Spring Festival": _l("Spring Festival"),
    "Tomb-sweeping Day": _l("Qingming Festival"),
    "Labour Day": _l("Labour Day"),
    "Dragon Boat Festival": _l("Dragon Boat Festival"),
    "National Day": _l("National Day"),
    "Mid-autumn Festival": _l("Mid-Autumn Festival"),
    "Anti-Fascist 70th Day": _l("70th anniversary of the victory over fascism"),
}
SHOWN_PROBLEMS = 30


def day_kind(day: date, is_workday: bool) -> str:
    """How a listed day differs from an ordinary week."""
    weekend = day.weekday() >= 5
    if is_workday:
        return _("Make-up working day") if weekend else _("Working day")
    return _("Day off") if weekend else _("Public holiday")


def _calendar_year() -> int:
    year = request.args.get("year", type=int)
    return year if year and workdays.FIRST_YEAR <= year <= workdays.LAST_YEAR else local_today().year


def _render_calendar(year: int, import_form=None, day_form=None, problems=(), status: int = 200):
    today = local_today()
    entered = workdays.entered_years()
    complete = workdays.complete_years()
    # The years a deadline set now can reach: this one and the next.
    upcoming = [y for y in (today.year, today.year + 1) if y not in complete and not workdays.library_knows_year(y)]
    days = [
        {
            "day": d.day,
            "weekday": format_date(d.day, "EEE"),
            "kind": day_kind(d.day, d.is_workday),
            "workday": d.is_workday,
            "name": str(LIBRARY_HOLIDAYS.get(d.name, d.name)) if d.source == "library" else d.name,
            "entered": d.source == "entered",
        }
        for d in workdays.special_days(year)
    ]
    chips = sorted(set(range(today.year - 1, today.year + 3)) | set(entered) | {year})
    return (
        render_template(
            "admin/calendar.html",
            year=year,
            source=workdays.year_source(year),
            library_years=workdays.library_years(),
            entered_years=complete,
            upcoming_unknown=upcoming,
            chips=chips,
            days=days,
            import_form=import_form or CalendarImportForm(formdata=None),
            day_form=day_form or CalendarDayForm(formdata=None),
            problems=problems[:SHOWN_PROBLEMS],
            more_problems=max(0, len(problems) - SHOWN_PROBLEMS),
        ),
        status,
    )


@bp.get("/calendar")
def calendar():
    require_or_abort(P.CALENDAR_MANAGE)
    return _render_calendar(_calendar_year())


@bp.post("/calendar/import")
def calendar_import():
    require_or_abort(P.CALENDAR_MANAGE)
    form = CalendarImportForm()
    year = _calendar_year()
    if not form.validate_on_submit():
        abort(400)
    upload = form.file.data
    try:
        if isinstance(upload, FileStorage) and upload.filename:
            text = workdays.decode_upload(upload.read(workdays.MAX_UPLOAD_BYTES + 1))
            # Shown again in the text box on a refusal, so the lines can be corrected here.
            form.text.data = text
        else:
            text = form.text.data or ""
        summary = workdays.import_schedule(text, actor=_actor(), replace_years=form.replace.data)
    except CalendarRefused as refused:
        db.session.rollback()
        return _render_calendar(year, import_form=form, problems=refusals.line_messages(refused), status=422)
    db.session.commit()
    flash(
        _(
            "Schedule saved for %(years)s: %(holidays)d days off and %(workdays)d working days "
            "(%(added)d new, %(changed)d changed, %(removed)d removed).",
            years=", ".join(str(y) for y in summary.years),
            holidays=summary.holidays,
            workdays=summary.workdays,
            added=summary.added,
            changed=summary.changed,
            removed=summary.removed,
        )
    )
    return redirect(url_for("admin.calendar", year=summary.years[0]), 303)


@bp.post("/calendar/days")
def calendar_day_set():
    require_or_abort(P.CALENDAR_MANAGE)
    form = CalendarDayForm()
    year = _calendar_year()
    if form.validate_on_submit():
        try:
            entry = workdays.set_day(form.day.data, form.is_workday, form.name.data or "", actor=_actor())
        except CalendarRefused as refused:
            db.session.rollback()
            target = form.name if refused.code == "name_too_long" else form.day
            target.errors.append(refusals.line_messages(refused)[0])
        else:
            db.session.commit()
            flash(_("%(day)s saved: %(kind)s.", day=entry.day.isoformat(), kind=day_kind(entry.day, entry.is_workday)))
            return redirect(url_for("admin.calendar", year=entry.day.year), 303)
    return _render_calendar(year, day_form=form, status=422)


@bp.post("/calendar/<int:year>/complete")
def calendar_year_complete(year: int):
    require_or_abort(P.CALENDAR_MANAGE)
    if not ButtonForm().validate_on_submit():
        abort(400)
    try:
        marked = workdays.mark_complete(year, actor=_actor())
    except CalendarRefused:
        abort(404)
    db.session.commit()
    if marked:
        flash(_("%(year)d marked as complete: deadlines in it are no longer estimates.", year=year))
    return redirect(url_for("admin.calendar", year=year), 303)


@bp.post("/calendar/days/<day>/delete")
def calendar_day_delete(day: str):
    require_or_abort(P.CALENDAR_MANAGE)
    try:
        when = date.fromisoformat(day)
    except ValueError:
        abort(404)
    if not ButtonForm().validate_on_submit():
        abort(400)
    if workdays.delete_day(when, actor=_actor()):
        db.session.commit()
        flash(_("%(day)s removed from the calendar.", day=when.isoformat()))
    return redirect(url_for("admin.calendar", year=when.year), 303)


# --- API keys for other systems (/api/v1/) ------------------------------------------------------


def _render_keys(form: ApiKeyForm, *, new_key: str | None = None, error: str | None = None, status: int = 200):
    response = make_response(
        render_template(
            "admin/api_keys.html",
            keys=api_keys.keys(),
            form=form,
            new_key=new_key,
            error=error,
            scope_of=api_keys.scope_of,
        ),
        status,
    )
    response.headers["Cache-Control"] = "no-store"  # a new key is on the page once
    return response


@bp.get("/api-keys")
def api_key_list():
    require_or_abort(P.API_KEY_MANAGE)
    return _render_keys(ApiKeyForm(formdata=None))


@bp.post("/api-keys")
def api_key_new():
    require_or_abort(P.API_KEY_MANAGE)
    form = ApiKeyForm()
    if not form.validate():
        return _render_keys(form, status=400)
    try:
        region, unit = api_keys.scope_from(form.region.data, form.unit.data)
        made = api_keys.create(
            _actor(),
            form.name.data or "",
            region=region,
            unit=unit,
            can_act=form.can_act.data,
            rate_per_minute=form.rate_per_minute.data or api_keys.DEFAULT_RATE,
            note=form.note.data or "",
        )
    except ApiRefused as refused:
        db.session.rollback()
        return _render_keys(form, error=refusals.message(refused), status=400)
    db.session.commit()
    # Shown on this page, once: it is not kept anywhere it could be shown again.
    return _render_keys(ApiKeyForm(formdata=None), new_key=made.plain, status=201)


@bp.post("/api-keys/<int:key_id>/revoke")
def api_key_revoke(key_id: int):
    require_or_abort(P.API_KEY_MANAGE)
    key = get_or_404(ApiKey, key_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    try:
        api_keys.revoke(_actor(), key)
    except ApiRefused as refused:
        db.session.rollback()
        flash(refusals.message(refused))
        return redirect(url_for("admin.api_key_list"), 303)
    db.session.commit()
    flash(_("The key is revoked: requests with it are refused from now on."))
    return redirect(url_for("admin.api_key_list"), 303)


# --- webhooks of an API key's system (services.webhooks) ----------------------------------------


def _render_webhooks(key: ApiKey, form: WebhookForm, *, secret: str | None = None, status: int = 200, error=None):
    response = make_response(
        render_template(
            "admin/webhooks.html",
            key=key,
            subscriptions=webhooks.subscriptions_of(key),
            counts=webhooks.delivery_counts,
            events=webhooks.EVENTS,
            form=form,
            secret=secret,
            error=error,
        ),
        status,
    )
    response.headers["Cache-Control"] = "no-store"  # a new secret is on the page once
    return response


def _subscription(key_id: int, webhook_id: int) -> tuple[ApiKey, WebhookSubscription]:
    key = get_or_404(ApiKey, key_id)
    sub = get_or_404(WebhookSubscription, webhook_id)
    if sub.api_key_id != key.id:
        abort(404)
    return key, sub


@bp.get("/api-keys/<int:key_id>/webhooks")
def webhook_list(key_id: int):
    require_or_abort(P.API_KEY_MANAGE)
    return _render_webhooks(get_or_404(ApiKey, key_id), WebhookForm(formdata=None))


@bp.post("/api-keys/<int:key_id>/webhooks")
def webhook_new(key_id: int):
    require_or_abort(P.API_KEY_MANAGE)
    key = get_or_404(ApiKey, key_id)
    form = WebhookForm()
    if not form.validate():
        return _render_webhooks(key, form, status=400)
    try:
        made = webhooks.subscribe(_actor(), key, form.url.data or "", form.events.data or [])
    except ApiRefused as refused:
        db.session.rollback()
        field, text = refusals.explain(refused)
        target = getattr(form, field, None) if field else None
        if target is not None:
            target.errors = [*target.errors, text]
        return _render_webhooks(key, form, status=400, error=None if target is not None else text)
    db.session.commit()
    # Shown on this page, once: the admin gives it to the receiving system's operator.
    return _render_webhooks(key, WebhookForm(formdata=None), secret=made.secret, status=201)


WEBHOOK_ACTIONS = {
    "pause": (webhooks.pause, _l("Paused: no new events are sent until you resume it.")),
    "resume": (webhooks.resume, _l("Resumed: events are sent again.")),
    "delete": (webhooks.delete, _l("Deleted: nothing more is sent, and its secret no longer signs requests.")),
    "test": (webhooks.send_test, _l("A test event (ping) is queued: it goes out within a minute.")),
}


@bp.post("/api-keys/<int:key_id>/webhooks/<int:webhook_id>/<any(pause, resume, delete, test):action>")
def webhook_action(key_id: int, webhook_id: int, action: str):
    require_or_abort(P.API_KEY_MANAGE)
    key, sub = _subscription(key_id, webhook_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    change, done = WEBHOOK_ACTIONS[action]
    try:
        change(_actor(), sub)
    except ApiRefused as refused:
        db.session.rollback()
        flash(refusals.message(refused))
    else:
        db.session.commit()
        flash(str(done))
    back = "admin.webhook_log" if action == "test" else "admin.webhook_list"
    return redirect(url_for(back, key_id=key.id, webhook_id=sub.id), 303)


@bp.get("/api-keys/<int:key_id>/webhooks/<int:webhook_id>")
def webhook_log(key_id: int, webhook_id: int):
    require_or_abort(P.API_KEY_MANAGE)
    key, sub = _subscription(key_id, webhook_id)
    return render_template(
        "admin/webhook_log.html",
        key=key,
        sub=sub,
        events=webhooks.EVENTS,
        rows=webhooks.deliveries(sub),
        counts=webhooks.delivery_counts(sub),
    )
