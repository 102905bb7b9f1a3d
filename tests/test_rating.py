"""群众评单 and withdrawing on the tracking page: the holder of the tracking code rates the
answer and the representative's follow-up once per round, 不满意 sends it back once, and
unrated concerns close by themselves (`flask concerns auto-close`)."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from markupsafe import escape

from extensions import db as _db
from models import Concern, ConcernEvent, ConcernRating, utcnow
from models.enums import ConcernStatus as S
from models.enums import Rating, Role
from services import concern_flow as flow
from tests import factories

REPLY = "已安排维修班组，三个工作日内修复路灯。"
RESOLUTION = "已当场联系物业，路灯当天修好。"
CHECK = "已到现场查看，两盏路灯均已修好。"
RATE_LIMITED = {"RATELIMIT_ENABLED": True, "CONCERN_RATE_LIMIT": "2 per minute", "LOOKUP_RATE_LIMIT": "3 per minute"}
LOOKUP_LIMITED = {"RATELIMIT_ENABLED": True, "CONCERN_RATE_LIMIT": "50 per minute", "LOOKUP_RATE_LIMIT": "3 per minute"}
EN = {"Accept-Language": "en"}


# --- helpers -------------------------------------------------------------------------


def ip(n: int) -> dict:
    """A distinct client address per test: the memory limiter outlives one app."""
    return {"REMOTE_ADDR": f"10.8.{n // 250}.{n % 250 + 1}"}


def filed() -> Concern:
    concern = factories.concern()
    concern.events.append(ConcernEvent(action="submit", to_status=S.SUBMITTED))
    _db.session.flush()
    return concern


def answer(concern: Concern, *, on_the_spot: bool = False) -> None:
    """From submitted or accepted (or dispatched, in a second round) to confirmed."""
    if concern.status == S.SUBMITTED:
        rep = factories.representative([concern.station])
        flow.transition(concern, "accept", role=Role.REPRESENTATIVE, representative=rep)
    if concern.status == S.ACCEPTED:
        if on_the_spot:
            flow.transition(concern, "resolve", role=Role.REPRESENTATIVE, note=RESOLUTION)
        else:
            flow.transition(concern, "dispatch", role=Role.CONGRESS_STAFF, unit=factories.unit())
    if concern.status == S.DISPATCHED:
        flow.transition(concern, "reply", role=Role.UNIT_HANDLER, note=REPLY)
    flow.transition(concern, "confirm", role=Role.REPRESENTATIVE, note=CHECK)


def confirmed(*, on_the_spot: bool = False) -> Concern:
    concern = filed()
    answer(concern, on_the_spot=on_the_spot)
    _db.session.commit()
    return concern


def fresh(concern: Concern) -> Concern:
    """The concern as the requests left it."""
    _db.session.commit()
    _db.session.expire_all()
    return _db.session.get(Concern, concern.id)


def ratings(concern: Concern) -> list[ConcernRating]:
    return list(
        _db.session.scalars(
            sa.select(ConcernRating).where(ConcernRating.concern_id == concern.id).order_by(ConcernRating.round)
        )
    )


def post_rating(client, code: str, unit="satisfied", rep="satisfied", comment="", round_no=1, **kw):
    data = {"comment": comment, "round": str(round_no)}
    if unit:
        data["unit_rating"] = unit
    if rep:
        data["rep_rating"] = rep
    _db.session.commit()  # never hold SQLite's write lock while the app writes
    return client.post(f"/t/{code}/rate", data=data, **kw)


def checked(html: str, name: str) -> str | None:
    """The value of the ticked radio button (WTForms writes attributes in order, `checked` first)."""
    tag = re.search(rf'<input checked[^>]*\bname="{name}"[^>]*>', html)
    return re.search(r'value="([^"]+)"', tag.group(0)).group(1) if tag else None


def textarea_text(html: str, name: str) -> str:
    match = re.search(rf'<textarea[^>]*\bname="{name}"[^>]*>(.*?)</textarea>', html, re.S)
    assert match, f"no textarea {name!r}"
    return match.group(1).strip()


def actions(concern: Concern) -> list[str]:
    return [e.action for e in concern.events]


# --- rating --------------------------------------------------------------------------


def test_confirmed_page_shows_the_answer_the_form_and_the_deadline(app, client, db):
    concern = confirmed()
    resp = client.get(f"/t/{concern.tracking_code}", headers=EN)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert 'id="rate-form"' in html
    assert f'action="/t/{concern.tracking_code}/rate"' in html
    assert REPLY in html and CHECK in html
    for name in ("unit_rating", "rep_rating"):
        values = re.findall(rf'<input[^>]*name="{name}"[^>]*type="radio"[^>]*value="([^"]+)"', html)
        assert values == [r.value for r in Rating]
    assert "<textarea" in html and 'maxlength="500"' in html
    assert 'name="round" type="hidden" value="1"' in html
    # The deadline, in China's time: rating days after the confirmation.
    assert concern.due_at == concern.events[-1].created_at + timedelta(days=app.config["CONCERN_RATING_DAYS"])
    with app.test_request_context():
        from flask_babel import format_datetime

        assert format_datetime(concern.due_at, "yyyy-MM-dd HH:mm") in html
    assert "closes by itself" in html
    # Nothing to withdraw any more.
    assert "withdraw-form" not in html


def test_rating_by_the_code_holder_closes_the_concern(client, db):
    concern = confirmed()
    code = concern.tracking_code
    resp = post_rating(client, code, "satisfied", "basically_satisfied", comment="修得很快，谢谢！", headers=EN)
    assert resp.status_code == 303
    assert resp.headers["Location"].endswith(f"/t/{code}")

    concern = fresh(concern)
    assert concern.status == S.CLOSED and concern.closed_at is not None
    assert actions(concern)[-2:] == ["confirm", "rate"]
    assert concern.events[-1].to_status == S.CLOSED
    [row] = ratings(concern)
    assert (row.round, row.rating_unit, row.rating_rep, row.comment) == (
        1,
        Rating.SATISFIED,
        Rating.BASICALLY_SATISFIED,
        "修得很快，谢谢！",
    )
    assert (concern.rating_unit, concern.rating_rep) == ("satisfied", "basically_satisfied")

    page = client.get(f"/t/{code}", headers=EN)
    html = page.get_data(as_text=True)
    assert "Thank you for your rating" in html  # the flash, once
    assert "rate-form" not in html
    assert "Your ratings" in html and "Basically satisfied" in html and "修得很快，谢谢！" in html
    assert "Thank you for your rating" not in client.get(f"/t/{code}", headers=EN).get_data(as_text=True)


def test_dissatisfied_in_round_one_goes_back_to_the_unit_and_round_two_closes_for_good(client, db):
    concern = confirmed()
    code = concern.tracking_code
    resp = post_rating(client, code, "dissatisfied", "satisfied", comment="路灯还是不亮。", headers=EN)
    assert resp.status_code == 303
    html = client.get(f"/t/{code}", headers=EN).get_data(as_text=True)
    assert "sent back for one more round of handling" in html
    assert "Second round of handling" in html

    concern = fresh(concern)
    assert concern.status == S.DISPATCHED and concern.rounds == 2 and concern.unit_id is not None
    assert actions(concern)[-2:] == ["rate", "reopen"]
    assert concern.closed_at is None
    assert len(ratings(concern)) == 1

    # The unit answers again, the representative checks, and the page says it is the last round.
    answer(concern)
    db.session.commit()
    html = client.get(f"/t/{code}", headers=EN).get_data(as_text=True)
    assert 'name="round" type="hidden" value="2"' in html
    assert "second and last round" in html

    resp = post_rating(client, code, "dissatisfied", "dissatisfied", round_no=2)
    assert resp.status_code == 303
    concern = fresh(concern)
    assert concern.status == S.CLOSED and concern.rounds == 2
    assert actions(concern)[-1] == "rate"
    assert [(r.round, r.rating_unit) for r in ratings(concern)] == [(1, Rating.DISSATISFIED), (2, Rating.DISSATISFIED)]
    html = client.get(f"/t/{code}", headers=EN).get_data(as_text=True)
    assert "Round 1" in html and "Round 2" in html
    assert "rate-form" not in html


def test_dissatisfied_after_an_on_the_spot_resolution_goes_back_to_the_representative(client, db):
    concern = confirmed(on_the_spot=True)
    html = client.get(f"/t/{concern.tracking_code}", headers=EN).get_data(as_text=True)
    assert RESOLUTION in html and "resolved on the spot" in html
    assert post_rating(client, concern.tracking_code, "satisfied", "dissatisfied").status_code == 303
    concern = fresh(concern)
    assert concern.status == S.ACCEPTED and concern.rounds == 2 and concern.unit_id is None
    assert actions(concern)[-1] == "reopen_to_rep"


def test_a_double_tap_records_one_rating_and_shows_the_result(client, db):
    concern = confirmed()
    code = concern.tracking_code
    assert post_rating(client, code, "dissatisfied", "satisfied", comment="第一次").status_code == 303
    # The second tap of the same page (round 1) finds the round rated: no error, no second row,
    # and it does not rate anything in the round the first tap opened.
    again = post_rating(client, code, "satisfied", "satisfied", comment="第二次", headers=EN)
    assert again.status_code == 303
    assert again.headers["Location"].endswith(f"/t/{code}")
    html = client.get(f"/t/{code}", headers=EN).get_data(as_text=True)
    assert "already rated this round" in html
    concern = fresh(concern)
    assert [(r.round, r.comment) for r in ratings(concern)] == [(1, "第一次")]
    assert concern.status == S.DISPATCHED and concern.rounds == 2
    assert actions(concern).count("rate") == 1


def test_a_closed_concern_cannot_be_rated_again(client, db):
    concern = confirmed()
    code = concern.tracking_code
    assert post_rating(client, code).status_code == 303
    resp = post_rating(client, code, "dissatisfied", "dissatisfied", round_no=2, comment="再评一次")
    assert resp.status_code == 409
    assert 'class="notice"' in resp.get_data(as_text=True)
    concern = fresh(concern)
    assert concern.status == S.CLOSED and len(ratings(concern)) == 1 and concern.rounds == 1


@pytest.mark.parametrize("status", [S.SUBMITTED, S.ACCEPTED, S.DISPATCHED, S.REPLIED])
def test_not_rateable_before_the_representative_has_checked_the_answer(client, db, status):
    concern = filed()
    if status != S.SUBMITTED:
        flow.transition(concern, "accept", role=Role.REPRESENTATIVE, representative=factories.representative())
    if status in (S.DISPATCHED, S.REPLIED):
        flow.transition(concern, "dispatch", role=Role.CONGRESS_STAFF, unit=factories.unit())
    if status == S.REPLIED:
        flow.transition(concern, "reply", role=Role.UNIT_HANDLER, note=REPLY)
    db.session.commit()
    assert "rate-form" not in client.get(f"/t/{concern.tracking_code}").get_data(as_text=True)

    resp = post_rating(client, concern.tracking_code, comment="先评一下")
    assert resp.status_code == 409
    html = resp.get_data(as_text=True)
    assert 'class="notice"' in html
    assert "先评一下" in html  # shown to copy, since there is no form to keep it in
    concern = fresh(concern)
    assert concern.status == status and ratings(concern) == []


def test_a_missing_choice_keeps_the_comment(client, db):
    concern = confirmed()
    comment = "维修师傅态度很好。\n但是等了很久。"
    resp = post_rating(client, concern.tracking_code, unit="satisfied", rep=None, comment=comment)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert textarea_text(html, "comment") == str(escape(comment))
    assert checked(html, "unit_rating") == "satisfied"
    assert 'id="rep_rating-err"' in html and 'id="unit_rating-err"' not in html
    assert 'class="notice"' in html
    assert ratings(fresh(concern)) == []


def test_a_made_up_rating_is_refused(client, db):
    concern = confirmed()
    resp = post_rating(client, concern.tracking_code, unit="excellent", rep="satisfied")
    assert resp.status_code == 422
    assert 'id="unit_rating-err"' in resp.get_data(as_text=True)
    assert ratings(fresh(concern)) == []


def test_a_long_comment_is_refused_and_kept(client, db):
    concern = confirmed()
    comment = "路" * 501
    resp = post_rating(client, concern.tracking_code, comment=comment)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert textarea_text(html, "comment") == comment
    assert 'id="comment-err"' in html
    assert ratings(fresh(concern)) == []
    # 500 is fine; control characters are dropped, the text is trimmed.
    assert post_rating(client, concern.tracking_code, comment=" " + "路" * 499 + "\x00灯 ").status_code == 303
    assert ratings(fresh(concern))[0].comment == "路" * 499 + "灯"


def test_script_in_the_comment_is_shown_as_text(client, db):
    concern = confirmed()
    script = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    assert post_rating(client, concern.tracking_code, "dissatisfied", "satisfied", comment=script).status_code == 303
    html = client.get(f"/t/{concern.tracking_code}").get_data(as_text=True)
    assert "<script>alert" not in html and "<img src=x" not in html
    assert str(escape(script)) in html


def test_unknown_and_malformed_codes_are_404(client, db):
    confirmed()
    for code in ("K7M3QXP29D", "not-a-code"):
        assert post_rating(client, code).status_code == 404
        assert client.post(f"/t/{code}/withdraw", data={"confirm": "y"}).status_code == 404
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(ConcernRating)) == 0


@pytest.mark.parametrize("app_config", [LOOKUP_LIMITED])
def test_guessing_codes_by_posting_spends_the_lookup_budget(client, db):
    env = ip(1)
    for code in ("K7M3QXP29D", "K7M3QXP29E"):
        assert post_rating(client, code, environ_base=env).status_code == 404
    assert client.post("/t/K7M3QXP29F/withdraw", data={"confirm": "y"}, environ_base=env).status_code == 404
    # The same budget as looking codes up: the next guess, by any route, is refused.
    assert client.get("/t/K7M3QXP29G", environ_base=env).status_code == 429
    assert post_rating(client, "K7M3QXP29H", environ_base=env).status_code == 429
    assert client.get("/t/K7M3QXP29G", environ_base=ip(2)).status_code == 404


@pytest.mark.parametrize("app_config", [RATE_LIMITED])
def test_a_resident_is_never_limited_on_their_own_concern(client, db):
    """Hundreds of residents share an address behind a carrier's NAT or the station's
    Wi-Fi: posts under a valid tracking code are not counted against the address."""
    concern = confirmed()
    code = concern.tracking_code
    env = ip(3)
    for _ in range(5):  # refused tries (missing choice) are answered, never turned away
        assert post_rating(client, code, rep=None, environ_base=env).status_code == 422
    for _ in range(5):
        assert client.get(f"/t/{code}", environ_base=env).status_code == 200
    assert post_rating(client, code, environ_base=env).status_code == 303
    assert len(ratings(fresh(concern))) == 1


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_rating_needs_the_pages_csrf_token(client, db):
    concern = confirmed()
    code = concern.tracking_code
    assert post_rating(client, code).status_code == 400
    assert ratings(fresh(concern)) == []

    html = client.get(f"/t/{code}").get_data(as_text=True)
    token = re.search(r'<form[^>]*id="rate-form".*?name="csrf_token" type="hidden" value="([^"]+)"', html, re.S)
    _db.session.commit()
    resp = client.post(
        f"/t/{code}/rate", data={"csrf_token": token.group(1), "unit_rating": "satisfied", "rep_rating": "satisfied"}
    )
    assert resp.status_code == 303
    assert fresh(concern).status == S.CLOSED


# --- withdrawing ---------------------------------------------------------------------


def test_withdrawing_a_concern_nobody_has_taken_up(client, db):
    concern = filed()
    db.session.commit()
    code = concern.tracking_code
    html = client.get(f"/t/{code}").get_data(as_text=True)
    assert 'id="withdraw-form"' in html and f'action="/t/{code}/withdraw"' in html
    assert "<details" in html  # a confirm step without JavaScript

    # Without the confirmation tick nothing happens, and the box is shown open with the error.
    resp = client.post(f"/t/{code}/withdraw", data={})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert '<details class="withdraw" open>' in html and 'id="confirm-err"' in html
    assert fresh(concern).status == S.SUBMITTED

    resp = client.post(f"/t/{code}/withdraw", data={"confirm": "y"}, headers=EN)
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/t/{code}")
    concern = fresh(concern)
    assert concern.status == S.WITHDRAWN
    assert concern.events[-1].action == "withdraw" and concern.events[-1].from_status == S.SUBMITTED
    html = client.get(f"/t/{code}", headers=EN).get_data(as_text=True)
    assert "has been withdrawn" in html and "withdraw-form" not in html

    # A double tap: no second event, no error.
    assert client.post(f"/t/{code}/withdraw", data={"confirm": "y"}).status_code == 303
    assert actions(fresh(concern)).count("withdraw") == 1


def test_a_concern_taken_up_can_no_longer_be_withdrawn(client, db):
    concern = filed()
    flow.transition(concern, "accept", role=Role.REPRESENTATIVE, representative=factories.representative())
    db.session.commit()
    code = concern.tracking_code
    assert "withdraw-form" not in client.get(f"/t/{code}").get_data(as_text=True)
    resp = client.post(f"/t/{code}/withdraw", data={"confirm": "y"}, headers=EN)
    assert resp.status_code == 303
    assert "can no longer be withdrawn" in client.get(f"/t/{code}", headers=EN).get_data(as_text=True)
    concern = fresh(concern)
    assert concern.status == S.ACCEPTED and "withdraw" not in actions(concern)


# --- flask concerns auto-close -----------------------------------------------------------


def test_auto_close_closes_only_concerns_past_their_rating_deadline(runner, db):
    late, waiting = confirmed(), confirmed()
    late.due_at = utcnow() - timedelta(minutes=5)
    # Overdue, but someone on the congress side owes the next step: not for the resident's clock.
    replied = filed()
    flow.transition(replied, "accept", role=Role.REPRESENTATIVE, representative=factories.representative())
    flow.transition(replied, "dispatch", role=Role.CONGRESS_STAFF, unit=factories.unit())
    flow.transition(replied, "reply", role=Role.UNIT_HANDLER, note=REPLY)
    replied.due_at = utcnow() - timedelta(days=30)
    db.session.commit()

    result = runner.invoke(args=["concerns", "auto-close"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "Closed 1 unrated concern."

    late, waiting, replied = fresh(late), fresh(waiting), fresh(replied)
    assert late.status == S.CLOSED and late.closed_at is not None
    assert late.events[-1].action == "auto_close" and late.events[-1].actor_id is None
    assert ratings(late) == []
    assert waiting.status == S.CONFIRMED and replied.status == S.REPLIED

    # Run again (cron): nothing left to close.
    again = runner.invoke(args=["concerns", "auto-close"])
    assert again.exit_code == 0 and again.output.strip() == "Closed 0 unrated concerns."


def test_an_auto_closed_concern_cannot_be_rated(client, runner, db):
    concern = confirmed()
    concern.due_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert runner.invoke(args=["concerns", "auto-close"]).exit_code == 0
    resp = post_rating(client, concern.tracking_code, "dissatisfied", "dissatisfied")
    assert resp.status_code == 409
    concern = fresh(concern)
    assert concern.status == S.CLOSED and concern.rounds == 1 and ratings(concern) == []


# --- a merged concern follows the one it was merged into -------------------------------


def merged_pair(*, mobile: str | None = "13700137000") -> tuple[Concern, Concern]:
    """Two concerns at one station; the second, with its resident's mobile, merged into the first."""
    target = filed()
    twin = factories.concern(
        target.station,
        content="同一段路的路灯也坏了，晚上看不见路。",
        contact_name="王五" if mobile else None,
        contact_mobile=mobile,
        consent_at=utcnow() if mobile else None,
    )
    twin.events.append(ConcernEvent(action="submit", to_status=S.SUBMITTED))
    _db.session.flush()
    flow.transition(twin, "merge", role=Role.STATION_MANAGER, note="同一处路灯", merge_into=target)
    _db.session.commit()
    return target, twin


