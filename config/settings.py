"""Django settings for Dallosh.

Everything that differs between the embedded default and production comes from the
environment: MONGODB_URI, REDIS_URL, DATABASE_URL, DJANGO_SECRET_KEY, DJANGO_DEBUG,
DJANGO_ALLOWED_HOSTS. The defaults are the embedded default (loopback servers started by
`python -m config.embedded start`).
"""

import os
from pathlib import Path

import dj_database_url

from config import embedded
from dallosh.conf import (
    AccessSettings,
    AnalysisSettings,
    EmbeddedSettings,
    IngestSettings,
    MailSettings,
    QueueSettings,
    SiteSettings,
    SlaSettings,
    TierSettings,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("DALLOSH_VAR", BASE_DIR / "var"))

# Off unless asked for: a production box that forgets the variable must not serve debug
# pages. The embedded default (scripts/demo.sh, scripts/test.sh, bench/) asks for it, and
# even then people see the styled error pages (dallosh.middleware.FriendlyErrorPages).
DEBUG = os.environ.get("DJANGO_DEBUG", "0") == "1"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise RuntimeError("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is not 1 (production settings); "
                           "on the embedded default, set DJANGO_DEBUG=1 as scripts/demo.sh does")
    SECRET_KEY = "dallosh-embedded-default-not-for-production"
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

INSTALLED_APPS = [
    "daphne",
    "config.apps.DalloshAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "channels",
    "dallosh.apps.DalloshConfig",
    "config.apps.WiringConfig",
    "ingestion",
    "tickets",
    "analysis",
    "dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",  # the browser's language, or the one chosen in the header
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "dallosh.middleware.FriendlyErrorPages",
    "dallosh.middleware.DomainErrors",  # after: its answer to a refusal comes first
]

ROOT_URLCONF = "config.urls"
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
                "dallosh.context_processors.navigation",
            ],
        },
    },
]
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

# Django's own tables (users, groups, routing rules, django-q) live in SQL.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'dallosh.sqlite3'}"), conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file (not in-memory) test database, so a real django-q2 worker process can share it
    # (the tests hand them its path); one per test run, so two runs side by side do not
    # flush each other's tables.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-dallosh-{os.getpid()}.sqlite3")}
    DATABASES["default"]["OPTIONS"] = {"timeout": 20}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The test suite creates hundreds of users: a fast hash there (and in the servers it starts),
# never in production (honoured only with DEBUG on).
if DEBUG and os.environ.get("DALLOSH_TEST_FAST_PASSWORD_HASHER") == "1":
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Tweets, tickets and jobs live in MongoDB (mongoengine). See dallosh/mongo.py.
# --- The embedded default: the loopback servers `python -m config.embedded start` runs ------
EMBEDDED = EmbeddedSettings(
    mongo_port=int(os.environ.get("DALLOSH_MONGO_PORT", "27018")),
    redis_port=int(os.environ.get("DALLOSH_REDIS_PORT", "6380")),
    local_model=os.environ.get("DALLOSH_LOCAL_MODEL", "qwen2.5-coder-1.5b"),  # or "off"
    local_model_port=int(os.environ.get("DALLOSH_LOCAL_MODEL_PORT", "8089")),
    model_dir=Path(os.environ.get("DALLOSH_MODEL_DIR", VAR_DIR / "models")),  # the joined GGUF files
    mailbox_port=int(os.environ.get("DALLOSH_MAILBOX_PORT", "9993")),
)
MONGODB_URI = os.environ.get("MONGODB_URI", embedded.mongo_uri(EMBEDDED.mongo_port))
REDIS_URL = os.environ.get("REDIS_URL", embedded.redis_url(EMBEDDED.redis_port))

# channels_redis blocks up to 5 s (brpop_timeout) waiting for a message; redis-py 8 reads
# with a 5 s socket timeout by default, so an idle websocket's read timed out and every
# socket dropped about every 5 s (redis/redis-py#4091). The read timeout stays above the
# blocking wait; keepalive still notices a dead connection.
REDIS_SOCKET_TIMEOUT_S = 30
CHANNEL_LAYERS = {
    "default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": REDIS_SOCKET_TIMEOUT_S,
                                      "socket_keepalive": True}]}},
}

