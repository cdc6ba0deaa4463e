"""Settings shared by every environment; each value can be overridden from the environment.

Defaults are safe to run on one machine with no configuration at all: a SQLite file under
``FANZHA_DATA_DIR`` (``./var``) and a secret key generated once and kept there.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from fanzha.core.private import private_dir, write_private
from fanzha.core.storage import static_origin, storages_from_env

PACKAGE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("FANZHA_DATA_DIR", Path.cwd() / "var")).resolve()


def env_bool(name: str, default: bool = False) -> bool:
    """Read a yes/no flag from the environment."""
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    """Read a comma-separated list from the environment."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _persistent_secret(filename: str) -> str:
    """A random secret generated on first start and kept in the data directory.

    Why: a fresh install must be secure without configuration, and must not lose its key
    (and with it every encrypted field and session) at the next restart.
    """
    private_dir(DATA_DIR)  # 0700 when new: the keys, the database and media/ live here
    path = DATA_DIR / filename
    if not path.exists():
        try:
            write_private(path, secrets.token_urlsafe(50))
        except FileExistsError:  # another process starting at the same moment made it
            pass
    return path.read_text().strip()


SECRET_KEY = os.environ.get("SECRET_KEY") or _persistent_secret("secret_key")
# Key for field encryption and keyed hashes of ID and phone numbers. Kept apart from
# SECRET_KEY so that rotating session keys does not make stored data unreadable.
FANZHA_FIELD_KEY = os.environ.get("FANZHA_FIELD_KEY") or _persistent_secret("field_key")

DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.admin",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "treebeard",
    "axes",
    "fanzha.core",
    "fanzha.org",
    "fanzha.notify",
    "fanzha.campaigns",
    "fanzha.learn",
    "fanzha.reach",
    "fanzha.cases",
    "fanzha.reports",
    "fanzha.api",
    "fanzha.demo",
    "fanzha.bench",
    "fanzha.sso",
]

MIDDLEWARE = [
    "fanzha.core.middleware.RequestIdMiddleware",  # first: every later line of the request carries its id
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "fanzha.core.middleware.ContentSecurityPolicyMiddleware",  # FANZHA_CSP below
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    # After a reset or a temporary password, every page leads to "choose a new password" until done.
    "fanzha.org.accounts.middleware.PasswordChangeRequiredMiddleware",
]

ROOT_URLCONF = "fanzha.urls"
CSRF_FAILURE_VIEW = "fanzha.core.errors.csrf_failure"
WSGI_APPLICATION = "fanzha.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "fanzha.core.context_processors.nav",
            ],
            "builtins": ["fanzha.core.templatetags.fanzha_format"],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{DATA_DIR / 'fanzha.sqlite3'}"),
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        }
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "org.User"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "fanzha.org.auth.NumberOrPhoneBackend",
    # Keeps a session begun by single sign-on (fanzha/sso/backends.py); it checks no password itself.
    "fanzha.sso.backends.SsoBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Login lockout (fanzha/org/lockout.py): five failures on one account, however its number or phone is
