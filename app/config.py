"""Configuration classes, read from the environment.

`create_app(config_name, overrides)` picks one of these; tests pass overrides.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
INSTANCE_DIR = BASE_DIR / "instance"

# Values that must never reach production: development stand-ins only.
INSECURE_SECRET_KEY = "dev-insecure-secret-key-change-me"
INSECURE_ID_KEY = "ZGV2LWluc2VjdXJlLWlkLWtleS0zMi1ieXRlcy0hISE="  # 32 bytes, base64


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _is_base64_key(value: str) -> bool:
    """True for base64 of at least 32 bytes (what app.security needs for the ID number key)."""
    try:
        return len(base64.b64decode(value, validate=True)) >= 32
    except ValueError:
        return False


def _job_periods(value: str) -> dict[str, int]:
    """SCHEDULER_JOB_PERIODS, e.g. "email_outbox=6,reminders=6": a period in seconds per job name."""
    periods: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        name, _sep, seconds = item.partition("=")
        if not name.strip() or not seconds.strip().isdigit() or int(seconds) <= 0:
            raise ValueError(f"SCHEDULER_JOB_PERIODS: expected job=seconds, got {item!r}")
        periods[name.strip()] = int(seconds)
    return periods


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        # Accept the usual postgres:// spellings and pin the psycopg 3 driver.
        if url.startswith("postgres://"):
            url = "postgresql://" + url[len("postgres://") :]
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://") :]
        return url
    return f"sqlite:///{INSTANCE_DIR / 'volunteers.db'}"


class Config:
    """Settings shared by every environment."""

    ENV_NAME = "development"
    SECRET_KEY = os.environ.get("SECRET_KEY", INSECURE_SECRET_KEY)
    # Base64 of 32 random bytes; encrypts resident ID numbers and keys their lookup hash.
    ID_NUMBER_KEY = os.environ.get("ID_NUMBER_KEY", INSECURE_ID_KEY)

    SQLALCHEMY_DATABASE_URI = _database_url()
    #: no pre-ping (a round trip per checkout): connections are replaced after half an hour, and one the server
    #: closed (a restart, a failover) is replaced at checkout by polling its socket (app/__init__.py)
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_recycle": 1800}
    SQLALCHEMY_RECORD_QUERIES = False

    WTF_CSRF_TIME_LIMIT = None  # a form left open on a phone for hours still submits
    # Larger request bodies are answered 413 (the error page, or JSON under /api/); keep nginx's client_max_body_size
    # above it (docs/deploy.md), or nginx answers with a page of its own.
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", str(16 * 1024 * 1024)))
    # What is left of a body the app answered without reading it is read and dropped (app/web/bodies.py), up to so
    # many bytes and seconds: without that the client gets a connection reset instead of the 413 page.
    REQUEST_DRAIN_MAX_BYTES = int(os.environ.get("REQUEST_DRAIN_MAX_BYTES", str(64 * 1024 * 1024)))
    REQUEST_DRAIN_SECONDS = float(os.environ.get("REQUEST_DRAIN_SECONDS", "10"))

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"

    BABEL_DEFAULT_LOCALE = "zh"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = {"zh": "中文", "en": "English"}
    LOCAL_TIMEZONE = "Asia/Shanghai"

    RATELIMIT_STORAGE_URI = os.environ.get("REDIS_URL") or "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_ENABLED = True
    # Redis down: count in each process's memory meanwhile (never a 500), and never wait long for Redis.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_STORAGE_OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 1}
    # Failed logins allowed before throttling, per account and per client address.
    LOGIN_LIMIT_PER_ACCOUNT = os.environ.get("LOGIN_LIMIT_PER_ACCOUNT", "5 per 15 minutes")
    LOGIN_LIMIT_PER_ADDRESS = os.environ.get("LOGIN_LIMIT_PER_ADDRESS", "30 per 15 minutes")

    PASSWORD_MIN_LENGTH = 8
    # argon2id parameters (RFC 9106 "second recommended" profile is the library default).
    PASSWORD_HASH_TIME_COST = 3
    PASSWORD_HASH_MEMORY_COST = 65536
    GUARDIAN_REQUIRED_UNDER_AGE = 14

    IMPORT_MAX_ROWS = 50_000
    # Volunteer import: run in a background thread unless synchronous (tests); rows per INSERT statement.
    IMPORT_SYNCHRONOUS = _env_bool("IMPORT_SYNCHRONOUS", False)
    IMPORT_INSERT_BATCH = 1000
    # An .xlsx is a zip: refuse "zip bombs" before openpyxl unpacks them (volunteers/imports/unpacking.py). A file of
    # IMPORT_MAX_ROWS template rows, every column filled, unpacks to about 40 MB.
    IMPORT_MAX_UNPACKED_BYTES = int(os.environ.get("IMPORT_MAX_UNPACKED_BYTES", str(64 * 1024 * 1024)))
    # Activation of imported accounts: failed attempts allowed per account and per client address.
    ACTIVATION_LIMIT_PER_ACCOUNT = os.environ.get("ACTIVATION_LIMIT_PER_ACCOUNT", "5 per 15 minutes")
    ACTIVATION_LIMIT_PER_ADDRESS = os.environ.get("ACTIVATION_LIMIT_PER_ADDRESS", "20 per 15 minutes")
    # Password reset by SMS (/forgot): requests per client address, each step; the change of mobile number
    # (/me/mobile): requests per account (the SMS codes' own limits apply as well, sms/codes.py).
    SMS_RESET_LIMIT_PER_ADDRESS = os.environ.get("SMS_RESET_LIMIT_PER_ADDRESS", "20 per 15 minutes")
    MOBILE_CHANGE_LIMIT_PER_ACCOUNT = os.environ.get("MOBILE_CHANGE_LIMIT_PER_ACCOUNT", "10 per 15 minutes")

    # Sign-up is refused after NO_SHOW_LIMIT no-shows within the last NO_SHOW_WINDOW_DAYS days.
    NO_SHOW_LIMIT = int(os.environ.get("NO_SHOW_LIMIT", "3"))
    NO_SHOW_WINDOW_DAYS = int(os.environ.get("NO_SHOW_WINDOW_DAYS", "90"))

    # Email copies of notifications: SMTP when MAIL_SERVER is set, otherwise only logged.
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "587"))
    MAIL_USE_TLS = _env_bool("MAIL_USE_TLS", True)  # STARTTLS on MAIL_PORT
    MAIL_USE_SSL = _env_bool("MAIL_USE_SSL", False)  # implicit TLS (usually port 465)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "noreply@localhost")
    MAIL_TIMEOUT_SECONDS = int(os.environ.get("MAIL_TIMEOUT_SECONDS", "20"))
    # Absolute links in emails and the calendar feed, e.g. https://zyz.example.cn
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "")

    # SMS (sms/, docs/sms.md): the backend ("console": written to the log and the /dev/sms outbox; "aliyun";
    # "tencent"), the sign name and one template id per purpose, each provider's credentials, region and endpoint
    # (an "http://host:port" endpoint is spoken to in plain http: the tests' fake providers), timeouts and retries.
    SMS_BACKEND = os.environ.get("SMS_BACKEND", "console")
    #: online registration opens the account only once the SMS code sent to its mobile number is entered
    REGISTRATION_CONFIRMS_MOBILE = os.environ.get("REGISTRATION_CONFIRMS_MOBILE", "1") != "0"
    # Production refuses to start with the console backend (codes only in the log) unless this is set.
    SMS_CONSOLE_IN_PRODUCTION = _env_bool("SMS_CONSOLE_IN_PRODUCTION", False)
    SMS_SIGN_NAME = os.environ.get("SMS_SIGN_NAME", "")
    SMS_TEMPLATE_REGISTER = os.environ.get("SMS_TEMPLATE_REGISTER", "")
    SMS_TEMPLATE_RESET_PASSWORD = os.environ.get("SMS_TEMPLATE_RESET_PASSWORD", "")
    SMS_TEMPLATE_CHANGE_MOBILE = os.environ.get("SMS_TEMPLATE_CHANGE_MOBILE", "")
    SMS_TEMPLATE_MOBILE_CHANGED_NOTICE = os.environ.get("SMS_TEMPLATE_MOBILE_CHANGED_NOTICE", "")
    SMS_TEMPLATE_GUARDIAN_CONFIRM = os.environ.get("SMS_TEMPLATE_GUARDIAN_CONFIRM", "")
    SMS_ALIYUN_ACCESS_KEY_ID = os.environ.get("SMS_ALIYUN_ACCESS_KEY_ID", "")
    SMS_ALIYUN_ACCESS_KEY_SECRET = os.environ.get("SMS_ALIYUN_ACCESS_KEY_SECRET", "")
    SMS_ALIYUN_REGION = os.environ.get("SMS_ALIYUN_REGION", "cn-hangzhou")
    SMS_ALIYUN_ENDPOINT = os.environ.get("SMS_ALIYUN_ENDPOINT", "dysmsapi.aliyuncs.com")
    SMS_TENCENT_SECRET_ID = os.environ.get("SMS_TENCENT_SECRET_ID", "")
    SMS_TENCENT_SECRET_KEY = os.environ.get("SMS_TENCENT_SECRET_KEY", "")
    SMS_TENCENT_SDK_APP_ID = os.environ.get("SMS_TENCENT_SDK_APP_ID", "")
    SMS_TENCENT_REGION = os.environ.get("SMS_TENCENT_REGION", "ap-guangzhou")
    SMS_TENCENT_ENDPOINT = os.environ.get("SMS_TENCENT_ENDPOINT", "sms.tencentcloudapi.com")
    SMS_TIMEOUT_SECONDS = float(os.environ.get("SMS_TIMEOUT_SECONDS", "5"))
    # Further attempts after a transient failure (timeout, refused connection, the provider's internal error).
    SMS_RETRIES = int(os.environ.get("SMS_RETRIES", "2"))
    # Verification codes (sms/codes.py): lifetime, wrong tries that burn a code, the wait before a resend, and the
    # codes per number and per client address in one local (Asia/Shanghai) day.
    SMS_CODE_TTL_SECONDS = int(os.environ.get("SMS_CODE_TTL_SECONDS", "300"))
    SMS_CODE_MAX_WRONG_TRIES = int(os.environ.get("SMS_CODE_MAX_WRONG_TRIES", "5"))
    SMS_RESEND_SECONDS = int(os.environ.get("SMS_RESEND_SECONDS", "60"))
    SMS_DAILY_LIMIT_PER_NUMBER = int(os.environ.get("SMS_DAILY_LIMIT_PER_NUMBER", "10"))
    SMS_DAILY_LIMIT_PER_ADDRESS = int(os.environ.get("SMS_DAILY_LIMIT_PER_ADDRESS", "20"))
    # Records of sent messages (masked numbers) are kept this long (the job sms_prune).
    SMS_MESSAGE_KEEP_DAYS = int(os.environ.get("SMS_MESSAGE_KEEP_DAYS", "180"))

    # The scheduler process (`flask scheduler run`, see docs/scheduler.md).
    SCHEDULER_HEARTBEAT_SECONDS = int(os.environ.get("SCHEDULER_HEARTBEAT_SECONDS", "15"))
    SCHEDULER_LOCK_TIMEOUT_SECONDS = int(os.environ.get("SCHEDULER_LOCK_TIMEOUT_SECONDS", "60"))
    SCHEDULER_RETRY_SECONDS = int(os.environ.get("SCHEDULER_RETRY_SECONDS", "15"))
    # Shorter job periods for drills and the scale-out test only (app/scheduling/jobs.py job_period); empty in production.
    SCHEDULER_JOB_PERIODS = _job_periods(os.environ.get("SCHEDULER_JOB_PERIODS", ""))

    # Check-in (checkin/): rotating QR tokens, repeats, offline sync, forgotten check-outs.
    CHECKIN_TOKEN_WINDOW_SECONDS = int(os.environ.get("CHECKIN_TOKEN_WINDOW_SECONDS", "30"))
    CHECKIN_REPEAT_SECONDS = int(os.environ.get("CHECKIN_REPEAT_SECONDS", "120"))
    CHECKIN_MISSING_CHECKOUT_AFTER_MINUTES = int(os.environ.get("CHECKIN_MISSING_CHECKOUT_AFTER_MINUTES", "120"))
    CHECKIN_OFFLINE_MAX_AGE_HOURS = int(os.environ.get("CHECKIN_OFFLINE_MAX_AGE_HOURS", "24"))
    # A device clock may run this far ahead of the server's before its offline scans count as "in the future".
    CHECKIN_CLOCK_SKEW_SECONDS = int(os.environ.get("CHECKIN_CLOCK_SKEW_SECONDS", "120"))
    CHECKIN_SYNC_MAX_SCANS = int(os.environ.get("CHECKIN_SYNC_MAX_SCANS", "500"))
    # Up to this much of a position's reported accuracy (metres) is forgiven at the geofence's edge.
    CHECKIN_GEOFENCE_ACCURACY_ALLOWANCE_M = int(os.environ.get("CHECKIN_GEOFENCE_ACCURACY_ALLOWANCE_M", "50"))
    # POST /api/v1/scans (a coordinator's badge scanner: about one scan a second at an expo entrance, and many
    # scanners behind one mobile-network address) and POST /api/v1/kiosk-scans (a volunteer's own phone).
    API_SCAN_RATE_LIMIT_PER_USER = os.environ.get("API_SCAN_RATE_LIMIT_PER_USER", "600 per minute")
    API_SCAN_RATE_LIMIT_PER_ADDRESS = os.environ.get("API_SCAN_RATE_LIMIT_PER_ADDRESS", "6000 per minute")
    API_KIOSK_SCAN_RATE_LIMIT = os.environ.get("API_KIOSK_SCAN_RATE_LIMIT", "30 per minute")
    API_SCANS_MAX_BODY_BYTES = int(os.environ.get("API_SCANS_MAX_BODY_BYTES", str(1024 * 1024)))

    # Service-hours ledger (hours/): grace around a shift's window, back-filled evidence files.
    HOURS_GRACE_MINUTES = int(os.environ.get("HOURS_GRACE_MINUTES", "15"))
    HOURS_EXCLUDED_EVENT_KINDS = ("theory_class",)  # class hours for the membership prerequisite, not service
    HOURS_EVIDENCE_MAX_BYTES = int(os.environ.get("HOURS_EVIDENCE_MAX_BYTES", str(5 * 1024 * 1024)))
    HOURS_EVIDENCE_DIR = os.environ.get("HOURS_EVIDENCE_DIR", str(INSTANCE_DIR / "evidence"))

    # The membership prerequisite (hours/membership/progress.py): thresholds, the year service hours count in
    # ("calendar", or "school": from 1 September), and the minutes of one theory class hour (学时).
    MEMBERSHIP_MIN_MONTHS = int(os.environ.get("MEMBERSHIP_MIN_MONTHS", "3"))
    MEMBERSHIP_MIN_THEORY_HOURS = int(os.environ.get("MEMBERSHIP_MIN_THEORY_HOURS", "12"))
    MEMBERSHIP_MIN_SERVICE_HOURS = int(os.environ.get("MEMBERSHIP_MIN_SERVICE_HOURS", "20"))
    MEMBERSHIP_YEAR_BASIS = os.environ.get("MEMBERSHIP_YEAR_BASIS", "calendar")
    MEMBERSHIP_CLASS_HOUR_MINUTES = int(os.environ.get("MEMBERSHIP_CLASS_HOUR_MINUTES", "45"))

    # Patrol reports (patrols/reports/photos.py): photo limits (bytes, pixels decoded, longest side kept), where photos
    # live, photos per finding, and how far from its segment a finding's position may lie.
    PATROL_PHOTO_MAX_BYTES = int(os.environ.get("PATROL_PHOTO_MAX_BYTES", str(8 * 1024 * 1024)))
    PATROL_PHOTO_MAX_PIXELS = int(os.environ.get("PATROL_PHOTO_MAX_PIXELS", "50000000"))
    PATROL_PHOTO_MAX_SIDE = int(os.environ.get("PATROL_PHOTO_MAX_SIDE", "1600"))
    PATROL_PHOTO_DIR = os.environ.get("PATROL_PHOTO_DIR", str(INSTANCE_DIR / "patrol_photos"))
    PATROL_PHOTOS_PER_FINDING = int(os.environ.get("PATROL_PHOTOS_PER_FINDING", "6"))
    PATROL_FINDING_MAX_DISTANCE_M = int(os.environ.get("PATROL_FINDING_MAX_DISTANCE_M", "5000"))


class DevelopmentConfig(Config):
    """Local development: SQLite under instance/, insecure keys allowed."""

    ENV_NAME = "development"


class TestingConfig(Config):
    """The test suite: its own database, fast password hashing."""

    ENV_NAME = "testing"
    TESTING = True
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite:///:memory:")
    PASSWORD_HASH_TIME_COST = 1
    PASSWORD_HASH_MEMORY_COST = 1024
    RATELIMIT_STORAGE_URI = "memory://"
    IMPORT_SYNCHRONOUS = True
    SMS_BACKEND = "console"  # the suite's providers are the fakes of tests/sms/, chosen per test


class ProductionConfig(Config):
    """Production: real keys required, secure cookies, no debug."""

    ENV_NAME = "production"
    DEBUG = False
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    PREFERRED_URL_SCHEME = "https"

    @classmethod
    def check(cls, config: dict) -> None:
        """Refuse to start without real secrets."""
        problems = []
        secret = config.get("SECRET_KEY") or ""
        if secret == INSECURE_SECRET_KEY or len(secret) < 32:
            problems.append("SECRET_KEY must be set to a random value of at least 32 characters")
        id_key = config.get("ID_NUMBER_KEY") or ""
        if id_key == INSECURE_ID_KEY or not _is_base64_key(id_key):
            problems.append("ID_NUMBER_KEY must be set (base64 of 32 random bytes)")
        if problems:
            raise RuntimeError("Refusing to start in production: " + "; ".join(problems))


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
