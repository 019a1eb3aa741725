"""Settings for Central Electric, read from the environment.

Every setting that differs between a laptop and production comes from an
environment variable with a default that works for `make run`; production
refuses to start without a real secret key.
"""

import ipaddress
import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
# Runtime files (SQLite database, private Redis, beat schedule, collected
# static files) live here, outside version control.
VAR_DIR = Path(os.environ.get("CELC_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def envbool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {value!r}")


def envint(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}") from None


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = envbool("DJANGO_DEBUG", False)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Set it (production), or set DJANGO_DEBUG=1 "
            "for a local development server with a throwaway key."
        )
    SECRET_KEY = "insecure-development-key-only-for-DJANGO_DEBUG=1"  # noqa: S105


def secret_key_weaknesses(key: str) -> list[str]:
    """What Django's deploy check (security.W009) would say of the key, as reasons."""
    reasons = []
    if len(key) < 50:
        reasons.append("at least 50 characters")
    if len(set(key)) < 5:
        reasons.append("at least 5 different characters")
    if key.startswith("django-insecure-"):
        reasons.append('not start with "django-insecure-"')
    return reasons


# A weak key lets anyone forge sessions, password-reset links and signed cookies:
# production refuses it rather than warning (DJANGO_DEBUG keeps whatever it is given).
if not DEBUG and (_weaknesses := secret_key_weaknesses(SECRET_KEY)):
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is too weak: it must have "
        + ", ".join(_weaknesses)
        + '. Make one with: python -c "import secrets; print(secrets.token_urlsafe(50))"'
    )

ALLOWED_HOSTS = envlist("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = envlist("DJANGO_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "axes",
    # The project's apps, top to bottom: each imports only those below it (make lint).
    "celc.apps.CelcConfig",
    "alerts",
    "board",
    "accounts",
    "payouts",
    "devices",
    "policy",
    # Beside them: demo data and the development stack's commands (nothing imports it).
    "devtools",
]

# Sign-in lockout (django-axes and accounts/lockout.py): after this many failed attempts
# for one username from one address, that pair is locked out for the cool-off time; after
# the higher address limit across usernames, the address. A browser that has signed in
# before (its device cookie) is counted apart, by its own failures only.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "accounts.lockout.LockoutHandler"
AXES_FAILURE_LIMIT = envint("CELC_LOGIN_FAILURE_LIMIT", 5)
LOGIN_ADDRESS_FAILURE_LIMIT = envint("CELC_LOGIN_ADDRESS_FAILURE_LIMIT", 30)
AXES_COOLOFF_TIME = timedelta(minutes=envint("CELC_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
# The connection's address, or behind the TLS proxy the one it appended (celc/proxy.py).
AXES_CLIENT_IP_CALLABLE = "celc.proxy.client_address"

MIDDLEWARE = [
    "celc.middleware.request_log",
    "django.middleware.security.SecurityMiddleware",
    "celc.middleware.security_headers",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After the user is known: a household's saved language wins over the browser's.
    "accounts.language.household_language_middleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "accounts.lockout.device_cookie_middleware",
    # Last: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "celc.urls"
CSRF_FAILURE_VIEW = "accounts.views.csrf_failure"
ASGI_APPLICATION = "celc.asgi.application"
WSGI_APPLICATION = None

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

# Database: a SQLite file unless DATABASE_URL says otherwise.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
        conn_max_age=envint("DJANGO_CONN_MAX_AGE", 0),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and envbool(
    "CELC_DB_POOL", False
):
    # The web server (celc/asgi.py turns this on) opens a connection for every
    # request and every browser socket's session lookup, each on a thread of
    # its own: a pool makes that a borrow instead of a new PostgreSQL backend
    # (a mass cut's households reconnecting at once would otherwise time out).
    # Django checks each connection on borrow (conn_health_checks above), so a
    # restarted PostgreSQL costs a reconnect, not errors.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": envint("CELC_DB_POOL_SIZE", 8),
        "timeout": 10,
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Daphne, the Celery worker and beat write to one file: WAL lets readers
    # run beside the writer, IMMEDIATE transactions take the write lock up
    # front instead of failing on upgrade, and the timeout waits for it.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # Tests use a file, not memory, so that servers they start share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "home"

# English, Tamil and Hindi. A household's own choice (accounts.User.language) wins,
# then the language cookie the switcher sets, then the browser's Accept-Language.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ta", "தமிழ்"), ("hi", "हिन्दी")]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["celc.formats"]
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "Asia/Kolkata"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns about a missing one
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed, compressed files in production (after collectstatic);
        # plain files straight from static/ while developing.
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "common.staticfiles.StaticFilesStorage"
    },
}

# Redis: one server for the channel layer and the Celery broker.
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
CHANNEL_PREFIX = os.environ.get("CELC_CHANNEL_PREFIX", "celc")


def channel_layers(redis_url: str, prefix: str) -> dict:
    return {
        "default": {
            # The pub/sub layer makes one round trip per group_send and never
            # queues for absent consumers: what live dashboard updates need.
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                # redis-py's default 5 s socket timeout cuts idle subscribers.
                "hosts": [{"address": redis_url, "socket_timeout": None}],
                "prefix": prefix,
            },
        }
    }


