"""Settings of the agent desktop: one file, every environment-dependent value read from the
environment (or a `.env` file beside manage.py) through django-environ.

`.env.example` documents every key and its default. The embedded defaults need no server at all
(SQLite, a filesystem Celery broker, a file cache, the built-in VCC sandbox); set `DATABASE_URL`
and `REDIS_URL` and the same code runs on PostgreSQL and Redis. `DJANGO_ENV=production` turns
on the production profile, which refuses to start when it is unsafe (see
`agentdesk/production.py`).
"""

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF
from python_ipware import IpWare

from agentdesk.production import refuse_unsafe_production
from payments.vcc.accounts import ACCOUNT_KEYS, BUILTIN, env_key

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# Values already in the process environment win over the file.
environ.Env.read_env(env.str("ENV_FILE", default=str(BASE_DIR / ".env")), overwrite=False)

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
PRODUCTION = DJANGO_ENV == "production"
if DJANGO_ENV not in {"development", "production"}:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        f"DJANGO_ENV must be 'development' or 'production', not {DJANGO_ENV!r}."
    )

# Where the embedded defaults keep their files (SQLite, broker folders, cache, beat schedule).
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEV_SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"
SECRET_KEY = env.str("SECRET_KEY", default="" if PRODUCTION else DEV_SECRET_KEY)
DEBUG = env.bool("DEBUG", default=not PRODUCTION)
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=[] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]"]
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# The public base URL of this app, used where an absolute URL leaves the process (the webhook
# URL handed to VCC, the sandbox's webhook target).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    # Trigram index expressions (customers migration 0004) and lookups on PostgreSQL.
    "django.contrib.postgres",
    "django_htmx",
    "csp",
    "template_partials",
    # Staff security (docs/security.md): the second factor and sign-in throttling. Before our
    # staff app, whose admin replaces their admin pages.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "agentdesk.staff",
    "customers",
    "payments",
    "agentdesk.desk",
]

MIDDLEWARE = [
    # /healthz and /readyz, answered before anything else (agentdesk/health.py).
    "agentdesk.health.HealthMiddleware",
    # /metrics for Prometheus (not public), and the desk's request latency (agentdesk/metrics.py).
    "agentdesk.metrics.MetricsMiddleware",
    # The request id of every log line and enqueued task (agentdesk/logs.py).
    "agentdesk.logs.RequestIdMiddleware",
    # An unchanged status poll answered from the cache, ahead of the session and the rest
    # (agentdesk/desk/quickpoll.py).
    "agentdesk.desk.quickpoll.UnchangedStatusMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "agentdesk.permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "agentdesk.staff.sessions.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(), then: whoever needs a second factor uses it before anything else.
    "django_otp.middleware.OTPMiddleware",
    "agentdesk.staff.second_factor.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last: turns a locked sign-in into the lockout page (django-axes).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "agentdesk.urls"
WSGI_APPLICATION = "agentdesk.wsgi.application"

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
                "agentdesk.context_processors.csp_nonce",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'agentdesk.sqlite3'}")
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one SQLite file: wait for locks instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    )
    # Tests get a file too, not SQLite's in-memory default: the live server's threads, the
    # sandbox's webhook thread and the test itself then use connections of their own, as
    # separate processes do.
    DATABASES["default"].setdefault("TEST", {}).setdefault(
        "NAME", str(VAR_DIR / "test-agentdesk.sqlite3")
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # PostgreSQL settings for our connections (docs/deploy.md): short queries many times a
    # second, not reports. work_mem: the supervisors' filters intersect bitmaps of hundreds of
    # thousands of payments at 10,000,000, which the 4MB default makes lossy (every row of
    # their pages rechecked: a second instead of 100 ms). No JIT compilation (30 ms spent to
    # save nothing on a query that reads a few thousand rows) and no parallel workers (their
    # start and merge cost a LIMIT 100 query 150 ms where one process takes 27 ms; two cores
    # serve several requests at once anyway).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "options",
        env.str(
            "DATABASE_SESSION_OPTIONS",
            default="-c work_mem=32MB -c jit=off -c max_parallel_workers_per_gather=0",
        ),
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis, when configured, carries the Celery broker and the shared cache (VCC tokens, locks).
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "agentdesk",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    # PCI DSS v4 8.3.6: at least 12 characters.
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes checks and counts every password sign-in first, then Django checks the password.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Sessions: an idle timeout renewed by every request the agent makes (not by the desk's status
# polling, see agentdesk/staff/sessions.py), and an absolute timeout counted from sign-in.
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_SECONDS", default=30 * 60)
SESSION_SAVE_EVERY_REQUEST = True
# The idle timeout is renewed (the session row written) at most this often
# (agentdesk/staff/sessions.py).
SESSION_RENEW_SECONDS = env.int("SESSION_RENEW_SECONDS", default=60)
SESSION_ABSOLUTE_SECONDS = env.int("SESSION_ABSOLUTE_SECONDS", default=12 * 60 * 60)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Our pages are never framed; the provider's page is framed by us (CSP frame-src, below).
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin-allow-popups"
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# Content Security Policy (django-csp 4): only our own scripts (with a nonce for inline ones),
# nobody frames us, and the PCI provider's page may be framed and posted to, nothing else.
VCC_PROVIDER_ORIGINS = env.list("VCC_PROVIDER_ORIGINS", default=[])
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "frame-src": [SELF, *VCC_PROVIDER_ORIGINS],
        "form-action": [SELF, *VCC_PROVIDER_ORIGINS],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    }
}

