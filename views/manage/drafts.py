"""Drafts of laws put out for comment (立法意见征集) in the back office: preparing one (with a
preview of its articles), publishing and closing it, moderating the residents' comments,
and what a contact point sends up: an .xlsx of the comments per article and a printable
summary per article."""

from collections import Counter

import sqlalchemy as sa
from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms import SelectChoice

from extensions import db
from models import DraftComment, DraftLaw, Region, Station, utcnow
from models.enums import DraftCommentStatus, DraftStatus
from services import drafts as drafts_service
from services import exports, refusals
from services.clock import END_OF_DAY, to_local, utc_at
from services.errors import DomainError, TransitionRefused
from services.permissions import Permission as P
from services.permissions import manages_region, overseen_stations_clause, role_of
from services.refusals import COMMENTS
from views.forms import ButtonForm
from views.forms.drafts import DraftForm, ModerateForm
from views.manage import bp
from views.util import get_or_404, id_arg, int_or_none, require_or_abort


def _no_store(html: str, status: int = 200):
    response = make_response(html, status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _forget_station_pages(draft: DraftLaw) -> None:
    from views.public import forget_station_pages  # views.public → views.duty → this package

    forget_station_pages(*(s.code for s in drafts_service.stations_of(draft)))


def _draft(draft_id: int, action: str = P.DRAFT_MANAGE) -> DraftLaw:
    draft = get_or_404(DraftLaw, draft_id)
    require_or_abort(action, draft)
    return draft


# --- the form: regions and contact points in reach -------------------------------------------


def _contact_points_in_reach() -> list[Station]:
    return list(
        db.session.scalars(
            sa.select(Station)
            .where(overseen_stations_clause(current_user), Station.is_legislative_point.is_(True), Station.is_active)
            .order_by(Station.name, Station.id)
        )
    )


def _regions_in_reach(points: list[Station]) -> list[Region]:
    """The user's own region and every region above a contact point that they manage."""
    found: dict[int, Region] = {}
    if current_user.region is not None:
        found[current_user.region.id] = current_user.region
    for station in points:
        for region in station.region.path():
            if region.level != "township" and manages_region(current_user, region):
                found.setdefault(region.id, region)
    return sorted(found.values(), key=lambda r: (len(r.path()), r.code))


def _form(form: DraftForm | None = None, draft: DraftLaw | None = None) -> tuple[DraftForm, list[Station]]:
    points = _contact_points_in_reach()
    if form is None:
        form = DraftForm(formdata=None, obj=None)
        if draft is not None:
            local = to_local(draft.closes_at)
            form.process(
                data={
                    "title": draft.title,
                    "issuing_body": draft.issuing_body,
                    "summary": draft.summary,
                    "closes_on": local.date(),
                    "closes_time": local.time().replace(second=0),
                    "region": draft.region_id,
                    "all_stations": "all" if draft.all_stations else "chosen",
                    "stations": [s.id for s in draft.stations],
                    "text": draft.source_text,
                }
            )
        elif current_user.region_id is not None:
            form.region.data = current_user.region_id
    regions = _regions_in_reach(points)
    form.region.choices = [SelectChoice("", _("Choose a region"))] + [SelectChoice(r.id, r.full_name) for r in regions]
    form.stations.choices = [SelectChoice(s.id, f"{s.name} · {s.region.name}") for s in points]
    return form, points


def _input(form: DraftForm, points: list[Station]) -> drafts_service.DraftInput:
    closes_at = None
    if form.closes_on.data is not None:
        closes_at = utc_at(form.closes_on.data, form.closes_time.data or END_OF_DAY)
    chosen = set(form.stations.data or [])
    return drafts_service.DraftInput(
        title=form.title.data or "",
        issuing_body=form.issuing_body.data or "",
        summary=form.summary.data or "",
        closes_at=closes_at,
        region=db.session.get(Region, form.region.data) if form.region.data else None,
        text=form.text.data or "",
        all_stations=form.all_stations.data != "chosen",
        stations=[s for s in points if s.id in chosen],
    )


def _refused_on(form, refused: DomainError, context: str | None = None) -> str | None:
    """The refusal beside its field; its message when it has none (to show above the form)."""
    field, message = refusals.explain(refused, context)
    if field is not None and hasattr(form, field):
        getattr(form, field).errors = [*getattr(form, field).errors, message]
        return None
    return message


def _form_page(form: DraftForm, draft: DraftLaw | None, *, split=None, notice=None, status: int = 200):
    return _no_store(
        render_template("manage/drafts/form.html", form=form, draft=draft, split=split, notice=notice), status
    )


def _save(form: DraftForm, points: list[Station], draft: DraftLaw | None):
    """Preview or save the form (new, or an edit of a draft being prepared)."""
    if not form.validate_on_submit():
        return _form_page(form, draft, status=422)
    if form.preview.data:
        try:
            split = drafts_service.split_text(form.text.data or "")
        except DomainError as refused:
            return _form_page(form, draft, notice=_refused_on(form, refused), status=422)
        return _form_page(form, draft, split=split)
    data = _input(form, points)
    try:
        if draft is None:
            draft = drafts_service.create_draft(current_user, data)
        else:
            drafts_service.update_draft(current_user, draft, data)
        draft_id = draft.id
        db.session.commit()
    except DomainError as refused:
        db.session.rollback()
        return _form_page(form, draft, notice=_refused_on(form, refused), status=422)
    flash(_("The draft is saved. Check its articles below, then publish it."))
    return redirect(url_for("manage.draft", draft_id=draft_id), 303)


# --- pages ----------------------------------------------------------------------------------


@bp.get("/drafts")
@login_required
def drafts():
    require_or_abort(P.DRAFT_MANAGE)
    found = drafts_service.drafts_for(current_user)
    return _no_store(
        render_template(
            "manage/drafts/list.html",
            drafts=found,
            statuses={d.id: drafts_service.effective_status(d) for d in found},
        )
    )


@bp.route("/drafts/new", methods=["GET", "POST"])
@login_required
def draft_new():
    require_or_abort(P.DRAFT_MANAGE)
    if request.method == "GET":
        form, _points = _form()
        return _form_page(form, None)
    form, points = _form(DraftForm())
    return _save(form, points, None)


@bp.route("/drafts/<int:draft_id>/edit", methods=["GET", "POST"])
@login_required
def draft_edit(draft_id: int):
    draft = _draft(draft_id)
    if draft.status != DraftStatus.DRAFT:
        flash(refusals.message(drafts_service.DraftRefused("not_editable")))
        return redirect(url_for("manage.draft", draft_id=draft.id), 303)
    if request.method == "GET":
        form, _points = _form(draft=draft)
        return _form_page(form, draft)
    form, points = _form(DraftForm())
    return _save(form, points, draft)


@bp.get("/drafts/<int:draft_id>")
@login_required
def draft(draft_id: int):
    draft = _draft(draft_id)
    comments = drafts_service.comments_of(draft)
    return _no_store(
        render_template(
            "manage/drafts/show.html",
            draft=draft,
            status=drafts_service.effective_status(draft),
            stations=drafts_service.stations_of(draft),
            rows=drafts_service.summary(draft, comments),
            counts=drafts_service.counts_by_status(draft),
            button=ButtonForm(formdata=None),
        )
    )


@bp.post("/drafts/<int:draft_id>/publish")
@login_required
def draft_publish(draft_id: int):
    draft = _draft(draft_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    try:
        published = drafts_service.publish(current_user, draft)
        db.session.commit()
    except DomainError as refused:
        db.session.rollback()
        flash(refusals.message(refused))
        return redirect(url_for("manage.draft", draft_id=draft_id), 303)
    if published:
        _forget_station_pages(draft)
        flash(_("The draft is open for comment at its contact points."))
    return redirect(url_for("manage.draft", draft_id=draft_id), 303)


@bp.post("/drafts/<int:draft_id>/close")
@login_required
def draft_close(draft_id: int):
    draft = _draft(draft_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    closed = drafts_service.close(current_user, draft)
    db.session.commit()
    if closed:
        _forget_station_pages(draft)
        flash(_("The draft is closed for comment."))
    return redirect(url_for("manage.draft", draft_id=draft_id), 303)


# --- moderation -------------------------------------------------------------------------------


def _comments_page(
    draft: DraftLaw,
    *,
    status: int = 200,
    failed: tuple[int, ModerateForm] | None = None,
    revealed: tuple[int, str, str] | None = None,
):
    raw = request.args.get("status")
    wanted = DraftCommentStatus(raw) if raw in {s.value for s in DraftCommentStatus} else None
    article_id = request.args.get("article", type=id_arg)
    comments = drafts_service.comments_of(draft, status=wanted, item_id=article_id)
    return _no_store(
        render_template(
            "manage/drafts/comments.html",
            draft=draft,
            comments=comments,
            wanted=wanted,
            statuses=list(DraftCommentStatus),
            article_id=article_id,
            flow=drafts_service.COMMENT_FLOW,
            role=role_of(current_user),
            form=ModerateForm(formdata=None),
            failed=failed,
            contact={c.id: drafts_service.masked_contact(c) for c in comments},
            revealed=revealed,
            button=ButtonForm(formdata=None),
            counts=drafts_service.counts_by_status(draft),
        ),
        status,
    )


def _comment(draft_id: int, comment_id: int) -> tuple[DraftLaw, DraftComment]:
    draft = _draft(draft_id, P.DRAFT_MODERATE)
    comment = get_or_404(DraftComment, comment_id)
    if comment.draft_law_id != draft.id:
        abort(404)
    return draft, comment


@bp.get("/drafts/<int:draft_id>/comments")
@login_required
def draft_comments(draft_id: int):
    return _comments_page(_draft(draft_id, P.DRAFT_MODERATE))


@bp.post("/drafts/<int:draft_id>/comments/<int:comment_id>")
@login_required
def draft_moderate(draft_id: int, comment_id: int):
    draft, comment = _comment(draft_id, comment_id)
    form = ModerateForm()
    if not form.validate_on_submit():
        abort(400)
    target_id = int_or_none((form.merge_into.data or "").strip().lstrip("#"))
    target = db.session.get(DraftComment, target_id) if target_id and target_id > 0 else None
    back = url_for("manage.draft_comments", draft_id=draft.id, **request.args) + f"#c{comment.id}"
    try:
        event = drafts_service.moderate(
            current_user,
            comment,
            form.action.data or "",
            role=role_of(current_user),
            note=form.note.data or "",
            merge_into=target,
            expected_version=int_or_none(form.version.data),
        )
        db.session.commit()
    except (DomainError, TransitionRefused) as refused:
        db.session.rollback()
        message = _refused_on(form, refused, COMMENTS)
        if message is not None:
            flash(message)
            return redirect(back, 303)
        return _comments_page(draft, status=422, failed=(comment_id, form))
    spec = drafts_service.COMMENT_FLOW.spec(event.action)
    if spec is not None and spec.done is not None:
        flash(str(spec.done))
    return redirect(back, 303)


@bp.post("/drafts/<int:draft_id>/comments/<int:comment_id>/contact")
@login_required
def draft_comment_contact(draft_id: int, comment_id: int):
    """The resident's name and number in full, once, on this page (not kept in a link)."""
    draft, comment = _comment(draft_id, comment_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    name, mobile = drafts_service.contact_viewed(current_user, comment)
    db.session.commit()
    return _comments_page(draft, revealed=(comment.id, name, mobile))


# --- what a contact point sends up ------------------------------------------------------------


@bp.get("/drafts/<int:draft_id>/export.xlsx")
@login_required
def draft_export(draft_id: int):
    draft = _draft(draft_id, P.DRAFT_MODERATE)
    comments = drafts_service.comments_of(draft)
    body = exports.draft_comments_xlsx(draft, comments, utcnow())
    exports.record_draft_export(current_user, draft, comments, "xlsx")
    db.session.commit()
    response = make_response(body)
    response.headers["Content-Type"] = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    response.headers["Content-Disposition"] = exports.content_disposition(*exports.draft_filenames(draft))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/drafts/<int:draft_id>/summary")
@login_required
def draft_summary(draft_id: int):
    draft = _draft(draft_id, P.DRAFT_MODERATE)
    comments = drafts_service.comments_of(draft)
    return _no_store(
        render_template(
            "manage/drafts/summary.html",
            draft=draft,
            rows=drafts_service.summary(draft, comments),
            totals=Counter(c.status for c in comments),
            status=drafts_service.effective_status(draft),
            stations=drafts_service.stations_of(draft),
            generated_at=utcnow(),
        )
    )
