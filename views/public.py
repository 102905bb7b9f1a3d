"""What residents see, without an account: /s/<code>, the concern form, /t/<code>, and the
public answers (/s/<code>/answers)."""

import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user
from flask_wtf import FlaskForm
from limits import parse_many
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from werkzeug.datastructures import FileStorage

from extensions import db, limiter, reads_only
from models import Attachment, Booking, Concern, Representative, Station, utcnow
from models.enums import ConcernAction as A
from models.enums import ConcernSource, ConcernStatus, Rating
from services import board as board_service
from services import bookings as booking_service
from services import concern_flow as flow
from services import concerns as concern_service
from services import drafts as drafts_service
from services import erasure, held_photos, page_cache, public_answers, refusals, rep_pages, suggestion_flow, tracking
from services import officials as officials_service
from services import station_lifecycle as lifecycle
from services import stations as station_service
from services.clock import local_today
from services.codes import (
    format_tracking_code,
    normalize_booking_code,
    normalize_rep_code,
    normalize_station_code,
    normalize_tracking_code,
)
from services.errors import ConcernRefused, PhotoRefused, TransitionRefused
from services.merges import merge_chain, merge_root
from services.page_cache import StationPages
from services.permissions import Permission as P
from services.permissions import can
from services.photos import ProcessedPhoto, decode_slot, process_photo
from services.photos import limits as photo_limits
from services.qr import qr_png, qr_svg
from services.storage import Storage, StorageUnavailable
from services.storage import configured as configured_storage
from services.votes import progress_photo_public, station_votes
from views.duty import station_panel
from views.forms.residents import ConcernForm, EraseContactForm, RatingForm, WithdrawForm
from views.officials import official_panel
from views.util import int_or_none, safe_next

bp = Blueprint("public", __name__)


def storage() -> Storage:
    return configured_storage()


def public_url(endpoint: str, **values) -> str:
    """An absolute URL on the configured public address: what QR codes and receipts show."""
    return current_app.config["PUBLIC_BASE_URL"] + url_for(endpoint, **values)


def station_url(code: str) -> str:
    return public_url("public.station", code=code)


def tracking_url(code: str) -> str:
    return public_url("public.track", code=code)


def _station_for(
    code: str,
    *,
    with_representatives: bool = True,
    closed_ok: bool = False,
    closed_status: int = 200,
    typed: str | None = None,
) -> tuple[Station | None, Response | None]:
    """(the active station `code` names, None), or (None, the answer) for a code that names
    no active station now: a closed station's page (where to go now, and `typed`, the text
    of a concern sent too late, to copy); for a replaced code, a redirect to the same
    address under the new code while it forwards, then a page saying the poster is no
    longer in use. A closed station itself with `closed_ok` (its QR image: old posters)."""
    found = lifecycle.lookup_code(code, with_representatives=with_representatives)
    if found is None:
        abort(404, description=_("This station code is unknown."))
    if found.alias is not None:
        return None, _old_code(found)
    if found.station.is_active or closed_ok:
        return found.station, None
    return None, _closed_page(found.station, status=closed_status, typed=typed)


def _old_code(found: lifecycle.CodeLookup) -> Response:
    alias, station = found.alias, found.station
    assert alias is not None
    if lifecycle.is_forwarding(alias, utcnow()):
        values = {**(request.view_args or {}), **request.args.to_dict(), "code": station.code}
        # 307 for a POST: the browser sends the same form again, so a concern typed on a
        # page opened before the code changed is filed, not lost.
        status = 307 if request.method == "POST" else 302
        return redirect(url_for(request.endpoint or "public.station", **values), status)
    # No link to the station: the old poster may have been put up to mislead.
    response = make_response(render_template("public/code_retired.html", station=station), 410)
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def _closed_page(station: Station, *, status: int = 200, typed: str | None = None) -> Response:
    response = make_response(
        render_template(
            "public/station_closed.html",
            station=station,
            successor=lifecycle.current_successor(station),
            typed=typed,
        ),
        status,
    )
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def _canonical(code: str, normalize, endpoint: str, **extra):
    """A redirect to the canonical spelling of a code, or None when it already is."""
    canonical = normalize(code)
    if canonical is None:
        abort(404)
    if canonical != code:
        return redirect(url_for(endpoint, code=canonical, **extra), 301)
    return None


# --- 码上见: the station page ---------------------------------------------------------


def _page_cache() -> StationPages | None:
    return page_cache.pages_of(current_app)


def _front_may_keep(generation: int | None, position: int | None = None, tags: frozenset[str] = frozenset()) -> None:
    """This response is the same for every cookie-less visitor: views/front.py may keep it
    and answer the next ones itself, until the shared generation moves from this one or a
    journal row after `position` (read before the page was) names one of `tags`."""
    request.environ[page_cache.FRONT_KEEPS] = (generation, position, tags)


def forget_station_pages(*codes: str) -> None:
    """Drop this worker's cached pages of these codes at once (a station closed, or its code
    replaced); the other workers and servers drop theirs within STATION_PAGE_CHECK_SECONDS,
    when they see the shared counter the commit moved."""
    pages = current_app.extensions.get("station_pages")
    if pages is not None:
        pages.forget(*codes)


@bp.get("/")
def index():
    return render_template("public/index.html")


