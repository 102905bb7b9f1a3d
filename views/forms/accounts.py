"""Sending accounts their set-password links from the back office."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectMultipleField

from views.util import int_or_none


class AccountLinkForm(FlaskForm):
    """One account's button (invite, send again, new password): where to come back to."""

    next = HiddenField()


class BulkInviteForm(FlaskForm):
    """Invite many accounts at once (after an import): their ids, as checkboxes or hidden
    fields of the page that lists them. The view checks each id against the sender's scope."""

    user_ids = SelectMultipleField(coerce=int_or_none, validate_choice=False)
    resend = BooleanField()
    next = HiddenField()
