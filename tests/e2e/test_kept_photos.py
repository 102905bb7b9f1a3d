"""Photos already received are not chosen twice: in a real Chromium shaped like a 360 px
phone, with JavaScript on and off, a form that comes back (here for a too-short text)
shows the photo as a ticked box, and the next submission files it."""

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.e2e.test_resident_path import CONTENT, JS_MODES, ConcernFormPage, gps_jpeg, stored_concerns

pytestmark = pytest.mark.e2e


@pytest.fixture
def station_code_and_category(app, db) -> tuple[str, int]:
    station = factories.station()
    category = factories.category(name_zh="城乡建设", name_en="Urban and rural")
    db.session.flush()
    # Read before the commit: afterwards they would reload in a read transaction left open,
    # whose snapshot would not see what the live server stores.
    values = station.code, category.id
    db.session.commit()
    return values


@pytest.mark.parametrize("js", JS_MODES)
def test_a_photo_sent_with_a_refused_form_goes_with_the_next_submission(
    js, db, live_server, station_code_and_category, phone_page, foreign_requests, page_errors, tmp_path
):
    code, category_id = station_code_and_category
    photo = tmp_path / "路灯.jpg"
    gps_jpeg(photo)
    page = phone_page(java_script_enabled=js, viewport={"width": 360, "height": 740})
    assert page.goto(f"{live_server}/s/{code}/concern").status == 200
    form = ConcernFormPage(page, code)
    form.fill(category_id=category_id, content="路灯坏了", photo=str(photo))
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        form.submit()
    assert posted.value.status == 422
    page.wait_for_load_state("load")

    kept = page.locator('input[name="kept_photos"]')
    expect(kept).to_have_count(1)
    expect(kept).to_be_checked()
    expect(page.locator(".kept-photos")).to_contain_text("路灯.jpg")
    assert page.locator(".notice.soft").count() == 0  # nothing to choose again
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    page.fill("#content", CONTENT)
    form.submit_expecting_receipt()
    [concern] = stored_concerns(db)
    assert concern.content == CONTENT
    assert len(concern.attachment_keys) == 1
    assert foreign_requests == []
    assert page_errors == []