# spelled and from wherever, lock that account for 30 minutes; FANZHA_LOGIN_ADDRESS_FAILURE_LIMIT failures
# from one client address, over all logins, lock that address. axes' tables keep "user:<pk>" or a keyed
# hash, never the typed login.
AXES_FAILURE_LIMIT = int(os.environ.get("FANZHA_LOGIN_FAILURE_LIMIT", "5"))
FANZHA_LOGIN_ADDRESS_FAILURE_LIMIT = int(os.environ.get("FANZHA_LOGIN_ADDRESS_FAILURE_LIMIT", "50"))
AXES_COOLOFF_TIME = 0.5
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_HANDLER = "fanzha.org.lockout.LockoutHandler"
AXES_USERNAME_CALLABLE = "fanzha.org.lockout.axes_username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked.html"
AXES_USERNAME_FORM_FIELD = "username"
AXES_VERBOSE = False
# Single sign-on (fanzha/sso, docs/deployment.md "Single sign-on"): CAS 2/3, OpenID Connect, WeCom and
# DingTalk. Each provider is offered on the sign-in page once it is configured; the identity it vouches
# for is matched to a person of one organisation (a root unit's code) by student or staff number. A
# student or teacher with no account gets one (FANZHA_SSO_ACCOUNT_KINDS); anyone else must have an account
# already. Calls to the providers time out after FANZHA_SSO_TIMEOUT seconds and ignore the HTTP(S)_PROXY
# variables: FANZHA_SSO_PROXY names a proxy explicitly, FANZHA_SSO_CA_BUNDLE a CA file for a private CA.
FANZHA_SSO_TIMEOUT = float(os.environ.get("FANZHA_SSO_TIMEOUT", "10"))
FANZHA_SSO_PROXY = os.environ.get("FANZHA_SSO_PROXY", "").strip()
FANZHA_SSO_CA_BUNDLE = os.environ.get("FANZHA_SSO_CA_BUNDLE", "").strip()
FANZHA_SSO_ACCOUNT_KINDS = env_list("FANZHA_SSO_ACCOUNT_KINDS", "student,teacher")
# CAS (统一身份认证) through django-cas-ng's client: the server's URL (e.g. https://cas.example.edu.cn/cas/;
# a "/" is added at the end, since python-cas joins "login" to it), the protocol version, the organisation
# whose numbers the CAS usernames are, and the attribute that holds the number when the username is not it.
_CAS_SERVER = os.environ.get("FANZHA_CAS_SERVER_URL", "").strip().rstrip("/")
CAS_SERVER_URL = _CAS_SERVER + "/" if _CAS_SERVER else None
CAS_VERSION = os.environ.get("FANZHA_CAS_VERSION", "3").strip()
if CAS_VERSION not in {"2", "3"}:
    raise ValueError("FANZHA_CAS_VERSION must be 2 or 3")
FANZHA_CAS_ORGANISATION = os.environ.get("FANZHA_CAS_ORGANISATION", "").strip()
FANZHA_CAS_NUMBER_ATTRIBUTE = os.environ.get("FANZHA_CAS_NUMBER_ATTRIBUTE", "").strip()


def _sso_session() -> object:
    """django-cas-ng calls this for every CAS client: our session, with timeouts and no proxy from the
    environment (imported here, when called, because settings load before the apps)."""
    from fanzha.sso.outbound import session

    return session()


