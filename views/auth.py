"""Sign in, sign out, change one's own password, one's sessions, the password typed again
before a sensitive step, and setting one's password through a single-use link (an invitation,
or "forgot password")."""

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from extensions import SESSION_KEY, db, limiter
from models import User, utcnow
from models.enums import Role
from services import account_links, refusals
from services import auth as auth_service
from services import sessions as session_service
from services.account_links import LinkRefused
from services.auth import AuthRefused
from services.permissions import Permission as P
from services.permissions import can
from views.forms import ButtonForm
from views.forms.auth import ConfirmPasswordForm, ForgotPasswordForm, LoginForm, PasswordForm, SetPasswordForm
from views.util import require_or_abort, safe_next

bp = Blueprint("auth", __name__)


def home_for(user) -> str:
    if user.role == Role.REPRESENTATIVE:
        return url_for("duty.me")
    if user.role == Role.OFFICIAL:
        return url_for("officials.me")
    if can(user, P.MANAGE_HOME):
        return url_for("manage.home")
    if can(user, P.CONCERN_INBOX):
        return url_for("manage.concerns")
    return url_for("public.index")


def this_session():
    """The signed-in request's server-side session record (set by the user loader)."""
    return g.get("user_session")


def _me() -> User:
    return current_user._get_current_object()


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login():
    form = LoginForm()
    target = safe_next(request.args.get("next") or form.next.data, "")
    if current_user.is_authenticated:
        return redirect(target or home_for(current_user))
    error = None
    if form.validate_on_submit():
        try:
            user = auth_service.authenticate(form.login.data, form.password.data)
        except AuthRefused as refused:
            db.session.commit()  # the failure count must stick
            error = refusals.message(refused)
        else:
            _sign_in(user)
            return redirect(target or home_for(user))
    status = 401 if error else 200
    return render_template("auth/login.html", form=form, error=error, next=target), status


def _sign_in(user: User) -> None:
    """Start a session for `user`, who has just proved who they are. Commits."""
    key = session_service.start(
        user, user_agent=request.user_agent.string, ip=request.remote_addr, now=user.last_login_at or utcnow()
    )
    db.session.commit()
    session.clear()
    session.permanent = True  # expires after PERMANENT_SESSION_LIFETIME without use
    session[SESSION_KEY] = key
    login_user(user)


def sign_out_here() -> None:
    """End this browser's sign-in: its server-side record too, so a copy of the cookie is
    worth nothing. Commits."""
    record = this_session() if current_user.is_authenticated else None
    if record is not None:
        session_service.end(record, session_service.Ended.SIGNED_OUT, utcnow())
        db.session.commit()
    logout_user()
    session.clear()


