"""Configuration in layers: these defaults → instance/config.py → environment → test_config."""

import json
import os
from datetime import timedelta
from pathlib import Path

from services import limits
from services.clock import LOCAL_TZ_NAME

ROOT = Path(__file__).resolve().parent
DEV_SECRET_KEY = "dev-only-insecure-secret-key"  # noqa: S105  (refused in production)

# Settings the environment may override, and how to read each.
ENV_SETTINGS = {
    "APP_ENV": str,
    "SECRET_KEY": str,
    "DATABASE_URL": str,
    "PUBLIC_BASE_URL": str,
    "UPLOAD_FOLDER": str,
    "BACKUP_FOLDER": str,
    "QRCODE_FOLDER": str,
    "STORAGE_BACKEND": str,
    "S3_ENDPOINT_URL": str,
    "S3_BUCKET": str,
    "S3_REGION": str,
    "S3_ACCESS_KEY_ID": str,
    "S3_SECRET_ACCESS_KEY": str,
    "S3_PREFIX": str,
    "S3_PATH_STYLE": lambda v: v.lower() in ("1", "true", "yes", "on"),
    "S3_CONNECT_TIMEOUT": float,
    "S3_READ_TIMEOUT": float,
    "S3_RETRIES": int,
    "RATELIMIT_STORAGE_URI": str,
    "RATELIMIT_ENABLED": lambda v: v.lower() in ("1", "true", "yes", "on"),
    "CONCERN_RATE_LIMIT": str,
    "LOOKUP_RATE_LIMIT": str,
    "LOGIN_RATE_LIMIT": str,
    "FORGOT_RATE_LIMIT": str,
    "SESSION_IDLE_MINUTES": int,
    "SESSION_ABSOLUTE_HOURS": int,
    "REAUTH_MINUTES": int,
    "HSTS_SECONDS": int,
    "STATION_PAGE_CACHE_SECONDS": int,
    "STATION_PAGE_CHECK_SECONDS": float,
    "PHOTO_DECODES_AT_ONCE": int,
    "PHOTO_DECODE_WAIT_SECONDS": float,
    "PHOTO_DECODE_MB_MAX": int,
    "HELD_PHOTO_MINUTES": int,
    "READINESS_TIMEOUT_SECONDS": float,
    "TRUST_PROXY_HOPS": int,
    "CONCERN_STAGE_DAYS": json.loads,
    "CONCERN_RATING_DAYS": int,
    "SUGGESTION_REPLY_DAYS": int,
    "SUGGESTION_REHANDLE_DAYS": int,
    "PERSONAL_DATA_DAYS": int,
    "OUTBOX_SMS_SENDER": str,
    "OUTBOX_EMAIL_SENDER": str,
    "OUTBOX_MAX_ATTEMPTS": int,
    "OUTBOX_LOG_FULL_BODY": lambda v: v.lower() in ("1", "true", "yes", "on"),
    "OUTBOX_CLAIM_TIMEOUT_MINUTES": int,
    "OUTBOX_SEND_TIMEOUT_SECONDS": int,
    "OUTBOX_WEBHOOK_SENDER": str,
    "WEBHOOK_TIMEOUT_SECONDS": int,
    "WEBHOOK_TOLERANCE_SECONDS": int,
    "SMTP_HOST": str,
    "SMTP_PORT": int,
    "SMTP_USERNAME": str,
    "SMTP_PASSWORD": str,
    "SMTP_STARTTLS": lambda v: v.lower() in ("1", "true", "yes", "on"),
    "SMTP_SSL": lambda v: v.lower() in ("1", "true", "yes", "on"),
    "MAIL_FROM": str,
    "SMS_WEBHOOK_URL": str,
    "SMS_WEBHOOK_TOKEN": str,
    "SMS_INBOUND_TOKEN": str,
    "UNCONFIRMED_SMS_PER_DAY": int,
    "UNCONFIRMED_CODES_PER_DAY": int,
    "MY_CODE_MINUTES": int,
    "MY_SESSION_MINUTES": int,
    "MY_CODES_PER_HOUR": int,
    "MY_CODES_PER_DAY": int,
    "MY_RATE_LIMIT": str,
    "MY_VERIFY_RATE_LIMIT": str,
    "KIOSK_POLL_SECONDS": int,
    "KIOSK_PAIRING_MINUTES": int,
    "KIOSK_PAIR_RATE_LIMIT": str,
    "BOOKING_DAYS": int,
    "BOOKING_RATE_LIMIT": str,
    "BOOKINGS_PER_MOBILE_AHEAD": int,
    "BOOKINGS_PER_MOBILE_DAY": int,
    "BOOKING_REMINDER_HOUR": int,
    "MEETING_RATING_RATE_LIMIT": str,
    "LOG_FORMAT": str,
    "METRICS_ALLOW": str,
    "METRICS_TOKEN": str,
    "METRICS_TIMEOUT_SECONDS": float,
}


