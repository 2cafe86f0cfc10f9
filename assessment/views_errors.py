"""Error pages in the app's look: what happened and where to go, nothing more.

The pages never show the exception's message: one raised by a library may
name a model or a path, and a page must not confirm what exists. Personal
and open links get words for participants, who have no account.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse


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