def test_a_merged_concern_shows_the_progress_and_answer_of_the_one_it_follows(client, db):
    target, twin = merged_pair()
    page = client.get(f"/t/{twin.tracking_code}").get_data(as_text=True)
    assert "已与一件同类反映" in page and "合并办理" in page and target.station.name in page
    assert target.content not in page and target.tracking_code not in page  # the other resident's
    assert "rate-form" not in page

    answer(target)
    _db.session.commit()
    page = client.get(f"/t/{twin.tracking_code}").get_data(as_text=True)
    assert REPLY in page and CHECK in page and twin.content in page
    assert "rate-form" in page and target.content not in page
    assert "同一处路灯" in page  # its own merge note stays on its timeline


def test_the_resident_of_a_merged_concern_rates_the_answer_once_per_round(client, db):
    target, twin = merged_pair()
    answer(target)
    _db.session.commit()
    resp = post_rating(client, twin.tracking_code, unit="dissatisfied", rep="satisfied", comment="还是不亮")
    assert resp.status_code == 303
    twin, target = fresh(twin), _db.session.get(Concern, target.id)
    assert twin.status == S.MERGED and [r.rating_unit for r in ratings(twin)] == [Rating.DISSATISFIED]
    assert target.status == S.CONFIRMED and ratings(target) == []  # the other loop is its own resident's
    assert actions(twin)[-1] == "rate_merged"
    again = post_rating(client, twin.tracking_code, follow_redirects=True).get_data(as_text=True)
    assert len(ratings(fresh(twin))) == 1 and "rate-form" not in again
    assert "等待您评价" not in again and "您已评价" in again  # the other resident's rating is still to come

    # the first resident sends theirs back: once answered again, the merged one rates round two
    post_rating(client, target.tracking_code, unit="dissatisfied")
    target = fresh(target)
    assert target.status == S.DISPATCHED and target.rounds == 2
    assert "rate-form" not in client.get(f"/t/{twin.tracking_code}").get_data(as_text=True)
    answer(target)
    _db.session.commit()
    assert post_rating(client, twin.tracking_code, round_no=2).status_code == 303
    assert [r.round for r in ratings(fresh(twin))] == [1, 2]


