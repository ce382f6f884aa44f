"""Settings, all read from the environment here and nowhere else (12-factor).

Every variable is listed with its default in `.env.example` and docs/configuration.md.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from realtime.env import (
    env_bool,
    env_float,
    env_gc_thresholds,
    env_int,
    env_list,
    env_str,
)
from realtime.redis_urls import celery_broker, channel_layer_host

BASE_DIR = Path(__file__).resolve().parent.parent


DEBUG = env_bool("DJANGO_DEBUG", False)

SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off (see .env.example)."
        )
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")

# Served over HTTPS (directly or behind a TLS-terminating proxy that sets
# X-Forwarded-Proto): secure cookies, HSTS, redirect to https.
HTTPS = env_bool("DJANGO_HTTPS", False)
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        # Preloading is hard to undo, so it is an explicit opt-in
        # (DJANGO_HSTS_PRELOAD=1), not a warning to clear by default.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "realtime",
    "chat",
    "dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "realtime.urls"
ASGI_APPLICATION = "realtime.asgi.application"

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

DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}")
# Connections are kept for 60 s on SQLite too: opening one per query was a
# third of the database thread's time under chat load (docs/performance.md).
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The test server runs in another process, so the test database must be a file.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "var" / "test-db.sqlite3")}
    # WAL lets the server read while a test or worker writes. synchronous=NORMAL
    # (SQLite's advice for WAL) syncs at checkpoints instead of every commit: a
    # crash of the process loses nothing, a power cut may lose the last commits.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT", str(BASE_DIR / "var" / "static")))
# WhiteNoise serves static files from the ASGI app itself, so one process is a
# whole deployment. It serves straight from the source folders (finders), so no
# collectstatic step is needed; `collectstatic` still works for a front proxy.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

# --- Redis and the channel layer -------------------------------------------------

# The main Redis: Celery broker, rate limits, connection counts, server stats.
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
# The Redis servers that hold topics: each topic's history, offsets, presence and
# pub/sub channel live on the shard picked by a hash of its name, and the channel
# layer spreads its groups over the same list. Default: the main Redis alone.
# Separated by spaces; every process must list the same shards in the same order.
# Any entry may be a Sentinel address (redis+sentinel://host:port,host:port/master).
REDIS_SHARD_URLS = env_str("REDIS_SHARD_URLS", REDIS_URL).split()
# Every Redis key and channel this server writes starts with this prefix, so
# several deployments (or test runs) can share one Redis server.
REALTIME_REDIS_PREFIX = env_str("REALTIME_REDIS_PREFIX", "rt")
# Largest number of Redis connections one process opens per pool; callers wait
# for a free connection instead of failing (see realtime/layers.py).
REALTIME_REDIS_MAX_CONNECTIONS = env_int("REALTIME_REDIS_MAX_CONNECTIONS", 64)

# channels-redis drops group members older than this (seconds); live
# connections re-add theirs every quarter period (realtime/liveness.py).
REALTIME_GROUP_EXPIRY = env_int("REALTIME_GROUP_EXPIRY", 86400)

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "realtime.layers.RealtimeChannelLayer",
        "CONFIG": {
            "hosts": [
                channel_layer_host(url, max_connections=REALTIME_REDIS_MAX_CONNECTIONS)
                for url in REDIS_SHARD_URLS
            ],
            "prefix": f"{REALTIME_REDIS_PREFIX}:asgi",
            "capacity": env_int("REALTIME_CHANNEL_CAPACITY", 1000),
            "group_expiry": REALTIME_GROUP_EXPIRY,
        },
    }
}

# --- The push protocol -------------------------------------------------------------

# Bearer token for POST /api/publish; the endpoint answers 404 while it is empty.
REALTIME_API_TOKEN = env_str("REALTIME_API_TOKEN")
# Bearer token for GET /metrics; while empty, only loopback callers get metrics.
REALTIME_METRICS_TOKEN = env_str("REALTIME_METRICS_TOKEN")
# Largest text frame a client may send, in bytes (UTF-8).
REALTIME_MAX_FRAME_BYTES = env_int("REALTIME_MAX_FRAME_BYTES", 64 * 1024)
# Inbound frames per second a connection may send (token bucket), and its burst.
REALTIME_CLIENT_RATE = env_float("REALTIME_CLIENT_RATE", 20.0)
REALTIME_CLIENT_BURST = env_int("REALTIME_CLIENT_BURST", 40)
# Frames, and characters of frames (about bytes: frames are ASCII JSON), queued
# for one connection before it counts as a slow reader and is closed (4008).
REALTIME_OUTBOX_LIMIT = env_int("REALTIME_OUTBOX_LIMIT", 1000)
REALTIME_OUTBOX_BYTES = env_int("REALTIME_OUTBOX_BYTES", 1024 * 1024)
# Seconds a socket token (sent in every welcome frame, used to reconnect without a
# session lookup) stays valid; logout and deactivation void it sooner.
REALTIME_SOCKET_TOKEN_TTL = env_int("REALTIME_SOCKET_TOKEN_TTL", 600)
# Seconds without any frame from a client before its connection is closed (4002).
# The browser client pings every 25 s.
REALTIME_IDLE_TIMEOUT = env_float("REALTIME_IDLE_TIMEOUT", 60.0)
# Open connections per signed-in user and per client IP, across all processes;
# over the limit a new connection is closed with 4029. Behind a proxy, run the
# server with proxy headers on (daphne --proxy-headers) so the IP is the client's.
REALTIME_MAX_CONNECTIONS_PER_USER = env_int("REALTIME_MAX_CONNECTIONS_PER_USER", 20)
REALTIME_MAX_CONNECTIONS_PER_IP = env_int("REALTIME_MAX_CONNECTIONS_PER_IP", 200)
# Topics one connection may be subscribed to at once.
REALTIME_MAX_SUBSCRIPTIONS = env_int("REALTIME_MAX_SUBSCRIPTIONS", 100)
# History defaults for topics that declare none: events kept, and seconds kept.
REALTIME_HISTORY_SIZE = env_int("REALTIME_HISTORY_SIZE", 100)
REALTIME_HISTORY_TTL = env_int("REALTIME_HISTORY_TTL", 3600)
# How long a topic's offset counter and epoch outlive its last publish, in seconds.
REALTIME_HISTORY_META_TTL = env_int("REALTIME_HISTORY_META_TTL", 7 * 24 * 3600)
# Largest snapshot ("history": N) a subscriber may ask for.
REALTIME_MAX_HISTORY_REQUEST = env_int("REALTIME_MAX_HISTORY_REQUEST", 500)
# How often each server process reports its counts for the charts, in seconds.
REALTIME_STATS_INTERVAL = env_float("REALTIME_STATS_INTERVAL", 2.0)
# Presence entries are refreshed every interval and expire after the ttl, so the
# entries of a crashed process vanish within REALTIME_PRESENCE_TTL seconds.
REALTIME_PRESENCE_INTERVAL = env_float("REALTIME_PRESENCE_INTERVAL", 5.0)
REALTIME_PRESENCE_TTL = env_float("REALTIME_PRESENCE_TTL", 15.0)

# DJANGO_LOG_FORMAT=json writes one JSON object per line, with the fields code
# passes in `extra` (e.g. "connection": the connection id) as keys.
LOG_FORMAT = env_str("DJANGO_LOG_FORMAT", "plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
        }
    },
    "root": {"handlers": ["console"], "level": env_str("DJANGO_LOG_LEVEL", "INFO")},
}

# --- The server process -------------------------------------------------------------

# Garbage collection (realtime/gc_tuning.py): freeze start-up objects out of
# collections, and collect less often than CPython's 700,10,10 (which paused
# the loop 80-320 ms at a time under chat load; docs/performance.md).
REALTIME_GC_FREEZE = env_bool("REALTIME_GC_FREEZE", True)
REALTIME_GC_THRESHOLDS = env_gc_thresholds("REALTIME_GC_THRESHOLDS", "50000,20,100")

# --- Chat --------------------------------------------------------------------------

# Guests (not logged in) may read and post in public rooms.
CHAT_ALLOW_GUESTS = env_bool("CHAT_ALLOW_GUESTS", True)
CHAT_MESSAGE_MAX_CHARS = env_int("CHAT_MESSAGE_MAX_CHARS", 4000)
# Chat messages per second, and burst, per connection and per user.
CHAT_RATE = env_float("CHAT_RATE", 5.0)
CHAT_BURST = env_int("CHAT_BURST", 10)
# At most one typing notice per user per room in this many seconds.
CHAT_TYPING_INTERVAL = env_float("CHAT_TYPING_INTERVAL", 2.0)

# --- Celery (background jobs) -------------------------------------------------------

# A Sentinel REDIS_URL becomes kombu's sentinel:// broker with its master_name.
CELERY_BROKER_URL, _celery_sentinel_options = celery_broker(REDIS_URL)
if os.environ.get("CELERY_BROKER_URL"):
    CELERY_BROKER_URL, _celery_sentinel_options = env_str("CELERY_BROKER_URL"), {}
CELERY_RESULT_BACKEND = None  # job state lives in the database (dashboard.Job)
CELERY_TASK_DEFAULT_QUEUE = env_str(
    "CELERY_TASK_DEFAULT_QUEUE", f"{REALTIME_REDIS_PREFIX}-jobs"
)
# A job is acknowledged only after it ran, and put back if its worker dies, so
# it is never lost; the price is that a job may run twice (jobs are idempotent).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Kombu's own keys (unacked, bindings) get our prefix too.
    "global_keyprefix": f"{REALTIME_REDIS_PREFIX}:celery:",
    # A message whose worker vanished without a word is redelivered after this.
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600),
    **_celery_sentinel_options,
}
CELERY_TASK_ALWAYS_EAGER = False
# Extra modules that register job kinds (web and worker import them at start).
JOB_KIND_MODULES = env_list("JOB_KIND_MODULES", "")

# --- Jobs -----------------------------------------------------------------------------

MEDIA_ROOT = Path(env_str("DJANGO_MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
EMAIL_BACKEND = env_str(
    "DJANGO_EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend"
)
EMAIL_FILE_PATH = BASE_DIR / "var" / "mail"
DEFAULT_FROM_EMAIL = env_str("DJANGO_DEFAULT_FROM_EMAIL", "realtime@localhost")
# Jobs retry transient errors this many times, with exponential backoff and jitter.
JOB_MAX_RETRIES = env_int("JOB_MAX_RETRIES", 4)
JOB_RETRY_BACKOFF_MAX = env_int("JOB_RETRY_BACKOFF_MAX", 60)
# Completion callbacks: HMAC-SHA256 key (empty: callbacks refused), and whether
# private/loopback targets are allowed (off: refused, against SSRF).
REALTIME_WEBHOOK_SECRET = env_str("REALTIME_WEBHOOK_SECRET")
REALTIME_WEBHOOK_ALLOW_PRIVATE = env_bool("REALTIME_WEBHOOK_ALLOW_PRIVATE", False)
REALTIME_WEBHOOK_MAX_ATTEMPTS = env_int("REALTIME_WEBHOOK_MAX_ATTEMPTS", 5)

# --- Live charts ---------------------------------------------------------------------

# How often Celery beat samples the built-in charts, in seconds.
CHARTS_SAMPLE_INTERVAL = env_float("CHARTS_SAMPLE_INTERVAL", 2.0)
CELERY_BEAT_SCHEDULE = {
    "sample-charts": {
        "task": "dashboard.tasks.sample_charts",
        "schedule": CHARTS_SAMPLE_INTERVAL,
        # A run that could not start on time is dropped, never queued up.
        "options": {"expires": CHARTS_SAMPLE_INTERVAL},
    }
}
