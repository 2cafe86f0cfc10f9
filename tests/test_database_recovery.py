"""A server recovers by itself when PostgreSQL drops its connections.

A restart of the database kills every open connection. A worker keeps its
connection between requests (CONN_MAX_AGE), so the next request must notice
the dead one and connect again (CONN_HEALTH_CHECKS) instead of failing.
"""

import io
import wsgiref.util

import psycopg
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection

from assessment.models import Assessment, FrameworkVersion, Organisation
from tests.factories import create_assessment, start_response, survey_url

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="drops PostgreSQL connections"
    ),
    pytest.mark.django_db(transaction=True),
]


def _get(handler: WSGIHandler, path: str) -> int:
    """Serve one request as a WSGI server would (signals and all)."""
    environ = {"PATH_INFO": path, "REQUEST_METHOD": "GET", "HTTP_HOST": "localhost"}
    wsgiref.util.setup_testing_defaults(environ)
    environ["wsgi.input"] = io.BytesIO()
    status = []
    body = handler(environ, lambda s, headers, exc_info=None: status.append(s))
    b"".join(body)
    body.close()  # sends request_finished, as a server does
    return int(status[0].split()[0])


def _kill_this_threads_connection() -> None:
    """Terminate the backend of this thread's connection, as a restart would."""
    pid = connection.connection.info.backend_pid
    settings = connection.get_connection_params()
    with psycopg.connect(**settings, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])


def test_the_next_request_after_a_dropped_connection_succeeds():
    organisation = Organisation.objects.create(name="Acme", slug="acme")
    assessment = create_assessment(
        organisation=organisation,
        framework=FrameworkVersion.objects.get(),
        status=Assessment.Status.OPEN,
    )
    token, _ = start_response(assessment=assessment, persona="engineering")
    handler = WSGIHandler()
    assert _get(handler, survey_url(name="survey", token=token)) == 200
    assert connection.connection is not None  # kept for the next request
    _kill_this_threads_connection()
    assert _get(handler, survey_url(name="survey", token=token)) == 200
    assert _get(handler, "/healthz") == 200