CHANNEL_LAYERS = channel_layers(REDIS_URL, CHANNEL_PREFIX)

CELERY_BROKER_URL = REDIS_URL
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# What a task prints (the console email backend under `make run`) is news, not a warning.
CELERY_WORKER_REDIRECT_STDOUTS_LEVEL = "INFO"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Alerts wait on mail servers and households' webhooks: their own queue, taken by a worker
# of their own (`celery worker -Q alerts`), so that a slow receiver never holds a process
# the accrual needs every second.
CELERY_TASK_ROUTES = {"alerts.tasks.*": {"queue": "alerts"}}
# The accrual runs every second, split over this many shards of households
# that workers take in parallel (one per core is a good start). Each run posts
# only what is due: an open outage at least every CHECKPOINT seconds (and at
# once when its evidence changes), and works out fresh quotes for the pages
# open on it every QUOTE_EVERY seconds.
ACCRUAL_SHARDS = envint("CELC_ACCRUAL_SHARDS", 1)
ACCRUAL_CHECKPOINT_SECONDS = envint("CELC_ACCRUAL_CHECKPOINT_SECONDS", 60)
QUOTE_EVERY_SECONDS = envint("CELC_QUOTE_EVERY_SECONDS", 30)
# Payouts: once a day at this time (India Standard Time, HH:MM), every balance of
# at least the minimum (rupees) becomes a payout awaiting review.
CELC_PAYOUT_MINIMUM = Decimal(os.environ.get("CELC_PAYOUT_MINIMUM", "1.00"))
CELC_PAYOUT_AT = os.environ.get("CELC_PAYOUT_AT", "02:00")
try:
    _payout_hour, _payout_minute = (int(part) for part in CELC_PAYOUT_AT.split(":"))
    if not (0 <= _payout_hour < 24 and 0 <= _payout_minute < 60):
        raise ValueError
except ValueError:
    raise ImproperlyConfigured(f"CELC_PAYOUT_AT must be HH:MM, not {CELC_PAYOUT_AT!r}") from None
# Dashboards hear from the server at least this often (seconds); a page that
# hears nothing for 2.5 times as long says it is not live.
LIVE_HEARTBEAT_SECONDS = envint("CELC_LIVE_HEARTBEAT_SECONDS", 10)
# Open /board/ pages get the areas out now this often (seconds).
BOARD_LIVE_SECONDS = envint("CELC_BOARD_LIVE_SECONDS", 2)
CELERY_BEAT_SCHEDULE = {
    **{
        f"accrue-every-second-{shard}-of-{ACCRUAL_SHARDS}": {
            "task": "payouts.tasks.accrue_and_broadcast",
            "schedule": 1.0,
            "args": (shard, ACCRUAL_SHARDS),
            # A run that could not start within its second is dropped: the
            # next one posts the same total (runs are idempotent).
            "options": {"expires": 0.9},
        }
        for shard in range(ACCRUAL_SHARDS)
    },
    "outages-lost-contact": {
        "task": "devices.tasks.mark_lost_contact",
        "schedule": 10.0,
        "options": {"expires": 9.0},
    },
    "board-live": {
        "task": "board.tasks.board_update",
        "schedule": float(BOARD_LIVE_SECONDS),
        "options": {"expires": BOARD_LIVE_SECONDS * 0.9},
    },
    "dashboards-heartbeat": {
        "task": "accounts.tasks.live_heartbeat",
        "schedule": float(LIVE_HEARTBEAT_SECONDS),
        "options": {"expires": LIVE_HEARTBEAT_SECONDS * 0.9},
    },
    "payouts-daily": {
        "task": "payouts.tasks.create_payouts",
        "schedule": crontab(hour=_payout_hour, minute=_payout_minute),  # in CELERY_TIMEZONE
    },
    # Alerts: what happened since the last scan, then the messages that are due.
    "alerts-scan-and-send": {
        "task": "alerts.tasks.scan_and_send",
        "schedule": 15.0,
        "options": {"expires": 14.0},
    },
}