CAS_SESSION_FACTORY = _sso_session
# OpenID Connect through mozilla-django-oidc: the issuer (its endpoints are discovered from
# <issuer>/.well-known/openid-configuration unless given below), the client, the claim that holds the
# number and the organisation it belongs to.
FANZHA_OIDC_ISSUER = os.environ.get("FANZHA_OIDC_ISSUER", "").strip().rstrip("/")
FANZHA_OIDC_CLIENT_ID = os.environ.get("FANZHA_OIDC_CLIENT_ID", "").strip()
FANZHA_OIDC_CLIENT_SECRET = os.environ.get("FANZHA_OIDC_CLIENT_SECRET", "").strip()
FANZHA_OIDC_ORGANISATION = os.environ.get("FANZHA_OIDC_ORGANISATION", "").strip()
FANZHA_OIDC_NUMBER_CLAIM = os.environ.get("FANZHA_OIDC_NUMBER_CLAIM", "preferred_username").strip()
FANZHA_OIDC_SCOPES = os.environ.get("FANZHA_OIDC_SCOPES", "openid profile").strip()
FANZHA_OIDC_SIGN_ALGO = os.environ.get("FANZHA_OIDC_SIGN_ALGO", "RS256").strip()
FANZHA_OIDC_AUTHORIZATION_ENDPOINT = os.environ.get("FANZHA_OIDC_AUTHORIZATION_ENDPOINT", "").strip()
FANZHA_OIDC_TOKEN_ENDPOINT = os.environ.get("FANZHA_OIDC_TOKEN_ENDPOINT", "").strip()
FANZHA_OIDC_USERINFO_ENDPOINT = os.environ.get("FANZHA_OIDC_USERINFO_ENDPOINT", "").strip()
FANZHA_OIDC_JWKS_ENDPOINT = os.environ.get("FANZHA_OIDC_JWKS_ENDPOINT", "").strip()
# WeCom (企业微信) web sign-in: the corp ID, the self-built app's AgentId and Secret, the organisation, and
# where the number is: "userid" (the member's account is the number), "alias", or the name of a custom
# text attribute (扩展属性, e.g. 工号). The URLs are WeCom's; tests point them at a local fake.
FANZHA_WECOM_CORP_ID = os.environ.get("FANZHA_WECOM_CORP_ID", "").strip()
FANZHA_WECOM_AGENT_ID = os.environ.get("FANZHA_WECOM_AGENT_ID", "").strip()
FANZHA_WECOM_SECRET = os.environ.get("FANZHA_WECOM_SECRET", "").strip()
FANZHA_WECOM_ORGANISATION = os.environ.get("FANZHA_WECOM_ORGANISATION", "").strip()
FANZHA_WECOM_NUMBER_FIELD = os.environ.get("FANZHA_WECOM_NUMBER_FIELD", "userid").strip()
FANZHA_WECOM_API_URL = os.environ.get("FANZHA_WECOM_API_URL", "https://qyapi.weixin.qq.com").rstrip("/")
FANZHA_WECOM_OAUTH_URL = os.environ.get(
    "FANZHA_WECOM_OAUTH_URL", "https://open.weixin.qq.com/connect/oauth2/authorize"
)
FANZHA_WECOM_QR_URL = os.environ.get(
    "FANZHA_WECOM_QR_URL", "https://login.work.weixin.qq.com/wwlogin/sso/login"
)
# DingTalk (钉钉) sign-in: the internal app's Client ID (AppKey) and Client Secret (AppSecret), the
# organisation, and where the number is: "job_number" (工号, from the corp's address book) or "userid".
FANZHA_DINGTALK_CLIENT_ID = os.environ.get("FANZHA_DINGTALK_CLIENT_ID", "").strip()
FANZHA_DINGTALK_CLIENT_SECRET = os.environ.get("FANZHA_DINGTALK_CLIENT_SECRET", "").strip()
FANZHA_DINGTALK_ORGANISATION = os.environ.get("FANZHA_DINGTALK_ORGANISATION", "").strip()
FANZHA_DINGTALK_NUMBER_FIELD = os.environ.get("FANZHA_DINGTALK_NUMBER_FIELD", "job_number").strip()
FANZHA_DINGTALK_LOGIN_URL = os.environ.get(
    "FANZHA_DINGTALK_LOGIN_URL", "https://login.dingtalk.com/oauth2/auth"
)
FANZHA_DINGTALK_API_URL = os.environ.get("FANZHA_DINGTALK_API_URL", "https://api.dingtalk.com").rstrip("/")
FANZHA_DINGTALK_OAPI_URL = os.environ.get("FANZHA_DINGTALK_OAPI_URL", "https://oapi.dingtalk.com").rstrip("/")

