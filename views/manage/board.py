"""The station's board (公开栏) in the back office: its rules of work, its activities with
photos (publish, unpublish, edit), its calendar of reception days; and the notices a
region's congress staff publish to all its stations. Every change forgets the cached
public page of the stations it shows on."""

from datetime import date, timedelta

from babel.dates import get_day_names
from flask import abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.datastructures import FileStorage

from extensions import db
from models import Activity, Notice, ReceptionDay, Region, Station
from models.enums import ReceptionKind, Repeat
from services import board as board_service
from services import refusals
from services.board import BoardRefused
from services.clock import local_today
from services.errors import PhotoRefused
from services.limits import ACTIVITY_PHOTOS_MAX
from services.permissions import Permission as P
from services.permissions import managed_regions_clause
from services.photos import decode_slot
from services.storage import StorageUnavailable
from services.storage import configured as configured_storage
from views.forms import ButtonForm
from views.forms.board import ActivityForm, EndReceptionForm, NoticeForm, ReceptionForm, RulesForm
from views.forms.votes import ProgressForm
from views.manage import bp
from views.manage.duty import station_or_404
from views.util import get_or_404, require_or_abort


def forget_station_pages(*codes: str) -> None:
    from views.public import forget_station_pages  # views.public → views.duty → this package

    forget_station_pages(*codes)