# Celery: Redis when REDIS_URL is set, otherwise kombu's filesystem transport (no server).
# (kombu warns of a filesystem URL without a host, so the default names one it ignores)
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://localhost/")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # Its exchange tables, which kombu would otherwise write to ./control.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    # Longer than any countdown we use, far shorter than Celery's one-hour default, so a
    # killed worker's late-acked task comes back inside VCC's result retention.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=300),
        # kombu looks for unacknowledged messages past the visibility timeout only every
        # interval x throttle seconds (10 x 10 by default): every interval, here.
        "unacked_restore_interval": env.int("CELERY_UNACKED_RESTORE_SECONDS", default=10),
        "unacked_restore_throttle": 1,
        # A broker that vanishes without closing the connection must not hang a publish
        # (a web request enqueueing work) forever.
        "socket_timeout": 10,
        "socket_connect_timeout": 5,
    }
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # kombu's Redis transport with the fix that keeps a worker consuming after the broker
    # restarts under a running task (see agentdesk/broker.py).
    CELERY_BROKER_TRANSPORT = "agentdesk.broker:Transport"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TIMEZONE = "UTC"

# VCC accounts: names in VCC_ACCOUNTS, each configured by VCC_<NAME>_* keys (secrets stay in
# the environment, never in the database). payments.vcc.accounts validates them and
# `manage.py check` reports what is wrong. The name "builtin" is the built-in sandbox.
VCC_SANDBOX_ENABLED = env.bool("VCC_SANDBOX_ENABLED", default=not PRODUCTION)
VCC_ACCOUNTS: dict[str, dict[str, str]] = {
    name: {key: env.str(env_key(name, key), default="") for key in ACCOUNT_KEYS}
    for name in env.list("VCC_ACCOUNTS", default=[BUILTIN] if VCC_SANDBOX_ENABLED else [])
}
# Testing only (VCC's skipCallTransfer): open sessions without a live call. Never in production.
VCC_SKIP_CALL_TRANSFER = env.bool("VCC_SKIP_CALL_TRANSFER", default=False)
VCC_CONNECT_TIMEOUT = env.float("VCC_CONNECT_TIMEOUT", default=3.05)
VCC_READ_TIMEOUT = env.float("VCC_READ_TIMEOUT", default=10.0)
VCC_RESULT_RETENTION = timedelta(seconds=env.int("VCC_RESULT_RETENTION_SECONDS", default=900))

# The built-in sandbox (payments/vcc/sandbox/README.md): these are its defaults; tests and
# demos change them at run time through its control API.
if VCC_SANDBOX_ENABLED:
    INSTALLED_APPS.append("payments.vcc.sandbox")
# How long a finished session's result stays readable (VCC: 15 minutes), and whether it sends
# webhooks (off: results come home by polling alone).
VCC_SANDBOX_RETENTION_SECONDS = env.float(
    "VCC_SANDBOX_RETENTION_SECONDS", default=VCC_RESULT_RETENTION.total_seconds()
)
VCC_SANDBOX_WEBHOOKS = env.bool("VCC_SANDBOX_WEBHOOKS", default=True)
# How long the provider's agent page lives: a session VCC still reports as never progressed
# after this is expired (the caller can no longer key a card into it).
VCC_PAGE_LIFETIME = timedelta(seconds=env.int("VCC_PAGE_LIFETIME_SECONDS", default=600))


def _poll_schedule(
    text: str, name: str = "PAYMENT_POLL_SCHEDULE"
) -> tuple[tuple[timedelta, timedelta | None], ...]:
    """ "1:180,5:600,15" -> every 1 s until 180 s, every 5 s until 600 s, then every 15 s."""
    steps = []
    for step in text.split(","):
        interval, _, until = step.strip().partition(":")
        steps.append(
            (timedelta(seconds=float(interval)), timedelta(seconds=float(until)) if until else None)
        )
    if not steps or steps[-1][1] is not None or any(i.total_seconds() <= 0 for i, _ in steps):
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            f"{name}: give interval:until_age pairs in seconds and end with a "
            "plain interval, e.g. 1:180,5:600,15."
        )
    return tuple(steps)


