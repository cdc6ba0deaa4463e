"""Production: HTTPS, strict cookies and security headers. ``fanzha check --deploy`` is clean."""

import os

from .base import *  # noqa: F403
from .base import env_bool

DEBUG = False
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
# X-Forwarded-Proto is believed only when a reverse proxy is declared in front (FANZHA_TRUSTED_PROXIES,
# base.py), which sets it itself (docs/deploy/nginx-fanzha.conf). Without one, any client could send
# "X-Forwarded-Proto: https" over plain HTTP and be taken for an HTTPS visitor.
if FANZHA_TRUSTED_PROXIES > 0:  # noqa: F405
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# Load balancers probe /healthz over plain HTTP: answer it instead of redirecting to HTTPS.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# `fanzha demo` and `fanzha serve --plain-http`: the production settings over plain HTTP, which the
# serve command allows on a loopback address only. Cookies cannot be marked secure without HTTPS;
# a system check warns whenever this is on (fanzha/core/checks.py).
FANZHA_PLAIN_HTTP = env_bool("FANZHA_PLAIN_HTTP", False)
if FANZHA_PLAIN_HTTP:
    SECURE_SSL_REDIRECT = False
    SECURE_HSTS_SECONDS = 0
    SECURE_HSTS_PRELOAD = False
    SECURE_HSTS_INCLUDE_SUBDOMAINS = False
    SESSION_COOKIE_SECURE = False
    CSRF_COOKIE_SECURE = False
