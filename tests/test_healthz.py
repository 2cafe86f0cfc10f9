"""/healthz: what a load balancer asks before sending traffic to a server."""

import json
import os
import subprocess
import sys
from pathlib import Path

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tasks_db.models import DBTaskResult

ROOT = Path(__file__).resolve().parent.parent


def test_it_answers_ok_without_logging_in(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "task_queue": "ok"},
    }
    assert response["Cache-Control"] == "no-store"
    assert not response.cookies  # no session, no CSRF cookie


def test_a_probe_by_address_or_over_plain_http_gets_the_answer(client, db, settings):
    settings.SECURE_SSL_REDIRECT = True  # behind a TLS proxy, probes use http
    response = client.get("/healthz", HTTP_HOST="10.0.3.7:8000")
    assert response.status_code == 200
    # Any other page still checks the host and redirects to https.
    assert client.get("/login/", HTTP_HOST="10.0.3.7:8000").status_code == 400
    assert client.get("/login/").status_code == 301


def test_it_reads_the_job_queue_of_the_database_backend(client, db, settings):
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/healthz")
    assert response.json()["checks"]["task_queue"] == "ok"
    table = DBTaskResult._meta.db_table
    assert any(table in q["sql"] for q in queries)


def test_head_works_and_other_methods_are_not_answered_here(client, db):
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 404


def test_it_answers_503_when_the_database_is_unreachable():
    # Nothing listens on port 9 of the loopback: the connection is refused.
    code = (
        "import django; django.setup(); from django.test import Client; "
        "r = Client().get('/healthz'); print(r.status_code, r.content.decode())"
    )
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        DATABASE_URL="postgres://nobody@127.0.0.1:9/none",
        DJANGO_SETTINGS_MODULE="config.settings",
        ENV_FILE="",
        LOG_LEVEL="CRITICAL",
    )
    result = subprocess.run(  # noqa: S603 (the tests' own code)
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    status, body = result.stdout.split(" ", 1)
    assert status == "503", result.stderr
    assert json.loads(body) == {
        "status": "unavailable",
        "checks": {"database": "failing", "task_queue": "failing"},
    }
