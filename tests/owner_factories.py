"""Helpers for the owners' side tests: assessments, invitees and responses."""

import pytest
from django.utils import timezone

from assessment.invitations import invitation_create
from assessment.lifecycle import assessment_create
from assessment.models import (
    Answer,
    Assessment,
    FrameworkVersion,
    Invitation,
    Organisation,
    Response,
)


def make_assessment(
    organisation: Organisation,
    framework: FrameworkVersion,
    *,
    status: str = Assessment.Status.DRAFT,
    **kwargs,
) -> Assessment:
    """Create an assessment of the whole framework in the given status."""
    assessment = assessment_create(
        organisation=organisation,
        framework=framework,
        title=kwargs.pop("title", "FinOps maturity 2026"),
        **kwargs,
    )
    if status != Assessment.Status.DRAFT:
        assessment.status = status
        assessment.opened_at = timezone.now()
        assessment.save()
    return assessment


def invite(
    assessment: Assessment, email: str = "", persona: str = "engineering", **kwargs
) -> tuple[Invitation, str]:
    return invitation_create(
        assessment=assessment,
        persona=assessment.framework.personas.get(slug=persona),
        email=email,
        **kwargs,
    )


def respond(
    invitation: Invitation, *, submitted: bool, answer_slugs: tuple[str, ...] = ()
) -> Response:
    """Give an invitation a response (draft or submitted) with some answers."""
    response = Response.objects.create(
        invitation=invitation,
        assessment=invitation.assessment,
        persona=invitation.persona,
        status=Response.Status.SUBMITTED if submitted else Response.Status.DRAFT,
        submitted_at=timezone.now() if submitted else None,
        submit_count=1 if submitted else 0,
    )
    capabilities = invitation.assessment.framework.capabilities.filter(
        slug__in=answer_slugs
    )
    Answer.objects.bulk_create(
        Answer(response=response, capability=c, value=2) for c in capabilities
    )
    return response


@pytest.fixture
def assessment(organisation, framework) -> Assessment:
    return make_assessment(organisation, framework)


@pytest.fixture
def open_assessment(organisation, framework) -> Assessment:
    return make_assessment(organisation, framework, status=Assessment.Status.OPEN)


def routing_grid(assessment: Assessment) -> dict[str, list[int]]:
    """Return the routing form's POST data for the assessment's current routing."""
    return {
        f"route_{item.pk}": [p.pk for p in item.personas.all()]
        for item in assessment.scoped_capabilities.prefetch_related("personas")
    }
