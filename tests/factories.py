"""Build the domain's objects for tests: one module, one name per builder.

Usage
-----
Fixtures come from tests/conftest.py; never import them (no `noqa` needed):
`framework` (the shipped 2026 catalogue, loaded once per test database),
`organisation`, `other_organisation`, `owner`, `viewer`, `outsider` (an owner
of the other organisation), `assessment` (a draft of the whole framework),
`open_assessment`, `hand_example` (the worked example below, published).

Builders are plain functions with keyword-only arguments; personas and
capabilities are given by slug:

    from tests.factories import DI, create_answered_response, create_invitation

    def test_something(client, owner, open_assessment):
        invitation, token = create_invitation(
            assessment=open_assessment, persona="finance", email="f@acme.example"
        )
        create_answered_response(
            assessment=open_assessment, persona="engineering", answers={DI: 3}
        )

- create_member(organisation=, username=, role=) -> user
- create_assessment(organisation=, framework=, status=Assessment.Status.OPEN)
  of the whole framework (draft by default);
  set_assessment_status(assessment=, status=) stamps opened_at / closed_at
- create_scoped_assessment(organisation=, framework=, capability_slugs=[DI],
  targets={DI: 2}) over a few capabilities (draft)
- create_invitation(assessment=, persona="engineering", email="") ->
  (invitation, raw token); other keywords go to invitation_create
- start_response(assessment=, persona=) -> (raw token, draft response), a
  participant who confirmed their persona, as the survey does;
  answer_every_question(response=, value=2) answers through the service
- respond_to_invitation(invitation=, submitted=True, answer_slugs=(DI,)) a
  response written directly, 2 to each slug
- create_answered_response(assessment=, persona=, answers={DI: 3, AL: DK})
  invites a new respondent and writes their answers (submitted by default;
  business_unit=, comments={DI: "..."}, submitted=False)
- publish_snapshot(assessment=) publishes current answers to viewers
- create_hand_example(organisation=, framework=, published=True)
- survey_url(name="survey_landing", token=), survey_page_url(token=,
  domain=), routing_form_data(assessment=) for the routing form's POST
- DK, NA (answer values) and DI, AL, FC, BU (capability slugs)
- kept_for_module(django_db_blocker, build, media=None): rows a module's
  tests share, built once (`yield from` it in a module-scoped fixture)

PDF: every test gets a tiny valid PDF from `assessment.pdf.html_to_pdf`
instead of WeasyPrint's render in a render process (the report's HTML is still
built). Mark a test `@pytest.mark.real_pdf` only when it reads the PDF's text
or layout, or is about the render itself; read it with `tests/pdf_reading.py`.

Parallel: `make test` runs `pytest -n 2` (pytest-xdist); each worker has its
own test database, so never rely on ids or on another test's data.
"""

import itertools
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import TypeVar

from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from assessment.invitations import invitation_create
from assessment.lifecycle import assessment_create
from assessment.models import (
    Answer,
    Assessment,
    Capability,
    FrameworkVersion,
    Invitation,
    Membership,
    Organisation,
    Persona,
    Response,
    ResultsSnapshot,
)
from assessment.responses import answers_save, response_start
from assessment.snapshots import snapshot_take
from assessment.tokens import hash_token

# Answer values and capabilities of the hand-computed example.
DK, NA = -1, -2
DI, AL, FC, BU = "data-ingestion", "allocation", "forecasting", "budgeting"


def create_member(*, organisation: Organisation, username: str, role: str):
    """Create a user who belongs to the organisation with the given role."""
    user = get_user_model().objects.create_user(username, password="pw")
    Membership.objects.create(organisation=organisation, user=user, role=role)
    return user


# --- Assessments ------------------------------------------------------------


def create_assessment(
    *,
    organisation: Organisation,
    framework: FrameworkVersion,
    status: str = Assessment.Status.DRAFT,
    title: str = "FinOps maturity 2026",
    **kwargs,
) -> Assessment:
    """Create an assessment of the whole framework in the given status."""
    assessment = assessment_create(
        organisation=organisation, framework=framework, title=title, **kwargs
    )
    if status != Assessment.Status.DRAFT:
        set_assessment_status(assessment=assessment, status=status)
    return assessment


