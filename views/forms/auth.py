"""Signing in and changing one's own password."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, InputRequired, Length

from services.limits import LOGIN_INPUT_MAX, PASSWORD_MIN
from views.forms import REQUIRED, stripped


class LoginForm(FlaskForm):
    login = StringField(_l("Username or mobile number"), validators=[InputRequired(message=REQUIRED)])
    password = PasswordField(_l("Password"), validators=[InputRequired(message=REQUIRED)])
    # Where to go afterwards; the view takes it from the address when the form has none.
    next = HiddenField()


class PasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[InputRequired(message=REQUIRED)])
    new = PasswordField(
        _l("New password"),
        validators=[InputRequired(message=REQUIRED)],
        description=_l("At least %(n)d characters, not only digits.", n=PASSWORD_MIN),
    )
    repeat = PasswordField(_l("New password again"), validators=[InputRequired(message=REQUIRED)])


class ConfirmPasswordForm(FlaskForm):
    """The password again, before an export or contact details in full."""

    password = PasswordField(_l("Password"), validators=[InputRequired(message=REQUIRED)])
    next = HiddenField()
    again = HiddenField()  # "1": the step was a button; the person presses it again after


class SetPasswordForm(FlaskForm):
    """The person's own password, chosen through an invitation or a "forgot password" link."""

    new = PasswordField(
        _l("Choose a password"),
        validators=[InputRequired(message=REQUIRED)],
        description=_l("At least %(n)d characters, letters and digits, not only digits.", n=PASSWORD_MIN),
    )
    repeat = PasswordField(_l("The same password again"), validators=[InputRequired(message=REQUIRED)])


class ForgotPasswordForm(FlaskForm):
    login = StringField(
        _l("Your mobile number or username"),
        filters=[stripped],
        validators=[
            DataRequired(message=REQUIRED),  # after stripping: spaces alone are nothing
            Length(max=LOGIN_INPUT_MAX, message=_l("Please keep it to %(n)d characters.", n=LOGIN_INPUT_MAX)),
        ],
        render_kw={"maxlength": LOGIN_INPUT_MAX},
    )
