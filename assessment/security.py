"""Response headers and login throttling that every page shares."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control
from django.utils.translation import ngettext


class PrivateResponseMiddleware:
    """Keep pages out of shared and browser caches; turn off unused features.

    Every page the app renders is private to someone: a member's pages carry
    their organisation's data (and their name in the menu), a participant's
    pages carry the personal link in their URL, exports are raw data. A view
    that sets Cache-Control itself keeps its own. Static files are served
    above this middleware and keep their long cache lifetime.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Cache-Control" not in response:
            patch_cache_control(response, no_store=True, private=True)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response


def client_ip(request: HttpRequest) -> str:
    """Return the client's address that login throttling counts.

    Behind a proxy (BEHIND_PROXY) it is the last X-Forwarded-For entry, the
    one the proxy appended; entries to its left come from the client and may
    be forged. Otherwise it is the connection's own address.
    """
    if settings.BEHIND_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last
    return request.META.get("REMOTE_ADDR", "")


def wait_text(minutes: int) -> str:
    """Return a wait as people say it: "15 minutes", "1 hour", "2 hours"."""
    if minutes % 60 == 0:
        hours = minutes // 60
        return ngettext("%d hour", "%d hours", hours) % hours
    return ngettext("%d minute", "%d minutes", minutes) % minutes


def lockout_response(
    request: HttpRequest, original_response=None, credentials=None
) -> HttpResponse:
    """Show the login page again, saying how long to wait (HTTP 429).

    Called by django-axes for /login/ and /admin/login/ once a username has
    failed too often from one address. Each further try starts the wait
    again, so the wait shown is the whole cool-off time.
    """
    minutes = max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    username = request.POST.get("username", "")
    ctx = {
        "form": AuthenticationForm(request, initial={"username": username}),
        "next": request.POST.get("next", ""),
        "lockout_message": (
            f"Too many failed logins for this username. For your security, "
            f"logging in is paused for {wait_text(minutes)}: try again after "
            f"that. Ask your administrator if you have forgotten your password."
        ),
    }
    return render(request, "registration/login.html", ctx, status=429)
