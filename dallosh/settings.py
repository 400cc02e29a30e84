"""Django settings for Dallosh.

Everything that differs between the embedded default and production comes from the
environment: MONGODB_URI, REDIS_URL, DATABASE_URL, DJANGO_SECRET_KEY, DJANGO_DEBUG,
DJANGO_ALLOWED_HOSTS. The defaults are the embedded default (loopback servers started by
`python -m dallosh.embedded start`).
"""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("DALLOSH_VAR", BASE_DIR / "var"))

DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise RuntimeError("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG=0")
    SECRET_KEY = "dallosh-embedded-default-not-for-production"
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

INSTALLED_APPS = [
    "daphne",
    "dallosh.apps.DalloshAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_q",
    "channels",
    "dallosh.apps.DalloshConfig",
    "ingestion",
    "tickets",
    "analysis",
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

ROOT_URLCONF = "dallosh.urls"
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
WSGI_APPLICATION = "dallosh.wsgi.application"
ASGI_APPLICATION = "dallosh.asgi.application"

# Django's own tables (users, groups, routing rules, django-q) live in SQL.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'dallosh.sqlite3'}"), conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file (not in-memory) test database, so a real django-q2 worker process can share it.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-dallosh.sqlite3")}
    DATABASES["default"]["OPTIONS"] = {"timeout": 20}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Tweets, tickets and jobs live in MongoDB (mongoengine). See dallosh/mongo.py.
MONGODB_URI = os.environ.get("MONGODB_URI", "mongodb://127.0.0.1:27018/dallosh?directConnection=true")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6380/0")

CHANNEL_LAYERS = {
    "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}},
}

Q_CLUSTER = {
    "name": "dallosh",
    "workers": int(os.environ.get("DALLOSH_Q_WORKERS", "2")),
    "timeout": 3600,
    "retry": 3700,
    "max_attempts": 3,
    "queue_limit": 50,
    "redis": REDIS_URL,
    "catch_up": False,
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").exists() else []

# Uploads are streamed to disk in chunks by the upload page, never held in memory.
DATA_UPLOAD_MAX_MEMORY_SIZE = 16 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 4 * 1024 * 1024

# --- Dallosh ingestion -------------------------------------------------------------------
DALLOSH = {
    # Rows per chunk: bounds memory whatever the file size.
    "INGEST_CHUNK_ROWS": int(os.environ.get("DALLOSH_INGEST_CHUNK_ROWS", "10000")),
    # A running job whose heartbeat is older than this is considered dead and can be resumed.
    "INGEST_STALE_AFTER_S": float(os.environ.get("DALLOSH_INGEST_STALE_AFTER_S", "120")),
    "UPLOAD_DIR": VAR_DIR / "uploads",
    "UPLOAD_CHUNK_BYTES": 8 * 1024 * 1024,
    "UPLOAD_MAX_BYTES": int(os.environ.get("DALLOSH_UPLOAD_MAX_BYTES", str(4 * 1024**3))),
    # Stream endpoint limits (per request).
    "STREAM_MAX_RECORDS": 5000,
    "STREAM_MAX_BYTES": 8 * 1024 * 1024,
    # The operator's own accounts in the French feed (brand posts are kept, not queued).
    "FR_BRAND_ACCOUNTS": os.environ.get("DALLOSH_FR_BRAND_ACCOUNTS", "Freebox,free").split(","),
    # Texts at least this long (normalised) are compared across authors for duplicates;
    # shorter ones ("thanks!") only within one author's tweets.
    "DUPLICATE_GLOBAL_MIN_CHARS": 40,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DALLOSH_LOG_LEVEL", "WARNING")},
}

# --- Production hardening (DJANGO_DEBUG=0): HTTPS behind the reverse proxy ----------------
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = os.environ.get("DJANGO_SSL_REDIRECT", "1") == "1"
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