class Config:
    APP_ENV = "development"
    SECRET_KEY = DEV_SECRET_KEY
    DATABASE_URL = f"sqlite:///{ROOT / 'instance' / 'mashang.sqlite3'}"
    PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    UPLOAD_FOLDER = str(ROOT / "instance" / "uploads")
    QRCODE_FOLDER = str(ROOT / "qrcodes")
    # Photos: "local" (UPLOAD_FOLDER, one machine) or "s3", an S3-compatible object store
    # that every app server shares (services/storage.py; README "Photo storage").
    STORAGE_BACKEND = "local"
    S3_ENDPOINT_URL = ""  # empty: AWS itself
    S3_BUCKET = ""
    S3_REGION = ""
    S3_ACCESS_KEY_ID = ""  # empty: boto3's own lookup (environment, instance role)
    S3_SECRET_ACCESS_KEY = ""
    S3_PREFIX = ""  # e.g. "mashang/": objects under <prefix>photos/ and <prefix>held/
    S3_PATH_STYLE = False  # True for MinIO and Ceph RGW; OSS and COS want virtual-hosted
    # A store that is down answers within (S3_RETRIES + 1) × these, never hangs a worker.
    S3_CONNECT_TIMEOUT = 2.0
    S3_READ_TIMEOUT = 5.0
    S3_RETRIES = 2
    # `flask backup` writes here unless given --to: another disk, or one synced off the machine.
    BACKUP_FOLDER = str(ROOT / "instance" / "backups")

    # Photos past these limits are refused one by one with a message beside the field;
    # only a body far beyond them is cut off before it is read. The values (and the
    # messages that state them) come from services/limits.py: change them there.
    MAX_PHOTOS = limits.PHOTOS_MAX
    MAX_PHOTO_BYTES = limits.PHOTO_BYTES_MAX
    MAX_CONTENT_LENGTH = 64 * 1024 * 1024
    MAX_PHOTO_PIXELS = limits.PHOTO_PIXELS_MAX
    STORED_PHOTO_MAX_SIDE = 2048
    # What decoding may cost (services/photos.py). A photo whose decode would need more
    # memory than this is refused as having too many pixels: it lets through a 50-megapixel
    # JPEG (decoded at a reduced scale) or a 48-megapixel iPhone HEIC, and a WebP up to
    # about 24 megapixels (WebP costs four times as much per pixel).
    PHOTO_DECODE_MB_MAX = 400
    # Decodes at once in one worker process; a request past that waits this long for its
    # turn, then the form comes back (503) asking to send again, with everything typed.
    PHOTO_DECODES_AT_ONCE = 2
    PHOTO_DECODE_WAIT_SECONDS = 15.0
    # Photos that were read but could not be filed yet (another field to correct, or the
    # database busy) are kept this long under a signed token, so they need not be chosen again.
    HELD_PHOTO_MINUTES = 60

    # Shared by every worker of this machine without a server (ratelimit_sqlite.py);
    # production sets redis://… so that every machine shares them.
    RATELIMIT_STORAGE_URI = f"sqlite:///{ROOT / 'instance' / 'ratelimit.sqlite3'}"
    RATELIMIT_ENABLED = True
    RATELIMIT_HEADERS_ENABLED = True
    CONCERN_RATE_LIMIT = "10 per minute;60 per hour"
    # Counted on failed look-ups only: guessing codes is what it stops.
    LOOKUP_RATE_LIMIT = "10 per minute;100 per day"

    LOGIN_RATE_LIMIT = "10 per minute;60 per hour"
    # "Forgot password" asked from one address (each account also has its own daily limit).
    FORGOT_RATE_LIMIT = "5 per 10 minutes;20 per day"

    # Working days each stage may take before the concern is overdue, keyed by the status
    # it waits in: to be taken up, to be dispatched or resolved, for the unit's answer
    # (staff may choose another deadline on dispatch), for the representative's check.
    CONCERN_STAGE_DAYS = {"submitted": 2, "accepted": 3, "dispatched": 15, "replied": 3}
    # Calendar days a resident has to rate a confirmed answer before it closes by itself.
    CONCERN_RATING_DAYS = 7
    # Working days a unit has to reply to a representative's suggestion (staff may choose
    # another number when they assign it; 三个月 is about 60), and to reply again when the
    # representative sends the reply back.
    SUGGESTION_REPLY_DAYS = 60
    SUGGESTION_REHANDLE_DAYS = 20
    # Days after a concern ended (closed, rejected, withdrawn, merged) that its resident's
    # personal data are erased by `flask privacy purge` (services/erasure.py).
    PERSONAL_DATA_DAYS = 365

    # Notifications (services/outbox.py; `flask outbox send` from cron every minute).
    # Senders per channel: "log" writes the message to the application log; "webhook"
    # POSTs SMS to an HTTP gateway; "smtp" sends e-mail.
    OUTBOX_SMS_SENDER = "log"
    OUTBOX_EMAIL_SENDER = "log"
    # The "log" sender writes tracking codes and one-time codes in full (the demo walk
    # reads them from the log) or masked. None: in full except under APP_ENV=production.
    OUTBOX_LOG_FULL_BODY: bool | None = None
    # Tries before a notification is given up (waits 1, 2, 4 … minutes, at most 6 hours).
    OUTBOX_MAX_ATTEMPTS = 8
    # A row claimed longer ago than this belongs to a worker that died: marked failed.
    OUTBOX_CLAIM_TIMEOUT_MINUTES = 15
    OUTBOX_SEND_TIMEOUT_SECONDS = 10
    # Webhooks to other systems (services/webhooks.py): "http" POSTs them signed, "log"
    # writes them to the application log. A receiver answers quickly (or is retried later);
    # a signature more than WEBHOOK_TOLERANCE_SECONDS old (or ahead) is refused inbound.
    OUTBOX_WEBHOOK_SENDER = "http"
    WEBHOOK_TIMEOUT_SECONDS = 5
    WEBHOOK_TOLERANCE_SECONDS = 300
    SMTP_HOST = ""
    SMTP_PORT = 587
    SMTP_USERNAME = ""
    SMTP_PASSWORD = ""
    SMTP_STARTTLS = True
    SMTP_SSL = False  # implicit TLS, usually port 465
    MAIL_FROM = ""
    SMS_WEBHOOK_URL = ""
    SMS_WEBHOOK_TOKEN = ""  # sent as a bearer token when set
    # The gateway's replies (退订/TD/STOP) come to POST /hooks/sms/inbound with this token
    # (Authorization: Bearer …, or ?token=…); empty switches the hook off.
    SMS_INBOUND_TOKEN = ""
    # SMS a day to a resident's number that nobody has confirmed with a code (/my): the
    # service must not be a way to flood someone else's phone. Confirmed numbers are not capped.
    UNCONFIRMED_SMS_PER_DAY = 1
    # /my codes to a number not yet confirmed (or stopped), a separate allowance from the above.
    UNCONFIRMED_CODES_PER_DAY = 3

    # "My concerns" (/my): a code by SMS finds a resident's concerns by mobile number.
    MY_CODE_MINUTES = 5  # a code's life
    MY_SESSION_MINUTES = 30  # how long the list stays open after the code
    MY_CODES_PER_HOUR = 3  # codes asked for one number (whatever it filed)
    MY_CODES_PER_DAY = 10
    MY_RATE_LIMIT = "10 per hour"  # codes asked for from one address
    MY_VERIFY_RATE_LIMIT = "30 per hour"  # codes typed in from one address

    # Each worker keeps anonymous station pages this long, and looks every
    # STATION_PAGE_CHECK_SECONDS whether a commit on any server changed what they show
    # (a duty begun or ended, the roster, the station): then it drops them.
    STATION_PAGE_CACHE_SECONDS = 30
    STATION_PAGE_CHECK_SECONDS = 1.0
    # /readyz waits at most this long for the write lock before it says "not ready".
    READINESS_TIMEOUT_SECONDS = 2.0
    # The station tablet's check-in code changes this often (a test shortens it), and at
    # once when it has been used: the tablet asks every KIOSK_POLL_SECONDS.
    KIOSK_WINDOW_SECONDS = 30
    KIOSK_POLL_SECONDS = 4
    # A tablet's pairing code (made in the back office) lasts this long, and works once.
    KIOSK_PAIRING_MINUTES = 10
    KIOSK_PAIR_RATE_LIMIT = "10 per minute"  # pairing codes typed from one address
    TRUST_PROXY_HOPS = 0

    # Booking a visit (预约接待, services/bookings.py): roster slots this many days ahead
    # (today included) can be booked; bookings made from one address (the form's POST);
    # bookings one mobile number may hold ahead at once, and make in a day; the local hour
    # from which the day-before reminders go out (`flask jobs once booking-reminders`).
    BOOKING_DAYS = 14
    BOOKING_RATE_LIMIT = "5 per minute;30 per hour"
    BOOKINGS_PER_MOBILE_AHEAD = 3
    BOOKINGS_PER_MOBILE_DAY = 5
    BOOKING_REMINDER_HOUR = 9

    # 述职 meetings (services/meetings.py): ratings one address may send for one meeting
    # (POSTs of /m/<code>). A hall shares one Wi-Fi address: a room's worth, not one.
    MEETING_RATING_RATE_LIMIT = f"{limits.MEETING_RATINGS_PER_ADDRESS} per day"

    # Observability (README, "Observability"). Log lines: "json" (one object a line) or
    # "text"; None: json under APP_ENV=production, text otherwise.
    LOG_FORMAT: str | None = None
    # /metrics answers these networks, or anyone with `Authorization: Bearer METRICS_TOKEN`;
    # everyone else gets a 404. Its database figures wait at most METRICS_TIMEOUT_SECONDS.
    METRICS_ALLOW = "127.0.0.1/32 ::1"
    METRICS_TOKEN = ""
    METRICS_TIMEOUT_SECONDS = 2.0

    BABEL_DEFAULT_LOCALE = "zh_Hans"
    BABEL_DEFAULT_TIMEZONE = LOCAL_TZ_NAME  # the `dt` filter shows stored times in it
    BABEL_TRANSLATION_DIRECTORIES = str(ROOT / "translations")
    LANGUAGES = ("zh_Hans", "en")

    WTF_CSRF_TIME_LIMIT = 24 * 3600
    # A staff session ends after this long without a request, and in any case this long
    # after its sign-in, however busy (services/sessions.py keeps the record).
    SESSION_IDLE_MINUTES = 120
    SESSION_ABSOLUTE_HOURS = 12
    # Exports and contact details in full ask for the password again when it was last
    # typed longer ago than this.
    REAUTH_MINUTES = 15
    # Strict-Transport-Security when PUBLIC_BASE_URL is https (0: not sent).
    HSTS_SECONDS = 365 * 86400
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    SQLITE_IMMEDIATE_OUTSIDE_REQUESTS = True


