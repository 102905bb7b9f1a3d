"""Sign in, sign out, change one's own password."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from extensions import db, limiter
from models.enums import Role
from services import auth as auth_service
from services import refusals
from services.auth import AuthRefused
from services.permissions import Permission as P
from services.permissions import can
from views.forms.auth import LoginForm, PasswordForm
from views.util import require_or_abort, safe_next

bp = Blueprint("auth", __name__)


def home_for(user) -> str:
    if user.role == Role.REPRESENTATIVE:
        return url_for("duty.me")
    if can(user, P.MANAGE_HOME):
        return url_for("manage.home")
    if can(user, P.CONCERN_INBOX):
        return url_for("manage.concerns")
    return url_for("public.index")


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
            db.session.commit()
            session.clear()
            session.permanent = True  # expires after PERMANENT_SESSION_LIFETIME without use
            login_user(user)
            return redirect(target or home_for(user))
    status = 401 if error else 200
    return render_template("auth/login.html", form=form, error=error, next=target), status


@bp.post("/logout")
def logout():
    logout_user()
    session.clear()
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
                auth_service.change_password(current_user, form.current.data, form.new.data)
            except AuthRefused as refused:
                field = form.current if refused.code == "wrong_password" else form.new
                field.errors.append(refusals.message(refused))
            else:
                db.session.commit()
                # This session carries the new version; every other one ends.
                login_user(current_user._get_current_object())
                flash(_("Your password has been changed."))
                return redirect(home_for(current_user))
    return render_template("auth/password.html", form=form), 422 if form.errors else 200
