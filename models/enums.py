"""Every status, role and kind: a short stored value and its translated label.

Templates show them through the one `label` filter (see views/templating.py).
"""

from enum import StrEnum

from flask_babel import lazy_gettext as _l


class LabelledEnum(StrEnum):
    """A StrEnum whose members carry a display label in LABELS.

    The property is `label`, not `title`: a StrEnum member is a str, and `title` would
    shadow str.title()."""

    @property
    def label(self) -> str:
        return str(self._labels()[self])

    @classmethod
    def _labels(cls) -> dict:
        return LABELS[cls]

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        return [(m.value, m.label) for m in cls]


class RegionLevel(LabelledEnum):
    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"
    TOWNSHIP = "township"


class StationKind(LabelledEnum):
    STATION = "station"
    POINT = "point"
    POST = "post"


class StationCategory(LabelledEnum):
    COMMUNITY = "community"
    INDUSTRY = "industry"
    ENTERPRISE = "enterprise"
    OUT_OF_TOWN = "out_of_town"
    LEGISLATIVE = "legislative"


class PresencePolicy(LabelledEnum):
    NONE = "none"
    GEO = "geo"
    KIOSK = "kiosk"


class Role(LabelledEnum):
    REPRESENTATIVE = "representative"
    STATION_MANAGER = "station_manager"
    CONGRESS_STAFF = "congress_staff"
    UNIT_HANDLER = "unit_handler"
    ADMIN = "admin"
    # The head of a government department, court or procuratorate (models.official).
    OFFICIAL = "official"


class RepLevel(LabelledEnum):
    NATIONAL = "national"
    PROVINCIAL = "provincial"
    CITY = "city"
    COUNTY = "county"
    TOWNSHIP = "township"


class UnitKind(LabelledEnum):
    GOVERNMENT = "government"
    SUPERVISION = "supervision"
    COURT = "court"
    PROCURATORATE = "procuratorate"
    OTHER = "other"


class ConcernStatus(LabelledEnum):
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    DISPATCHED = "dispatched"
    REPLIED = "replied"
    CONFIRMED = "confirmed"
    CLOSED = "closed"
    REJECTED = "rejected"
    MERGED = "merged"
    WITHDRAWN = "withdrawn"


class ConcernAction(StrEnum):
    """What happens to a concern, as stored in ConcernEvent.action. Each member has one row
    (services.concern_flow.CONCERN_FLOW): who, from where to where, notes, notices, texts."""

    SUBMIT = "submit"
    ACCEPT = "accept"
    # Written to one representative (/r/<code>): they hand it to their station, with a reason.
    PASS_TO_STATION = "pass_to_station"  # noqa: S105 (an action's name, not a password)
    RESOLVE = "resolve"
    DISPATCH = "dispatch"
    REPLY = "reply"
    RETURN = "return"
    CONFIRM = "confirm"
    SEND_BACK = "send_back"
    # Resolved on the spot, so there is no unit: back to the representative.
    SEND_BACK_TO_REP = "send_back_to_rep"
    REJECT = "reject"
    MERGE = "merge"
    WITHDRAW = "withdraw"
    RATE = "rate"
    # The resident of a merged concern rates the answer of the one it was merged into.
    RATE_MERGED = "rate_merged"
    AUTO_CLOSE = "auto_close"
    # Past its deadline: raised to the congress staff above (flask concerns remind).
    ESCALATE = "escalate"
    REOPEN = "reopen"
    # Resolved on the spot, so there is no unit: the round goes back to the representative.
    REOPEN_TO_REP = "reopen_to_rep"
    RECATEGORIZE = "recategorize"
    # Kept off the public answers by staff, and put back (the resident agreed to publish).
    WITHHOLD = "withhold"
    RELEASE = "release"
    COMMENT = "comment"
    NOTE = "note"
    # An official checked in at the station (现场办公): takes a new concern up, then sends it
    # to their own unit or answers it on the spot (当场办结): two events, two steps.
    OFFICIAL_TAKE = "official_take"
    OFFICIAL_DISPATCH = "official_dispatch"
    OFFICIAL_ANSWER = "official_answer"


class ConcernSource(LabelledEnum):
    QR = "qr"
    WALK_IN = "walk_in"
    API = "api"


class DutyMethod(LabelledEnum):
    QR = "qr"
    KIOSK = "kiosk"
    MANUAL = "manual"


class PresenceEvidence(LabelledEnum):
    """What a duty's check-in proves (Duty.evidence, derived, never stored)."""

    TABLET_CODE = "tablet_code"
    MANUAL = "manual"
    BROWSER_POSITION = "browser_position"
    SCAN = "scan"


class DutyStatus(LabelledEnum):
    OPEN = "open"
    CLOSED = "closed"
    AUTO_CLOSED = "auto_closed"
    VOIDED = "voided"