# Devices. Heartbeats are at most 60 s apart while the power is on; a device
# missing 3 is shown offline. max_gap and the silence timeout are settings
# of the compensation policy (policy.Policy), not of the deployment.
DEVICE_HEARTBEAT_SECONDS = envint("CELC_HEARTBEAT_SECONDS", 60)
DEVICE_MISSED_HEARTBEATS = envint("CELC_MISSED_HEARTBEATS", 3)
# How often each web process writes the ticks it received, in one transaction.
DEVICE_FLUSH_SECONDS = float(os.environ.get("CELC_DEVICE_FLUSH_SECONDS", "0.1"))

# /healthz (celc/health.py) fails when beat last sent a task, the newest accrual run
# finished, or the oldest tick a web process holds arrived longer ago than these (seconds).
HEALTH_BEAT_SECONDS = envint("CELC_HEALTH_BEAT_SECONDS", 10)
HEALTH_ACCRUAL_LAG_SECONDS = envint("CELC_HEALTH_ACCRUAL_LAG_SECONDS", 10)
HEALTH_INGEST_LAG_SECONDS = envint("CELC_HEALTH_INGEST_LAG_SECONDS", 5)
# /metrics answers loopback and these addresses or networks (a Prometheus elsewhere), comma
# separated: "10.0.0.5,192.168.10.0/24". Counted across a machine's processes when
# PROMETHEUS_MULTIPROC_DIR is set (common/metrics.py).
try:
    # strict: "10.0.0.5/8" is refused, not widened to all of 10.0.0.0/8.
    METRICS_ALLOWED_NETWORKS = [
        ipaddress.ip_network(item) for item in envlist("CELC_METRICS_ALLOWED_ADDRESSES", "")
    ]
except ValueError as _error:
    raise ImproperlyConfigured(f"CELC_METRICS_ALLOWED_ADDRESSES: {_error}") from None

# Security: on whenever the site is served over HTTPS, which is the default
# outside DEBUG. Behind a TLS-terminating proxy, set DJANGO_BEHIND_TLS_PROXY.
HTTPS = envbool("DJANGO_HTTPS", not DEBUG)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = envint("DJANGO_HSTS_SECONDS", 31536000) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS and envbool("DJANGO_HSTS_PRELOAD", True)
# Behind it, the client's address is the last hop of X-Forwarded-For (celc/proxy.py): daphne
# runs with --proxy-headers (devtools.stack), and sign-in lockouts count by that address.
BEHIND_TLS_PROXY = envbool("DJANGO_BEHIND_TLS_PROXY", False)
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy and Permissions-Policy: celc/middleware.py.

# Alerts (alerts/): households told by email and webhook, board staff by email.
# Email goes through Django's SMTP backend, configured by Django's own names; under
# DJANGO_DEBUG with no EMAIL_HOST, messages are printed to the console instead.
EMAIL_HOST = os.environ.get("EMAIL_HOST") or "localhost"
EMAIL_PORT = envint("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = envbool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Central Electric <alerts@localhost>")
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND") or (
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG and not os.environ.get("EMAIL_HOST")
    else "django.core.mail.backends.smtp.EmailBackend"
)
# Board staff are told when an area has had a device off for longer than this.
CELC_ALERT_AREA_OUT_MINUTES = envint("CELC_ALERT_AREA_OUT_MINUTES", 30)
# Where the messages' link to the alert settings points, e.g. https://power.example.org
# (none: the messages name the page instead).
CELC_SITE_URL = os.environ.get("CELC_SITE_URL", "").rstrip("/")
# Webhooks go to public addresses over https only. This lets them go to loopback and
# private addresses as well, over http or https (a receiver on the same machine or
# network, and the tests'); never turn it on where households are strangers.
CELC_WEBHOOK_ALLOW_PRIVATE = envbool("CELC_WEBHOOK_ALLOW_PRIVATE", False)

# One line per event on standard error; JSON lines (for a log shipper) with
# CELC_LOG_FORMAT=json, each with the request's id and a device's, never a token (common/logs.py).
LOG_FORMAT = os.environ.get("CELC_LOG_FORMAT", "plain")
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(f"CELC_LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "context": {"()": "common.logs.Context"},
        "redact": {"()": "common.logs.Redact"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["context", "redact"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {
        # Only through ours: Django's own console handler (under DEBUG) writes plain lines
        # beside them, unredacted.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.db.backends": {"level": "WARNING"},
        # A task every second: log its failures, not each success.
        "celery.app.trace": {"level": "WARNING"},
        "celery.worker.strategy": {"level": "WARNING"},
        "celery.beat": {"level": "WARNING"},
        # Every failed sign-in at INFO is noise; lockouts are logged at WARNING.
        "axes": {"level": "WARNING"},
    },
}