# Polling a live session (docs/results.md): the interval by the session's age, until the last
# read inside VCC's retention.
PAYMENT_POLL_SCHEDULE = _poll_schedule(env.str("PAYMENT_POLL_SCHEDULE", default="1:180,5:600,15"))
# Reading a payment link's session (it lives 72 hours; the webhook brings its result): every
# 10 minutes in the first half hour, then every 4 hours, and once after the link ends.
# 10,000 open links cost VCC under 1 GET/s (docs/results.md, "Payment links").
PAYMENT_LINK_POLL_SCHEDULE = _poll_schedule(
    env.str("PAYMENT_LINK_POLL_SCHEDULE", default="600:1800,14400"), "PAYMENT_LINK_POLL_SCHEDULE"
)
# A worker that claims a read holds it this long; if it dies, another takes it over after.
PAYMENT_POLL_LEASE = timedelta(seconds=env.int("PAYMENT_POLL_LEASE_SECONDS", default=60))
# The batch poller's concurrent reads per round, and rounds at once per worker (keep it below
# the worker's concurrency: a pool process stays free for webhooks).
PAYMENT_POLL_THREADS = env.int("PAYMENT_POLL_THREADS", default=32)
PAYMENT_POLL_ROUNDS = env.int("PAYMENT_POLL_ROUNDS", default=2)
# At most this many reads a second by all workers together; 0, the default: no limit beyond
# the workers' own (docs/results.md). For an account whose VCC asks us to read less: during a
# webhook outage every live session is on the quick schedule, one read a second each.
PAYMENT_POLL_MAX_READS_PER_SECOND = env.int("PAYMENT_POLL_MAX_READS_PER_SECOND", default=0)
if PAYMENT_POLL_MAX_READS_PER_SECOND < 0:  # a negative ceiling would stop every read
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        "PAYMENT_POLL_MAX_READS_PER_SECOND: give the most reads a second (0 for no limit), "
        f"not {PAYMENT_POLL_MAX_READS_PER_SECOND}."
    )
# While webhooks are healthy (docs/results.md, *Polling that respects VCC*: a delivery VCC
# confirmed within WEBHOOK_HEALTHY_WINDOW, and no result since that the poller had to find
# itself), a live session is read only this often: a safety net. Otherwise the schedule above.
PAYMENT_POLL_SAFETY_NET = timedelta(seconds=env.int("PAYMENT_POLL_SAFETY_NET_SECONDS", default=60))
WEBHOOK_HEALTHY_WINDOW = timedelta(seconds=env.int("WEBHOOK_HEALTHY_WINDOW_SECONDS", default=120))
# How often celery beat starts a round of the batch poller; a round takes the reads due within
# half a tick too, so reads land on schedule rather than a tick late.
PAYMENT_POLL_TICK = timedelta(seconds=1)

# Webhook: VCC first obtains a bearer token from our token endpoint with these client
# credentials (handed to Vonage), then POSTs results with it. Empty in production = webhooks
# refused (polling alone still gets every result home).
WEBHOOK_CLIENT_ID = env.str(
    "WEBHOOK_CLIENT_ID", default="" if PRODUCTION else "builtin-webhook-client"
)
WEBHOOK_CLIENT_SECRET = env.str(
    "WEBHOOK_CLIENT_SECRET", default="" if PRODUCTION else "builtin-webhook-secret"
)
# A delivery still unprocessed this long after it arrived lost its task (broker down): the
# sweep queues it again.
WEBHOOK_REQUEUE_AFTER = timedelta(seconds=env.int("WEBHOOK_REQUEUE_AFTER_SECONDS", default=30))

# celery beat (exactly one instance): the batch poller every second, the safety-net sweep.
# Stale runs are dropped rather than piled up behind a busy worker.
CELERY_BEAT_SCHEDULE = {
    "poll-due-payments": {
        "task": "payments.poll_due",
        "schedule": PAYMENT_POLL_TICK.total_seconds(),
        "options": {"expires": 10},
    },
    "sweep-payments": {
        "task": "payments.sweep",
        "schedule": env.float("PAYMENT_SWEEP_SECONDS", default=30.0),
        "options": {"expires": 60},
    },
}

