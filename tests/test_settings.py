"""Start-up fails with a clear message when the environment is wrong.

What only the settings module decides is checked by running that module
with a given environment (`read_settings`); what needs a whole start-up
(a server, a command) runs in a new Python process (`start_django`).
"""

import os
import runpy
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
from django.core.exceptions import ImproperlyConfigured

ROOT = Path(__file__).resolve().parent.parent


SETUP = "import django; django.setup()"


def start_django(code: str = SETUP, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY")}
    # A database of its own: commands that connect leave no file behind.
    clean["DATABASE_URL"] = "sqlite://:memory:"
    clean["ENV_FILE"] = ""  # a developer's .env must not change these tests
    clean.update(env)
    return subprocess.run(  # noqa: S603 (the tests' own code)
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def read_settings(**env: str) -> dict:
    """Run config/settings.py as start-up does, with only `env` set.

    The environment is restored afterwards, also what an env file added.
    """
    with mock.patch.dict(os.environ, {"ENV_FILE": "", **env}, clear=True):
        return runpy.run_path(str(ROOT / "config" / "settings.py"))


def test_a_server_refuses_to_start_without_secret_key_when_debug_is_off():
    for server in ("config.wsgi", "config.asgi"):
        result = start_django(f"import {server}", DEBUG="false")
        assert result.returncode != 0
        assert "SECRET_KEY must be set" in result.stderr


def test_commands_that_sign_nothing_run_without_secret_key():
    code = (
        "import django; django.setup(); from django.core.management import "
        "call_command; call_command('makemigrations', check=True, dry_run=True)"
    )
    result = start_django(code, DEBUG="false")
    assert result.returncode == 0, result.stderr
    result = start_django(
        SETUP + "; from django.conf import settings; settings.SECRET_KEY",
        DEBUG="false",
    )
    assert "SECRET_KEY setting must not be empty" in result.stderr


def test_it_starts_with_a_secret_key():
    result = start_django(DEBUG="false", SECRET_KEY="x" * 50)
    assert result.returncode == 0, result.stderr


def test_it_names_a_malformed_database_url():
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        read_settings(DEBUG="true", DATABASE_URL="mysql//nope")


def test_it_names_a_malformed_boolean():
    with pytest.raises(ImproperlyConfigured, match="DEBUG must be a boolean"):
        read_settings(DEBUG="maybe")


def test_it_names_a_malformed_time_zone():
    with pytest.raises(ImproperlyConfigured, match="TIME_ZONE"):
        read_settings(DEBUG="true", TIME_ZONE="Mars/Olympus")


def test_it_names_a_malformed_email_url():
    with pytest.raises(ImproperlyConfigured, match="EMAIL_URL"):
        read_settings(DEBUG="true", EMAIL_URL="pigeon://loft")


def test_a_local_env_file_fills_in_what_the_environment_lacks(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("# local development\nDEBUG=true\nTIME_ZONE='Europe/Paris'\n")
    before = dict(os.environ)
    found = read_settings(ENV_FILE=str(env_file), TIME_ZONE="UTC")
    # DEBUG came from the file; the real TIME_ZONE variable won over the file.
    assert (found["DEBUG"], found["TIME_ZONE"]) == (True, "UTC")
    assert dict(os.environ) == before


def test_a_malformed_env_file_line_is_named(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("DEBUG=true\nthis is not a setting\n")
    with pytest.raises(ImproperlyConfigured, match="line 2: expected NAME=value"):
        read_settings(ENV_FILE=str(env_file))
