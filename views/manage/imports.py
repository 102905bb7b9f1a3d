"""Spreadsheet imports in the back office (/manage/import): choose what to import and
download its template, upload the filled-in sheet, read the preview (every problem by row
and column, what would be created and changed), apply it, read what was done.

The upload is kept (ImportUpload) so that what is applied is the very file previewed; it is
its uploader's alone (anyone else gets a 404). The rules are services.imports'.
"""

from collections import Counter

import sqlalchemy as sa
from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from extensions import db
from models import ImportUpload, User
from services import account_links, exports, refusals
from services import imports as import_service
from services.imports import ImportRefused
from services.permissions import Permission as P
from services.permissions import can
from views.forms import ButtonForm
from views.forms.imports import ImportForm
from views.manage import bp
from views.manage.accounts import invite_summary
from views.util import download, require_or_abort

KIND_TITLES = {
    "townships": _l("Townships"),
    "stations": _l("Liaison stations"),
    "representatives": _l("Representatives"),
    "units": _l("Handling units"),
    "categories": _l("Concern categories"),
}
KIND_HINTS = {
    "townships": _l(
        "The townships and sub-districts of your county, with their statistical codes: the national list "
        "stops at counties. Import them before the stations that are in them."
    ),
    "stations": _l("Stations, points and posts: a point or post names its station, in the sheet or already entered."),
    "representatives": _l(
        "With the stations where each serves. A new representative gets an account without a password; "
        "they set one through an invitation."
    ),
    "units": _l(
        "Government departments, the supervision commission, the court and the procuratorate, with their departments."
    ),
    "categories": _l("What residents choose when they file a concern, for the whole service."),
}
SHOWN = ("error", "created", "updated")
PAGE_ROWS = 100


def _kinds() -> list[str]:
    return [kind for kind in import_service.KINDS if import_service.may_import(current_user, kind)]


def _form(*, sent: bool = False) -> ImportForm:
    # Sent: Flask-WTF reads the form and its files from the request itself.
    form = ImportForm() if sent else ImportForm(formdata=None)
    form.kind.choices = [(kind, str(KIND_TITLES[kind])) for kind in _kinds()]
    return form


def _region_code() -> str:
    """The templates' example rows name the importer's own region."""
    region = current_user.region
    return region.code if region is not None else "411681"


def _home(form: ImportForm, status: int = 200):
    return (
        render_template(
            "manage/imports/index.html",
            form=form,
            kinds=_kinds(),
            titles=KIND_TITLES,
            hints=KIND_HINTS,
            uploads=import_service.recent_uploads(current_user),
            max_rows=import_service.MAX_ROWS,
        ),
        status,
    )


@bp.get("/import")
@login_required
def imports():
    require_or_abort(P.IMPORT_REFERENCE)
    form = _form()
    kind = request.args.get("kind")
    if kind in _kinds():
        form.kind.data = kind
    return _home(form)


@bp.get("/import/template/<kind>.<ext>")
@login_required
def import_template(kind: str, ext: str):
    require_or_abort(P.IMPORT_REFERENCE)
    if kind not in _kinds() or ext not in ("xlsx", "csv"):
        abort(404)
    if ext == "xlsx":
        body, mimetype = import_service.template_xlsx(kind, _region_code()), exports.XLSX_TYPE
    else:
        body, mimetype = import_service.template_csv(kind, _region_code()), exports.CSV_TYPE
    return download(body, mimetype, (import_service.template_filename(kind, ext), f"{kind}-template.{ext}"))


@bp.post("/import")
@login_required
def import_upload():
    require_or_abort(P.IMPORT_REFERENCE)
    form = _form(sent=True)
    if not form.validate_on_submit():
        return _home(form, 422)
    upload = form.file.data
    if upload is None or not getattr(upload, "filename", ""):
        form.file.errors = [str(_l("Please choose the file."))]
        return _home(form, 422)
    content = upload.read(import_service.MAX_UPLOAD_BYTES + 1)
    try:
        stored = import_service.store_upload(current_user, form.kind.data, upload.filename, content)
    except ImportRefused as refused:
        db.session.rollback()
        form.file.errors = refusals.import_messages(refused)
        return _home(form, 422)
    db.session.commit()
    return redirect(url_for("manage.import_preview", upload_id=stored.id), 303)


