"""Settings for Deal Alerts, read from the environment (see README: "Configuration").

With nothing set, the project runs on a SQLite file and an embedded Celery broker,
so `make run` needs no server. Set DATABASE_URL / REDIS_URL for PostgreSQL / Redis.
"""

import base64
import re
from pathlib import Path

import environ
from csp import constants as csp_constants
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=False)
# Development is DEBUG=true (`make run` sets it); only there may the key below, which anyone can
# read here, sign sessions, unsubscribe links and click tokens. Everything else — production, the
# worker, benchmarks — brings its own SECRET_KEY (the tests get theirs from pyproject.toml).
DEVELOPMENT_SECRET_KEY = "dev-only-insecure-key-change-me-in-production-0123456789"
SECRET_KEY = env("SECRET_KEY", default=DEVELOPMENT_SECRET_KEY if DEBUG else "")
# Rotation: the new key signs, the retired ones (comma-separated) still verify what they signed.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
if not DEBUG and DEVELOPMENT_SECRET_KEY in (SECRET_KEY, *SECRET_KEY_FALLBACKS):
    raise ImproperlyConfigured("SECRET_KEY must be set to your own value when DEBUG is off, not the development key")
if not DEBUG and not SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY must be set when DEBUG is off: a long random value, e.g. from "
        "`python -c 'import secrets; print(secrets.token_urlsafe(50))'` (DEBUG=true for development)"
    )
# Phone numbers, webhook URLs and push subscriptions are encrypted at rest (dealalerts/encryption.py):
# with these Fernet keys, newest first, or, when unset, with keys derived from the secret keys above.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and ReDoc served from our static files: /api/docs/ works offline
    "django_htmx",
    "django_celery_beat",
    "anymail",
    "activity",
    "accounts",
    "listings",
    "notifications",
    "alerts",
    "watchlist",
    "recommendations",
    "metrics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "dealalerts.middleware.StorableTextMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.UserTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "dealalerts.urls"