def test_a_merged_concern_cannot_be_rated_before_there_is_an_answer(client, db):
    target, twin = merged_pair()
    resp = post_rating(client, twin.tracking_code)
    assert resp.status_code == 409 and ratings(fresh(twin)) == []


def test_the_resident_of_a_merged_concern_is_told_of_its_progress_with_their_own_link(client, db):
    from models import Outbox

    target, twin = merged_pair()
    answer(target)
    _db.session.commit()
    sms = _db.session.scalars(sa.select(Outbox).where(Outbox.recipient == "13700137000").order_by(Outbox.id)).all()
    kinds = [row.kind for row in sms]
    assert "concern.merged" in kinds and "concern.confirmed" in kinds
    assert all(f"/t/{twin.tracking_code}" in row.body and target.tracking_code not in row.body for row in sms)


def test_a_merged_concerns_page_keeps_the_other_residents_words_to_them(client, db):
    target, twin = merged_pair()
    target.contact_name, target.contact_mobile, target.consent_at = "李四", "13911112222", utcnow()
    flow.add_note(
        target, "李四先生您好，您反映的3栋502漏水问题已登记", role=Role.STATION_MANAGER, actor=None, public=True
    )
    answer(target)
    _db.session.commit()
    post_rating(client, target.tracking_code, unit="dissatisfied", comment="我是李四住3栋502，电话13911112222")
    page = client.get(f"/t/{twin.tracking_code}").get_data(as_text=True)
    assert REPLY in page and CHECK in page  # the answer is shared
    for private in ("李四", "13911112222", "3栋502"):
        assert private not in page
    assert "根据您的评价" not in page and "再次办理" in page  # the second round was not this resident's doing


def test_a_concern_others_were_merged_into_can_no_longer_be_withdrawn(client, db):
    target, twin = merged_pair()
    page = client.get(f"/t/{target.tracking_code}").get_data(as_text=True)
    assert "withdraw-form" not in page
    resp = client.post(f"/t/{target.tracking_code}/withdraw", data={"confirm": "y"}, follow_redirects=True)
    assert "其他群众的同类反映" in resp.get_data(as_text=True)
    assert fresh(target).status == S.SUBMITTED