def create_scoped_assessment(
    *,
    organisation: Organisation,
    framework: FrameworkVersion,
    capability_slugs: list[str],
    targets: dict[str, int],
    title: str = "Q3 maturity",
    **kwargs,
) -> Assessment:
    """Create a draft assessment over a few capabilities with their targets."""
    capabilities = list(
        Capability.objects.filter(
            version=framework, slug__in=capability_slugs
        ).prefetch_related("default_personas")
    )
    by_slug = {c.slug: c for c in capabilities}
    return assessment_create(
        organisation=organisation,
        framework=framework,
        title=title,
        capabilities=capabilities,
        targets={by_slug[s].pk: level for s, level in targets.items()},
        **kwargs,
    )


def set_assessment_status(*, assessment: Assessment, status: str) -> None:
    """Move the assessment to a status, stamping when it opened or closed."""
    assessment.status = status
    now = timezone.now()
    if status == Assessment.Status.OPEN or (
        status == Assessment.Status.CLOSED and assessment.opened_at is None
    ):
        assessment.opened_at = now
    if status == Assessment.Status.CLOSED:
        assessment.closed_at = now
    assessment.save()


def routing_form_data(*, assessment: Assessment) -> dict[str, list[int]]:
    """Return the routing form's POST data for the assessment's current routing."""
    return {
        f"route_{item.pk}": [p.pk for p in item.personas.all()]
        for item in assessment.scoped_capabilities.prefetch_related("personas")
    }


def survey_url(*, name: str, token: str) -> str:
    """Return a survey page's URL by its name without the app prefix."""
    return reverse(f"assessment:{name}", args=[token])


def survey_page_url(*, token: str, domain: str) -> str:
    """Return the URL of the survey page for one domain (slug)."""
    return reverse("assessment:survey_page", args=[token, domain])


# --- Participants -----------------------------------------------------------


def get_persona(*, framework: FrameworkVersion, slug: str) -> Persona:
    return framework.personas.get(slug=slug)


def create_invitation(
    *,
    assessment: Assessment,
    persona: str = "engineering",
    email: str = "",
    **kwargs,
) -> tuple[Invitation, str]:
    """Invite one participant of a persona (slug); return invitation, raw token."""
    return invitation_create(
        assessment=assessment,
        persona=get_persona(framework=assessment.framework, slug=persona),
        email=email,
        **kwargs,
    )


def start_response(
    *, assessment: Assessment, persona: str, email: str = ""
) -> tuple[str, Response]:
    """Invite a participant who confirms their persona; return token, response."""
    _, token = create_invitation(assessment=assessment, persona=persona, email=email)
    invitation = Invitation.objects.get(tokens__token_hash=hash_token(token))
    response = response_start(
        invitation=invitation, persona=invitation.persona, business_unit=""
    )
    return token, response


def answer_every_question(*, response: Response, value: int = 2) -> None:
    """Answer every question routed to the response's persona, as the survey does."""
    capabilities = Capability.objects.filter(
        pk__in=response.assessment.scoped_capabilities.filter(
            personas=response.persona
        ).values("capability_id")
    )
    answers_save(
        response=response,
        answers={capability.pk: (value, "") for capability in capabilities},
    )


def _create_response(
    *,
    invitation: Invitation,
    answers: dict[str, int],
    comments: dict[str, str],
    business_unit: str,
    submitted: bool,
) -> Response:
    """Store a response and its answers directly, skipping the survey's checks."""
    response = Response.objects.create(
        invitation=invitation,
        assessment=invitation.assessment,
        persona=invitation.persona,
        business_unit=business_unit,
        status=Response.Status.SUBMITTED if submitted else Response.Status.DRAFT,
        submitted_at=timezone.now() if submitted else None,
        submit_count=1 if submitted else 0,
    )
    capabilities = {
        c.slug: c
        for c in Capability.objects.filter(
            version=invitation.assessment.framework, slug__in=answers
        )
    }
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