WSGI_APPLICATION = "dealalerts.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
# A connection per request by default: `runserver` (make run) serves each HTTP connection on a new
# thread, and a connection kept for reuse outlives its thread, so PostgreSQL ran out of them. Set
# CONN_MAX_AGE > 0 only under a WSGI server with a fixed pool of threads (gunicorn); the health
# check then replaces a kept connection the database has dropped instead of failing a request.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL lets the web process read while the worker writes; the timeout waits out short locks.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
    # The test database is a file next to this one, not SQLite's default of memory: a test may
    # start a Celery worker process, which must open the same database.
    _sqlite_path = Path(DATABASES["default"]["NAME"])
    DATABASES["default"]["TEST"] = {"NAME": str(_sqlite_path.with_name(f"test_{_sqlite_path.name}"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "listings:browse"
LOGOUT_REDIRECT_URL = "listings:browse"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=VAR_DIR / "staticfiles")
Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env.bool("STATIC_MANIFEST", default=False)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Serve straight from the finders when no collectstatic has run (make run, tests).
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=True)

# --- Redis: Celery broker and cache. Unset = embedded broker and local memory cache.
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # kombu's filesystem transport in var/broker: a real broker in a folder, no server needed. Ours
    # writes each message whole before a worker can see it; kombu's own can hand a worker a
    # half-written file and stop it (kombu#1551; see dealalerts/broker.py).
    from .broker import folder_options

    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT = "dealalerts.broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = folder_options(VAR_DIR / "broker")

CELERY_TIMEZONE = "UTC"
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery closes Django's database connections around every task unless told to reuse them:
# a new PostgreSQL backend per batch of deliveries. Reuse one for this many tasks.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=100)
CELERY_TASK_DEFAULT_QUEUE = "default"
# The listing pipeline (announce, match) has its own queue so bulk ingest never delays other work.
# Deliveries have theirs ("notify"); urgent deliveries are sent on "urgent", which workers
# should drain first (give it its own worker when scaling out).
CELERY_TASK_ROUTES = {
    "listings.*": {"queue": "ingest"},
    "alerts.*": {"queue": "ingest"},
    "watchlist.*": {"queue": "ingest"},
    "recommendations.*": {"queue": "default"},
    "metrics.*": {"queue": "default"},
    "notifications.deliver_batch": {"queue": "notify"},
    "notifications.send_digest_batch": {"queue": "notify"},
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)

# Prometheus scrapes /metrics with `Authorization: Bearer <METRICS_TOKEN>`; unset, only staff may read it.
METRICS_TOKEN = env("METRICS_TOKEN", default="")

# --- REST API
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so an anonymous API call gets 401 with WWW-Authenticate rather than 403.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("THROTTLE_ANON", default="120/min"),
        "user": env("THROTTLE_USER", default="600/min"),
        "ingest": env("THROTTLE_INGEST", default="600/min"),
    },
    "EXCEPTION_HANDLER": "dealalerts.api.exception_handler",
    # Size, nesting and storable-text limits on every request body (dealalerts/parsers.py).
    "DEFAULT_PARSER_CLASSES": [
        "dealalerts.parsers.JSONParser",
        "dealalerts.parsers.FormParser",
        "dealalerts.parsers.MultiPartParser",
    ],
    # How many proxies in front of us append to X-Forwarded-For; 0 trusts none and keys
    # throttles and sign-in limits on the connecting address.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
}
# A request body larger than this is refused (413 on the API). The default fits a full ingest
# batch (1,000 listings) even with every text field at its maximum length (~12 MB).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=16 * 1024 * 1024)
# JSON nested deeper than this is refused with a 400; our deepest valid body has 3 levels.
API_MAX_JSON_DEPTH = env.int("API_MAX_JSON_DEPTH", default=32)
SPECTACULAR_SETTINGS = {
    "TITLE": "Deal Alerts API",
    "DESCRIPTION": "Second-hand marketplace deals, alert rules and notifications.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Alert rules and preferences share the channel list: one enum in the schema.
    "ENUM_NAME_OVERRIDES": {"ChannelEnum": "notifications.channels.NAMES"},
    # The UI's files come from drf-spectacular-sidecar, not a CDN, so the docs work offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Sign-in limits (accounts/signin_limits.py): failed sign-ins per account and address, and
# per address, within a fixed window; past either, sign-in is refused until failures age out.
SIGNIN_FAILURES_PER_ACCOUNT = env.int("SIGNIN_FAILURES_PER_ACCOUNT", default=5)
SIGNIN_FAILURES_PER_ADDRESS = env.int("SIGNIN_FAILURES_PER_ADDRESS", default=50)
SIGNIN_FAILURE_WINDOW_SECONDS = env.int("SIGNIN_FAILURE_WINDOW_SECONDS", default=900)

# --- Phones for SMS (accounts/phones.py, notifications/phone.py): where a number may be from, and how
# many one-time codes go out. Each code SMS costs money and SMS-pumping fraud targets exactly this,
# so codes are counted per phone, per user and per client address within one window.
SMS_ALLOWED_COUNTRIES = [c.upper() for c in env.list("SMS_ALLOWED_COUNTRIES", default=["US", "CA"])]
SMS_CODES_PER_PHONE = env.int("SMS_CODES_PER_PHONE", default=5)
SMS_CODES_PER_USER = env.int("SMS_CODES_PER_USER", default=10)
SMS_CODES_PER_ADDRESS = env.int("SMS_CODES_PER_ADDRESS", default=20)
SMS_CODE_WINDOW_SECONDS = env.int("SMS_CODE_WINDOW_SECONDS", default=3600)
SMS_CODE_RESEND_SECONDS = env.int("SMS_CODE_RESEND_SECONDS", default=30)
# "Send me a test": each one is a real message (an SMS costs money), so a few per channel per window.
TEST_SENDS_PER_CHANNEL = env.int("TEST_SENDS_PER_CHANNEL", default=3)
TEST_SENDS_WINDOW_SECONDS = env.int("TEST_SENDS_WINDOW_SECONDS", default=600)

# --- Content-Security-Policy (django-csp): our own scripts and styles only; the two inline
# scripts carry the request's nonce. Listing photos come from the marketplaces (https).
# Swagger UI (/api/docs/) is exempt: it needs its own inline script; so are django-celery-beat's
# admin forms, whose crontab help is an inline script we do not control.
CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/api/docs/", "/admin/django_celery_beat/"],
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", csp_constants.NONCE],
        "style-src": ["'self'"],
        "img-src": ["'self'", "https:", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- Email: console by default; any ESP through anymail (see README: "Real providers").
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Deal Alerts <alerts@dealalerts.local>")
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
ANYMAIL = {
    key: env(f"ANYMAIL_{key}")
    for key in (
        "POSTMARK_SERVER_TOKEN",
        "POSTMARK_API_URL",
        "MAILGUN_API_KEY",
        "MAILGUN_API_URL",
        "SENDGRID_API_KEY",
        "WEBHOOK_SECRET",
    )
    if env(f"ANYMAIL_{key}", default="")
}

# --- SMS through Twilio: without an Account SID, Auth Token and a sender (a number or a Messaging
# Service), texts are printed to the console instead (see README: "Real providers").
TWILIO_ACCOUNT_SID = env("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env("TWILIO_AUTH_TOKEN", default="")
TWILIO_PHONE_NUMBER = env("TWILIO_PHONE_NUMBER", default="")
TWILIO_MESSAGING_SERVICE_SID = env("TWILIO_MESSAGING_SERVICE_SID", default="")
TWILIO_API_URL = env("TWILIO_API_URL", default="https://api.twilio.com")
# An urgent text still queued at Twilio after this long is dropped rather than arriving stale.
SMS_URGENT_VALIDITY_S = env.int("SMS_URGENT_VALIDITY_S", default=900)

# --- Discord: deals go to the webhook each user pasted, sent to its id and token on this API (the
# versioned one); the demo and tests point it at a local peer (see README: "Discord").
DISCORD_API_URL = env("DISCORD_API_URL", default="https://discord.com/api/v10")
# --- Web push (VAPID, RFC 8292): base64url raw keys, the public one an uncompressed P-256 point (65
# bytes), the private one its 32-byte scalar; `manage.py generate_vapid_keys` prints a pair. Without
# them push is not offered. Under DEBUG, with none in the environment, the pair `make run` keeps in
# var/ is used, so a demo can subscribe and keep its subscriptions across restarts.
VAPID_DEMO_KEYS_FILE = VAR_DIR / "vapid-demo.env"
if DEBUG and VAPID_DEMO_KEYS_FILE.exists():
    environ.Env.read_env(VAPID_DEMO_KEYS_FILE)  # never over what the environment sets
VAPID_PUBLIC_KEY = env("VAPID_PUBLIC_KEY", default="")
VAPID_PRIVATE_KEY = env("VAPID_PRIVATE_KEY", default="")
# Who push services contact about our sends: a mailto: or an https: URL (RFC 8292, section 2.1).
VAPID_SUBJECT = env("VAPID_SUBJECT", default="mailto:alerts@dealalerts.local")
_vapid_key_sizes = (("VAPID_PUBLIC_KEY", VAPID_PUBLIC_KEY, 65), ("VAPID_PRIVATE_KEY", VAPID_PRIVATE_KEY, 32))
for _name, _value, _size in _vapid_key_sizes:
    try:
        _raw = base64.urlsafe_b64decode(_value + "=" * (-len(_value) % 4)) if _value else b""
    except ValueError:
        _raw = b""
    if _value and len(_raw) != _size:
        raise ImproperlyConfigured(
            f"{_name} must be a base64url raw key of {_size} bytes (manage.py generate_vapid_keys)"
        )
if bool(VAPID_PUBLIC_KEY) != bool(VAPID_PRIVATE_KEY):
    raise ImproperlyConfigured("Set both VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY, or neither")
if not re.fullmatch(r"mailto:[^@\s]+@[^@\s]+|https://[^\s/]+(/\S*)?", VAPID_SUBJECT):
    raise ImproperlyConfigured("VAPID_SUBJECT must be a mailto: address or an https: URL, e.g. mailto:ops@example.com")
# How long a push service keeps a deal for a browser that is offline (never 0: a closed browser would
# never get it), and how long it may take to answer one send.
PUSH_TTL_S = env.int("PUSH_TTL_S", default=24 * 3600)
if PUSH_TTL_S < 1:
    raise ImproperlyConfigured("PUSH_TTL_S must be at least 1 second")
PUSH_TIMEOUT_S = env.float("PUSH_TIMEOUT_S", default=10.0)
# Subscriptions must point at an https push service on a public host; the tests relax this for their
# local push service.
PUSH_ENDPOINTS_PUBLIC_ONLY = env.bool("PUSH_ENDPOINTS_PUBLIC_ONLY", default=True)
# make run's local push service (`python -m peers webpush`): under DEBUG the settings page offers a
# device on it, for a demo where the browser's own push service cannot be reached.
PUSH_DEMO_SERVICE_URL = env("PUSH_DEMO_SERVICE_URL", default="") if DEBUG else ""

# --- Notifications
# Absolute links in email (unsubscribe, tracked clicks, settings) start with this. Unset, it follows
# PORT (the port `make run` serves on), so a worker's emails link to the server that is running.
SITE_URL = env("SITE_URL", default=f"http://127.0.0.1:{env.int('PORT', default=8000)}")
# A delivery claimed this long ago and still "sending" had its worker die; the sweep resolves it.
NOTIFICATIONS_SENDING_TIMEOUT = env.int("NOTIFICATIONS_SENDING_TIMEOUT", default=300)

# --- Production hardening: on whenever DEBUG is off and SECURE_HTTPS is set.
SECURE_HTTPS = env.bool("SECURE_HTTPS", default=False)
if SECURE_HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- Product settings
INGEST_MAX_BATCH = 1000
DEMO_SEED = env.int("DEMO_SEED", default=7)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    # The twilio library logs a dozen lines (URL, headers, status) at INFO for every API request.
    "loggers": {"twilio.http_client": {"level": "WARNING"}},
}
