#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.management import execute_from_command_line
    from pymongo.errors import ServerSelectionTimeoutError

    from dallosh.mongo import unreachable

    try:
        execute_from_command_line(sys.argv)
    except ServerSelectionTimeoutError as error:  # any command, when the database is not up
        sys.exit(unreachable(error))


if __name__ == "__main__":
    main()
