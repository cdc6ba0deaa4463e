"""The ``fanzha`` console command: Django's manage.py under our own name."""

import os
import sys


def main() -> None:
    """Run a Django management command; dev settings unless DJANGO_SETTINGS_MODULE says otherwise."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fanzha.settings.dev")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
