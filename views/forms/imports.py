"""Spreadsheet imports in the back office: what to import, and the file. The service reads
and judges the file (services.imports); the form only carries it."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import RadioField
from wtforms.validators import ValidationError

from services.imports import MAX_UPLOAD_MB

CHOOSE = _l("Please choose what to import.")


class KindField(RadioField):
    """One of the kinds offered; nothing chosen and a forged value read alike."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.type = "RadioField"  # drawn by the field macro as the radio buttons it is

    def pre_validate(self, form) -> None:
        if self.data not in {value for value, _label in self.choices or ()}:
            raise ValidationError(str(CHOOSE))


class ImportForm(FlaskForm):
    """The view fills `kind`'s choices with the kinds the person may import: a forged
    value is not among them and the form refuses it."""

    kind = KindField(_l("What to import"))
    file = FileField(
        _l("The filled-in sheet"),
        description=_l(
            "The template filled in, as .xlsx or as CSV (UTF-8, or GBK as Excel saves it); at most %(mb)d MB.",
            mb=MAX_UPLOAD_MB,
        ),
        render_kw={"accept": ".xlsx,.csv,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    )