def _cached_page(key: str, render: Callable[[], str | Response]) -> Response:
    """A public page most scans see alike: rendered once per `key` (its code) and language
    for anonymous visitors and kept (services/page_cache.py: dropped on every server when a
    commit changes what it shows), answered 304 when the browser has it. Signed-in users get
    their own page. `render` gives the HTML, or a response to send as it is (a closed
    station, an unknown code), which is never kept."""
    # Looking at the session is enough to know nobody is signed in; loading the user is not needed.
    anonymous = "_user_id" not in session and "_flashes" not in session
    cache = _page_cache() if anonymous else None
    cache_key = (key, str(get_locale()))
    page = generation = None
    if cache is not None:
        generation = cache.generation()
        page = cache.get(cache_key)
    if page is None:
        rendered = render()
        if isinstance(rendered, Response):
            return rendered
        html = rendered.encode()
        page = (html, hashlib.sha1(html, usedforsecurity=False).hexdigest())
        if cache is not None:
            cache.put(cache_key, page, generation)
    if cache is not None:
        _front_may_keep(generation)
    html, etag = page
    response = Response(status=304) if etag in request.if_none_match else Response(html, mimetype="text/html")
    response.set_etag(etag)
    response.headers["Cache-Control"] = "private, no-cache"
    response.vary.update(("Accept-Language", "Cookie"))
    return response


@bp.get("/s/<code>")
def station(code: str):
    if (moved := _canonical(code, normalize_station_code, "public.station")) is not None:
        return moved

    def render() -> str | Response:
        st, instead = _station_for(code)
        if instead is not None:
            return instead
        assert st is not None
        return render_template(
            "public/station.html",
            station=st,
            stats=station_service.station_stats(st),
            representatives=station_service.representatives_in_order(st),
            on_duty=station_service.on_duty_now(st),
            roster=station_service.roster_days(st),
            panel=station_panel(st),
            office_hours=officials_service.hours_ahead(st),
            officials_here=officials_service.on_site_now(st),
            official_panel=official_panel(st),
            board=board_service.summary(st),
            project_votes=station_votes(st),
            drafts=drafts_service.open_at(st),
        )

    # Most scans are anonymous and see the same page: rendered once per station, language
    # and few seconds.
    return _cached_page(code, render)


@bp.get("/s/<code>/qr.<any(png, svg):fmt>")
def station_qr(code: str, fmt: str):
    if (moved := _canonical(code, normalize_station_code, "public.station_qr", fmt=fmt)) is not None:
        return moved
    # A closed station's image is still served: its old posters lead to the page that
    # says where to go now.
    _st, instead = _station_for(code, with_representatives=False, closed_ok=True)
    if instead is not None:
        return instead
    return qr_image(station_url(code), fmt, kept=True)


