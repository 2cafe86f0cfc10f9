"""Start-up fails with a clear message when the environment is wrong."""

import os
import subprocess
import sys
from pathlib import Path

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
    result = start_django(DEBUG="true", DATABASE_URL="mysql//nope")
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr


def test_it_names_a_malformed_boolean():
    result = start_django(DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG must be a boolean" in result.stderr


def test_it_names_a_malformed_time_zone():
    result = start_django(DEBUG="true", TIME_ZONE="Mars/Olympus")
    assert "TIME_ZONE" in result.stderr
    assert result.returncode != 0


def test_it_names_a_malformed_email_url():
    result = start_django(DEBUG="true", EMAIL_URL="pigeon://loft")
    assert result.returncode != 0
    assert "EMAIL_URL" in result.stderr


def test_a_local_env_file_fills_in_what_the_environment_lacks(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("# local development\nDEBUG=true\nTIME_ZONE='Europe/Paris'\n")
    show = (
        f"{SETUP}; from django.conf import settings as s; print(s.DEBUG, s.TIME_ZONE)"
    )
    result = start_django(show, ENV_FILE=str(env_file), TIME_ZONE="UTC")
    # DEBUG came from the file; the real TIME_ZONE variable won over the file.
    assert result.stdout.split() == ["True", "UTC"], result.stderr


def test_a_malformed_env_file_line_is_named(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("DEBUG=true\nthis is not a setting\n")
    result = start_django(ENV_FILE=str(env_file))
    assert result.returncode != 0
    assert "line 2: expected NAME=value" in result.stderr
