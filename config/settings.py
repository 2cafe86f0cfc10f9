"""Settings for the FinOps maturity assessment app, read from the environment.

Every value comes from an environment variable with a safe default for local
use. A malformed value stops start-up with ImproperlyConfigured naming the
variable, so a typo in production fails loudly instead of running half-set.
"""

import datetime
import os
import zoneinfo
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def read_env_file(path: str) -> None:
    """Load KEY=VALUE lines from a local .env file into the environment.

    Real environment variables win, so production and CI set everything
    explicitly; the file only saves a developer from exporting variables
    for every `manage.py` command (`make run` writes one with DEBUG=true).
    """
    if not path or not Path(path).is_file():
        return
    for number, line in enumerate(Path(path).read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise ImproperlyConfigured(f"{path}, line {number}: expected NAME=value.")
        os.environ.setdefault(name.strip(), value.strip().strip("\"'"))


read_env_file(os.environ.get("ENV_FILE", str(BASE_DIR / ".env")))


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {raw!r}.")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}.") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def database_from_env(name: str, default: str) -> dict:
    """Parse DATABASE_URL; only SQLite and PostgreSQL are supported."""
    url = os.environ.get(name) or default
    if urlsplit(url).scheme not in ("sqlite", "postgres", "postgresql", "pgsql"):
        raise ImproperlyConfigured(
            f"{name} must be a sqlite:// or postgres:// URL, got {url!r}."
        )
    try:
        config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    except Exception as exc:  # dj-database-url raises several types
        raise ImproperlyConfigured(f"{name} is not a valid URL: {exc}") from None
    if not config.get("NAME"):
        raise ImproperlyConfigured(f"{name} must name a database, got {url!r}.")
    return config


def email_from_env(name: str) -> dict:
    """Turn EMAIL_URL (smtp://user:pass@host:port?tls=1) into Django settings."""
    url = os.environ.get(name, "")
    if not url or url.startswith("console:"):
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if url.startswith("locmem:"):
        return {"EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ImproperlyConfigured(
            f"{name} must look like smtp://user:password@host:587?tls=1, got {url!r}."
        )
    try:
        port = parts.port or (465 if parts.scheme == "smtps" else 25)
    except ValueError:
        raise ImproperlyConfigured(f"{name} has an invalid port.") from None
    query = parse_qs(parts.query)
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": parts.hostname,
        "EMAIL_PORT": port,
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_SSL": parts.scheme == "smtps",
        "EMAIL_USE_TLS": query.get("tls", ["0"])[0] in ("1", "true"),
    }


DEBUG = env_bool("DEBUG", False)

# Without a key and with DEBUG off, SECRET_KEY stays empty: commands that
# sign nothing (migrate, makemigrations, check) still run, Django refuses
# any use of the empty key, and the server refuses to start
# (config/startup.py, called by config/wsgi.py and config/asgi.py).
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY and DEBUG:
    SECRET_KEY = "insecure-local-development-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
CSRF_FAILURE_VIEW = "assessment.views_errors.csrf_failure"

TIME_ZONE = env_str("TIME_ZONE", "UTC")
try:
    zoneinfo.ZoneInfo(TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError):
    raise ImproperlyConfigured(
        f"TIME_ZONE must be an IANA zone such as Europe/Paris, got {TIME_ZONE!r}."
    ) from None
USE_TZ = True
LANGUAGE_CODE = "en-us"
USE_I18N = True

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "axes",
    "csp",
    # Background jobs: Django's tasks API (built in from Django 6; the
    # backport until then) with the database backend and its db_worker.
    "django_tasks",
    "django_tasks_db",
    "assessment",
]

MIDDLEWARE = [
    # First: a load balancer's probe is answered before host validation and
    # the HTTPS redirect, which a probe to the bare instance would fail.
    "assessment.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Below WhiteNoise: static files keep their long cache lifetime.
    "assessment.security.PrivateResponseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
    "default": database_from_env("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "assessment_cache",
    }
}

