"""Set Django up on a throwaway SQLite database for the benchmark scripts.

The scripts run as files (`.venv/bin/python bench/x.py`), so this directory is
on the import path: `from _setup import setup_django`.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_django(database: Path | str) -> None:
    """Point the settings at `database` (never the user's own) and set up Django.

    `database` is a throwaway SQLite file, or the URL of a throwaway
    PostgreSQL database. Settings the caller's environment gives (DEBUG,
    SECRET_KEY...) are kept, except the database.
    """
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    url = str(database)
    os.environ["DATABASE_URL"] = url if "://" in url else f"sqlite:///{url}"
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