def load_config(app, test_config: dict | None) -> None:
    app.config.from_object(Config)
    app.config.from_pyfile(str(ROOT / "instance" / "config.py"), silent=True)
    for key, parse in ENV_SETTINGS.items():
        if key in os.environ:
            app.config[key] = parse(os.environ[key])
    if test_config:
        app.config.update(test_config)

    url = app.config["DATABASE_URL"]
    # psycopg 3 is the driver we ship; plain postgres URLs name the old one.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix) :]
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    app.config["SESSION_COOKIE_SECURE"] = app.config["PUBLIC_BASE_URL"].startswith("https://")
    app.config["PUBLIC_BASE_URL"] = app.config["PUBLIC_BASE_URL"].rstrip("/")
    # A signed-in session ends after this long without a request (the cookie is re-sent
    # on every request, and the server refuses older signatures).
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(minutes=app.config["SESSION_IDLE_MINUTES"])

    if app.config["OUTBOX_LOG_FULL_BODY"] is None:
        app.config["OUTBOX_LOG_FULL_BODY"] = app.config["APP_ENV"] != "production"

    if app.config["STORAGE_BACKEND"] not in ("local", "s3"):
        raise RuntimeError("STORAGE_BACKEND must be 'local' or 's3'.")
    if app.config["STORAGE_BACKEND"] == "s3" and not app.config["S3_BUCKET"]:
        raise RuntimeError("STORAGE_BACKEND=s3 needs S3_BUCKET.")
    if not app.config["S3_PREFIX"].endswith("/") and app.config["S3_PREFIX"]:
        app.config["S3_PREFIX"] += "/"

    if app.config["APP_ENV"] == "production" and app.config["SECRET_KEY"] in ("", DEV_SECRET_KEY):
        raise RuntimeError("Refusing to start in production with the development SECRET_KEY: set SECRET_KEY.")
