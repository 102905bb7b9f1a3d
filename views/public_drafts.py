"""Drafts of laws put out for comment, as residents see them at a legislative contact point:
/s/<code>/drafts/<id> (the text, article by article, each with its comment link),
/s/<code>/drafts/<id>/comment (the comment form, on one article or the whole draft) and
/c/<code> (a resident's own comments with their outcome; the code in the address is the
only key, as a tracking code is). Routes of the public blueprint (views/public.py imports
this module)."""

import secrets

from flask import abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from extensions import db, limiter
from models import DraftItem, DraftLaw, Station
from services import drafts as drafts_service
from services import refusals
from services.codes import format_tracking_code, normalize_comment_code, normalize_station_code
from services.drafts import DraftRefused
from services.privacy import mask_mobile, mask_name
from views.forms.drafts import CommentForm
from views.public import _canonical, _not_found, _station_for, _submission_key, bp, public_url
from views.util import id_arg


def _draft_or_404(station: Station, draft_id: int) -> DraftLaw:
    draft = drafts_service.shown_at(station, draft_id)
    if draft is None:
        abort(404, description=_("This draft is not open for comment at this station."))
    return draft


def _resident_code() -> str | None:
    """The comment code a resident came with (?c=…, from their comments' page)."""
    return normalize_comment_code(request.args.get("c") or "")


@bp.get("/s/<code>/drafts/<int:draft_id>")
def draft(code: str, draft_id: int):
    kept = {"c": request.args["c"]} if "c" in request.args else {}
    if (moved := _canonical(code, normalize_station_code, "public.draft", draft_id=draft_id, **kept)) is not None:
        return moved
    st, instead = _station_for(code, with_representatives=False)
    if instead is not None:
        return instead
    assert st is not None
    found = _draft_or_404(st, draft_id)
    response = make_response(
        render_template(
            "public/draft.html",
            station=st,
            draft=found,
            is_open=drafts_service.is_open(found),
            status=drafts_service.effective_status(found),
            resident_code=_resident_code(),
        )
    )
    # With a resident's code in the address, no browser or proxy keeps the page.
    response.headers["Cache-Control"] = "no-store" if kept else "private, no-cache"
    return response


def _comment_page(
    station: Station,
    draft: DraftLaw,
    item: DraftItem | None,
    form: CommentForm,
    *,
    status: int = 200,
    notice: str | None = None,
):
    if not _submission_key(form):
        form.submission_key.data = secrets.token_urlsafe(24)
    response = make_response(
        render_template(
            "public/draft_comment.html",
            station=station,
            draft=draft,
            item=item,
            form=form,
            notice=notice,
            is_open=drafts_service.is_open(draft),
        ),
        status,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/s/<code>/drafts/<int:draft_id>/comment", methods=["GET", "POST"])
# The concern form's budget, per address, for comments of its own.
@limiter.shared_limit(lambda: current_app.config["CONCERN_RATE_LIMIT"], scope="draft-comment", methods=["POST"])
def draft_comment(code: str, draft_id: int):
    kept = request.args.to_dict()
    if (
        moved := _canonical(code, normalize_station_code, "public.draft_comment", draft_id=draft_id, **kept)
    ) is not None:
        return moved
    form = CommentForm()
    # A station closed since the form was opened takes nothing: its page says where to go
    # now and shows the text sent, to copy (410).
    closed_status = 410 if request.method == "POST" else 200
    st, instead = _station_for(
        code, with_representatives=False, closed_status=closed_status, typed=form.content.data or ""
    )
    if instead is not None:
        return instead
    assert st is not None
    found = _draft_or_404(st, draft_id)
    # The article by its number: /s/<code>/drafts/<id>/comment?article=5 for 第五条.
    number = request.args.get("article", type=id_arg)
    item = drafts_service.article_of(found, number) if number is not None else None
    if number is not None and item is None:
        abort(404, description=_("This draft has no such article."))
    if not form.is_submitted():
        form.code.data = _resident_code() or ""
        return _comment_page(st, found, item, form)

    key = _submission_key(form)
    done = drafts_service.find_by_submission_key(key)
    if done is not None:  # a double tap, or the page sent again
        return redirect(url_for("public.my_comments", code=done.code), 303)
    if form.homepage.data:
        return _comment_page(
            st, found, item, form, status=400, notice=_("Your submission looked automated and was not accepted.")
        )
    if not drafts_service.is_open(found):
        return _comment_page(st, found, item, form, status=410, notice=refusals.message(DraftRefused("closed")))
    if not form.validate_on_submit():
        return _comment_page(st, found, item, form, status=422)
    data = drafts_service.CommentInput(
        content=form.content.data or "",
        name=form.name.data or "",
        mobile=form.mobile.data or "",
        consent=bool(form.consent.data),
    )
    try:
        comment = drafts_service.submit_comment(
            found, st, item, data, submission_key=key or None, code=normalize_comment_code(form.code.data or "")
        )
        comment_code = comment.code
        db.session.commit()
    except DraftRefused as refused:
        db.session.rollback()
        field, message = refusals.explain(refused)
        if field and hasattr(form, field):
            getattr(form, field).errors = [*getattr(form, field).errors, message]
            return _comment_page(st, found, item, form, status=422)
        return _comment_page(st, found, item, form, status=422, notice=message)
    except IntegrityError:
        # The same form's other tap won the race: that one is the comment.
        db.session.rollback()
        done = drafts_service.find_by_submission_key(key)
        if done is None:
            return _comment_page(st, found, item, form, status=503, notice=_busy())
        comment_code = done.code
    except SQLAlchemyError as exc:
        db.session.rollback()
        current_app.logger.warning("draft comment form: writing failed, the form comes back (503): %s", exc)
        return _comment_page(st, found, item, form, status=503, notice=_busy())
    flash(_("Thank you: your comment was received. Keep this page's address to see what becomes of it."))
    return redirect(url_for("public.my_comments", code=comment_code), 303)


def _busy() -> str:
    return _(
        "The service is very busy and your comment could not be saved just now. Please submit again in a "
        "moment: everything you typed is still here."
    )


@bp.get("/c/<code>")
def my_comments(code: str):
    if (moved := _canonical(code, normalize_comment_code, "public.my_comments")) is not None:
        return moved
    comments = drafts_service.comments_by_code(code)
    if not comments:
        abort(404, description=_not_found(_("No comments have this code. Please check it and try again.")))
    # The resident's comments are on one draft, made at one contact point or more; the
    # links to comment more go to the station of the latest.
    latest = comments[-1]
    response = make_response(
        render_template(
            "public/draft_comments.html",
            comments=comments,
            draft=latest.draft,
            station=latest.station,
            code=code,
            code_display=format_tracking_code(code),
            url=public_url("public.my_comments", code=code),
            is_open=drafts_service.is_open(latest.draft),
            contact={c.id: (mask_name(c.name), mask_mobile(c.mobile)) for c in comments},
            decisions={c.id: _decision(c) for c in comments},
        )
    )
    # The page is the resident's key to their comments: no browser or proxy keeps it.
    response.headers["Cache-Control"] = "no-store"
    return response


def _decision(comment):
    """The public event that decided the comment's present status (its reason), if any."""
    return next(
        (e for e in reversed(comment.events) if e.to_status == comment.status and e.is_public),
        None,
    )
