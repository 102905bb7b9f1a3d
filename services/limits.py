"""Every limit people meet, in one place: how long what they type may be, how many photos
and how large.

Services enforce these, forms validate them, templates write them into `maxlength`,
`min`/`max` and `data-` attributes (through the `limits` Jinja global, see
views/templating.py), and static/app.js reads those attributes. A message that states a
limit takes it as a parameter, never as a number in its text. Column lengths in models/
are at least as long; tests/test_limits.py checks that.
"""

# --- a resident's concern (码上办) and rating (群众评单) ------------------------------------------

CONCERN_CONTENT_MIN = 10
CONCERN_CONTENT_MAX = 2000
CONTACT_NAME_MAX = 30
# What the mobile number input takes: spaces, dashes and +86 are allowed before it is normalised.
CONTACT_MOBILE_INPUT_MAX = 20
PHOTOS_MAX = 3  # the default of the MAX_PHOTOS setting
PHOTO_MB_MAX = 8
PHOTO_BYTES_MAX = PHOTO_MB_MAX * 1024 * 1024  # the default of the MAX_PHOTO_BYTES setting
PHOTO_PIXELS_MAX = 50_000_000  # the default of the MAX_PHOTO_PIXELS setting
RATING_COMMENT_MAX = 500
# A tracking code typed in to look it up: 10 characters, with room for spaces and dashes.
TRACKING_CODE_INPUT_MAX = 40
# The code texted for "my concerns" (6 digits), with room for spaces.
CODE_INPUT_MAX = 12

# --- a resident's booked visit (预约接待) -------------------------------------------------------

BOOKING_SUBJECT_MIN, BOOKING_SUBJECT_MAX = 4, 100  # the one line saying what the visit is about
# A booking code typed in to look it up: 8 characters, with room for spaces and dashes.
BOOKING_CODE_INPUT_MAX = 30
SLOT_CAPACITY_MAX = 50  # residents who may book one roster slot
RECEPTION_CAPACITY_DEFAULT = 10  # residents who may book one date of a reception day (its column's default)

# --- a resident's rating of a 述职 meeting ---------------------------------------------------

MEETING_COMMENT_MAX = 300  # meeting_rating.comment's column
# Ratings one address may send for one meeting: a hall of residents on one Wi-Fi shares an
# address, so it is a room's worth (the MEETING_RATING_RATE_LIMIT setting's default).
MEETING_RATINGS_PER_ADDRESS = 100
MEETING_HOURS_MAX = 12  # a meeting's rating window, at most

# --- staff --------------------------------------------------------------------------------------

NOTE_MAX = 2000  # a note on an action taken on a concern
DUTY_NOTES_MAX = 2000  # the reception notes (接待记录) at check-out
RESIDENTS_MAX = 1000  # residents received in one duty
REVIEW_NOTE_MAX = 500  # a manager's note confirming a duty, or the reason for voiding it
WITHHOLD_REASON_MAX = 500  # why a concern is kept off the public answers
PUBLIC_QUERY_MAX = 40  # searching a station's public answers
REPEAT_WEEKS_MAX = 12  # a roster slot repeated weekly
SEARCH_QUERY_MAX = 60  # searching stations (back-office home) and accounts
INBOX_QUERY_MAX = 100  # searching the concern inbox
KIOSK_NAME_MAX = 40  # a station tablet's name, such as 前台平板
# A tablet's pairing code (8 characters), typed with room for spaces and dashes.
PAIRING_CODE_INPUT_MAX = 20
EXPORT_PURPOSE_MIN, EXPORT_PURPOSE_MAX = 4, 200  # why an export has residents' contacts in full
STATION_CLOSED_NOTE_MAX = 200  # what a closed station's page tells residents
CODE_REASON_MAX = 200  # why a station's poster code was replaced
CODE_FORWARD_DAYS_MAX = 365  # how long a replaced code may keep forwarding to the new one

# --- accounts -----------------------------------------------------------------------------------

USERNAME_MIN, USERNAME_MAX = 2, 40
EMAIL_MAX = 120  # staff notifications go by e-mail when the account has an address
PASSWORD_MIN = 10
DISPLAY_NAME_MAX = 60
DELEGATION_MAX = 80
OCCUPATION_MAX = 120
# A username or mobile number typed to ask for a new password (spaces and +86 allowed).
LOGIN_INPUT_MAX = 60
# Accounts invited in one go (after an import, say): one form, one transaction.
BULK_INVITE_MAX = 500

# --- the working-day calendar -------------------------------------------------------------------

CALENDAR_DAY_NAME_MAX = 40

# --- reference data: stations, representatives, units, categories ---------------------------------

STATION_NAME_MAX = 120
ADDRESS_MAX = 200
PHONE_MAX = 30
OPENING_HOURS_MAX = 200
INTRO_MAX = 2000
GEO_RADIUS_MIN, GEO_RADIUS_MAX = 50, 5000  # metres around a station a check-in may be made from
POST_MAX = 120
FOCUS_AREAS_MAX = 200
BIO_MAX = 1000
TERM_NUMBER_MAX = 30  # 届次
UNIT_NAME_MAX = 120
CATEGORY_NAME_MAX = 40
CATEGORY_NAME_EN_MAX = 60
CLOSED_NOTE_MAX = 200
# --- regions --------------------------------------------------------------------------------------

REGION_NAME_MAX = 60  # region.name's column
REGION_SEARCH_RESULTS = 50  # regions shown for a search in the back office

# --- the station's board (公开栏) ---------------------------------------------------------------

RULES_MAX = 5000  # a station's rules of work (工作制度)
ACTIVITY_TITLE_MAX = 100  # board_activity.title's column
ACTIVITY_TEXT_MAX = 5000
ACTIVITY_PHOTOS_MAX = 6
THUMB_SIDE = 240  # the long side of an activity photo's thumbnail, in pixels
RECEPTION_NOTE_MAX = 200  # reception_day.note's column: where, what about
NOTICE_TITLE_MAX = 100  # board_notice.title's column
NOTICE_TEXT_MAX = 1000

# --- 民生实事项目票决 ------------------------------------------------------------------------------

VOTE_TITLE_MAX = 100  # project_vote.title's column
PROJECT_TITLE_MAX = 100  # vote_project.title's column
PROJECT_TEXT_MAX = 5000
PROJECT_COMMENT_MAX = 1000  # a resident's comment on a candidate
PROGRESS_TEXT_MAX = 3000
PROGRESS_PHOTOS_MAX = ACTIVITY_PHOTOS_MAX  # the same upload form as an activity's
BUDGET_WAN_MAX = 10_000_000  # 万元: a thousand billion yuan
# --- drafts of laws put out for comment (立法意见征集) -------------------------------------------

DRAFT_TITLE_MAX = 200  # draft_law.title's column
DRAFT_BODY_MAX = 120  # draft_law.issuing_body's column: 周口市人大常委会法制工作委员会
DRAFT_SUMMARY_MAX = 2000
DRAFT_TEXT_MAX = 200_000  # the pasted text of the whole draft
DRAFT_ITEMS_MAX = 800  # articles, chapters and sections of one draft
DRAFT_OPEN_DAYS_MAX = 180  # how far ahead a draft's closing date may be
DRAFT_COMMENT_MIN, DRAFT_COMMENT_MAX = 5, 2000  # a resident's comment on an article
DRAFT_REASON_MAX = 500  # why a comment was not accepted