def _upload_or_404(upload_id: int) -> ImportUpload:
    require_or_abort(P.IMPORT_REFERENCE)
    upload = import_service.upload_of(current_user, upload_id)
    if upload is None or upload.kind not in import_service.KINDS:
        abort(404)
    require_or_abort(import_service.permission_for(upload.kind))
    return upload


def _listing(preview: import_service.Preview) -> tuple[str, int, list, int]:
    """The list the page shows (errors first when there are any), its page, its rows."""
    counts = preview.counts()
    show = request.args.get("show", "")
    if show not in SHOWN:
        show = next((s for s in SHOWN if counts[s]), "created")
    rows = preview.with_status(show)
    pages = max(1, -(-len(rows) // PAGE_ROWS))
    page = min(max(request.args.get("page", 1, type=int), 1), pages)
    return show, page, rows[(page - 1) * PAGE_ROWS : page * PAGE_ROWS], pages


def _preview_page(upload: ImportUpload, preview: import_service.Preview | None, *, problems=(), status: int = 200):
    show, page, rows, pages = _listing(preview) if preview is not None else ("error", 1, [], 1)
    messages = {row.number: [(heading, refusals.problem_message(p)) for heading, p in row.problems] for row in rows}
    response = make_response(
        render_template(
            "manage/imports/preview.html",
            upload=upload,
            title=KIND_TITLES[upload.kind],
            preview=preview,
            counts=preview.counts() if preview is not None else None,
            file_problems=problems,
            show=show,
            page=page,
            pages=pages,
            rows=rows,
            messages=messages,
        ),
        status,
    )
    return response


@bp.get("/import/<int:upload_id>")
@login_required
def import_preview(upload_id: int):
    upload = _upload_or_404(upload_id)
    if upload.applied_at is not None:
        return _result_page(upload)
    try:
        preview = import_service.preview(current_user, upload.kind, upload.content)
    except ImportRefused as refused:
        return _preview_page(upload, None, problems=refusals.import_messages(refused), status=422)
    return _preview_page(upload, preview)


@bp.post("/import/<int:upload_id>/apply")
@login_required
def import_apply(upload_id: int):
    upload = _upload_or_404(upload_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    try:
        outcome = import_service.apply(current_user, upload)
    except ImportRefused as refused:
        db.session.rollback()
        return _preview_page(upload, None, problems=refusals.import_messages(refused), status=422)
    if not outcome.applied:
        db.session.rollback()
        if upload.applied_at is not None or outcome.summary:
            return redirect(url_for("manage.import_preview", upload_id=upload.id), 303)  # a second click
        # Something changed since the preview: the new problems, nothing saved.
        return _preview_page(upload, outcome.preview, status=422)
    db.session.commit()
    return redirect(url_for("manage.import_preview", upload_id=upload.id), 303)


@bp.post("/import/<int:upload_id>/invite")
@login_required
def import_invite(upload_id: int):
    """Invite the representatives an import created, all at once: their ids are the import's
    own record, so the form carries none (thousands of them would not fit a form)."""
    upload = _upload_or_404(upload_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    ids = (upload.summary or {}).get("new_user_ids", []) if upload.applied_at is not None else []
    users = list(db.session.scalars(sa.select(User).where(User.id.in_(ids)).order_by(User.id)))
    # Accounts moved out of the importer's reach since the import are left to whoever has them.
    mine = [u for u in users if can(current_user, P.ACCOUNT_INVITE, u)]
    counts = account_links.invite_many(current_user, mine)
    db.session.commit()
    flash(invite_summary(counts))
    return redirect(url_for("manage.import_preview", upload_id=upload.id), 303)


def _invitation_counts(user_ids: list[int]) -> Counter:
    """How the accounts an import created stand now: active, invited, not_invited, …"""
    users = list(db.session.scalars(sa.select(User).where(User.id.in_(user_ids))))
    return Counter(state.state for state in account_links.states(users).values())


def _result_page(upload: ImportUpload):
    summary = upload.summary or {}
    new_user_ids = list(summary.get("new_user_ids", [])) if upload.kind == "representatives" else []
    return render_template(
        "manage/imports/result.html",
        upload=upload,
        title=KIND_TITLES[upload.kind],
        summary=summary,
        new_user_ids=new_user_ids,
        accounts=_invitation_counts(new_user_ids),
    )