# Behind a reverse proxy: how many proxies append to X-Forwarded-For (nginx in front: 1). Rate limits
# and the login lockout then key on the client's address, not the proxy's (fanzha/core/clientip.py).
FANZHA_TRUSTED_PROXIES = int(os.environ.get("FANZHA_TRUSTED_PROXIES", "0"))
AXES_CLIENT_IP_CALLABLE = "fanzha.core.clientip.axes_client_ip"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("FANZHA_STATIC_ROOT", DATA_DIR / "static"))
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("FANZHA_MEDIA_ROOT", DATA_DIR / "media"))
# Uploaded files in MEDIA_ROOT, or in an S3-compatible store with FANZHA_MEDIA_STORAGE=s3 and
# FANZHA_S3_BUCKET, FANZHA_S3_ENDPOINT_URL, FANZHA_S3_ACCESS_KEY, FANZHA_S3_SECRET_KEY, FANZHA_S3_REGION
# (see fanzha/core/storage.py); static files always in STATIC_ROOT, served by whitenoise.
STORAGES = storages_from_env(os.environ)
# Roster uploads larger than this are refused before parsing.
FANZHA_MAX_UPLOAD_BYTES = int(os.environ.get("FANZHA_MAX_UPLOAD_BYTES", str(50 * 1024 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Uploaded files and the directories made for them are this account's only (evidence, signatures,
# roster uploads hold names, phone and ID numbers); the database file is made 0600 on every connection
# (fanzha/core/private.py).
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700

REST_FRAMEWORK = {
    # Our own tokens (fanzha/api/models.py): hashed, expiring, revocable; the header stays "Token <key>".
    # rest_framework.authtoken stays installed only so that its old keys could be converted (migration
    # api 0002); it authenticates nothing.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "fanzha.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "fanzha.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {"anon": "60/min", "user": "6000/min"},
}
# How long an API token is valid (days) from when it is issued; its owner may revoke it sooner.
FANZHA_API_TOKEN_DAYS = int(os.environ.get("FANZHA_API_TOKEN_DAYS", "90"))
if FANZHA_API_TOKEN_DAYS < 1:
    raise ValueError("FANZHA_API_TOKEN_DAYS must be at least 1")
SPECTACULAR_SETTINGS = {
    "TITLE": "fanzha API",
    "DESCRIPTION": "反诈 platform: units, people, memberships.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI and Redoc assets come from the drf-spectacular-sidecar package: no CDN at run time.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a "kind" or "role" field with different choices: name each enum.
    "ENUM_NAME_OVERRIDES": {
        "UnitKindEnum": "fanzha.org.models.UnitKind",
        "PersonKindEnum": "fanzha.org.models.PersonKind",
        "MembershipRoleEnum": "fanzha.org.models.MembershipRole",
        "GenderEnum": "fanzha.org.models.Gender",
    },
}

# Logs: FANZHA_LOG_FORMAT=json for one JSON object per line (time, level, logger, message, request_id),
# "plain" (default) for people. Sensitive numbers and URL query strings are blanked in every record.
FANZHA_LOG_FORMAT = "json" if os.environ.get("FANZHA_LOG_FORMAT", "").strip().lower() == "json" else "plain"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact": {"()": "fanzha.core.logging.RedactFilter"},
        "request_id": {"()": "fanzha.core.logging.RequestIdFilter"},
    },
    "formatters": {
        "plain": {"()": "fanzha.core.logging.PlainFormatter"},
        "json": {"()": "fanzha.core.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": FANZHA_LOG_FORMAT,
            "filters": ["redact", "request_id"],
        },
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Tree and org settings
FANZHA_DEMO_PASSWORD = os.environ.get("FANZHA_DEMO_PASSWORD", "fanzha-demo-2026")
# Hours an account invitation or an administrator's password-reset link stays valid (each is used once).
FANZHA_INVITATION_HOURS = int(os.environ.get("FANZHA_INVITATION_HOURS", "72"))
if FANZHA_INVITATION_HOURS < 1:
    raise ValueError("FANZHA_INVITATION_HOURS must be at least 1")

# The emergency stop-payment flow: a case with money moved within this many hours raises an alert;
# an alert nobody on the police side acknowledges within this many minutes goes to the next contact.
FANZHA_STOP_PAYMENT_WINDOW_HOURS = int(os.environ.get("FANZHA_STOP_PAYMENT_WINDOW_HOURS", "24"))
FANZHA_ALERT_ESCALATE_MINUTES = int(os.environ.get("FANZHA_ALERT_ESCALATE_MINUTES", "10"))
# Minutes a bank (or the police technical unit) has to answer a freeze, stop-payment or number-block
# request before it is marked overdue and escalated (the police may set another deadline per request).
FANZHA_FREEZE_ANSWER_MINUTES = int(os.environ.get("FANZHA_FREEZE_ANSWER_MINUTES", "30"))
if FANZHA_FREEZE_ANSWER_MINUTES < 1:
    raise ValueError("FANZHA_FREEZE_ANSWER_MINUTES must be at least 1")
# Self-reports ("我被骗了") one member may file from the phone pages in 24 hours; beyond it the page
# refuses calmly and shows 110 / 96110 (every report pages the police at once).
FANZHA_SELF_REPORTS_PER_DAY = int(os.environ.get("FANZHA_SELF_REPORTS_PER_DAY", "3"))
# The police plan's clue work (篇五): days a dispatched clue has for its feedback unless the command centre
# sets another deadline; days after a case is closed that its victim is called back (回访).
FANZHA_CLUE_DEADLINE_DAYS = int(os.environ.get("FANZHA_CLUE_DEADLINE_DAYS", "3"))
FANZHA_CALLBACK_DAYS = int(os.environ.get("FANZHA_CALLBACK_DAYS", "7"))
if FANZHA_CLUE_DEADLINE_DAYS < 1 or FANZHA_CALLBACK_DAYS < 0:
    raise ValueError("FANZHA_CLUE_DEADLINE_DAYS must be at least 1 and FANZHA_CALLBACK_DAYS at least 0")
# Days a personal sign-in code (fanzha/org/credentials) stays valid after it is issued; 0: until it is
# issued again or revoked.
FANZHA_MEMBER_CODE_DAYS = int(os.environ.get("FANZHA_MEMBER_CODE_DAYS", "0"))
# How an alert's messages leave right after the report commits: "thread" (a background thread of the
# server process), "sync" (before the response), "off" (left to ``fanzha deliver-outbox``).
FANZHA_ALERT_DELIVERY = os.environ.get("FANZHA_ALERT_DELIVERY", "thread")
# The address people reach this site at (e.g. https://fanzha.example.edu.cn): links in e-mails, chat-group
# messages and SMS are absolute only when it is set.
FANZHA_SITE_URL = os.environ.get("FANZHA_SITE_URL", "").rstrip("/")
# SMS (sign-in codes, stop-payment alerts, reminders, parent notices): the gateway that sends them,
# "none" (the default: nothing is sent, the message shows "未发送：未配置短信网关", never "sent"),
# "aliyun" (Alibaba Cloud SMS), "tencent" (Tencent Cloud SMS) or "demo" (kept for the demo's page, never
# in production). Each kind of message goes out as the operator's approved template of that kind
# (FANZHA_SMS_TEMPLATES, JSON: {"code": …, "alert": …, "reminder": …, "parent_notice": …, "account": …})
# under the approved signature FANZHA_SMS_SIGN_NAME. See fanzha/notify/sms/ and docs/deployment.md.
FANZHA_SMS_BACKEND = os.environ.get("FANZHA_SMS_BACKEND", "none").strip() or "none"
FANZHA_SMS_KEY_ID = os.environ.get("FANZHA_SMS_KEY_ID", "")  # AccessKey ID / SecretId
FANZHA_SMS_KEY_SECRET = os.environ.get("FANZHA_SMS_KEY_SECRET", "")  # AccessKey secret / SecretKey
FANZHA_SMS_SIGN_NAME = os.environ.get("FANZHA_SMS_SIGN_NAME", "")
FANZHA_SMS_APP_ID = os.environ.get("FANZHA_SMS_APP_ID", "")  # Tencent Cloud's SmsSdkAppId
FANZHA_SMS_REGION = os.environ.get("FANZHA_SMS_REGION", "")  # default cn-hangzhou / ap-guangzhou
FANZHA_SMS_TEMPLATES = os.environ.get("FANZHA_SMS_TEMPLATES", "")
# The provider's API address; empty: its public one (dysmsapi.aliyuncs.com, sms.tencentcloudapi.com).
FANZHA_SMS_ENDPOINT = os.environ.get("FANZHA_SMS_ENDPOINT", "").strip()
FANZHA_SMS_TIMEOUT = float(os.environ.get("FANZHA_SMS_TIMEOUT", "10"))

# E-mail (invitations, alerts, e-mail channels): the SMTP server. Each setting is read from the
# environment under its Django name (EMAIL_HOST …); without EMAIL_HOST nothing can be mailed (Django's
# default localhost:25 is kept only for a machine with its own mail server). EMAIL_USE_TLS is STARTTLS
# (usually port 587), EMAIL_USE_SSL implicit TLS (usually 465): at most one of them.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "10"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "webmaster@localhost")
# Where error reports to ADMINS come from; the sender of every message when not set apart.
SERVER_EMAIL = os.environ.get("SERVER_EMAIL", DEFAULT_FROM_EMAIL)
EMAIL_SUBJECT_PREFIX = os.environ.get("EMAIL_SUBJECT_PREFIX", "[fanzha] ")
# Chat-group robot webhooks go only to the WeCom, DingTalk and Feishu/Lark hosts over https, and never to
# an internal address. For a private deployment of a robot service, list its hosts here (comma-separated
# "host", "host:port", "https://host[:port]", or "http://host[:port]" to allow plain http): a listed host
# may be internal. See fanzha/notify/webhooks.py.
FANZHA_WEBHOOK_ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("FANZHA_WEBHOOK_ALLOWED_HOSTS", "").split(",") if h.strip()
]

# Background work (the Django Tasks API through the django-tasks backport). FANZHA_TASKS_BACKEND picks
# the queue: "db" (default: django-tasks-db, jobs are rows of this database, `fanzha worker` runs them),
# "rq" (Redis at REDIS_URL, RQ workers on any number of machines) or "immediate" (run in the calling
# process: no worker, for a test or a tiny install). The "slow" queue holds the long nightly jobs, so a
# worker started with `--queue default` is never stuck behind a roll-up.
FANZHA_TASKS_BACKEND = os.environ.get("FANZHA_TASKS_BACKEND", "db").strip().lower()
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
_TASK_BACKENDS = {
    "db": "django_tasks_db.DatabaseBackend",
    "rq": "django_tasks_rq.RQBackend",
    "immediate": "django_tasks.backends.immediate.ImmediateBackend",
}
if FANZHA_TASKS_BACKEND not in _TASK_BACKENDS:
    raise ValueError(f"FANZHA_TASKS_BACKEND must be one of {', '.join(_TASK_BACKENDS)}")
INSTALLED_APPS += ["django_tasks", "django_tasks_db"]
TASKS = {"default": {"BACKEND": _TASK_BACKENDS[FANZHA_TASKS_BACKEND], "QUEUES": ["default", "slow"]}}
if FANZHA_TASKS_BACKEND == "rq":
    INSTALLED_APPS += ["django_rq"]
    RQ_QUEUES = {
        "default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 900},
        "slow": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 4 * 3600},
    }
# The cache: "local" (default) is each server process's own memory; "redis" (REDIS_URL) is shared. The
# member sign-in and check-in rate limits (fanzha/core/ratelimit.py) never count in a process's own
# memory: in the database by default, in Redis when this is "redis".
FANZHA_CACHE = os.environ.get("FANZHA_CACHE", "local").strip().lower()
if FANZHA_CACHE == "redis":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
elif FANZHA_CACHE != "local":
    raise ValueError("FANZHA_CACHE must be local or redis")
# Seconds a dashboard's aggregate figures (KPI sums, trend, case tallies) are shared by the requests that
# ask for them meanwhile; the first computes them once (``fanzha.core.singleflight``). 0: never shared.
FANZHA_FIGURES_SECONDS = int(os.environ.get("FANZHA_FIGURES_SECONDS", "10"))
# Whether each server process warms up (code, templates, translations, the root dashboards' figures and
# the database's pages) before it takes its first request (``fanzha.core.warm``; also ``fanzha warm``).
FANZHA_WARM_ON_START = os.environ.get("FANZHA_WARM_ON_START", "1").strip() not in {"0", "false", "no", ""}
# A claimed outbox row is left alone this long, then retried (a worker that died mid-send): keep it well
# above the webhook timeout (5 s), or a slow send could be claimed twice.
FANZHA_OUTBOX_LEASE_SECONDS = int(os.environ.get("FANZHA_OUTBOX_LEASE_SECONDS", "300"))
# When the periodic jobs run (local time, HH:MM; the weekly report on Mondays). Each app registers
# its own jobs through fanzha/core/jobs.py.
FANZHA_SCHEDULE_TIPS = os.environ.get("FANZHA_SCHEDULE_TIPS", "08:00")
FANZHA_SCHEDULE_REMINDERS = os.environ.get("FANZHA_SCHEDULE_REMINDERS", "09:00")
FANZHA_SCHEDULE_ROLLUP = os.environ.get("FANZHA_SCHEDULE_ROLLUP", "02:00")
FANZHA_SCHEDULE_HOUSEKEEPING = os.environ.get("FANZHA_SCHEDULE_HOUSEKEEPING", "03:30")
FANZHA_SCHEDULE_WEEKLY_REPORT = os.environ.get("FANZHA_SCHEDULE_WEEKLY_REPORT", "07:00")

# Content-Security-Policy (fanzha/core/middleware.py; sent whenever DEBUG is off): scripts only from our
# own static files, never inline; no plugins, no framing, forms and <base> to this site only. Styles keep
# 'unsafe-inline' because style attributes are needed: the percentage bars of the dashboards set their
# width, and the vendored Swagger UI and DRF browsable API pages use inline styles. FANZHA_CSP replaces
# the whole policy (empty: no header).
_STATIC_ORIGIN = static_origin(os.environ)  # static files on S3: their origin joins 'self'
_SELF = "'self'" + (f" {_STATIC_ORIGIN}" if _STATIC_ORIGIN else "")
FANZHA_CSP = os.environ.get(
    "FANZHA_CSP",
    f"default-src 'self'; script-src {_SELF}; style-src {_SELF} 'unsafe-inline'; "
    f"img-src {_SELF} data: blob:; font-src {_SELF} data:; connect-src 'self'; media-src 'self' blob:; "
    "object-src 'none'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
)
