"""The production environment of .env.example passes Django's deploy checks."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from config.startup import weak_secret_key_reason

ROOT = Path(__file__).resolve().parent.parent
# What a process manager would pass besides the file: nothing of the tests'.
BASE_ENV = {"PATH": os.environ.get("PATH", ""), "ENV_FILE": str(ROOT / ".env.example")}


def _run(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 (the project's own manage.py)
        [sys.executable, *args],
        cwd=ROOT,
        env={**BASE_ENV, "SECRET_KEY": secrets.token_urlsafe(50), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _check_deploy(**env: str) -> subprocess.CompletedProcess:
    return _run("manage.py", "check", "--deploy", "--fail-level", "WARNING", **env)


def test_check_deploy_prints_no_warning_with_the_production_environment():
    result = _check_deploy()
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
    assert result.stderr == ""


def test_check_deploy_would_name_a_missing_https_setting():
    result = _check_deploy(SECURE_HSTS_SECONDS="0", SECURE_SSL_REDIRECT="false")
    assert result.returncode != 0
    assert "security.W004" in result.stderr
    assert "security.W008" in result.stderr


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("change-me", "it has 9 characters, fewer than 50"),
        ("ab" * 30, "it uses 2 different characters"),
        ("django-insecure-" + "x1y2z3" * 10, "it is a development key"),
    ],
)
def test_a_weak_secret_key_is_named_with_its_reason(key, reason):
    assert weak_secret_key_reason(key).startswith(reason)


def test_a_strong_secret_key_has_no_reason_against_it():
    assert weak_secret_key_reason(secrets.token_urlsafe(50)) == ""


def test_a_server_refuses_a_weak_secret_key():
    result = _run("-c", "import config.wsgi", SECRET_KEY="ab" * 30)
    assert result.returncode != 0
    assert "SECRET_KEY is too weak: it uses 2 different characters" in result.stderr


def test_a_server_starts_with_a_strong_secret_key_and_without_weasyprint():
    # Only render processes lay out PDFs (assessment.pdf): a web process that
    # loaded WeasyPrint would pay most of a second and its memory for nothing.
    code = (
        "import sys, config.wsgi; from django.urls import get_resolver; "
        "get_resolver().url_patterns; sys.exit('weasyprint' in sys.modules)"
    )
    result = _run("-c", code)
    assert result.returncode == 0, result.stderr


def test_behind_a_proxy_links_are_built_with_https():
    code = (
        "import config.wsgi; from django.test import RequestFactory; "
        "r = RequestFactory().get('/', HTTP_X_FORWARDED_PROTO='https', "
        "HTTP_HOST='finops.example.com'); print(r.build_absolute_uri('/s/x/'))"
    )
    result = _run("-c", code)
    assert result.stdout.strip() == "https://finops.example.com/s/x/", result.stderr
    result = _run("-c", code, BEHIND_PROXY="false")
    assert result.stdout.strip() == "http://finops.example.com/s/x/", result.stderr


def test_once_collected_a_server_sends_the_compressed_copies(tmp_path, settings):
    # The site's stylesheet and scripts are enough: the admin's files, the
    # vendored ones and the report's fonts take seconds to compress.
    settings.STATIC_ROOT = tmp_path
    call_command(
        "collectstatic",
        "--noinput",
        *("-i", "admin", "-i", "vendor", "-i", "report"),
        verbosity=0,
    )
    assert (tmp_path / "css" / "app.css.gz").is_file()
    code = (
        "import config.wsgi; from django.test import Client; "
        "r = Client().get('/static/css/app.css', secure=True, "
        "HTTP_HOST='finops.example.com', HTTP_ACCEPT_ENCODING='gzip'); "
        "print(r.status_code, r.get('Content-Encoding'))"
    )
    result = _run("-c", code, STATIC_ROOT=str(tmp_path))
    assert result.stdout.split() == ["200", "gzip"], result.stderr