@bp.post("/logout")
def logout():
    sign_out_here()
    flash(_("You have signed out."))
    return redirect(url_for("public.index"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    require_or_abort(P.ACCOUNT_CHANGE_PASSWORD)
    form = PasswordForm()
    if form.validate_on_submit():
        if form.new.data != form.repeat.data:
            form.repeat.errors.append(_("The two new passwords are not the same."))
        else:
            try:
                auth_service.change_password(_me(), form.current.data, form.new.data, keep=this_session())
            except AuthRefused as refused:
                field = form.current if refused.code == "wrong_password" else form.new
                field.errors.append(refusals.message(refused))
            else:
                db.session.commit()
                # This session carries the new version; every other one has ended.
                login_user(_me())
                flash(_("Your password has been changed. You are signed out everywhere else."))
                return redirect(home_for(current_user))
    return render_template("auth/password.html", form=form), 422 if form.errors else 200


@bp.get("/account/sessions")
@login_required
def sessions():
    """Where this account is signed in, and a button to end every other session."""
    require_or_abort(P.ACCOUNT_CHANGE_PASSWORD)
    now = utcnow()
    live = session_service.live_sessions(_me(), now, session_service.Limits.from_config(current_app.config))
    current = this_session()
    return render_template(
        "auth/sessions.html",
        live=live,
        current_id=current.id if current is not None else None,
        device_label=session_service.device_label,
        form=ButtonForm(formdata=None),
    )


@bp.post("/account/sessions/end-others")
@login_required
def end_other_sessions():
    require_or_abort(P.ACCOUNT_CHANGE_PASSWORD)
    if not ButtonForm().validate_on_submit():
        return redirect(url_for(".sessions"), 303)
    ended = session_service.sign_out_everywhere(_me(), _me(), utcnow(), keep=this_session())
    db.session.commit()
    flash(_("Signed out everywhere else (%(n)d sessions).", n=ended))
    return redirect(url_for(".sessions"), 303)


# --- the password again, before a sensitive step --------------------------------------------


def password_needed() -> bool:
    """Whether this session must type the password again before a sensitive step."""
    return session_service.needs_password(this_session(), utcnow(), current_app.config["REAUTH_MINUTES"])


def ask_password(target: str, *, again: bool = False):
    """The confirmation page, which returns to `target` afterwards. For a GET, a redirect
    there; for a button (again=True) it is shown in the button's place, and the person
    presses the button again after: a POST is never replayed."""
    if not again:
        return redirect(url_for("auth.confirm", next=target))
    return _render_confirm(ConfirmPasswordForm(formdata=None, next=target, again="1"), status=401)


def _render_confirm(form: ConfirmPasswordForm, status: int = 200, error: str | None = None):
    # Cancel goes back to the page with the button, never on to a download.
    cancel = form.next.data if form.again.data == "1" else home_for(current_user)
    response = make_response(render_template("auth/confirm.html", form=form, error=error, cancel=cancel), status)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/account/confirm", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
@login_required
def confirm():
    form = ConfirmPasswordForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    target = safe_next(form.next.data, home_for(current_user))
    form.next.data = target
    if not form.validate_on_submit():
        return _render_confirm(form, 422 if form.errors else 200)
    try:
        auth_service.confirm_password(_me(), this_session(), form.password.data)
    except AuthRefused as refused:
        db.session.commit()  # the failure count, and a session ended for it, must stick
        if refused.code == "signed_out":
            logout_user()
            session.clear()
            flash(refusals.message(refused))
            return redirect(url_for(".login"), 303)
        return _render_confirm(form, 401, error=refusals.message(refused))
    db.session.commit()
    if form.again.data == "1":
        flash(_("Password confirmed. Please press the button again."))
    return redirect(target, 303)


# --- setting one's password through a link --------------------------------------------------


def _private(html: str, status: int = 200):
    """A page reached through a secret link: kept in no cache, and its address (the token)
    sent to no other page as a referrer."""
    response = make_response(html, status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.route("/account/set-password/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def set_password(token: str):
    """Whose account the link is for, and the form to choose a password; once chosen, the
    person is signed in. A link that no longer works says why and what to do."""
    try:
        link = account_links.check(token)
    except LinkRefused as refused:
        db.session.rollback()
        html = render_template("auth/link_refused.html", message=refusals.message(refused), code=refused.code)
        return _private(html, 404 if refused.code == "unknown" else 410)
    user = link.user
    form = SetPasswordForm()
    if form.validate_on_submit():
        if form.new.data != form.repeat.data:
            form.repeat.errors.append(_("The two passwords are not the same."))
        else:
            try:
                user = account_links.use(token, form.new.data)
            except LinkRefused as refused:
                db.session.rollback()  # used by a second tap a moment ago, say
                html = render_template("auth/link_refused.html", message=refusals.message(refused), code=refused.code)
                return _private(html, 410)
            except AuthRefused as refused:
                db.session.rollback()
                form.new.errors.append(refusals.message(refused))
            else:
                # Whoever was signed in on this browser (a colleague's phone, say) is signed
                # out, their session record ended with it.
                record = this_session() if current_user.is_authenticated else None
                if record is not None:
                    session_service.end(record, session_service.Ended.SIGNED_OUT, utcnow())
                logout_user()
                _sign_in(user)
                flash(
                    _(
                        "Your password is set and you are signed in. Next time, sign in with %(login)s and this "
                        "password.",
                        login=user.mobile or user.username,
                    )
                )
                return redirect(home_for(user), 303)
    html = render_template("auth/set_password.html", form=form, user=user, link=link)
    return _private(html, 422 if form.errors else 200)


@bp.route("/login/forgot", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["FORGOT_RATE_LIMIT"], methods=["POST"])
def forgot_password():
    """Ask for a link to set a new password. The answer is the same whether or not the
    login exists (services.account_links.request_reset decides, quietly)."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        account_links.request_reset(form.login.data)
        db.session.commit()
        return redirect(url_for(".forgot_sent"), 303)
    html = render_template("auth/forgot.html", form=form)
    return _private(html, 422 if form.errors else 200)


@bp.get("/login/forgot/sent")
def forgot_sent():
    return render_template(
        "auth/forgot_sent.html", minutes=account_links.RESET_MINUTES, per_day=account_links.RESETS_PER_DAY
    )