# Jobs wait in the database (SQLite or PostgreSQL alike) until a
# `manage.py db_worker` process runs them; any number of workers on any
# number of machines share the queue. Tests run tasks immediately.
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"django.contrib.auth.password_validation.{name}"}
    for name in (
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    )
]
AUTHENTICATION_BACKENDS = [
    # Refuses a login while its username and address are locked out.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "assessment:home"
LOGOUT_REDIRECT_URL = "login"

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedStaticFilesStorage"
    },
}
# Once `collectstatic` has run, serve only what it wrote: with the app folders
# served too, their plain files would take the place of the compressed copies
# it made. Before (development, the tests), look each file up in the app
# folders when it is asked for, so nothing needs collecting and no start-up
# reads every file.
WHITENOISE_USE_FINDERS = WHITENOISE_AUTOREFRESH = DEBUG or not STATIC_ROOT.is_dir()

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

vars().update(email_from_env("EMAIL_URL"))
DEFAULT_FROM_EMAIL = env_str(
    "DEFAULT_FROM_EMAIL", "FinOps assessments <finops@localhost>"
)
# A mail server that stops answering fails the message after this many
# seconds (then it is retried), instead of holding a worker forever.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
# A worker's claim on a batch of emails lapses after this many seconds; a
# job then takes over from a worker that vanished (see assessment.mailing).
EMAIL_JOB_LEASE_SECONDS = env_int("EMAIL_JOB_LEASE_SECONDS", 300)
# Absolute links in emails need the public address of the site.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
REFERRER_POLICY = "same-origin"
SECURE_REFERRER_POLICY = "same-origin"
# HTTPS. Off by default so that a server without TLS (local use, the
# benchmarks) works; the production environment in .env.example turns them on.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Behind a proxy that terminates TLS: trust its X-Forwarded-Proto (so links
# are built with https) and its X-Forwarded-For (the address that login
# throttling counts). Never on without such a proxy: clients could forge both.
BEHIND_PROXY = env_bool("BEHIND_PROXY", False)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content-Security-Policy: scripts and styles from our own static files only
# (no inline code); images may be data: URIs (charts, Bootstrap's icons).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
# Browser features no page uses (assessment.security sends the header).
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"

# Login throttling (django-axes): failures are counted in the database, so
# every worker and server sees the same lockouts. A username is locked for
# one client address only, so an attacker cannot lock a user out everywhere.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "assessment.security.lockout_response"
AXES_CLIENT_IP_CALLABLE = "assessment.security.client_ip"
# Logged as warnings otherwise: one line per failed login is enough.
AXES_VERBOSE = False

# Personal and open links stop working this many days after the assessment
# closes (owners can keep them longer, assessment by assessment).
SURVEY_LINK_DAYS_AFTER_CLOSE = env_int("SURVEY_LINK_DAYS_AFTER_CLOSE", 30)

# Uploaded files (cost exports, until they are processed). Production
# setups with several machines point STORAGES["default"] at an object store
# (django-storages; see the README).
MEDIA_ROOT = env_str("MEDIA_ROOT", str(BASE_DIR / "uploads"))
MEDIA_URL = "media/"

# Cost evidence: DuckDB reads the exports within these bounds.
EVIDENCE_MAX_FILE_MB = env_int("EVIDENCE_MAX_FILE_MB", 5 * 1024)
EVIDENCE_MEMORY_LIMIT = env_str("EVIDENCE_MEMORY_LIMIT", "512MB")
EVIDENCE_THREADS = env_int("EVIDENCE_THREADS", 2)
EVIDENCE_TEMP_DIR = env_str("EVIDENCE_TEMP_DIR", "")

# PDF reports render in background jobs, each in a process of its own stopped
# after this many seconds. The engine is named by its dotted path because the
# render process imports it (a test swaps in a slow one).
REPORT_RENDER_SECONDS = env_int("REPORT_RENDER_SECONDS", 60)
REPORT_PDF_ENGINE = "assessment.pdf_engine.weasyprint_pdf"

# Joins through open links allowed per hour, per link and per client address.
OPEN_LINK_JOINS_PER_HOUR = env_int("OPEN_LINK_JOINS_PER_HOUR", 100)
OPEN_LINK_JOINS_PER_ADDRESS_PER_HOUR = env_int(
    "OPEN_LINK_JOINS_PER_ADDRESS_PER_HOUR", 10
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
    "loggers": {"fontTools": {"level": "WARNING"}, "weasyprint": {"level": "ERROR"}},
}