class OutboxStatus(LabelledEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class BookingStatus(LabelledEnum):
    """A booked visit (预约接待): booked; cancelled by the resident; called off by the station
    (the slot removed or its bookings cancelled); and, on the day, attended or not."""

    BOOKED = "booked"
    CANCELLED = "cancelled"
    CALLED_OFF = "called_off"
    ATTENDED = "attended"
    NO_SHOW = "no_show"


class Rating(LabelledEnum):
    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    DISSATISFIED = "dissatisfied"


class ReceptionKind(LabelledEnum):
    """What a station's reception day is (公开栏的接待日历)."""

    VOTER_RECEPTION = "voter_reception"  # 选民接待日
    OPINION_DAY = "opinion_day"  # 社情民意联系日
    LECTURE = "lecture"  # 人大代表讲堂


class Repeat(LabelledEnum):
    """How a reception day repeats: once (on its date), weekly (on a weekday) or monthly
    (on a day of the month; the 29th–31st fall on a short month's last day)."""

    ONCE = "once"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class SuggestionStatus(LabelledEnum):
    """A representative's suggestion (代表建议), from the draft co-signers are invited to
    until it is closed: done, or explained (重落实: answering is not the end)."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    REGISTERED = "registered"
    ASSIGNED = "assigned"
    REPLIED = "replied"
    IMPLEMENTING = "implementing"
    DONE = "done"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"


class SuggestionAction(StrEnum):
    """What happens to a suggestion, as stored in SuggestionEvent.action. Each member has one
    row (services.suggestion_flow.SUGGESTION_FLOW)."""

    FILE = "file"
    COSIGN = "cosign"
    SUBMIT = "submit"
    WITHDRAW = "withdraw"
    REGISTER = "register"
    ASSIGN = "assign"
    # A co-unit's opinion, which the lead unit reads before it replies.
    OPINION = "opinion"
    REPLY = "reply"
    # The representative is not satisfied with the reply: back to the units, once.
    SEND_BACK = "send_back"
    # The reply rated: an A or B reply is then carried out; a C reply closes.
    RATE_REPLY = "rate_reply"
    RATE_REPLY_CLOSE = "rate_reply_close"
    REPORT_DONE = "report_done"
    RATE_RESULT = "rate_result"
    # 重点建议: marked for the congress leadership's supervision, and unmarked.
    MARK_KEY = "mark_key"
    UNMARK_KEY = "unmark_key"


class ReplyClass(LabelledEnum):
    """How a unit's reply is classed: A solved or being solved, B planned (with a date),
    C explained, cannot be done now."""

    A = "A"
    B = "B"
    C = "C"


class VoteChoice(LabelledEnum):
    """A representative's choice on a candidate project (民生实事项目票决)."""

    FOR = "for"
    AGAINST = "against"
    ABSTAIN = "abstain"


class BallotRound(LabelledEnum):
    """The two secret rounds of a 票决: choosing the projects, and rating the chosen ones at
    year end (its choices are Rating's)."""

    VOTE = "vote"
    EVALUATION = "evaluation"


class VoteStage(LabelledEnum):
    """Where a 票决 stands (services.votes.stage reads it from its dates and times; never
    stored)."""

    DRAFT = "draft"
    ANNOUNCED = "announced"
    COMMENTS = "comments"
    VOTING = "voting"
    COUNTING = "counting"
    CLOSED = "closed"
    RESULTS = "results"
    EVALUATION = "evaluation"
    EVALUATED = "evaluated"


class VoteStatus(LabelledEnum):
    """A 票决's stored status: the stages staff move it through (services.votes.VOTE_FLOW).
    Between announcing and closing, where it stands (comments, voting) follows from the
    dates: VoteStage."""

    DRAFT = "draft"
    PUBLISHED = "published"
    CLOSED = "closed"
    RESULTS = "results"
    EVALUATION = "evaluation"
    EVALUATED = "evaluated"


class VoteAction(StrEnum):
    """The steps of a 票决 (services.votes.VOTE_FLOW's table); the values are the back
    office's URLs (/manage/votes/<id>/<step>)."""

    CREATE = "create"
    PUBLISH = "publish"
    CLOSE = "close"
    RESULTS = "results"
    EVALUATION_OPEN = "evaluation_open"
    EVALUATION_CLOSE = "evaluation_close"


class MeetingStatus(LabelledEnum):
    """A 述职 meeting's stored status (services.meetings.MEETING_FLOW). Whether residents
    may rate it now follows from its window: services.meetings.phase."""

    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class MeetingAction(StrEnum):
    """The steps of a 述职 meeting (services.meetings.MEETING_FLOW's table)."""

    SCHEDULE = "schedule"
    MOVE = "move"
    CANCEL = "cancel"


class DraftStatus(LabelledEnum):
    """A draft law or regulation put out for comment (立法意见征集): prepared, open for
    comment (published), closed. A published draft whose closing time has passed reads as
    closed at once (services.drafts.effective_status); a job records it."""

    DRAFT = "draft"
    PUBLISHED = "published"
    CLOSED = "closed"


class DraftItemKind(LabelledEnum):
    """A piece of a draft's text: a chapter (第X章) or section (第X节) heading, or an article
    (第X条), which residents comment on."""

    CHAPTER = "chapter"
    SECTION = "section"
    ARTICLE = "article"


class DraftCommentStatus(LabelledEnum):
    """A resident's comment on a draft, as the contact point moderates it."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    MERGED = "merged"
    REJECTED = "rejected"


class DraftCommentAction(StrEnum):
    """The moderation steps (services.drafts.COMMENT_FLOW's table)."""

    ACCEPT = "accept"
    MERGE = "merge"
    REJECT = "reject"
    REOPEN = "reopen"


LABELS: dict[type, dict] = {
    RegionLevel: {
        RegionLevel.PROVINCE: _l("Province"),
        RegionLevel.CITY: _l("City"),
        RegionLevel.COUNTY: _l("County"),
        RegionLevel.TOWNSHIP: _l("Township"),
    },
    StationKind: {
        StationKind.STATION: _l("Liaison station"),
        StationKind.POINT: _l("Liaison point"),
        StationKind.POST: _l("Representative post"),
    },
    StationCategory: {
        StationCategory.COMMUNITY: _l("Community"),
        StationCategory.INDUSTRY: _l("Industry"),
        StationCategory.ENTERPRISE: _l("Enterprise"),
        StationCategory.OUT_OF_TOWN: _l("Out-of-town"),
        StationCategory.LEGISLATIVE: _l("Legislative contact point"),
    },
    PresencePolicy: {
        PresencePolicy.NONE: _l("No proof"),
        PresencePolicy.GEO: _l("Location"),
        PresencePolicy.KIOSK: _l("Station tablet"),
    },
    Role: {
        Role.REPRESENTATIVE: _l("Representative"),
        Role.STATION_MANAGER: _l("Station manager"),
        Role.CONGRESS_STAFF: _l("Congress staff"),
        Role.UNIT_HANDLER: _l("Handling unit"),
        Role.ADMIN: _l("Administrator"),
        Role.OFFICIAL: _l("Official"),
    },
    RepLevel: {
        RepLevel.NATIONAL: _l("National People's Congress deputy"),
        RepLevel.PROVINCIAL: _l("Provincial people's congress deputy"),
        RepLevel.CITY: _l("City people's congress deputy"),
        RepLevel.COUNTY: _l("County people's congress deputy"),
        RepLevel.TOWNSHIP: _l("Township people's congress deputy"),
    },
    UnitKind: {
        UnitKind.GOVERNMENT: _l("Government department"),
        UnitKind.SUPERVISION: _l("Supervision commission"),
        UnitKind.COURT: _l("Court"),
        UnitKind.PROCURATORATE: _l("Procuratorate"),
        UnitKind.OTHER: _l("Other"),
    },
    ConcernStatus: {
        ConcernStatus.SUBMITTED: _l("Received, waiting to be taken up"),
        ConcernStatus.ACCEPTED: _l("Taken up by a representative"),
        ConcernStatus.DISPATCHED: _l("Sent to the handling unit"),
        ConcernStatus.REPLIED: _l("Answered by the handling unit"),
        ConcernStatus.CONFIRMED: _l("Checked by the representative, waiting for the resident's rating"),
        ConcernStatus.CLOSED: _l("Closed"),
        ConcernStatus.REJECTED: _l("Not accepted"),
        ConcernStatus.MERGED: _l("Merged with a similar concern"),
        ConcernStatus.WITHDRAWN: _l("Withdrawn"),
    },
    ConcernSource: {
        ConcernSource.QR: _l("QR code"),
        ConcernSource.WALK_IN: _l("At the station"),
        ConcernSource.API: _l("Other channel"),
    },
    DutyMethod: {
        DutyMethod.QR: _l("Station QR code"),
        DutyMethod.KIOSK: _l("Station tablet"),
        DutyMethod.MANUAL: _l("Entered by the manager"),
    },
    PresenceEvidence: {
        PresenceEvidence.TABLET_CODE: _l("Tablet check-in code"),
        PresenceEvidence.MANUAL: _l("Entered by the manager"),
        PresenceEvidence.BROWSER_POSITION: _l("Position (reported by the browser)"),
        PresenceEvidence.SCAN: _l("Scan"),
    },
    DutyStatus: {
        DutyStatus.OPEN: _l("On duty"),
        DutyStatus.CLOSED: _l("Completed"),
        DutyStatus.AUTO_CLOSED: _l("Closed automatically"),
        DutyStatus.VOIDED: _l("Voided"),
    },
    OutboxStatus: {
        OutboxStatus.PENDING: _l("Waiting"),
        OutboxStatus.SENDING: _l("Being sent"),
        OutboxStatus.SENT: _l("Sent"),
        OutboxStatus.FAILED: _l("Failed"),
    },
    BookingStatus: {
        BookingStatus.BOOKED: _l("Booked"),
        BookingStatus.CANCELLED: _l("Cancelled"),
        BookingStatus.CALLED_OFF: _l("Cancelled by the station"),
        BookingStatus.ATTENDED: _l("Came"),
        BookingStatus.NO_SHOW: _l("Did not come"),
    },
    Rating: {
        Rating.SATISFIED: _l("Satisfied"),
        Rating.BASICALLY_SATISFIED: _l("Basically satisfied"),
        Rating.DISSATISFIED: _l("Dissatisfied"),
    },
    SuggestionStatus: {
        SuggestionStatus.DRAFT: _l("Draft, open for co-signing"),
        SuggestionStatus.SUBMITTED: _l("Submitted, waiting to be registered"),
        SuggestionStatus.REGISTERED: _l("Registered, waiting to be assigned"),
        SuggestionStatus.ASSIGNED: _l("Assigned to the handling units"),
        SuggestionStatus.REPLIED: _l("Replied, waiting for the representative's rating"),
        SuggestionStatus.IMPLEMENTING: _l("Being carried out"),
        SuggestionStatus.DONE: _l("Reported done, waiting for the representative's rating"),
        SuggestionStatus.CLOSED: _l("Closed"),
        SuggestionStatus.WITHDRAWN: _l("Withdrawn"),
    },
    ReplyClass: {
        ReplyClass.A: _l("A: solved or being solved"),
        ReplyClass.B: _l("B: planned, with a date"),
        ReplyClass.C: _l("C: explained, cannot be done now"),
    },
    ReceptionKind: {
        ReceptionKind.VOTER_RECEPTION: _l("Voter reception day"),
        ReceptionKind.OPINION_DAY: _l("Public opinion contact day"),
        ReceptionKind.LECTURE: _l("Representatives' lecture"),
    },
    Repeat: {
        Repeat.ONCE: _l("Once"),
        Repeat.WEEKLY: _l("Every week"),
        Repeat.MONTHLY: _l("Every month"),
    },
    VoteChoice: {
        VoteChoice.FOR: _l("For"),
        VoteChoice.AGAINST: _l("Against"),
        VoteChoice.ABSTAIN: _l("Abstain"),
    },
    BallotRound: {
        BallotRound.VOTE: _l("Vote on the candidates"),
        BallotRound.EVALUATION: _l("Satisfaction evaluation"),
    },
    VoteStage: {
        VoteStage.DRAFT: _l("Draft, not public"),
        VoteStage.ANNOUNCED: _l("Announced"),
        VoteStage.COMMENTS: _l("Open for residents' comments"),
        VoteStage.VOTING: _l("Voting"),
        VoteStage.COUNTING: _l("Voting period over, not closed yet"),
        VoteStage.CLOSED: _l("Voting closed, results not published yet"),
        VoteStage.RESULTS: _l("Results published"),
        VoteStage.EVALUATION: _l("Satisfaction evaluation open"),
        VoteStage.EVALUATED: _l("Evaluated"),
    },
    # The stored statuses read as the stages they are (VoteStage's words).
    VoteStatus: {
        VoteStatus.DRAFT: _l("Draft, not public"),
        VoteStatus.PUBLISHED: _l("Announced"),
        VoteStatus.CLOSED: _l("Voting closed, results not published yet"),
        VoteStatus.RESULTS: _l("Results published"),
        VoteStatus.EVALUATION: _l("Satisfaction evaluation open"),
        VoteStatus.EVALUATED: _l("Evaluated"),
    },
    MeetingStatus: {
        MeetingStatus.SCHEDULED: _l("Arranged"),
        MeetingStatus.CANCELLED: _l("Cancelled"),
    },
    DraftStatus: {
        DraftStatus.DRAFT: _l("Being prepared"),
        DraftStatus.PUBLISHED: _l("Open for comment"),
        DraftStatus.CLOSED: _l("Closed for comment"),
    },
    DraftItemKind: {
        DraftItemKind.CHAPTER: _l("Chapter"),
        DraftItemKind.SECTION: _l("Section"),
        DraftItemKind.ARTICLE: _l("Article"),
    },
    DraftCommentStatus: {
        DraftCommentStatus.PENDING: _l("Waiting for review"),
        DraftCommentStatus.ACCEPTED: _l("Adopted"),
        DraftCommentStatus.MERGED: _l("Merged with a similar comment"),
        DraftCommentStatus.REJECTED: _l("Not adopted"),
    },
}
