"""Every refusal a domain function can raise is worded, once, in services.refusals."""

import re
from datetime import date, time
from pathlib import Path

import pytest
from flask_babel import force_locale

from services import auth, errors, imports, regions, roster, workdays
from services.refusals import explain, line_messages, message, wording

ROOT = Path(__file__).resolve().parent.parent
KINDS = {
    "TransitionRefused": errors.TransitionRefused,
    "ConcernRefused": errors.ConcernRefused,
    "PhotoRefused": errors.PhotoRefused,
    "CheckInRefused": errors.CheckInRefused,
    "KioskRefused": errors.KioskRefused,
    "SuggestionRefused": errors.SuggestionRefused,
    "RosterRefused": roster.RosterRefused,
    "AuthRefused": auth.AuthRefused,
    "CalendarRefused": workdays.CalendarRefused,
    "RegionRefused": regions.RegionRefused,
    "ImportRefused": imports.ImportRefused,
    "DraftRefused": errors.DraftRefused,
}
RAISED = re.compile(r"\b(\w+Refused)\(\s*\"(\w+)\"")


def _raised_in_services() -> set[tuple[str, str]]:
    found = set()
    for path in (ROOT / "services").glob("*.py"):
        found |= {(kind, code) for kind, code in RAISED.findall(path.read_text()) if kind in KINDS}
    return found


def test_every_code_a_service_raises_has_words():
    raised = _raised_in_services()
    assert len(raised) > 40  # the scan finds them
    missing = sorted((kind, code) for kind, code in raised if wording(KINDS[kind], code) is None)
    # bad_lines is a list of line refusals, worded line by line (line_messages), and
    # bad_headings the faults of a sheet's first row (import_messages)
    assert missing == [("CalendarRefused", "bad_lines"), ("ImportRefused", "bad_headings")]


def test_details_fill_the_message(app):
    with force_locale("en"):
        far = errors.CheckInRefused("too_far", distance_m=812, radius=300)
        assert message(far) == "Your phone's location is 812 m from the station; it must be within 300 m."
        overlap = roster.RosterRefused(
            "overlap", day=date(2027, 3, 1), starts_at=time(9), ends_at=time(11, 30), station="城关站"
        )
        field, text = explain(overlap)
        assert field == "starts_at" and "2027-03-01 from 09:00 to 11:30 at 城关站" in text
        assert explain(auth.AuthRefused("bad_username"))[0] == "username"
        assert "“x.jpg”" in message(errors.PhotoRefused("empty"), name="x.jpg")


def test_a_context_words_a_code_for_its_audience(app):
    changed = errors.TransitionRefused("changed")
    with force_locale("en"):
        assert "a colleague acted" in message(changed)
        assert "while you were rating it" in message(changed, "rate")
        # a context without words of its own falls back to the code's words
        assert message(errors.TransitionRefused("bad_deadline"), "rate") == message(
            errors.TransitionRefused("bad_deadline")
        )


def test_calendar_files_are_explained_line_by_line(app):
    with pytest.raises(workdays.CalendarRefused) as refused:
        workdays.parse_schedule("2027-02-06,holiday,春节\nnot-a-date,holiday\n2027-02-07")
    with force_locale("en"):
        lines = line_messages(refused.value)
    assert lines[0].startswith("Line 2: “not-a-date” is not a date")
    assert lines[1].startswith("Line 3: the type is missing")


def test_an_unworded_code_reads_as_itself(app):
    assert explain(errors.TransitionRefused("no_such_code")) == (None, "no_such_code")


def test_the_message_is_in_the_language_asked_for(app):
    refused = errors.TransitionRefused("unit_required")
    with force_locale("zh_Hans"):
        chinese = message(refused)
    with force_locale("en"):
        assert message(refused) == "Please choose a handling unit."
    assert chinese != "Please choose a handling unit." and chinese


def test_a_refused_sign_in_says_the_same_whatever_the_reason(app):
    """Unknown, wrong password, locked, switched off: one wording, naming the lock's length
    but never saying whether this account is locked."""
    with force_locale("en"):
        texts = {
            message(auth.AuthRefused("bad_credentials", reason=reason))
            for reason in ("unknown", "wrong_password", "locked", "inactive")
        }
    [text] = texts
    assert f"locked for {auth.LOCK_MINUTES} minutes" in text


def test_a_suggestion_is_named_as_such(app):
    with force_locale("en"):
        assert "This suggestion changed" in message(errors.TransitionRefused("changed"), "suggestion")
        field, text = explain(errors.SuggestionRefused("bad_days", n=250))
        assert field == "days" and text == "Please give a number of working days from 1 to 250."
