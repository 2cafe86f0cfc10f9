"""`/healthz` for load balancers: is this server able to do its work?

It checks that the database answers and that the job queue can be read
(jobs wait in a database table until a `db_worker` runs them).

No authentication and no data: the answer says only which dependency is
down. It is answered by a middleware placed first, so a probe that reaches
the instance by its address (not an allowed host name) or over plain HTTP
behind a TLS proxy gets the answer instead of a 400 or a redirect.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger(__name__)

PATH = "/healthz"


def database_ok() -> bool:
    """Return whether the database answers a trivial query."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        logger.warning("Health check: the database is unreachable.", exc_info=True)
        # A broken connection would otherwise be reused by the next request.
        connection.close_if_unusable_or_obsolete()
        return False
    return True


DATABASE_QUEUE = "django_tasks_db.DatabaseBackend"


def task_queue_ok() -> bool:
    """Return whether the job queue's table can be read.

    Only the database backend has a queue to reach; the immediate backend
    (tests, or a deployment without workers) runs jobs in the request.
    """
    if settings.TASKS["default"]["BACKEND"] != DATABASE_QUEUE:
        return True
    from django_tasks_db.models import DBTaskResult

    try:
        DBTaskResult.objects.ready().exists()
    except DatabaseError:
        logger.warning("Health check: the job queue is unreachable.", exc_info=True)
        connection.close_if_unusable_or_obsolete()
        return False
    return True


def checks() -> dict[str, bool]:
    """Run every check; the keys name what was checked."""
    database = database_ok()
    # Without the database the queue (a table in it) is down too.
    return {"database": database, "task_queue": database and task_queue_ok()}


def healthz() -> HttpResponse:
    """Return 200 when every check passes, else 503, with each check's state."""
    results = checks()
    healthy = all(results.values())
    body = {
        "status": "ok" if healthy else "unavailable",
        "checks": {name: "ok" if ok else "failing" for name, ok in results.items()},
    }
    response = JsonResponse(body, status=200 if healthy else 503)
    response["Cache-Control"] = "no-store"
    return response


class HealthCheckMiddleware:
    """Answer GET and HEAD /healthz before anything else looks at the request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == PATH and request.method in ("GET", "HEAD"):
            return healthz()
        return self.get_response(request)
