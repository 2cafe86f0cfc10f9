"""The participant's side: personal and open links, no account needed."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from .models import Invitation, OpenLink
from .tokens import hash_token


def _invitation_for_token(token: str) -> Invitation:
    """Return the invitation a personal link token opens, or raise 404."""
    invitation = (
        Invitation.objects.select_related("assessment__organisation", "persona")
        .filter(token_hash=hash_token(token))
        .first()
    )
    if invitation is None:
        raise Http404("This link is not valid.")
    return invitation


def landing(request: HttpRequest, token: str) -> HttpResponse:
    invitation = _invitation_for_token(token)
    ctx = {"invitation": invitation, "assessment": invitation.assessment}
    return render(request, "assessment/survey/landing.html", ctx)


def join(request: HttpRequest, token: str) -> HttpResponse:
    link = OpenLink.objects.filter(token_hash=hash_token(token), is_active=True)
    if not link.exists():
        raise Http404("This link is not valid.")
    raise Http404("Joining through an open link is not available yet.")
