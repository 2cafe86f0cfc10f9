"""Error pages in the app's look: what happened and where to go, nothing more.

The pages never show the exception's message: one raised by a library may
name a model or a path, and a page must not confirm what exists. Personal
and open links get words for participants, who have no account.
"""

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse

# Seconds a client is asked to wait when the database does not answer.
RETRY_AFTER = 10


def _is_participant_page(request: HttpRequest) -> bool:
    """Return whether the path is one of a personal or open link's pages."""
    prefixes = (
        reverse("assessment:survey", args=["x"]).removesuffix("x/"),
        reverse("assessment:join", args=["x"]).removesuffix("x/"),
    )
    return request.path.startswith(prefixes)


def _error_page(request: HttpRequest, template: str, status: int) -> HttpResponse:
    ctx = {"participant": _is_participant_page(request), "status": status}
    return render(request, template, ctx, status=status)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _error_page(request, "errors/400.html", 400)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _error_page(request, "errors/403.html", 403)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _error_page(request, "errors/404.html", 404)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """Explain a refused form (usually an expired page or blocked cookies)."""
    return _error_page(request, "errors/csrf.html", 403)


def server_error(request: HttpRequest) -> HttpResponse:
    """A fault: a 503 "back in a moment" if the database did not answer, else a 500.

    Called while Django handles the exception, so `sys.exc_info()` is the
    one raised, wherever it was (a view or a middleware). A lost or refused
    database connection is an OperationalError or InterfaceError; anything
    else is a bug. The page is rendered without the request's context
    processors: the user and the messages live in the database, which may be
    what failed.
    """
    _, error, _ = sys.exc_info()
    down = isinstance(error, OperationalError | InterfaceError)
    status = 503 if down else 500
    ctx = {
        "participant": _is_participant_page(request),
        "status": status,
        "is_post": request.method not in ("GET", "HEAD"),
        # Only a path on this site: "//host/x" would leave it.
        "path": "/" + request.get_full_path().lstrip("/"),
    }
    html = render_to_string(f"errors/{status}.html", ctx)
    response = HttpResponse(html, status=status)
    if down:
        response["Retry-After"] = str(RETRY_AFTER)
    return response
