"""Administration: accounts of every role with their scope.

Every page here is for the `user.manage` action (administrators). Each state change is a
POST that calls one service in services.auth, which leaves an AuditLog row.
"""

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import InputRequired, ValidationError

from extensions import db
from models import AuditLog, Region, Station, Unit, User
from models.enums import RepLevel, Role
from services import auth as auth_service
from services.auth import AuthRefused
from views.util import get_or_404, int_or_none, require_or_abort

bp = Blueprint("admin", __name__, url_prefix="/admin")

# Refusal codes of services.auth → (form field, message). Messages are msgids: the
# visitor's language is chosen when they are shown.
REFUSALS = {
    "bad_username": ("username", _l("Use 2 to 40 letters, digits, “.”, “_” or “-”, starting with a letter.")),
    "username_taken": ("username", _l("This username is already taken.")),
    "bad_mobile": ("mobile", _l("Please enter an 11-digit mainland mobile number, such as 13812345678.")),
    "mobile_taken": ("mobile", _l("Another account already uses this mobile number.")),
    "display_name_required": ("display_name", _l("Please fill this in.")),
    "display_name_too_long": (
        "display_name",
        _l("Please keep it to %(n)d characters.", n=auth_service.DISPLAY_NAME_MAX),
    ),
    "password_too_short": (
        "password",
        _l("The password is too short: at least %(n)d characters.", n=auth_service.MIN_PASSWORD_LENGTH),
    ),
    "password_too_simple": (
        "password",
        _l("The password is too simple: use letters and digits, and not the username."),
    ),
    "bad_role": ("role", _l("Please choose a role.")),
    "region_required": ("region", _l("Congress staff need the region they look after.")),
    "unit_required": ("unit", _l("A handling unit account needs its unit.")),
    "unit_inactive": ("unit", _l("This unit is switched off.")),
    "stations_required": ("stations", _l("A station manager needs at least one station.")),
    "level_required": ("level", _l("A representative needs the level of their congress.")),
    "bad_level": ("level", _l("Please choose a level from the list.")),
    "occupation_too_long": ("occupation", _l("Please keep it to %(n)d characters.", n=auth_service.OCCUPATION_MAX)),
    "delegation_too_long": ("delegation", _l("Please keep it to %(n)d characters.", n=auth_service.DELEGATION_MAX)),
    "cannot_switch_off_self": (None, _l("You cannot switch off your own account.")),
}

# What an administrator reads in an account's history.
AUDIT_TITLES = {
    "account.created": _l("Account created"),
    "account.locked": _l("Locked after too many wrong passwords"),
    "account.unlocked": _l("Unlocked"),
    "account.password_changed": _l("Password changed by its owner"),
    "account.password_reset": _l("Password reset by an administrator"),
    "account.switched_off": _l("Switched off"),
    "account.switched_on": _l("Switched on"),
}


def refusal_message(code: str) -> str:
    return str(REFUSALS[code][1]) if code in REFUSALS else code


def _strip(value):
    return value.strip() if isinstance(value, str) else value


REQUIRED = _l("Please fill this in.")


class UserForm(FlaskForm):
    """One screen creates an account of any role; the scope fields of the other roles
    are ignored (and hidden by the stylesheet where the browser can). The rules live in
    services.auth.create_user, which reports every problem at once, so the form itself
    checks only that chosen stations come from the list."""

    username = StringField(
        _l("Username"),
        filters=[_strip],
        description=_l("For signing in: letters and digits, starting with a letter."),
    )
    display_name = StringField(_l("Name"), filters=[_strip])
    mobile = StringField(
        _l("Mobile number (optional)"),
        filters=[_strip],
        description=_l("The person can also sign in with it."),
    )
    password = PasswordField(
        _l("Initial password"),
        description=_l(
            "At least %(n)d characters, not only digits. Give it to the person in private.",
            n=auth_service.MIN_PASSWORD_LENGTH,
        ),
    )
    role = SelectField(_l("Role"), validate_choice=False)
    region = SelectField(
        _l("Region"), coerce=int_or_none, validate_choice=False, description=_l("And every region below it.")
    )
    unit = SelectField(_l("Handling unit"), coerce=int_or_none, validate_choice=False)
    stations = SelectMultipleField(
        _l("Stations"),
        coerce=int,
        validate_choice=False,
        description=_l("A station manager looks after these; a representative serves at them. Choose one or more."),
    )
    level = SelectField(_l("Level"), validate_choice=False)
    delegation = StringField(_l("Delegation (optional)"), filters=[_strip])
    occupation = StringField(_l("Occupation (optional)"), filters=[_strip])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = [("", _("Choose a role"))] + Role.choices()
        self.level.choices = [("", _("Choose a level"))] + RepLevel.choices()
        regions = db.session.scalars(sa.select(Region).order_by(Region.code)).all()
        self.region.choices = [("", _("Choose a region"))] + [(r.id, f"{r.full_name} ({r.code})") for r in regions]
        units = db.session.scalars(sa.select(Unit).where(Unit.is_active).order_by(Unit.region_id, Unit.name)).all()
        self.unit.choices = [("", _("Choose a unit"))] + [(u.id, f"{u.name} · {u.region.name}") for u in units]
        # Grouped by region, so a long list stays readable.
        groups: dict[str, list] = {}
        for station in db.session.scalars(sa.select(Station).order_by(Station.region_id, Station.name)):
            suffix = "" if station.is_active else " · " + _("switched off")
            groups.setdefault(station.region.full_name, []).append((station.id, station.name + suffix))
        self.stations.choices = groups

    def validate_stations(self, field):
        known = {value for group in field.choices.values() for value, _label in group}
        if any(value not in known for value in field.data or ()):
            raise ValidationError(_l("Please choose stations from the list."))

    def scope(self) -> dict:
        """The keyword arguments for create_user that belong to the chosen role only."""
        if self.role.data not in {r.value for r in Role}:
            return {}  # the service says "choose a role"
        role = Role(self.role.data)
        scope: dict = {}
        if role == Role.CONGRESS_STAFF and self.region.data:
            scope["region"] = db.session.get(Region, self.region.data)
        if role == Role.UNIT_HANDLER and self.unit.data:
            scope["unit"] = db.session.get(Unit, self.unit.data)
        if role in (Role.STATION_MANAGER, Role.REPRESENTATIVE) and self.stations.data:
            chosen = set(self.stations.data)
            scope["stations"] = db.session.scalars(
                sa.select(Station).where(Station.id.in_(chosen)).order_by(Station.id)
            ).all()
        if role == Role.REPRESENTATIVE:
            scope.update(
                rep_level=self.level.data or None, occupation=self.occupation.data, delegation=self.delegation.data
            )
        return scope