# Sign-in throttling (django-axes): this many failed sign-ins of one username from one client
# address lock that pair for the window after the last one. Locking the pair, not the address,
# keeps one office behind one proxy from locking everyone; administrators see and unlock locked
# sign-ins in admin (Axes -> Access attempts).
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
# PCI DSS 8.3.4: at most 10 attempts, locked for at least 30 minutes (production refuses less).
LOGIN_FAILURE_WINDOW = timedelta(seconds=env.int("LOGIN_FAILURE_WINDOW_SECONDS", default=1800))
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = LOGIN_FAILURE_WINDOW
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked.html"
# Successful sign-ins are in our audit trail already; axes keeps only the failures.
AXES_DISABLE_ACCESS_LOG = True
# Locked sign-ins are shown in admin by our own page, whose unlocking is audited.
AXES_ENABLE_ADMIN = False
# The client address of the audit trail and of axes (agentdesk/staff/addresses.py).
AXES_CLIENT_IP_CALLABLE = "agentdesk.staff.addresses.client_address"
# A card number typed as a username is scrubbed before axes stores it, and what axes keeps of
# the posted form (and logs) masks these fields.
AXES_USERNAME_CALLABLE = "agentdesk.staff.signin.typed_username"
AXES_SENSITIVE_PARAMETERS = ["username", "password", "csrfmiddlewaretoken", "code"]
# The proxies in front of the app, one entry per hop from the client's side to ours, each an
# address or a network (e.g. "10.0.0.0/8" for one load balancer in that network). The client
# address is read from X-Forwarded-For only when the request comes from these; empty: the
# socket's address, and X-Forwarded-For is ignored.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
try:
    IpWare(proxy_list=TRUSTED_PROXIES)
except ValueError as error:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f"TRUSTED_PROXIES: {error}") from error

# The second factor (django-otp: an authenticator app's TOTP code, or a one-time recovery
# code). Supervisors and administrators must use one in production (the production profile
# refuses to start without); in development it is off by default, so `make run` signs in with
# a password alone. Agents: off unless MFA_FOR_AGENTS.
MFA_REQUIRED_FOR_STAFF = env.bool("MFA_REQUIRED_FOR_STAFF", default=PRODUCTION)
MFA_FOR_AGENTS = env.bool("MFA_FOR_AGENTS", default=False)
MFA_RECOVERY_CODES = 10
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Agent desk")

# The desk: where callers are found (customers/crm.py: builtin = our own customers, http = a
# JSON CRM, docs/crm.md), and the defaults of manual entry.
CRM_ADAPTER = env.str("CRM_ADAPTER", default="builtin")
CRM_URL = env.str("CRM_URL", default="").rstrip("/")
CRM_TOKEN = env.str("CRM_TOKEN", default="")
CRM_TIMEOUT = env.float("CRM_TIMEOUT", default=2.0)
DESK_DEFAULT_COUNTRY = env.str("DESK_DEFAULT_COUNTRY", default="GB")
DESK_DEFAULT_CURRENCY = env.str("DESK_DEFAULT_CURRENCY", default="GBP")

# Admin lists count matching rows up to this many: past it they say "more than N" and payment
# totals ask for a narrower filter, so no page counts a whole large table.
ADMIN_COUNT_LIMIT = env.int("ADMIN_COUNT_LIMIT", default=10_000)

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# plain (a laptop) or json: one JSON object per line, with the request id, payment id and
# session GUID as fields (docs/operations.md).
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in {"plain", "json"}:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f"LOG_FORMAT must be 'plain' or 'json', not {LOG_FORMAT!r}.")
# Take X-Request-ID from the request (only when a proxy we trust always sets or replaces it).
TRUST_REQUEST_ID_HEADER = env.bool("TRUST_REQUEST_ID_HEADER", default=False)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "agentdesk.shared.logcontext.ContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            "timestamp": False,
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
# Celery workers log through the configuration above when it is JSON (Celery would otherwise
# replace the root logger's handlers with its own plain ones).
CELERY_WORKER_HIJACK_ROOT_LOGGER = LOG_FORMAT != "json"

# Errors to Sentry (agentdesk/sentry.py), only when a DSN is set; its events are scrubbed of
# what our logs never hold.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    from agentdesk import sentry

    sentry.init(
        dsn=SENTRY_DSN,
        environment=env.str("SENTRY_ENVIRONMENT", default=DJANGO_ENV),
        release=env.str("SENTRY_RELEASE", default=""),
    )

# Prometheus (agentdesk/metrics.py, docs/operations.md): /metrics asks for
# "Authorization: Bearer <METRICS_TOKEN>"; without a token it is answered only outside
# production. METRICS_WORKER_BIND (host:port) makes each Celery worker serve its own /metrics.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_WORKER_BIND = env.str("METRICS_WORKER_BIND", default="")

refuse_unsafe_production(globals())
