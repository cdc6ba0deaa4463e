"""WSGI entry point for gunicorn.

Each worker process loads this module before it accepts its first connection: it is warmed here
(``fanzha.core.warm``, unless ``FANZHA_WARM_ON_START=0``), so the first requests after a start do not
pay for compiling templates and running cold aggregate queries while a crowd waits.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fanzha.settings.prod")
application = get_wsgi_application()

from fanzha.core.warm import warm_on_start  # noqa: E402 - needs the application (settings, apps) loaded

warm_on_start()
