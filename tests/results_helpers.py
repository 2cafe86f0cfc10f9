"""Build submitted responses directly, for scoring, results and export tests."""

import itertools

from django.utils import timezone

from assessment.invitations import invitation_create
from assessment.lifecycle import assessment_create
from assessment.models import (
    Answer,
    Assessment,
    Capability,
    Persona,
    Response,
    ResultsSnapshot,
)
from assessment.snapshots import snapshot_take


def scoped_assessment(
    organisation, framework, slugs: list[str], targets: dict[str, int], **kwargs
) -> Assessment:
    """Create an assessment over a few capabilities with their targets."""
    capabilities = list(
        Capability.objects.filter(version=framework, slug__in=slugs).prefetch_related(
            "default_personas"
        )
    )
    by_slug = {c.slug: c for c in capabilities}
    return assessment_create(
        organisation=organisation,
        framework=framework,
        title=kwargs.pop("title", "Q3 maturity"),
        capabilities=capabilities,
        targets={by_slug[s].pk: level for s, level in targets.items()},
        **kwargs,
    )


# Respondents are invitees, each with an address of their own.
_addresses = (f"respondent{n}@example.com" for n in itertools.count(1))


def respond(
    assessment: Assessment,
    persona_slug: str,
    answers: dict[str, int],
    *,
    business_unit: str = "",
    comments: dict[str, str] | None = None,
    submitted: bool = True,
) -> Response:
    """Create one participant's response with the given answers by slug."""
    persona = Persona.objects.get(version=assessment.framework, slug=persona_slug)
    invitation, _ = invitation_create(
        assessment=assessment,
        persona=persona,
        email=next(_addresses),
        business_unit=business_unit,
    )
    status = Response.Status.SUBMITTED if submitted else Response.Status.DRAFT
    response = Response.objects.create(
        invitation=invitation,
        assessment=assessment,
        persona=persona,
        business_unit=business_unit,
        status=status,
        submitted_at=timezone.now() if submitted else None,
    )
    capabilities = {
        c.slug: c
        for c in Capability.objects.filter(
            version=assessment.framework, slug__in=answers
        )
    }
    comments = comments or {}
    Answer.objects.bulk_create(
        Answer(
            response=response,
            capability=capabilities[slug],
            value=value,
            comment=comments.get(slug, ""),
        )
        for slug, value in answers.items()
    )
    return response


def publish(assessment: Assessment) -> ResultsSnapshot:
    """Publish the assessment's current answers to viewers (interim)."""
    return snapshot_take(assessment=assessment, reason=ResultsSnapshot.Reason.INTERIM)


DK, NA = -1, -2
DI, AL, FC, BU = "data-ingestion", "allocation", "forecasting", "budgeting"


def hand_example(organisation, framework, *, published: bool = True) -> Assessment:
    """The 3 personas x 4 capabilities example worked out by hand in the tests.

    Anonymity threshold 2; FinOps practitioners (3), engineering (2), finance
    (1). Published to viewers unless `published` is False.
    """
    assessment = scoped_assessment(
        organisation,
        framework,
        [DI, AL, FC, BU],
        {DI: 2, AL: 3, FC: 2, BU: 1},
        anonymity_threshold=2,
    )
    fp, en, fi = "finops-practitioner", "engineering", "finance"
    respond(assessment, fp, {DI: 3, AL: 2, FC: 1, BU: 2}, business_unit="Platform")
    respond(assessment, fp, {DI: 2, AL: 2, FC: 1, BU: 3}, business_unit="Platform")
    respond(assessment, fp, {DI: DK, AL: 1, FC: 2, BU: 2})
    respond(assessment, en, {DI: 1, AL: 0, FC: DK, BU: 2}, business_unit="Platform")
    respond(assessment, en, {DI: 1, AL: NA, FC: DK, BU: 1})
    respond(
        assessment,
        fi,
        {DI: 2, AL: 3, FC: 1},
        comments={AL: "Le coût partagé est réparti à la main, dit Zoë."},
    )
    # A draft never counts, however extreme its answers.
    respond(assessment, fi, {DI: 0, AL: 0, FC: 3, BU: 3}, submitted=False)
    if published:
        publish(assessment)
    return assessment
