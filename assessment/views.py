from django.contrib.auth.decorators import login_required
from django.db.models import Count, Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from .access import get_assessment_for_user, get_organisation_for_user, memberships_of
from .models import Capability, FrameworkVersion, Membership, Response


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send the user to their organisation's assessments, or let them choose."""
    memberships = list(memberships_of(request.user))
    if len(memberships) == 1:
        return redirect("assessment:list", org=memberships[0].organisation.slug)
    ctx = {"memberships": memberships}
    return render(request, "assessment/home.html", ctx)


@login_required
def assessment_list(request: HttpRequest, org: str) -> HttpResponse:
    organisation, membership = get_organisation_for_user(request, org)
    submitted = Q(responses__status=Response.Status.SUBMITTED)
    assessments = organisation.assessments.annotate(
        invited=Count("invitations", distinct=True),
        submitted=Count("responses", filter=submitted, distinct=True),
    )
    ctx = {
        "organisation": organisation,
        "membership": membership,
        "is_owner": membership.role == Membership.Role.OWNER,
        "assessments": assessments,
    }
    return render(request, "assessment/assessment_list.html", ctx)


@login_required
def assessment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    assessment, role = get_assessment_for_user(request, pk)
    ctx = {
        "assessment": assessment,
        "organisation": assessment.organisation,
        "is_owner": role == Membership.Role.OWNER,
    }
    return render(request, "assessment/assessment_detail.html", ctx)


def framework(request: HttpRequest) -> HttpResponse:
    """Show the current framework's capabilities, level signs and next steps."""
    version = FrameworkVersion.objects.order_by("-slug").first()
    capabilities = []
    if version is not None:
        capabilities = (
            Capability.objects.filter(version=version)
            .select_related("domain")
            .prefetch_related(
                "aliases",
                "default_personas",
                Prefetch("next_steps__owner"),
            )
        )
    ctx = {"version": version, "capabilities": capabilities}
    return render(request, "assessment/framework.html", ctx)
