"""Helpers for the participant's survey tests: open assessments, participants."""

from django.urls import reverse
from django.utils import timezone

from assessment.invitations import invitation_create
from assessment.lifecycle import assessment_create
from assessment.models import (
    Assessment,
    Capability,
    FrameworkVersion,
    Invitation,
    Organisation,
    Persona,
    Response,
)
from assessment.responses import answers_save, response_start
from assessment.tokens import hash_token


def open_assessment(
    organisation: Organisation, framework: FrameworkVersion, **kwargs
) -> Assessment:
    """Create an assessment of the whole framework and open it."""
    assessment = assessment_create(
        organisation=organisation,
        framework=framework,
        title=kwargs.pop("title", "FinOps maturity 2026"),
        **kwargs,
    )
    set_status(assessment, Assessment.Status.OPEN)
    return assessment


def set_status(assessment: Assessment, status: str) -> None:
    assessment.status = status
    now = timezone.now()
    if status == Assessment.Status.OPEN:
        assessment.opened_at = now
    if status == Assessment.Status.CLOSED:
        assessment.closed_at = now
    assessment.save()


def persona(framework: FrameworkVersion, slug: str) -> Persona:
    return framework.personas.get(slug=slug)


def invite(assessment: Assessment, slug: str, email: str = "") -> str:
    """Invite a participant of a persona and return their raw token."""
    _, token = invitation_create(
        assessment=assessment,
        persona=assessment.framework.personas.get(slug=slug),
        email=email,
    )
    return token


def start(assessment: Assessment, slug: str, email: str = "") -> tuple[str, Response]:
    """Invite a participant and confirm their persona; return token, response."""
    _, token = invitation_create(
        assessment=assessment,
        persona=assessment.framework.personas.get(slug=slug),
        email=email,
    )
    invitation = Invitation.objects.get(tokens__token_hash=hash_token(token))
    response = response_start(
        invitation=invitation, persona=invitation.persona, business_unit=""
    )
    return token, response


def answer_all(response: Response, value: int = 2) -> None:
    """Answer every question routed to the response's persona."""
    capabilities = Capability.objects.filter(
        pk__in=response.assessment.scoped_capabilities.filter(
            personas=response.persona
        ).values("capability_id")
    )
    answers_save(
        response=response,
        answers={capability.pk: (value, "") for capability in capabilities},
    )


def page_url(token: str, domain_slug: str) -> str:
    return reverse("assessment:survey_page", args=[token, domain_slug])


def url(name: str, token: str) -> str:
    return reverse(f"assessment:{name}", args=[token])
