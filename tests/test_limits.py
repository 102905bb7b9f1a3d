"""services/limits.py is the one place for the limits people meet: the columns hold them,
the services refuse past them, and the pages (and through them static/app.js) say them."""

import re
from pathlib import Path

import pytest

from models import CalendarDay, Concern, User
from models.user import Representative
from services import limits
from services.auth import USERNAME_RE
from tests import factories
from tests.helpers import login

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("column", "limit"),
    [
        (Concern.contact_name, limits.CONTACT_NAME_MAX),
        (Concern.public_withheld_reason, limits.WITHHOLD_REASON_MAX),
        (User.username, limits.USERNAME_MAX),
        (User.display_name, limits.DISPLAY_NAME_MAX),
        (Representative.delegation, limits.DELEGATION_MAX),
        (Representative.occupation, limits.OCCUPATION_MAX),
        (CalendarDay.name, limits.CALENDAR_DAY_NAME_MAX),
    ],
)
def test_every_column_holds_its_limit(column, limit):
    assert column.type.length >= limit


def test_the_username_rule_follows_the_limits():
    assert USERNAME_RE.match("a" * limits.USERNAME_MIN)
    assert not USERNAME_RE.match("a" * (limits.USERNAME_MIN - 1))
    assert USERNAME_RE.match("a" * limits.USERNAME_MAX)
    assert not USERNAME_RE.match("a" * (limits.USERNAME_MAX + 1))


def test_the_concern_form_writes_the_limits_the_script_reads(client, db):
    st = factories.station()
    factories.category()
    db.session.commit()
    html = client.get(f"/s/{st.code}/concern").get_data(as_text=True)
    textarea = re.search(r"<textarea[^>]*name=\"content\"[^>]*>", html).group(0)
    assert f'data-min="{limits.CONCERN_CONTENT_MIN}"' in textarea
    assert f'data-max="{limits.CONCERN_CONTENT_MAX}"' in textarea
    assert f'maxlength="{limits.CONCERN_CONTENT_MAX}"' in textarea
    script = (ROOT / "static" / "app.js").read_text()
    assert 'getAttribute("data-min")' in script and 'getAttribute("data-max")' in script
    assert str(limits.CONCERN_CONTENT_MAX) not in script


def test_the_check_out_form_writes_its_limits(client, db):
    st = factories.station()
    rep = factories.representative(stations=[st])
    login(client, rep.user)
    html = client.get(f"/s/{st.code}").get_data(as_text=True)
    assert f"/s/{st.code}/check-in" in html  # the button, before any duty is open
    client.post(f"/s/{st.code}/check-in", data={"nonce": "limits-nonce-0001"})
    html = client.get(f"/s/{st.code}").get_data(as_text=True)
    count = re.search(r'<input[^>]*name="residents_received"[^>]*>', html).group(0)
    assert f'max="{limits.RESIDENTS_MAX}"' in count and 'min="0"' in count
    notes = re.search(r'<textarea[^>]*name="notes"[^>]*>', html).group(0)
    assert f'maxlength="{limits.DUTY_NOTES_MAX}"' in notes