def _no_store(html: str, status: int = 200):
    response = make_response(html, status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _refused_on(form, refused: BoardRefused) -> None:
    """The refusal beside its field, or above the form."""
    field, message = refusals.explain(refused)
    if field is not None and hasattr(form, field):
        getattr(form, field).errors = [*getattr(form, field).errors, message]
    else:
        flash(message)


def _board_station(code: str) -> Station:
    station = station_or_404(code)
    require_or_abort(P.BOARD_MANAGE, station)
    return station


# --- the board page: rules, activities, reception days ----------------------------------------


def _reception_form(station: Station, form: ReceptionForm | None = None) -> ReceptionForm:
    form = form or ReceptionForm()
    days = get_day_names("wide", locale=str(get_locale()))
    form.weekday.choices = [(i, days[i]) for i in range(7)]
    form.representatives.choices = [(r.id, r.name) for r in sorted(station.representatives, key=lambda r: r.name)]
    return form


def _board_page(
    station: Station,
    *,
    rules_form: RulesForm | None = None,
    reception_form: ReceptionForm | None = None,
    status: int = 200,
):
    if rules_form is None:
        rules_form = RulesForm(formdata=None, text=board_service.rules_of(station))
    if reception_form is None:
        reception_form = _reception_form(station, ReceptionForm(formdata=None))
    receptions = board_service.reception_days_of(station, include_cancelled=True)
    return _no_store(
        render_template(
            "manage/board.html",
            station=station,
            rules_form=rules_form,
            reception_form=reception_form,
            activities=board_service.activities_of(station),
            receptions=receptions,
            next_dates={rd.id: board_service.occurrences(rd, *_window())[:3] for rd in receptions},
            end_form=EndReceptionForm(formdata=None),
            button=ButtonForm(formdata=None),
            notices=board_service.notices_for(station, limit=None),
        ),
        status,
    )


def _window() -> tuple[date, date]:
    today = local_today()
    return today, today + timedelta(days=board_service.CALENDAR_DAYS)


@bp.get("/stations/<code>/board")
@login_required
def board(code: str):
    return _board_page(_board_station(code))


@bp.post("/stations/<code>/board/rules")
@login_required
def board_rules(code: str):
    station = _board_station(code)
    form = RulesForm()
    if not form.validate():
        return _board_page(station, rules_form=form, status=422)
    try:
        board_service.set_rules(current_user, station, form.text.data or "")
        db.session.commit()
    except BoardRefused as refused:
        db.session.rollback()
        _refused_on(form, refused)
        return _board_page(station_or_404(code), rules_form=form, status=422)
    forget_station_pages(station.code)
    flash(_("The rules of work are saved."))
    return redirect(url_for("manage.board", code=code) + "#rules-h", 303)


# --- activities ------------------------------------------------------------------------------


def read_photos(form: ActivityForm | ProgressForm, room: int) -> list[board_service.BoardPhoto]:
    """The chosen photos, processed like a concern's; a refused one gets its message beside
    the field (the text typed stays in the form). No database here."""
    cfg = current_app.config
    files = [f for f in (form.photos.data or []) if isinstance(f, FileStorage) and f.filename]
    if len(files) > room:
        form.photos.errors = [
            *form.photos.errors,
            refusals.message(BoardRefused("too_many_photos", n=ACTIVITY_PHOTOS_MAX)),
        ]
        return []
    limits = {
        "max_bytes": cfg["MAX_PHOTO_BYTES"],
        "max_pixels": cfg["MAX_PHOTO_PIXELS"],
        "max_side": cfg["STORED_PHOTO_MAX_SIDE"],
        "max_decode_bytes": cfg["PHOTO_DECODE_MB_MAX"] * 1024 * 1024,
    }
    read = []
    errors = list(form.photos.errors)
    try:
        with decode_slot(cfg["PHOTO_DECODES_AT_ONCE"], cfg["PHOTO_DECODE_WAIT_SECONDS"]):
            for upload in files:
                name = upload.filename[:60]
                try:
                    read.append(board_service.read_photo(upload.stream.read(cfg["MAX_PHOTO_BYTES"] + 1), **limits))
                except PhotoRefused as refused:
                    errors.append(refusals.message(refused, name=name))
    except PhotoRefused as busy:
        errors.append(refusals.message(busy))
    form.photos.errors = errors
    return read


def _activity_page(station: Station, form: ActivityForm, activity: Activity | None = None, status: int = 200):
    chosen = any(isinstance(f, FileStorage) and f.filename for f in (form.photos.data or ()))
    return _no_store(
        render_template(
            "manage/board_activity.html",
            station=station,
            form=form,
            activity=activity,
            button=ButtonForm(formdata=None),
            rechoose=chosen and status != 200,
        ),
        status,
    )


def _activity_or_404(station: Station, activity_id: int) -> Activity:
    activity = board_service.activity_of(station, activity_id, published_only=False)
    if activity is None:
        abort(404)
    return activity


def _input(form: ActivityForm) -> board_service.ActivityInput:
    return board_service.ActivityInput(title=form.title.data or "", day=form.day.data, text=form.text.data or "")


@bp.route("/stations/<code>/board/activities/new", methods=["GET", "POST"])
@login_required
def activity_new(code: str):
    station = _board_station(code)
    if not station.is_active:
        abort(404)
    form = ActivityForm() if _posted() else ActivityForm(formdata=None)
    if not _posted():
        return _activity_page(station, form)
    valid = form.validate()
    photos = read_photos(form, ACTIVITY_PHOTOS_MAX)
    if not valid or form.photos.errors:
        return _activity_page(station, form, status=422)
    try:
        activity = board_service.create_activity(
            current_user,
            station,
            _input(form),
            photos,
            storage=configured_storage(),
            publish=bool(form.publish.data),
        )
        activity_id = activity.id
        db.session.commit()
    except BoardRefused as refused:
        db.session.rollback()
        _refused_on(form, refused)
        return _activity_page(station_or_404(code), form, status=422)
    except (StorageUnavailable, SQLAlchemyError) as exc:
        db.session.rollback()
        current_app.logger.warning("board: an activity could not be saved: %s", exc)
        flash(_("The activity could not be saved just now. Please send it again in a moment."))
        return _activity_page(station_or_404(code), form, status=503)
    forget_station_pages(code)
    flash(_("The activity is published.") if form.publish.data else _("The activity is saved, not published."))
    return redirect(url_for("manage.activity_edit", code=code, activity_id=activity_id), 303)


def _posted() -> bool:
    return request.method == "POST"


@bp.route("/stations/<code>/board/activities/<int:activity_id>", methods=["GET", "POST"])
@login_required
def activity_edit(code: str, activity_id: int):
    station = _board_station(code)
    activity = _activity_or_404(station, activity_id)
    if not _posted():
        form = ActivityForm(formdata=None, obj=activity)
        return _activity_page(station, form, activity)
    form = ActivityForm()
    valid = form.validate()
    removing = {i for i in (form.remove_photos.data or []) if isinstance(i, int)}
    room = ACTIVITY_PHOTOS_MAX - len([p for p in activity.photos if p.id not in removing])
    photos = read_photos(form, room)
    if not valid or form.photos.errors:
        return _activity_page(station, form, activity, status=422)
    try:
        gone = board_service.edit_activity(
            current_user, activity, _input(form), photos, remove=removing, storage=configured_storage()
        )
        db.session.commit()
    except BoardRefused as refused:
        db.session.rollback()
        _refused_on(form, refused)
        station = station_or_404(code)
        return _activity_page(station, form, _activity_or_404(station, activity_id), status=422)
    except (StorageUnavailable, SQLAlchemyError) as exc:
        db.session.rollback()
        current_app.logger.warning("board: an activity could not be saved: %s", exc)
        flash(_("The activity could not be saved just now. Please send it again in a moment."))
        station = station_or_404(code)
        return _activity_page(station, form, _activity_or_404(station, activity_id), status=503)
    store = configured_storage()
    for key in gone:
        try:
            store.delete(key)
        except OSError as exc:  # the row is gone: an orphan file harms nobody
            current_app.logger.warning("board: a removed photo stayed in the store: %s", exc)
    forget_station_pages(code)
    flash(_("The activity is saved."))
    return redirect(url_for("manage.activity_edit", code=code, activity_id=activity_id), 303)


@bp.post("/stations/<code>/board/activities/<int:activity_id>/<any(publish, unpublish):what>")
@login_required
def activity_publish(code: str, activity_id: int, what: str):
    station = _board_station(code)
    activity = _activity_or_404(station, activity_id)
    if not ButtonForm().validate():
        abort(400)
    if what == "publish":
        changed = board_service.publish_activity(current_user, activity)
    else:
        changed = board_service.unpublish_activity(current_user, activity)
    db.session.commit()
    forget_station_pages(code)
    if changed:
        flash(_("The activity is published.") if what == "publish" else _("The activity is no longer public."))
    return redirect(url_for("manage.activity_edit", code=code, activity_id=activity_id), 303)


# --- reception days ---------------------------------------------------------------------------


@bp.post("/stations/<code>/board/receptions")
@login_required
def reception_add(code: str):
    station = _board_station(code)
    form = _reception_form(station)
    if not form.validate():
        return _board_page(station, reception_form=form, status=422)
    chosen = set(form.representatives.data or [])
    # A forged id of someone elsewhere is refused by the service: it is not the station's.
    picked = [r for r in station.representatives if r.id in chosen]
    if len(picked) < len(chosen):
        _refused_on(form, BoardRefused("not_station_representative"))
        return _board_page(station, reception_form=form, status=422)
    data = board_service.ReceptionInput(
        kind=ReceptionKind(form.kind.data),
        repeat=Repeat(form.repeat.data),
        starts_on=form.starts_on.data,
        starts_at=form.starts_at.data,
        ends_at=form.ends_at.data,
        representatives=picked,
        weekday=form.weekday.data if form.repeat.data == Repeat.WEEKLY else None,
        day_of_month=form.day_of_month.data if form.repeat.data == Repeat.MONTHLY else None,
        ends_on=form.ends_on.data,
        note=form.note.data or "",
        capacity=form.capacity.data if form.capacity.data is not None else board_service.RECEPTION_CAPACITY_DEFAULT,
    )
    try:
        board_service.add_reception_day(current_user, station, data)
        db.session.commit()
    except BoardRefused as refused:
        db.session.rollback()
        _refused_on(form, refused)
        return _board_page(station_or_404(code), reception_form=_reception_form(station, form), status=422)
    forget_station_pages(code)
    flash(_("The reception day is on the calendar."))
    return redirect(url_for("manage.board", code=code) + "#receptions-h", 303)


def _reception_or_404(station: Station, reception_id: int) -> ReceptionDay:
    reception = get_or_404(ReceptionDay, reception_id)
    if reception.station_id != station.id:
        abort(404)
    return reception


@bp.post("/stations/<code>/board/receptions/<int:reception_id>/cancel")
@login_required
def reception_cancel(code: str, reception_id: int):
    station = _board_station(code)
    reception = _reception_or_404(station, reception_id)
    if not ButtonForm().validate():
        abort(400)
    if board_service.cancel_reception_day(current_user, reception):
        flash(_("The reception day is cancelled."))
    db.session.commit()
    forget_station_pages(code)
    return redirect(url_for("manage.board", code=code) + "#receptions-h", 303)


@bp.post("/stations/<code>/board/receptions/<int:reception_id>/end")
@login_required
def reception_end(code: str, reception_id: int):
    station = _board_station(code)
    reception = _reception_or_404(station, reception_id)
    form = EndReceptionForm()
    if not form.validate():
        flash(form.ends_on.errors[0] if form.ends_on.errors else _("Please choose a date."))
        return redirect(url_for("manage.board", code=code) + "#receptions-h", 303)
    try:
        board_service.end_reception_day(current_user, reception, form.ends_on.data)
        db.session.commit()
    except BoardRefused as refused:
        db.session.rollback()
        flash(refusals.message(refused))
        return redirect(url_for("manage.board", code=code) + "#receptions-h", 303)
    forget_station_pages(code)
    flash(_("The reception day ends on %(day)s.", day=form.ends_on.data.isoformat()))
    return redirect(url_for("manage.board", code=code) + "#receptions-h", 303)


# --- a region's notices ---------------------------------------------------------------------


def _notice_form(form: NoticeForm | None = None) -> NoticeForm:
    form = form or NoticeForm()
    form.region.choices = [(r.id, f"{r.name} ({r.code})") for r in board_service.notice_regions(current_user)]
    return form


def _notices_page(form: NoticeForm, status: int = 200):
    return _no_store(
        render_template(
            "manage/notices.html",
            form=form,
            notices=board_service.notices_in(managed_regions_clause(current_user, Notice.region_id)),
            button=ButtonForm(formdata=None),
        ),
        status,
    )


@bp.get("/notices")
@login_required
def notices():
    require_or_abort(P.NOTICE_MANAGE)
    return _notices_page(_notice_form(NoticeForm(formdata=None)))


@bp.post("/notices")
@login_required
def notice_publish():
    require_or_abort(P.NOTICE_MANAGE)
    form = _notice_form()
    if not form.validate():
        return _notices_page(form, status=422)
    # Only a region offered in the list (a forged id, however large, is refused here).
    offered = {value for value, _label in form.region.choices}
    region = db.session.get(Region, form.region.data) if form.region.data in offered else None
    if region is None:
        form.region.errors = [_("Please choose a region.")]
        return _notices_page(form, status=422)
    require_or_abort(P.NOTICE_MANAGE, region)  # a forged region outside the user's reach: 403
    try:
        notice = board_service.publish_notice(current_user, region, form.title.data or "", form.text.data or "")
        codes = board_service.stations_under(notice.region)
        db.session.commit()
    except BoardRefused as refused:
        db.session.rollback()
        _refused_on(form, refused)
        return _notices_page(_notice_form(form), status=422)
    forget_station_pages(*codes)
    flash(_("The notice is published on %(n)d stations.", n=len(codes)))
    return redirect(url_for("manage.notices"), 303)


@bp.post("/notices/<int:notice_id>/withdraw")
@login_required
def notice_withdraw(notice_id: int):
    notice = get_or_404(Notice, notice_id)
    require_or_abort(P.NOTICE_MANAGE, notice)
    if not ButtonForm().validate():
        abort(400)
    changed = board_service.withdraw_notice(current_user, notice)
    codes = board_service.stations_under(notice.region)
    db.session.commit()
    forget_station_pages(*codes)
    if changed:
        flash(_("The notice is withdrawn."))
    return redirect(url_for("manage.notices"), 303)