class ResetPasswordForm(FlaskForm):
    new_password = PasswordField(
        _l("New password"),
        validators=[InputRequired(message=REQUIRED)],
        description=_l(
            "At least %(n)d characters, not only digits. The person is signed out everywhere.",
            n=auth_service.MIN_PASSWORD_LENGTH,
        ),
    )


class ActionForm(FlaskForm):
    """The CSRF token for a one-button POST (switch on/off, unlock)."""


@bp.before_request
def only_administrators():
    require_or_abort("user.manage")


def _actor() -> User:
    return current_user._get_current_object()


@bp.get("/")
def index():
    return redirect(url_for("admin.users"))


@bp.get("/users")
def users():
    role = request.args.get("role", "")
    role = Role(role) if role in {r.value for r in Role} else None
    query = (request.args.get("q") or "").strip()[:60]
    before = request.args.get("before", type=int)
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
                password=form.password.data,
                role=form.role.data,
                mobile=form.mobile.data or None,
                **form.scope(),
            )
        except AuthRefused as refused:
            db.session.rollback()
            for code, details in refused.details.get("problems", [(refused.code, refused.details)]):
                field_name, message = REFUSALS.get(code, (None, code))
                if code == "scope_not_for_role":  # the view only passes the role's scope
                    field_name = details.get("field")
                getattr(form, field_name or "role").errors.append(str(message))
        else:
            db.session.commit()
            flash(_("Account %(username)s created.", username=user.username))
            return redirect(url_for("admin.user_detail", user_id=user.id), 303)
    return render_template("admin/user_new.html", form=form), 422 if form.errors else 200


@bp.get("/users/<int:user_id>")
def user_detail(user_id: int):
    user = get_or_404(User, user_id)
    return _render_detail(user)


def _render_detail(user: User, password_form: ResetPasswordForm | None = None, status: int = 200):
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
            action_form=ActionForm(),
            password_form=password_form or ResetPasswordForm(formdata=None),
            history=history,
            actors=actors,
            audit_titles=AUDIT_TITLES,
        ),
        status,
    )


@bp.post("/users/<int:user_id>/active")
def user_set_active(user_id: int):
    user = get_or_404(User, user_id)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    active = request.form.get("active") == "1"
    try:
        changed = auth_service.set_active(_actor(), user, active)
    except AuthRefused as refused:
        db.session.rollback()
        flash(refusal_message(refused.code))
        return redirect(url_for("admin.user_detail", user_id=user_id), 303)
    db.session.commit()
    if changed:
        flash(_("The account is switched on.") if active else _("The account is switched off and signed out."))
    return redirect(url_for("admin.user_detail", user_id=user_id), 303)


@bp.post("/users/<int:user_id>/unlock")
def user_unlock(user_id: int):
    user = get_or_404(User, user_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    auth_service.unlock(_actor(), user)
    db.session.commit()
    flash(_("The account is unlocked."))
    return redirect(url_for("admin.user_detail", user_id=user_id), 303)


@bp.post("/users/<int:user_id>/password")
def user_reset_password(user_id: int):
    user = get_or_404(User, user_id)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            auth_service.reset_password(_actor(), user, form.new_password.data)
        except AuthRefused as refused:
            db.session.rollback()
            form.new_password.errors.append(refusal_message(refused.code))
        else:
            db.session.commit()
            if user.id == current_user.id:
                login_user(user)  # this session carries the new version
            flash(_("New password set for %(username)s. Their sessions have ended.", username=user.username))
            return redirect(url_for("admin.user_detail", user_id=user_id), 303)
    return _render_detail(user, password_form=form, status=422)