Q_CLUSTER = {
    "name": "dallosh",
    "workers": int(os.environ.get("DALLOSH_Q_WORKERS", "2")),
    "timeout": 3600,
    "retry": 3700,
    "max_attempts": 3,
    # Few prefetched tasks: a killed cluster loses only those (the analysis sweeper re-queues them).
    "queue_limit": 2 * int(os.environ.get("DALLOSH_Q_WORKERS", "2")),
    "redis": REDIS_URL,
    "catch_up": False,
    # The default cluster does the housekeeping (ingest jobs, the sweeper, SLA flagging, alert
    # evaluation, re-routing); analysis has its own clusters, so a long LLM backlog never
    # delays them: `Q_CLUSTER_NAME=label manage.py qcluster` (the fast tier, seconds a task)
    # and `Q_CLUSTER_NAME=refine manage.py qcluster` (the LLM chain).
    "ALT_CLUSTERS": {
        # Two: one encodes while the other's bulk write is in the database.
        "label": {"workers": int(os.environ.get("DALLOSH_LABEL_WORKERS", "2")), "timeout": 600, "retry": 700,
                  "queue_limit": 2},
        "refine": {"workers": 1, "timeout": 3600, "retry": 3700, "queue_limit": 1},
    },
}

REST_FRAMEWORK = {
    "DEFAULT_PARSER_CLASSES": ["dallosh.json_input.JSONParser", "rest_framework.parsers.FormParser",
                               "rest_framework.parsers.MultiPartParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "dallosh.tokens.HashedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Domain errors by kind, and every refusal as {"error": …} (dallosh/middleware.py).
    "EXCEPTION_HANDLER": "dallosh.middleware.api_exception_handler",
    # Per process (the default local-memory cache): N web processes allow N times these rates.
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.UserRateThrottle",
                                 "rest_framework.throttling.AnonRateThrottle",
                                 "rest_framework.throttling.ScopedRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"user": os.environ.get("DALLOSH_API_USER_RATE", "1200/min"),
                               "anon": os.environ.get("DALLOSH_API_ANON_RATE", "60/min"),
                               "stream": os.environ.get("DALLOSH_API_STREAM_RATE", "600/min")},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Dallosh API",
    "DESCRIPTION": "Ticket queues and actions, KPIs, ingestion and routing rules. Token or session auth; the "
                   "same permissions as the pages. Request bodies are JSON. A text (a query parameter or a body's "
                   "string) with a NUL character is refused (400).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema describes internal endpoints: integrators read it with their token.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # The model's urgency and a rule's "set urgency" are one vocabulary: one enum in the schema.
    "ENUM_NAME_OVERRIDES": {"UrgencyEnum": "config.api_urls.urgency_choices"},
    # Every route's 401, 403 and 429, documented once.
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "config.api_urls.document_every_route"],
    # The browsable docs (/api/v1/docs) load Swagger UI from our static files, never a CDN, and
    # ask no outside validator to check the schema (its badge was an image from another site).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# French and English pages: the browser's language (Accept-Language) unless the person chose