def respond_to_invitation(
    *, invitation: Invitation, submitted: bool, answer_slugs: tuple[str, ...] = ()
) -> Response:
    """Give an invitation a response (draft or submitted) answering 2 to each slug."""
    return _create_response(
        invitation=invitation,
        answers=dict.fromkeys(answer_slugs, 2),
        comments={},
        business_unit="",
        submitted=submitted,
    )


# Respondents are invitees, each with an address of their own.
_addresses = (f"respondent{n}@example.com" for n in itertools.count(1))


def create_answered_response(
    *,
    assessment: Assessment,
    persona: str,
    answers: dict[str, int],
    business_unit: str = "",
    comments: dict[str, str] | None = None,
    submitted: bool = True,
) -> Response:
    """Invite a new respondent of a persona (slug) and store their answers by slug."""
    invitation, _ = create_invitation(
        assessment=assessment,
        persona=persona,
        email=next(_addresses),
        business_unit=business_unit,
    )
    return _create_response(
        invitation=invitation,
        answers=answers,
        comments=comments or {},
        business_unit=business_unit,
        submitted=submitted,
    )


def publish_snapshot(*, assessment: Assessment) -> ResultsSnapshot:
    """Publish the assessment's current answers to viewers (interim)."""
    return snapshot_take(assessment=assessment, reason=ResultsSnapshot.Reason.INTERIM)


def create_hand_example(
    *, organisation: Organisation, framework: FrameworkVersion, published: bool = True
) -> Assessment:
    """The 3 personas x 4 capabilities example worked out by hand in the tests.

    Anonymity threshold 2; FinOps practitioners (3), engineering (2), finance
    (1). Published to viewers unless `published` is False.
    """
    assessment = create_scoped_assessment(
        organisation=organisation,
        framework=framework,
        capability_slugs=[DI, AL, FC, BU],
        targets={DI: 2, AL: 3, FC: 2, BU: 1},
        anonymity_threshold=2,
    )
    fp, en, fi = "finops-practitioner", "engineering", "finance"
    for persona, answers, business_unit in (
        (fp, {DI: 3, AL: 2, FC: 1, BU: 2}, "Platform"),
        (fp, {DI: 2, AL: 2, FC: 1, BU: 3}, "Platform"),
        (fp, {DI: DK, AL: 1, FC: 2, BU: 2}, ""),
        (en, {DI: 1, AL: 0, FC: DK, BU: 2}, "Platform"),
        (en, {DI: 1, AL: NA, FC: DK, BU: 1}, ""),
    ):
        create_answered_response(
            assessment=assessment,
            persona=persona,
            answers=answers,
            business_unit=business_unit,
        )
    create_answered_response(
        assessment=assessment,
        persona=fi,
        answers={DI: 2, AL: 3, FC: 1},
        comments={AL: "Le coût partagé est réparti à la main, dit Zoë."},
    )
    # A draft never counts, however extreme its answers.
    create_answered_response(
        assessment=assessment,
        persona=fi,
        answers={DI: 0, AL: 0, FC: 3, BU: 3},
        submitted=False,
    )
    if published:
        publish_snapshot(assessment=assessment)
    return assessment


T = TypeVar("T")


def kept_for_module(
    django_db_blocker, build: Callable[[], T], media: Path | None = None
) -> Iterator[T]:
    """Build rows a module's tests share; for `yield from` in a module fixture.

    `build` runs in a transaction that stays open until the fixture ends,
    then is rolled back. Each test runs in a savepoint inside it
    (pytest-django's `db`), so what one test changes is undone before the
    next. Files `build` stores go to `media`: tests set `settings.MEDIA_ROOT`
    to it to find them.
    """
    kept = transaction.atomic()
    stored = override_settings(MEDIA_ROOT=str(media)) if media else nullcontext()
    with django_db_blocker.unblock():
        kept.__enter__()
    try:
        with django_db_blocker.unblock(), stored:
            built = build()
        yield built
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            kept.__exit__(None, None, None)