def qr_image(url: str, fmt: str, *, cache: str = "public, max-age=86400", kept: bool = False) -> Response:
    """The QR image of `url` (services.qr) as a PNG or SVG response, with an ETag; `kept`:
    the front may answer the next cookie-less requests for it (a printed code's image)."""
    if kept and (pages := _page_cache()) is not None:
        _front_may_keep(pages.generation())
    if fmt == "png":
        response = Response(qr_png(url), mimetype="image/png")
    else:
        response = Response(qr_svg(url), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = cache
    response.add_etag()
    return response.make_conditional(request)


@bp.get("/s/<code>/poster")
def poster(code: str):
    if (moved := _canonical(code, normalize_station_code, "public.poster")) is not None:
        return moved
    # No poster is printed for a closed station.
    st, instead = _station_for(code, with_representatives=False, closed_status=410)
    if instead is not None:
        return instead
    return render_template("public/poster.html", station=st, url=station_url(code))


# --- 已办结案例: the public answers -----------------------------------------------------


def _station_rep_or_404(st, raw: str | None):
    """The representative `?rep=` names, among the station's own; None without one. (Until
    representatives have their public code, /r/<rep_code>, their list lives here.)"""
    if not raw:
        return None
    rep = next((r for r in st.representatives if str(r.id) == raw), None)
    if rep is None:
        abort(404)
    return rep


@bp.get("/s/<code>/answers")
def answers(code: str):
    kept = {k: v for k, v in request.args.items() if k in ("q", "rep", "after")}
    if (moved := _canonical(code, normalize_station_code, "public.answers", **kept)) is not None:
        return moved
    st, instead = _station_for(code)
    if instead is not None:
        return instead
    assert st is not None
    rep = _station_rep_or_404(st, request.args.get("rep"))
    q = public_answers.clean_query(request.args.get("q"))
    after = request.args.get("after") or None
    result = public_answers.page(st, rep=rep, q=q, cursor=after)
    with_answers = public_answers.representatives_with_answers(st)
    response = make_response(
        render_template(
            "public/answers.html",
            station=st,
            rep=rep,
            # The filters: the representatives with something on the list.
            representatives=[r for r in station_service.representatives_in_order(st) if r.id in with_answers],
            q=q,
            after=after,
            result=result,
        )
    )
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.get("/s/<code>/answers/<int:item_id>")
def answer(code: str, item_id: int):
    if (moved := _canonical(code, normalize_station_code, "public.answer", item_id=item_id)) is not None:
        return moved
    st, instead = _station_for(code, with_representatives=False)
    if instead is not None:
        return instead
    found = public_answers.item(st, item_id)
    if found is None:
        abort(404, description=_("This answer is not on the public list (any more)."))
    response = make_response(render_template("public/answer.html", station=st, item=found))
    response.headers["Cache-Control"] = "private, no-cache"
    return response


# --- 码上办: the concern form ---------------------------------------------------------


SENDER = "sender"  # the session's random token of this browser: nothing but an identity


def _sender_token() -> str:
    """This browser's token, given now if it has none yet (the page sets the cookie)."""
    return session.setdefault(SENDER, secrets.token_urlsafe(16))


def _held_secret() -> str:
    """Held photos' tokens are signed for this browser's token (given now if it has none yet,
    so that the form coming back carries it): another browser cannot file them."""
    return f"{current_app.secret_key or ''}|{_sender_token()}"


def _sender() -> str:
    """Who sends the form, for the duplicate check: the browser's token, given with the
    form (so a page reloaded and sent again, or sent ten times at once, carries the same
    one), else its address and user agent. The cookie holds no tracking code: a copied
    cookie opens nothing."""
    token = session.get(SENDER)
    if isinstance(token, str) and token:
        return token
    return f"{get_remote_address()}|{request.user_agent.string[:200]}"


def _submission_key(form: FlaskForm) -> str:
    """The form's key (its `submission_key` field) if it has the shape we hand out, else
    nothing (a forged one)."""
    key = form.submission_key.data or ""
    return key if re.fullmatch(r"[A-Za-z0-9_-]{16,64}", key) else ""


@dataclass(frozen=True)
class _FormStation:
    """What the form page shows of its station, read once as plain values: the page can be
    shown again after the transaction ended or failed, without the database."""

    id: int | None
    code: str
    name: str
    # Written to one representative (/r/<code>): who, for the page and the filing.
    rep_id: int | None = None
    rep_code: str = ""
    rep_name: str = ""


# The last category list each language read, for the form that comes back when the
# database failed before it could be read again.
_last_choices: dict[str, list] = {}


def _held_age() -> float:
    return current_app.config["HELD_PHOTO_MINUTES"] * 60.0


# (file name, photo, held token or None); the photo is None for a kept one that the store
# could not give back just now: its token goes back with the form for the next try.
_Photos = list[tuple[str, ProcessedPhoto | None, str | None]]


def _read_photos(form: ConcernForm) -> tuple[_Photos, int, str | None]:
    """The photos of this submission, cleaned: those kept from the last try and those chosen
    now; how many chosen files are not among them (refused, or not read at all); and a
    notice for above the form when every decoding place stayed taken (busy) or the photo
    store is unreachable. A refused photo gets its message beside the field. No
    database here: on SQLite a transaction open now would hold the write lock."""
    cfg = current_app.config
    secret = _held_secret()
    # A forged form may send text where a file belongs: only uploads count.
    files = [f for f in (form.photos.data or []) if isinstance(f, FileStorage) and f.filename]
    tokens = list(dict.fromkeys(t for t in (form.kept_photos.data or []) if t))[: cfg["MAX_PHOTOS"] + 1]
    photos: _Photos = []
    store_down = False
    for token in tokens:
        if store_down:  # one wait for a store that is down is enough
            if (name := held_photos.describe(token, secret=secret)) is not None:
                photos.append((name, None, token))
            continue
        try:
            kept = held_photos.restore(storage(), token, secret=secret, max_age=_held_age())
            photos.append((kept.name, kept.photo, kept.token))
        except PhotoRefused as refused:
            form.photos.errors.append(refusals.message(refused))
        except StorageUnavailable as exc:
            current_app.logger.warning("concern form: a kept photo could not be read: %s", exc)
            store_down = True
            photos.append((held_photos.describe(token, secret=secret) or "?", None, token))
    if store_down:
        return photos, len(files), _store_down_message()
    if len(photos) + len(files) > cfg["MAX_PHOTOS"]:
        form.photos.errors.append(_("Please choose at most %(n)d photos.", n=cfg["MAX_PHOTOS"]))
        return photos, len(files), None
    if not files:
        return photos, 0, None
    limits = photo_limits(cfg)
    not_kept = 0
    try:
        with decode_slot(cfg["PHOTO_DECODES_AT_ONCE"], cfg["PHOTO_DECODE_WAIT_SECONDS"]):
            for upload in files:
                name = upload.filename[:60]
                try:
                    raw = upload.stream.read(cfg["MAX_PHOTO_BYTES"] + 1)
                    photos.append((name, process_photo(raw, **limits), None))
                except PhotoRefused as refused:
                    form.photos.errors.append(refusals.message(refused, name=name))
                    not_kept += 1
    except PhotoRefused as busy:
        return photos, len(files), refusals.message(busy)
    return photos, not_kept, None


def _hold(photos: _Photos, *, store_down: bool = False) -> tuple[list[tuple[str, str]], bool]:
    """Keep the photos that are not kept yet; (token, file name) of every one, for the form,
    and whether some could not be kept (to be chosen again)."""
    secret = _held_secret()
    held = []
    lost = False
    for name, photo, token in photos:
        if token is None:
            if store_down or photo is None:
                lost = True
                continue
            try:
                token = held_photos.hold(storage(), photo, name, secret=secret, max_age=_held_age()).token
            except OSError as exc:
                current_app.logger.warning("could not keep a photo for the next try: %s", exc)
                lost = True
                store_down = isinstance(exc, StorageUnavailable)  # then not again for the next one
                continue
        held.append((token, name))
    return held, lost


def render_concern_form(
    station,
    form: ConcernForm,
    *,
    status: int = 200,
    notice: str | None = None,
    held: list[tuple[str, str]] | None = None,
    rechoose: bool | None = None,
):
    """The form, with what the resident typed kept, and the photos kept from this try
    (`held`). A browser never keeps chosen files across a round trip, so the page says when
    some must be chosen again."""
    _sender_token()  # also when a refused form comes back
    if rechoose is None:
        chosen_photos = request.method == "POST" and any(
            isinstance(f, FileStorage) and f.filename for f in form.photos.data or ()
        )
        rechoose = chosen_photos and bool(notice or form.errors)
    if not form.category.choices:
        form.category.choices = _category_choices()
    if not _submission_key(form):
        form.submission_key.data = secrets.token_urlsafe(24)
    response = make_response(
        render_template(
            "public/concern_form.html",
            station=station,
            form=form,
            notice=notice,
            held=held or [],
            rechoose_photos=rechoose,
        ),
        status,
    )
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def _category_choices() -> list[tuple[int | str, str]]:
    locale = str(get_locale())
    choices = [(c.id, c.display_name(locale)) for c in station_service.active_categories()]
    _last_choices[locale] = choices
    return [("", _("Please choose"))] + choices


def _fallback_choices(form: ConcernForm) -> list[tuple[int | str, str]]:
    choices = _last_choices.get(str(get_locale()))
    if choices is None:  # never read in this process: keep at least what was chosen
        choices = [(form.category.data, _("As chosen"))] if form.category.data else []
    return [("", _("Please choose"))] + choices


@bp.route("/s/<code>/concern", methods=["GET", "POST"])
# One budget for both concern forms (a station's and a representative's), per address.
@limiter.shared_limit(lambda: current_app.config["CONCERN_RATE_LIMIT"], scope="concern-form", methods=["POST"])
def concern_new(code: str):
    if (moved := _canonical(code, normalize_station_code, "public.concern_new")) is not None:
        return moved
    if request.method == "GET":
        st, instead = _station_for(code, with_representatives=False)
        if instead is not None:
            return instead
        form = ConcernForm()
        form.category.choices = _category_choices()
        visit = _visit(st, request.args.get("booking"))
        if visit is not None:
            # Staff or the representative file what a booked visit brought: prefilled from it.
            form.booking.data = visit.code
            form.contact_name.data, form.contact_mobile.data = visit.name, visit.mobile
            form.content.data, form.consent.data = visit.subject, True
        return render_concern_form(st, form)
    return _file_concern(code)


def _visit(station: Station, raw: str | None) -> Booking | None:
    """The booked visit a concern is filed from, when the signed-in user may (its
    representative or the station's managers) and it is this station's and not filed yet."""
    code = normalize_booking_code(raw or "")
    booking = booking_service.find_by_code(code) if code else None
    if booking is None or booking.station_id != station.id or booking.concern_id is not None:
        return None
    return booking if can(current_user, P.BOOKING_VIEW_CONTACT, booking) else None


def _file_concern(code: str, *, rep_code: str | None = None):
    """The concern form's POST in three steps, so that the slow part holds up nobody:
    reads (no write lock on SQLite), then the photos (no database at all), then one short
    write. A database error at any step brings the form back (503) with everything typed
    and the photos kept, never a 500 page. With `rep_code`, the form of /r/<rep_code>: the
    concern is written to that representative, at their station (`code` is unused)."""
    form = ConcernForm()
    key = _submission_key(form)
    station: _FormStation | None = None
    try:
        with reads_only():
            if rep_code is not None:
                # A representative who no longer takes concerns: their page says so, offers
                # their stations and shows the text sent, to copy (410).
                rep, instead = _rep_for_form(rep_code, typed=form.content.data or "")
                if instead is not None:
                    return instead
                assert rep is not None
                st = rep_pages.primary_station(rep)
                assert st is not None
                station = _FormStation(st.id, st.code, st.name, rep.id, rep.code, rep.name)
            else:
                # A station closed since the form was opened files nothing: its page says
                # where to go now and shows the text sent, to copy (410). A replaced code
                # forwards it.
                found, instead = _station_for(
                    code, with_representatives=False, closed_status=410, typed=form.content.data or ""
                )
                if instead is not None:
                    return instead
                assert found is not None
                st = found
                station = _FormStation(st.id, st.code, st.name)
            form.category.choices = _category_choices()
            # A double tap or a resubmitted page: show the concern it already made.
            existing = concern_service.find_by_submission_key(key)
            # (A reloaded page has a new key: the service finds that one by its text and sender.)
            done_code = existing.tracking_code if existing else None
        if done_code:
            return redirect(url_for("public.receipt", code=done_code), 303)
    except SQLAlchemyError as exc:
        current_app.logger.warning("concern form: reading failed, the form comes back: %s", exc)
        form.category.choices = _fallback_choices(form)

    if station is not None and form.homepage.data:
        return render_concern_form(
            station, form, status=400, notice=_("Your submission looked automated and was not accepted.")
        )
    valid = form.validate_on_submit()
    photos, unread, busy = _read_photos(form)

    def again(status: int, notice: str | None = None, *, store_down: bool = False):
        shown = station or (
            _FormStation(None, code, _("Back to the station"))
            if rep_code is None
            else _FormStation(None, "", _("Back to the representative"), None, rep_code, "")
        )
        held, lost = _hold(photos, store_down=store_down)
        return render_concern_form(shown, form, status=status, notice=notice, held=held, rechoose=unread > 0 or lost)

    if station is None:
        return again(503, _try_again_message())
    if busy:
        return again(503, busy)
    if not valid or form.photos.errors:
        return again(422)

    data = concern_service.ConcernInput(
        category_id=form.category.data,
        content=form.content.data,
        contact_name=form.contact_name.data or "",
        contact_mobile=form.contact_mobile.data or "",
        anonymous=form.anonymous.data,
        public=form.public.data,
        consent=form.consent.data,
    )
    try:
        st = db.session.get(Station, station.id)
        if st is None:
            abort(404)
        visit = _visit(st, form.booking.data)
        to = db.session.get(Representative, station.rep_id) if station.rep_id is not None else None
        concern = concern_service.submit_concern(
            st,
            data,
            [photo for _name, photo, _token in photos if photo is not None],
            storage=storage(),
            submission_key=key or None,
            sender=_sender(),
            source=ConcernSource.WALK_IN if visit is not None else ConcernSource.QR,
            to=to,
        )
        if visit is not None:
            booking_service.link_concern(current_user, visit, concern)
        tracking_code = concern.tracking_code
        db.session.commit()
    except ConcernRefused as refused:
        db.session.rollback()
        field, message = refusals.explain(refused)
        getattr(form, field or "content").errors.append(message)
        return again(422)
    except IntegrityError:
        # The same key won a race in another request: that one is the concern.
        db.session.rollback()
        existing = _made_with_key(key)
        if existing is None:
            return again(503, _try_again_message())
        tracking_code = existing
    except StorageUnavailable as exc:
        # Nothing was filed (the rows are rolled back); the photos cannot be kept either.
        db.session.rollback()
        current_app.logger.warning("concern form: the photo store failed, the form comes back (503): %s", exc)
        return again(503, _store_down_message(), store_down=True)
    except SQLAlchemyError as exc:
        # "database is locked" past the busy timeout, a PostgreSQL serialization failure or
        # a lost connection: nothing was stored; the resident sends the same form again.
        db.session.rollback()
        current_app.logger.warning("concern form: writing failed, the form comes back (503): %s", exc)
        return again(503, _try_again_message())
    return redirect(url_for("public.receipt", code=tracking_code), 303)


def _store_down_message() -> str:
    return _(
        "Photos cannot be stored just now, so your concern was not sent yet. Please submit again in a "
        "moment: everything you typed is still here."
    )


def _try_again_message() -> str:
    return _(
        "The service is very busy and your concern could not be saved just now. Please submit again in a "
        "moment: everything you typed is still here."
    )


def _made_with_key(key: str) -> str | None:
    try:
        existing = concern_service.find_by_submission_key(key)
        return existing.tracking_code if existing else None
    except SQLAlchemyError:
        db.session.rollback()
        return None


# --- 代表码: a representative's own page, code and card ----------------------------------


def rep_url(code: str) -> str:
    return public_url("public.rep", code=code)


def _rep_or_404(code: str) -> Representative:
    rep = rep_pages.by_code(code)
    if rep is None:
        abort(404, description=_("This representative code is unknown."))
    return rep


def _rep_page(rep: Representative, *, status: int = 200, refusal: str | None = None, typed: str | None = None) -> str:
    """The representative's public page; `refusal` and `typed`: a concern they can no
    longer take, with the text sent, to copy."""
    return render_template(
        "public/rep.html",
        rep=rep,
        stations=rep_pages.active_stations(rep),
        serving=rep.serving_on(local_today()),
        accepts=rep_pages.accepts_concerns(rep),
        next_duty=rep_pages.next_duty(rep),
        summary=rep_pages.year_summary(rep),
        refusal=refusal,
        typed=typed,
    )


def _rep_for_form(code: str, *, typed: str | None = None) -> tuple[Representative | None, Response | None]:
    """(the representative `code` names, None) when residents may write to them; else
    (None, their page saying why, with `typed`, 410)."""
    rep = _rep_or_404(code)
    if rep_pages.accepts_concerns(rep):
        return rep, None
    ended = not rep.serving_on(local_today())
    refused = ConcernRefused("rep_not_serving" if ended else "rep_unavailable", name=rep.name)
    response = make_response(_rep_page(rep, refusal=refusals.message(refused), typed=typed), 410)
    response.headers["Cache-Control"] = "private, no-cache"
    return None, response


@bp.get("/r/<code>")
def rep(code: str):
    if (moved := _canonical(code, normalize_rep_code, "public.rep")) is not None:
        return moved

    def render() -> str:
        return _rep_page(_rep_or_404(code))

    return _cached_page(f"r/{code}", render)


@bp.get("/r/<code>/qr.<any(png, svg):fmt>")
def rep_qr(code: str, fmt: str):
    if (moved := _canonical(code, normalize_rep_code, "public.rep_qr", fmt=fmt)) is not None:
        return moved
    # Served whatever the term: a card printed years ago still leads to the page that says
    # where to go instead.
    _rep_or_404(code)
    return qr_image(rep_url(code), fmt, kept=True)


CARDS_PER_SHEET = rep_pages.CARDS_PER_SHEET


def _cards_page(reps: list[Representative], title: str, *, copies: int = 1):
    cards = [(r, rep_url(r.code), url_for("public.rep_qr", code=r.code, fmt="svg")) for r in reps]
    return render_template(
        "public/rep_cards.html",
        cards=[card for card in cards for _copy in range(copies)],
        per_sheet=CARDS_PER_SHEET,
        title=title,
    )


@bp.get("/r/<code>/card")
def rep_card(code: str):
    """A sheet of one representative's cards (10 to an A4 page), for print."""
    if (moved := _canonical(code, normalize_rep_code, "public.rep_card")) is not None:
        return moved
    rep = _rep_or_404(code)
    if not rep.serving_on(local_today()):
        abort(410, description=_("The term of office of this representative has ended: no new cards are printed."))
    return _cards_page([rep], rep.name, copies=CARDS_PER_SHEET)


@bp.get("/s/<code>/cards")
def station_cards(code: str):
    """The cards of every representative in office at a station, one each, for print."""
    if (moved := _canonical(code, normalize_station_code, "public.station_cards")) is not None:
        return moved
    st, instead = _station_for(code, closed_status=410)
    if instead is not None:
        return instead
    assert st is not None
    reps = station_service.representatives_in_order(st)
    return _cards_page(reps, st.name)


def form_target(endpoint: str, code: str) -> _FormStation | None:
    """What a concern form at `endpoint` (a station's or a representative's) is for, when
    it still takes concerns: the form comes back with it after a refusal that came before
    the view (views.errors). None otherwise."""
    if endpoint == "public.rep_concern_new":
        rep = rep_pages.by_code(code)
        st = rep_pages.primary_station(rep) if rep is not None and rep_pages.accepts_concerns(rep) else None
        if rep is None or st is None:
            return None
        return _FormStation(st.id, st.code, st.name, rep.id, rep.code, rep.name)
    station = station_service.get_active_station(code, with_representatives=False)
    return _FormStation(station.id, station.code, station.name) if station is not None else None


@bp.route("/r/<code>/concern", methods=["GET", "POST"])
# One budget for both concern forms (a station's and a representative's), per address.
@limiter.shared_limit(lambda: current_app.config["CONCERN_RATE_LIMIT"], scope="concern-form", methods=["POST"])
def rep_concern_new(code: str):
    """Write to this representative: the station's concern form, addressed to them."""
    if (moved := _canonical(code, normalize_rep_code, "public.rep_concern_new")) is not None:
        return moved
    if request.method == "POST":
        return _file_concern("", rep_code=code)
    rep, instead = _rep_for_form(code)
    if instead is not None:
        return instead
    assert rep is not None
    st = rep_pages.primary_station(rep)
    assert st is not None
    form = ConcernForm()
    form.category.choices = _category_choices()
    return render_concern_form(_FormStation(st.id, st.code, st.name, rep.id, rep.code, rep.name), form)


# --- Tracking ---------------------------------------------------------------------


# Only failed look-ups are counted, per address (guessing codes is what the limit stops),
# and a valid code is never refused: behind a carrier's NAT or a station's Wi-Fi hundreds of
# residents share one address, and each must always reach, rate or withdraw their own concern.


def _too_many_failed_lookups() -> bool:
    """Count one failed look-up from this address; True once the address is over the limit."""
    if not current_app.config["RATELIMIT_ENABLED"]:
        return False
    address = get_remote_address()
    return not all(
        limiter.limiter.hit(item, "tracking-lookup", address)
        for item in parse_many(current_app.config["LOOKUP_RATE_LIMIT"])
    )


def _not_found(message: str | None = None):
    """A failed look-up: 404 with the message, or 429 when this address has failed too often."""
    if _too_many_failed_lookups():
        abort(429)
    return message or _("No concern has this tracking code. Please check it and try again.")


def _concern_or_404(code: str) -> Concern:
    canonical = normalize_tracking_code(code)
    concern = concern_service.find_by_tracking_code(canonical) if canonical else None
    if concern is None:
        abort(404, description=_not_found())
    return concern


@bp.get("/t")
def lookup():
    raw = request.args.get("code", "")
    if not raw:
        return render_template("public/lookup.html")
    code = normalize_tracking_code(raw)
    if code is not None and concern_service.find_by_tracking_code(code) is not None:
        return redirect(url_for("public.track", code=code), 303)
    message = _not_found(_("A tracking code has 10 letters and digits, such as K7M3Q-XP29D.") if code is None else None)
    return render_template("public/lookup.html", raw=raw, error=message), 404


@bp.get("/t/<code>")
def track(code: str):
    if (moved := _canonical(code, normalize_tracking_code, "public.track")) is not None:
        return moved
    # Where the journal stands before the concern is read: a change after it drops the page.
    cache = _page_cache()
    seen = (cache.generation(), cache.position) if cache is not None else None
    concern = concern_service.find_by_tracking_code(code)
    if concern is None:
        return render_template("public/lookup.html", raw=code, error=_not_found()), 404
    response = render_track(concern)
    if seen is not None:
        # Kept by the front only when no form on it set a cookie (views/front.py looks).
        _front_may_keep(*seen, frozenset(page_cache.concern_tag(c.id) for c in merge_chain(concern)))
    return response


def render_track(
    concern: Concern,
    *,
    rate_form: RatingForm | None = None,
    withdraw_form: WithdrawForm | None = None,
    notice: str | None = None,
    unsent_comment: str | None = None,
    status: int = 200,
):
    """The tracking page, with the resident's forms when the status allows them and, after
    a refused POST, the form as it was sent."""
    t = tracking.tracking(concern)
    can_rate = _awaits_rating(concern)
    can_withdraw = flow.CONCERN_FLOW[A.WITHDRAW].applies(concern)
    if can_rate and rate_form is None:
        rate_form = RatingForm(formdata=None, round=t.followed.rounds)
    if can_withdraw and withdraw_form is None:
        withdraw_form = WithdrawForm(formdata=None)
    response = make_response(
        render_template(
            "public/track.html",
            concern=concern,
            followed=t.followed,
            merged=t.merged,
            stages=flow.STAGES,
            done=t.done,
            second_round=t.second_round,
            handled_again=t.handled_again,
            status_title=t.status_title,
            events=t.events,
            code_display=format_tracking_code(concern.tracking_code),
            # It went further: a representative's suggestion grew out of it (title and status only).
            grown_into=suggestion_flow.grown_from(t.followed),
            reply=t.reply,
            check=t.check,
            rate_form=rate_form if can_rate else None,
            withdraw_form=withdraw_form if can_withdraw else None,
            notice=notice,
            unsent_comment=unsent_comment,
            listed=t.listed,
        ),
        status,
    )
    response.headers["Cache-Control"] = "private, no-cache"
    return response


# --- 群众评单 and withdrawing: the resident's side of the loop ------------------------
# The tracking code in the address is the only credential: whoever holds it filed the
# concern or was given the code by the one who did.


def _awaits_rating(concern: Concern) -> bool:
    """Its rating form is up: an answer to rate, on this concern or, merged, on the one it follows."""
    step = A.RATE_MERGED if concern.status == ConcernStatus.MERGED else A.RATE
    return flow.CONCERN_FLOW[step].applies(concern)


def _already_rated(concern: Concern):
    flash(refusals.message(TransitionRefused("already_rated")))
    return redirect(url_for("public.track", code=concern.tracking_code), 303)


def _rate_refused(concern: Concern, code: str, form: RatingForm):
    """The page again with why; the comment stays in the form, or is shown to copy when
    the form is gone (the concern is no longer waiting for a rating)."""
    kept = form.comment.data if not _awaits_rating(concern) else None
    notice = refusals.message(TransitionRefused(code), A.RATE)
    return render_track(concern, rate_form=form, notice=notice, unsent_comment=kept, status=409)


@bp.post("/t/<code>/rate")
def rate(code: str):
    concern = _concern_or_404(code)
    form = RatingForm()
    seen_round = int_or_none(form.round.data) or merge_root(concern).rounds
    # A double tap, or a page from a round already rated: show the result, record nothing.
    if tracking.rated(concern, seen_round):
        return _already_rated(concern)
    if not form.validate_on_submit():
        if not _awaits_rating(concern):
            return _rate_refused(concern, "not_allowed_now", form)
        notice = _("Please choose a rating for both questions. Your comment is still here.")
        return render_track(concern, rate_form=form, notice=notice, status=422)
    merged = concern.status == ConcernStatus.MERGED
    try:
        rate = flow.rate_merged if merged else flow.rate
        rate(concern, Rating(form.unit_rating.data), Rating(form.rep_rating.data), form.comment.data or "")
        reopened = not merged and concern.status != ConcernStatus.CLOSED
        db.session.commit()
    except (TransitionRefused, IntegrityError) as refused:
        db.session.rollback()
        # Losing a race to the same resident's other tap shows up as "changed" or as the
        # one-rating-per-round constraint: either way that round is rated.
        if tracking.rated(concern, seen_round):
            return _already_rated(concern)
        changed = isinstance(refused, IntegrityError) or refused.code == "changed"
        return _rate_refused(concern, "changed" if changed else "not_allowed_now", form)
    if merged:
        flash(_("Thank you for your rating. It is recorded with your concern."))
    elif reopened:
        flash(_("Thank you. Your concern has been sent back for one more round of handling."))
    else:
        flash(_("Thank you for your rating. Your concern is now closed."))
    return redirect(url_for("public.track", code=concern.tracking_code), 303)


@bp.post("/t/<code>/withdraw")
def withdraw(code: str):
    concern = _concern_or_404(code)
    form = WithdrawForm()
    if concern.status == ConcernStatus.WITHDRAWN:  # a double tap
        flash(_("This concern has been withdrawn."))
        return redirect(url_for("public.track", code=concern.tracking_code), 303)
    if concern.status == ConcernStatus.SUBMITTED and not form.validate_on_submit():
        return render_track(concern, withdraw_form=form, status=422)
    try:
        flow.withdraw(concern)
        db.session.commit()
    except TransitionRefused:
        db.session.rollback()
        if concern.status == ConcernStatus.WITHDRAWN:
            flash(_("This concern has been withdrawn."))
        elif concern.status == ConcernStatus.SUBMITTED:  # others' concerns were merged into it
            flash(
                _(
                    "Similar concerns from other residents are handled together with yours, "
                    "so it can no longer be withdrawn."
                )
            )
        else:
            flash(_("A representative has already taken up this concern, so it can no longer be withdrawn."))
        return redirect(url_for("public.track", code=concern.tracking_code), 303)
    flash(_("Your concern has been withdrawn."))
    return redirect(url_for("public.track", code=concern.tracking_code), 303)


def _erase_page(concern: Concern, form: EraseContactForm, status: int = 200):
    response = make_response(
        render_template(
            "public/erase_contact.html",
            concern=concern,
            form=form,
            code_display=format_tracking_code(concern.tracking_code),
            still_open=merge_root(concern).status in flow.OPEN_STATUSES,
        ),
        status,
    )
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def _nothing_to_erase(concern: Concern, refused: ConcernRefused):
    flash(refusals.message(refused))
    return redirect(url_for("public.track", code=concern.tracking_code), 303)


@bp.get("/t/<code>/erase")
def erase_contact_confirm(code: str):
    """The confirm step: what erasing the contact details changes, then the button."""
    if (moved := _canonical(code, normalize_tracking_code, "public.erase_contact_confirm")) is not None:
        return moved
    concern = _concern_or_404(code)
    if concern.contact_erased_at or concern.personal_data_erased_at:
        return _nothing_to_erase(concern, ConcernRefused("contact_erased"))
    if not (concern.contact_name or concern.contact_mobile):
        return _nothing_to_erase(concern, ConcernRefused("no_contact"))
    return _erase_page(concern, EraseContactForm(formdata=None))


@bp.post("/t/<code>/erase")
def erase_contact(code: str):
    concern = _concern_or_404(code)
    form = EraseContactForm()
    if concern.contact_erased_at is not None:  # a double tap
        return _nothing_to_erase(concern, ConcernRefused("contact_erased"))
    if not form.validate_on_submit():
        return _erase_page(concern, form, status=422)
    try:
        erasure.erase_contact(concern)
        db.session.commit()
    except ConcernRefused as refused:
        db.session.rollback()
        return _nothing_to_erase(concern, refused)
    flash(_("Your name and mobile number have been erased. Your concern goes on without them."))
    return redirect(url_for("public.track", code=concern.tracking_code), 303)


@bp.get("/t/<code>/receipt")
def receipt(code: str):
    if (moved := _canonical(code, normalize_tracking_code, "public.receipt")) is not None:
        return moved
    concern = _concern_or_404(code)
    response = make_response(
        render_template(
            "public/receipt.html",
            concern=concern,
            code_display=format_tracking_code(concern.tracking_code),
            url=tracking_url(concern.tracking_code),
        )
    )
    # The receipt is the resident's only key to the concern: no browser or proxy keeps it.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/t/<code>/qr.png")
def track_qr(code: str):
    if (moved := _canonical(code, normalize_tracking_code, "public.track_qr")) is not None:
        return moved
    concern = _concern_or_404(code)
    response = Response(qr_png(tracking_url(concern.tracking_code), box_size=8), mimetype="image/png")
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


@bp.get("/media/<key>")
def media(key: str):
    attachment = db.session.scalar(db.select(Attachment).where(Attachment.storage_key == key))
    if attachment is not None:
        content_type: str | None = attachment.content_type
    else:  # an activity's photo, or a progress report's (public, services.votes)
        content_type = _board_photo_type(key) or progress_photo_public(key)
    data = storage().read(key) if content_type is not None else None
    if data is None:
        abort(404)
    # Served only with the type we checked and wrote ourselves.
    response = Response(data, mimetype=content_type)
    # A concern's photo never changes under its key; an activity's photo is taken down with
    # the activity, so a browser keeps it an hour at most.
    response.headers["Cache-Control"] = (
        "private, max-age=604800, immutable" if attachment is not None else "private, max-age=3600"
    )
    response.headers["Content-Disposition"] = "inline"
    return response


def _board_photo_type(key: str) -> str | None:
    """The type of an activity's photo (or its thumbnail) under `key`: while the activity
    is published, or to whoever looks after its station (services.board)."""
    found = board_service.photo_by_key(key)
    if found is None:
        return None
    photo, _thumb = found
    activity = photo.activity
    if activity.published_at is None and not can(current_user, P.BOARD_MANAGE, activity):
        return None
    # A thumbnail is re-encoded in the photo's own format (services.photos).
    return photo.content_type


@bp.get("/lang/<lang>")
def set_language(lang: str):
    response = redirect(safe_next(request.args.get("next")))
    if lang in current_app.config["LANGUAGES"]:
        response.set_cookie(
            "lang",
            lang,
            max_age=365 * 86400,
            samesite="Lax",
            httponly=True,
            secure=current_app.config["SESSION_COOKIE_SECURE"],  # https sites only send it over https
        )
    return response


# The board's and the drafts' routes register on bp.
from views import public_board, public_drafts  # noqa: E402,F401
