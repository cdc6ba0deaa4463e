"""A tiny Django project that is a real CAS server (django-cas-server) and a real OpenID Connect
provider (django-oidc-provider), started in a subprocess by tests/sso/conftest.py.

It has its own SQLite file (``IDP_DB``) and address (``IDP_SITE_URL``); nothing here is fanzha's.
"""

import os

SECRET_KEY = "idp-for-tests-only-" + "x" * 40
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "cas_server",
    "oidc_provider",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "tests.sso.idp.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [os.path.join(os.path.dirname(__file__), "templates")],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["IDP_DB"]}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STATIC_URL = "/static/"
USE_TZ = True
LOGIN_URL = "/accounts/login/"

# OpenID Connect: absolute issuer, claims from our function (the number as preferred_username).
SITE_URL = os.environ["IDP_SITE_URL"]
OIDC_USERINFO = "tests.sso.idp.claims.userinfo"
OIDC_IDTOKEN_INCLUDE_CLAIMS = os.environ.get("IDP_IDTOKEN_CLAIMS") == "1"

# CAS: nothing fetched from outside (no new-version check), no info boxes.
CAS_NEW_VERSION_HTML_WARNING = False
CAS_NEW_VERSION_EMAIL_WARNING = False
CAS_SHOW_POWERED = False
CAS_INFO_MESSAGES_ORDER: list[str] = []
CAS_SLO_TIMEOUT = 1
