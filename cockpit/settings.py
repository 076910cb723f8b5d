"""Cockpit settings, read from the environment through ``cockpit.env``.

Defaults are the embedded ones (SQLite, in-memory channel layer, eager Celery) so that ``make run`` works on
a bare machine; ``DATABASE_URL`` and ``REDIS_URL`` switch to PostgreSQL and Redis. ``COCKPIT_ENV=production``
turns on every deployment check and refuses to start without real secrets.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from django.utils.csp import CSP

from cockpit.env import Env, ImproperlyConfiguredEnv

BASE_DIR = Path(__file__).resolve().parent.parent
env = Env()

COCKPIT_ENV = env.str("COCKPIT_ENV", "development", choices=("development", "production"))
DEVELOPMENT = COCKPIT_ENV == "development"
DEBUG = env.bool("DEBUG", DEVELOPMENT)
if DEBUG and not DEVELOPMENT:
    raise ImproperlyConfiguredEnv("DEBUG=true is refused when COCKPIT_ENV=production")

VAR_DIR = Path(env.str("COCKPIT_VAR_DIR", str(BASE_DIR / "var")))
if DEVELOPMENT:
    (VAR_DIR / "static").mkdir(parents=True, exist_ok=True)

SECRET_KEY = env.secret(
    "SECRET_KEY",
    development_default="development-only-insecure-secret-key-change-me-0123456789abcdef",
    development=DEVELOPMENT,
    min_length=50,
)
# Pepper for API token digests: tokens are stored as HMAC-SHA256(pepper, secret), never in the clear.
TOKEN_PEPPER = env.secret(
    "COCKPIT_TOKEN_PEPPER",
    development_default="development-only-insecure-token-pepper-0123456789",
    development=DEVELOPMENT,
    min_length=32,
)

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"] if DEVELOPMENT else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", [])
PUBLIC_BASE_URL = env.str("COCKPIT_PUBLIC_BASE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "cockpit",
    "audit",
    "tenants",
    "keys",
    "approvals",
    "connectors",
    "billing",
]

MIDDLEWARE = [
    "cockpit.middleware.RequestIdMiddleware",
    "cockpit.middleware.CockpitErrorPageMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "cockpit.middleware.ProviderFastPathMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "cockpit.urls"
WSGI_APPLICATION = "cockpit.wsgi.application"
ASGI_APPLICATION = "cockpit.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tenants.context_processors.tenant_context",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------------
DATABASE_URL = env.url("DATABASE_URL", schemes=("postgres", "postgresql", "sqlite"))
# Loosely typed, as Django declares it: the SQLite branch below names its file with a Path.
DATABASES: dict[str, Any]
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"].setdefault("TEST", {})["NAME"] = env.str("TEST_DATABASE_NAME", "test_cockpit")
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "cockpit.sqlite3",
            # WAL + synchronous=NORMAL: one fsync per checkpoint instead of per commit (every key operation
            # commits an audit row), while a crash still never corrupts the database.
            # A file, not memory, for the test database too: browser tests run a live ASGI server in a
            # child process that must see the same data.
            # (Per process, so concurrent test runs in one checkout do not share it.)
            "TEST": {"NAME": str(VAR_DIR / f"test-cockpit-{os.getpid()}.sqlite3")},
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer and Celery broker ---------------------------------------------------------------
REDIS_URL = env.url("REDIS_URL", schemes=("redis", "rediss", "unix"))
CHANNEL_PREFIX = env.str("COCKPIT_CHANNEL_PREFIX", "cockpit")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": CHANNEL_PREFIX},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

CELERY_BROKER_URL = env.optional_str("CELERY_BROKER_URL") or REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = env.optional_str("CELERY_RESULT_BACKEND") or REDIS_URL or None
# Without a broker there is nobody to consume tasks, so they run in-process (the embedded default).
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", CELERY_BROKER_URL == "memory://")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Key custody ----------------------------------------------------------------------------------------
# Software custody keeps wrapped material in files under a master key: for development only. Production
# refuses it unless explicitly allowed (and labels such keys "software (not HSM)" everywhere).
SOFTWARE_KEYS_ENABLED = env.bool("COCKPIT_SOFTWARE_KEYS", DEVELOPMENT)
SOFTWARE_MASTER_KEY = env.optional_str("COCKPIT_SOFTWARE_MASTER_KEY")  # base64 of 32 bytes
if SOFTWARE_KEYS_ENABLED and not DEVELOPMENT and not SOFTWARE_MASTER_KEY:
    raise ImproperlyConfiguredEnv("COCKPIT_SOFTWARE_MASTER_KEY must be set when COCKPIT_SOFTWARE_KEYS=true")
SOFTWARE_KEY_DIR = Path(env.str("COCKPIT_SOFTWARE_KEY_DIR", str(VAR_DIR / "software-keys")))
# PKCS#11: any module; SoftHSM2 in development and CI. In development, `manage.py init_softhsm` writes
# var/softhsm/pkcs11.json, which is read when the variables below are unset.
PKCS11_MODULE = env.optional_str("COCKPIT_PKCS11_MODULE")
PKCS11_TOKEN_LABEL = env.optional_str("COCKPIT_PKCS11_TOKEN")
PKCS11_PIN = env.optional_str("COCKPIT_PKCS11_PIN")
PKCS11_DEV_CONFIG = VAR_DIR / "softhsm" / "pkcs11.json"
# MPC: the cluster file written by `python -m mpc.node.local` (nodes, their public keys, threshold) and the
# coordinator key it names. In development var/mpc/cluster.json is used when present.
MPC_CLUSTER_FILE = env.optional_str("COCKPIT_MPC_CLUSTER")
MPC_DEV_CLUSTER_FILE = VAR_DIR / "mpc" / "cluster.json"
CONNECTOR_SEAL_KEY = env.optional_str("COCKPIT_CONNECTOR_SEAL_KEY")
if not DEVELOPMENT and not CONNECTOR_SEAL_KEY:
    raise ImproperlyConfiguredEnv("COCKPIT_CONNECTOR_SEAL_KEY (base64, 32 bytes) is required in production")
KEY_DELETION_MIN_DAYS = 7
KEY_DELETION_MAX_DAYS = 30
CELERY_BEAT_SCHEDULE = {
    "keys-rotate-due": {"task": "keys.rotate_due", "schedule": 3600.0},
    "keys-destroy-due": {"task": "keys.destroy_due", "schedule": 3600.0},
    "approvals-expire-stale": {"task": "approvals.expire_stale", "schedule": 300.0},
    "approvals-release-due": {"task": "approvals.release_due", "schedule": 60.0},
    "connectors-prune-calls": {"task": "connectors.prune_calls", "schedule": 86400.0},
}

# --- Auth, OTP, lockout ----------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"
OTP_TOTP_ISSUER = env.str("COCKPIT_OTP_ISSUER", "Cockpit")
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_STATIC_THROTTLE_FACTOR = 1
BACKUP_CODE_COUNT = 10

AXES_FAILURE_LIMIT = env.int("COCKPIT_LOGIN_FAILURE_LIMIT", 5, minimum=1, maximum=100)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("COCKPIT_LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "tenants.views.auth.lockout_response"
AXES_VERBOSE = False
AXES_ENABLE_ADMIN = True

SESSION_COOKIE_AGE = env.int("COCKPIT_SESSION_SECONDS", 8 * 3600, minimum=300)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.bool("COCKPIT_SECURE_COOKIES", not DEVELOPMENT)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# --- Security headers ------------------------------------------------------------------------------------
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if not DEVELOPMENT:
    SECURE_SSL_REDIRECT = env.bool("COCKPIT_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("COCKPIT_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

# --- Static files ----------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

# --- API -------------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tenants.api.authentication.ApiTokenAuthentication",
        "tenants.api.authentication.VerifiedSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["cockpit.api.parsers.LimitedJSONParser"],
    "EXCEPTION_HANDLER": "cockpit.api.exceptions.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Cockpit API",
    "DESCRIPTION": "Tenant API of Cockpit, the open-source key-management control plane.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "KeySpecEnum": "keys.models.KeySpecChoices",
        "KeyStateEnum": "keys.models.KeyState",
        "KeyVersionStateEnum": "keys.models.VersionState",
        "KeyUsageEnum": "keys.models.KeyUsage",
        "CustodyEnum": "keys.models.Custody",
        "SigningAlgorithmEnum": ["RSASSA_PSS_SHA_256", "ECDSA_SHA_256", "ED25519", "ML_DSA_65"],
        "RsaEncryptionAlgorithmEnum": ["RSAES_OAEP_SHA_256", "RSAES_OAEP_SHA_1"],
    },
}
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("COCKPIT_MAX_BODY_BYTES", 256 * 1024, minimum=1024)

# --- Logging: JSON lines with the request id -------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", "INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "cockpit.logging.RequestIdFilter"}},
    "formatters": {"json": {"()": "cockpit.logging.JsonFormatter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.server": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}