# one in the header's switch; a client that names none (most API clients) gets English.
# Times are stored in UTC and shown in the operator's zone, named on the page
# (DALLOSH_TIME_ZONE, Europe/Paris by default).
LANGUAGE_CODE = "en"
LANGUAGES = [("fr", "Français"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("DALLOSH_TIME_ZONE", "Europe/Paris")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").exists() else []

# Uploads are streamed to disk in chunks by the upload page, never held in memory.
DATA_UPLOAD_MAX_MEMORY_SIZE = 16 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 4 * 1024 * 1024

# --- Dallosh ingestion -------------------------------------------------------------------
DALLOSH_INGEST = IngestSettings(
    chunk_rows=int(os.environ.get("DALLOSH_INGEST_CHUNK_ROWS", "10000")),
    chunk_bytes=int(os.environ.get("DALLOSH_INGEST_CHUNK_BYTES", str(32 * 1024**2))),
    stale_after_s=float(os.environ.get("DALLOSH_INGEST_STALE_AFTER_S", "120")),
    # No task nears the cluster's timeout whatever the file's size (2.8 M rows is over an
    # hour at 650 rows/s).
    slice_s=float(os.environ.get("DALLOSH_INGEST_SLICE_S", "300")),
    upload_dir=VAR_DIR / "uploads",
    upload_chunk_bytes=8 * 1024 * 1024,
    upload_max_bytes=int(os.environ.get("DALLOSH_UPLOAD_MAX_BYTES", str(4 * 1024**3))),
    stream_max_records=5000,
    stream_max_bytes=8 * 1024 * 1024,
    # Brand posts are kept, not queued.
    fr_brand_accounts=tuple(os.environ.get("DALLOSH_FR_BRAND_ACCOUNTS", "Freebox,free").split(",")),
    brand_addresses=tuple(os.environ.get("DALLOSH_BRAND_ADDRESSES", "support@dallosh.example").split(",")),
    mail_thread_window_h=7 * 24,
    call_agent_speakers=tuple(name.strip().casefold() for name in os.environ.get(
        "DALLOSH_CALL_AGENT_SPEAKERS", "agent,conseiller,conseillère,advisor,operator,opérateur,hotline").split(",")),
    # Shorter texts ("thanks!") are compared only within one author's tweets. A duplicate is
    # a repeat within a time window (tweet time): the same author saying "still no internet"
    # again within a day is one request; weeks later it is a new one.
    duplicate_global_min_chars=40,
    duplicate_author_window_h=24,
    duplicate_global_window_h=7 * 24,
    duplicate_forget_after_days=30,
)
# E-mail: the support mailbox is polled every minute when a URL is set; replies are sent when an SMTP URL is.
DALLOSH_MAIL = MailSettings(
    imap_url=os.environ.get("DALLOSH_IMAP_URL", ""),
    imap_cafile=Path(os.environ["DALLOSH_IMAP_CAFILE"]) if os.environ.get("DALLOSH_IMAP_CAFILE") else None,
    fetch_batch=int(os.environ.get("DALLOSH_IMAP_FETCH_BATCH", "200")),
    max_batches=50,
    timeout_s=60,
    smtp_url=os.environ.get("DALLOSH_SMTP_URL", ""),
    from_name=os.environ.get("DALLOSH_MAIL_FROM_NAME", "Dallosh Support"),
    send_attempts=8,  # about four hours of retries, the delay doubling from a minute
)
DALLOSH_SITE = SiteSettings(
    # Labelled tweets, dev sets: training and scorecards read them; the product runs without them.
    shared_data=Path(os.environ.get("DALLOSH_SHARED_DATA", BASE_DIR.parent / "shared" / "data")),
    demo_password=os.environ.get("DALLOSH_DEMO_PASSWORD", "dallosh-demo"),
    brand_handle=os.environ.get("DALLOSH_BRAND_HANDLE", "brand"),
)

# --- Dallosh back-office -------------------------------------------------------------------
# API tokens expire after this many days (a new one is made on the person's token page).
# Failed logins: this many for one account (or 4 times as many from one address) within the
# window lock it until the window ends.
DALLOSH_ACCESS = AccessSettings(
    token_days=int(os.environ.get("DALLOSH_TOKEN_DAYS", "90")),
    login_failures=int(os.environ.get("DALLOSH_LOGIN_FAILURES", "5")),
    login_window_minutes=int(os.environ.get("DALLOSH_LOGIN_WINDOW_MINUTES", "15")),
)
# Response-time targets per urgency, in hours ("high=1,medium=8,low=48"): the clock starts
# when the customer wrote, or when we received it if later (bulk imports of old tweets).
def _sla_hours(variable: str, default: str) -> dict[str, float]:
    return {urgency: float(hours) for urgency, hours in (item.split("=") for item in
                                                         os.environ.get(variable, default).split(","))}


# Response targets in hours per urgency: tweets' by default; a customer who e-mails expects an
# answer within the working day, one who called and is waiting for a call back sooner.
DALLOSH_SLA = SlaSettings(hours=_sla_hours("DALLOSH_SLA_HOURS", "high=1,medium=8,low=48"), channel_hours={
    "email": _sla_hours("DALLOSH_SLA_EMAIL_HOURS", "high=4,medium=24,low=72"),
    "call": _sla_hours("DALLOSH_SLA_CALL_HOURS", "high=2,medium=8,low=48"),
})
# Queue rows per page; how long one page request may read candidate tickets when filters
# (search above all) are selective, past which the page says how far it searched and
# offers to search further; and the most candidates one read may hold.
DALLOSH_QUEUE = QueueSettings(page_size=50, window_max=300,
                              scan_budget_ms=float(os.environ.get("DALLOSH_QUEUE_SCAN_BUDGET_MS", "80")))

# --- Dallosh analysis: the provider chain (analysis/chain.py) ------------------------------
# A tier is enabled by configuring it: OpenAI by an API key (or a compatible base URL),
# Ollama by its host; the built-in local model is on unless DALLOSH_LOCAL_MODEL=off.
# The cores this process may run on (a container's or taskset's share, not the host's).
_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
DALLOSH_ANALYSIS = AnalysisSettings(
    tiers=tuple(t.strip() for t in os.environ.get("DALLOSH_ANALYSIS_TIERS", "openai,ollama,local").split(",") if t),
    providers={
        "openai": TierSettings(
            name="openai",
            enabled=bool(os.environ.get("OPENAI_API_KEY") or os.environ.get("OPENAI_BASE_URL")),
            kind="openai",
            model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"),
            base_url=os.environ.get("OPENAI_BASE_URL") or None,
            api_key=os.environ.get("OPENAI_API_KEY"),
            timeout_s=float(os.environ.get("OPENAI_TIMEOUT_S", "30")),
            # A billed API: many tweets per prompt so the instructions are paid once per batch.
            batch_size=int(os.environ.get("DALLOSH_OPENAI_BATCH_SIZE", "20")),
            batch_token_budget=8000,
            price_in_per_mtok=float(os.environ.get("OPENAI_PRICE_IN_PER_MTOK", "0.15")),
            price_out_per_mtok=float(os.environ.get("OPENAI_PRICE_OUT_PER_MTOK", "0.60")),
        ),
        "ollama": TierSettings(
            name="ollama",
            enabled=bool(os.environ.get("OLLAMA_HOST")),
            kind="ollama",
            model=os.environ.get("OLLAMA_MODEL", "qwen2.5:1.5b-instruct"),
            base_url=os.environ.get("OLLAMA_HOST"),
            timeout_s=float(os.environ.get("OLLAMA_TIMEOUT_S", "60")),
            batch_size=int(os.environ.get("DALLOSH_OLLAMA_BATCH_SIZE", "1")),
        ),
        "local": TierSettings(
            name="local",
            enabled=EMBEDDED.local_model != "off",
            kind="openai",
            model=EMBEDDED.local_model,
            base_url=os.environ.get("DALLOSH_LOCAL_MODEL_URL", f"http://127.0.0.1:{EMBEDDED.local_model_port}/v1"),
            timeout_s=float(os.environ.get("DALLOSH_LOCAL_MODEL_TIMEOUT_S", "120")),
            # Small local models label best one tweet at a time, and llama.cpp caches the
            # shared instructions, so batching saves them no time.
            batch_size=int(os.environ.get("DALLOSH_LOCAL_BATCH_SIZE", "1")),
            # Sentiment less sure than this gets a second, sentiment-only opinion (0: never).
            second_pass_below=float(os.environ.get("DALLOSH_LOCAL_SECOND_PASS_BELOW", "0")),
        ),
    },
    # Start the local model server when the local tier finds nothing listening.
    local_autostart=os.environ.get("DALLOSH_LOCAL_MODEL_AUTOSTART", "1") == "1",
    # Refinement never slows routing or the pages: the local model's server and the refine
    # cluster's workers run at this nice level (19: the lowest priority; 0: as started), the
    # model decodes on this many threads (a core is left to labelling, ingestion and the web:
    # 1 on a machine of 2 cores or fewer, else all cores but one), and a refinement task waits
    # up to refine_pause_s while labelling has work waiting (analysis/tasks.py).
    refine_nice=int(os.environ.get("DALLOSH_REFINE_NICE", "19")),
    local_model_threads=int(os.environ.get("DALLOSH_LOCAL_MODEL_THREADS", "0")) or max(1, _CORES - 1),
    refine_pause_s=float(os.environ.get("DALLOSH_REFINE_PAUSE_S", "30")),
    breaker_failures=int(os.environ.get("DALLOSH_BREAKER_FAILURES", "3")),
    breaker_cooldown_s=float(os.environ.get("DALLOSH_BREAKER_COOLDOWN_S", "30")),
    breaker_max_cooldown_s=600.0,
    # Tickets per worker task, and how long a worker holds them before others may take over.
    task_tickets=int(os.environ.get("DALLOSH_ANALYSIS_TASK_TICKETS", "20")),
    lease_s=float(os.environ.get("DALLOSH_ANALYSIS_LEASE_S", "900")),
    # A ticket every tier failed on waits this long (doubling, capped) before its next try.
    retry_after_s=float(os.environ.get("DALLOSH_ANALYSIS_RETRY_AFTER_S", "60")),
    # Enqueued tickets not claimed within this time are enqueued again by the sweeper.
    requeue_after_s=float(os.environ.get("DALLOSH_ANALYSIS_REQUEUE_AFTER_S", "600")),
    auto_enqueue=os.environ.get("DALLOSH_ANALYSIS_AUTO_ENQUEUE", "1") == "1",
    # The fast tier: embedding heads label and route every ticket at once (starter heads ship
    # with the project; manage.py train_classifier improves them); off: the LLM labels all.
    fast_tier=os.environ.get("DALLOSH_FAST_TIER", "on") != "off",
    encoder_threads=int(os.environ.get("DALLOSH_ENCODER_THREADS", "1")),
    # How often each process looks for a newly active version of the heads (a training or a
    # rollback reaches every worker within this time).
    heads_reload_s=float(os.environ.get("DALLOSH_HEADS_RELOAD_S", "60")),
    # Tasks allowed to wait in the broker per analysis cluster: the backlog waits in MongoDB.
    max_waiting_tasks=int(os.environ.get("DALLOSH_ANALYSIS_MAX_WAITING_TASKS", "4")),
    # Prompt tokens given to agents' corrections of similar tweets (analysis/corrections.py).
    fewshot_tokens=int(os.environ.get("DALLOSH_FEWSHOT_TOKENS", "250")),
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"timed": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "timed"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DALLOSH_LOG_LEVEL", "WARNING")},
    # What the workers do (tickets labelled, refined, re-queued), in each cluster's log.
    "loggers": {"dallosh": {"handlers": ["console"], "level": os.environ.get("DALLOSH_WORKER_LOG_LEVEL", "INFO"),
                            "propagate": False}},
}

# --- Production hardening (DJANGO_DEBUG=0): HTTPS behind the reverse proxy ----------------
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = os.environ.get("DJANGO_SSL_REDIRECT", "1") == "1"
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    # Preloading is a commitment for the whole domain: on by default, DJANGO_HSTS_PRELOAD=0 to opt out.
    SECURE_HSTS_PRELOAD = os.environ.get("DJANGO_HSTS_PRELOAD", "1") == "1"
    SECURE_CONTENT_TYPE_NOSNIFF = True
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
