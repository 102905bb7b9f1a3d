"""The API's shapes (marshmallow): one source for validating what comes in, serialising
what goes out and the OpenAPI 3.1 document (flask-smorest + apispec)."""

from marshmallow import Schema, fields, validate

from models.enums import ConcernStatus
from services.limits import NOTE_MAX

PAGE_MAX = 100
CODE = validate.Regexp(r"^[0-9A-Za-z-]{1,40}$")
REGION_CODE = validate.Regexp(r"^[0-9]{6,12}$")


class Problem(Schema):
    """RFC 9457 problem details, with the refusal `code` (stable) as an extension member."""

    type = fields.String(required=True, metadata={"description": "A stable URI for the code."})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    code = fields.String(required=True, metadata={"description": "The refusal code: stable, for programs."})
    errors = fields.Dict(metadata={"description": "invalid_input: the fields and what is wrong with each."})


class PageArgs(Schema):
    cursor = fields.String(
        validate=validate.Length(max=400), metadata={"description": "`next` of the previous page, as given."}
    )
    limit = fields.Integer(load_default=50, validate=validate.Range(1, PAGE_MAX))


class PageOf(Schema):
    next = fields.String(allow_none=True, required=True, metadata={"description": "The cursor of the next page."})


class Ref(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)


class IdRef(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


# --- stations, representatives ---------------------------------------------------------


class StationsArgs(PageArgs):
    region = fields.String(validate=REGION_CODE, metadata={"description": "A region code: its stations and below."})


class StationItem(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    category = fields.String(required=True)
    region = fields.Nested(Ref, required=True)
    address = fields.String(required=True)
    url = fields.String(required=True, metadata={"description": "The station's public page (its QR code)."})


class StationPage(PageOf):
    items = fields.List(fields.Nested(StationItem), required=True)


class OnDuty(Schema):
    name = fields.String(required=True)
    level = fields.String(required=True)
    since = fields.DateTime(required=True)


class Slot(Schema):
    day = fields.Date(required=True)
    starts_at = fields.Time(required=True)
    ends_at = fields.Time(required=True)
    representative = fields.String(required=True)


class RepItem(Schema):
    code = fields.String(allow_none=True, required=True)
    name = fields.String(required=True)
    level = fields.String(required=True)


class Station(StationItem):
    opening_hours = fields.String(required=True)
    phone = fields.String(required=True)
    latitude = fields.Float(allow_none=True, required=True)
    longitude = fields.Float(allow_none=True, required=True)
    representatives = fields.List(fields.Nested(RepItem), required=True)
    on_duty_now = fields.List(fields.Nested(OnDuty), required=True)
    roster = fields.List(fields.Nested(Slot), required=True, metadata={"description": "Today and the next 7 days."})


class YearSummary(Schema):
    year = fields.Integer(required=True)
    duties = fields.Integer(required=True)
    hours = fields.Float(required=True)
    residents = fields.Integer(required=True)
    taken_up = fields.Integer(required=True)
    closed = fields.Integer(required=True)
    rated = fields.Integer(required=True)
    satisfied = fields.Integer(required=True)


class NextDuty(Schema):
    day = fields.Date(required=True)
    starts_at = fields.Time(required=True)
    ends_at = fields.Time(required=True)
    station = fields.Nested(Ref, required=True)


class Representative(RepItem):
    delegation = fields.String(required=True)
    occupation = fields.String(required=True)
    post = fields.String(required=True)
    bio = fields.String(required=True)
    focus_areas = fields.String(required=True)
    serving = fields.Boolean(required=True)
    accepts_concerns = fields.Boolean(required=True)
    stations = fields.List(fields.Nested(Ref), required=True)
    next_duty = fields.Nested(NextDuty, allow_none=True, required=True)
    summary = fields.Nested(YearSummary, required=True)
    url = fields.String(required=True)


# --- categories, units --------------------------------------------------------------------


class Category(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    name_zh = fields.String(required=True)
    name_en = fields.String(required=True)


class CategoryList(Schema):
    items = fields.List(fields.Nested(Category), required=True)


class UnitsArgs(PageArgs):
    region = fields.String(validate=REGION_CODE, metadata={"description": "A region code: its units and below."})


class Unit(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    region = fields.Nested(Ref, required=True)
    receives_dispatches = fields.Boolean(required=True)


class UnitPage(PageOf):
    items = fields.List(fields.Nested(Unit), required=True)


# --- concerns -----------------------------------------------------------------------------


class Stage(Schema):
    key = fields.String(required=True)
    title = fields.String(required=True)
    term = fields.String(required=True)


class PublicEvent(Schema):
    at = fields.DateTime(required=True)
    action = fields.String(required=True)
    title = fields.String(required=True)
    note = fields.String(required=True, metadata={"description": "Public notes only; empty otherwise."})


class Rating(Schema):
    round = fields.Integer(required=True)
    unit = fields.String(required=True)
    representative = fields.String(required=True)
    comment = fields.String(required=True)
    at = fields.DateTime(required=True)


class Answer(Schema):
    answer = fields.Nested(PublicEvent, required=True)
    check = fields.Nested(PublicEvent, allow_none=True, required=True)


class PublicConcern(Schema):
    """What the tracking page shows: never a name, a number or an internal note."""

    tracking_code = fields.String(required=True)
    status = fields.String(required=True)
    status_title = fields.String(required=True)
    stage_done = fields.Integer(allow_none=True, required=True)
    stages = fields.List(fields.Nested(Stage), required=True)
    station = fields.Nested(Ref, required=True)
    category = fields.Nested(Ref, required=True)
    filed_at = fields.DateTime(required=True)
    content = fields.String(required=True)
    written_to = fields.String(allow_none=True, required=True)
    representative = fields.String(allow_none=True, required=True)
    unit = fields.String(allow_none=True, required=True)
    merged = fields.Boolean(required=True)
    second_round = fields.Boolean(required=True)
    listed = fields.Boolean(required=True)
    answer = fields.Nested(Answer, allow_none=True, required=True)
    ratings = fields.List(fields.Nested(Rating), required=True)
    timeline = fields.List(fields.Nested(PublicEvent), required=True)
    url = fields.String(required=True)


STATUS_FILTER = [s.value for s in ConcernStatus] + ["open", "final"]


class ConcernsArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(STATUS_FILTER))
    station = fields.String(validate=CODE, metadata={"description": "A station code."})
    since = fields.DateTime(metadata={"description": "Filed at or after (ISO 8601; without a zone: UTC)."})


class Event(Schema):
    id = fields.Integer(required=True)
    at = fields.DateTime(required=True)
    action = fields.String(required=True)
    title = fields.String(required=True)
    from_status = fields.String(allow_none=True, required=True)
    to_status = fields.String(allow_none=True, required=True)
    note = fields.String(required=True)
    public = fields.Boolean(required=True)
    actor = fields.String(allow_none=True, required=True, metadata={"description": "The person; none for a system."})
    api_key = fields.String(allow_none=True, required=True, metadata={"description": "The key a system used."})


class ConcernItem(Schema):
    id = fields.Integer(required=True)
    tracking_code = fields.String(required=True)
    status = fields.String(required=True)
    version = fields.Integer(required=True, metadata={"description": "Send it back with an action."})
    station = fields.Nested(Ref, required=True)
    category = fields.Nested(Ref, required=True)
    content = fields.String(required=True)
    source = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    due_at = fields.DateTime(allow_none=True, required=True)
    overdue = fields.Boolean(required=True)
    representative = fields.String(allow_none=True, required=True)
    unit = fields.Nested(IdRef, allow_none=True, required=True)
    rounds = fields.Integer(required=True)


class ConcernPage(PageOf):
    items = fields.List(fields.Nested(ConcernItem), required=True)


class Concern(ConcernItem):
    actions = fields.List(fields.String(), required=True, metadata={"description": "What this key may do now."})
    timeline = fields.List(fields.Nested(Event), required=True)


class ActionIn(Schema):
    action = fields.String(required=True, validate=validate.Length(1, 30))
    note = fields.String(load_default="", validate=validate.Length(max=NOTE_MAX))
    version = fields.Integer(
        validate=validate.Range(1, 2**31 - 1),
        metadata={"description": "The version you read: the step is refused (changed) if it moved on."},
    )
    unit_id = fields.Integer(validate=validate.Range(1, 2**31 - 1), metadata={"description": "dispatch"})
    representative_id = fields.Integer(validate=validate.Range(1, 2**31 - 1), metadata={"description": "accept"})
    representative = fields.String(
        validate=validate.Length(max=16),
        metadata={"description": "accept: the representative's public code (as in /r/<code>), for representative_id"},
    )
    merge_into = fields.String(validate=validate.Length(max=40), metadata={"description": "merge: a tracking code"})
    due = fields.Date(metadata={"description": "dispatch: the deadline, a local day"})


class InboundIn(Schema):
    action = fields.String(required=True, validate=validate.OneOf(["reply", "return"]))
    note = fields.String(
        required=True,
        validate=validate.Length(1, NOTE_MAX),
        metadata={"description": "reply: the answer (the resident reads it); return: why (internal)"},
    )
    version = fields.Integer(
        validate=validate.Range(1, 2**31 - 1),
        metadata={"description": "The version you read: the step is refused (changed) if it moved on."},
    )


class ActionOut(Schema):
    event = fields.Nested(Event, required=True)
    concern = fields.Nested(Concern, required=True)


# --- figures -------------------------------------------------------------------------------


class FiguresArgs(Schema):
    start = fields.Date(metadata={"description": "First local day (default: 1 January)."})
    end = fields.Date(metadata={"description": "Last local day, included (default: 31 December)."})
    by = fields.String(load_default="station", validate=validate.OneOf(["station", "unit", "region"]))


class Counts(Schema):
    received = fields.Integer(required=True)
    open = fields.Integer(required=True)
    overdue = fields.Integer(required=True)
    closed = fields.Integer(required=True)
    on_time = fields.Integer(required=True)
    rated_unit = fields.Integer(required=True)
    satisfied_unit = fields.Integer(required=True)
    rated_rep = fields.Integer(required=True)
    satisfied_rep = fields.Integer(required=True)
    average_close_days = fields.Float(allow_none=True, required=True)


class FigureRow(Schema):
    id = fields.Integer(allow_none=True, required=True)
    name = fields.String(required=True)
    counts = fields.Nested(Counts, required=True)


class Figures(Schema):
    by = fields.String(required=True)
    start = fields.Date(required=True)
    end = fields.Date(required=True)
    total = fields.Nested(Counts, required=True)
    rows = fields.List(fields.Nested(FigureRow), required=True)
