"""A participant's response: starting, saving answers, submitting, reopening.

Every write locks the response row (`select_for_update`) inside a
transaction, so a double click, two tabs or a replayed POST serialise and the
last write wins; the database keeps one answer per capability per response.
"""

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from .invitations import invitation_create
from .models import (
    Answer,
    Assessment,
    Capability,
    Invitation,
    OpenLink,
    Persona,
    Response,
    ScopedCapability,
)

# A posted answer: (value or None for unanswered, comment).
AnswerInput = tuple[int | None, str]


class ResponseLocked(Exception):
    """A write the response's state does not allow; the message says why."""


def closed_message(assessment: Assessment) -> str:
    """Return the sentence telling a participant why answers cannot change."""
    if assessment.status == Assessment.Status.DRAFT:
        return "This assessment is not open yet, so answers cannot be saved."
    return (
        "This assessment has closed, so answers can no longer be changed. "
        "Your answers stay readable here."
    )


def response_questions(
    *, assessment_id: int, persona_id: int, response_id: int | None
) -> QuerySet[Capability]:
    """Return the capabilities a participant is asked, in catalogue order.

    In scope and routed to the persona, or added by the participant ("answer
    more"). One query when evaluated; each row carries its domain and
    `is_extra`.
    """
    scoped = ScopedCapability.objects.filter(assessment_id=assessment_id)
    routed = scoped.filter(personas=persona_id).values("capability_id")
    Extra = Response.extra_capabilities.through
    extra = Extra.objects.filter(response_id=response_id)
    return (
        Capability.objects.filter(pk__in=scoped.values("capability_id"))
        .annotate(is_extra=Exists(extra.filter(capability_id=OuterRef("pk"))))
        .filter(Q(pk__in=routed) | Q(is_extra=True))
        .select_related("domain")
        .order_by("position")
    )


def _lock(response: Response, *, allow_submitted: bool = False) -> Response:
    """Lock and return a fresh copy of the response if it may still change.

    The assessment row is locked too: closing the assessment and taking a
    results snapshot lock it, so no submission slips in between the counts
    of a snapshot.
    """
    locked = (
        Response.objects.select_for_update(of=("self", "assessment"))
        .select_related("assessment")
        .get(pk=response.pk)
    )
    if not locked.assessment.is_open:
        raise ResponseLocked(closed_message(locked.assessment))
    if locked.is_submitted and not allow_submitted:
        raise ResponseLocked(
            "You have already submitted your answers. Reopen them to make changes."
        )
    return locked


def _keep_answered_as_extra(response: Response, persona: Persona) -> None:
    """Keep answers outside the new persona's routing as "answer more" ones."""
    new_routing = response_questions(
        assessment_id=response.assessment_id,
        persona_id=persona.pk,
        response_id=None,
    ).values("pk")
    answered = response.answers.exclude(capability_id__in=new_routing)
    response.extra_capabilities.add(*answered.values_list("capability_id", flat=True))


def fixed_persona(invitation: Invitation) -> Persona | None:
    """Return the persona an open link fixed for its joiner, if it did."""
    link = invitation.open_link
    if link is None or link.allow_persona_choice:
        return None
    return invitation.persona


def _check_persona(fixed: Persona | None, persona: Persona) -> None:
    if fixed is not None and persona.pk != fixed.pk:
        raise ResponseLocked(
            f"This link is for {fixed.name}: answers are given in that role."
        )


@transaction.atomic
def response_start(
    *, invitation: Invitation, persona: Persona, business_unit: str
) -> Response:
    """Create the invitation's response, or update its persona and unit.

    A participant who joined through an open link keeps the link's persona,
    unless the link let them choose.
    """
    if not invitation.assessment.is_open:
        raise ResponseLocked(closed_message(invitation.assessment))
    _check_persona(fixed_persona(invitation), persona)
    response = Response.objects.filter(invitation=invitation).first()
    if response is None:
        return Response.objects.create(
            invitation=invitation,
            assessment=invitation.assessment,
            persona=persona,
            business_unit=business_unit,
        )
    response = _lock(response)
    if persona.pk != response.persona_id:
        _keep_answered_as_extra(response, persona)
    response.persona = persona
    response.business_unit = business_unit
    response.updated_at = timezone.now()
    response.save(update_fields=["persona", "business_unit", "updated_at"])
    return response


@transaction.atomic
def open_link_join(
    *, open_link: OpenLink, persona: Persona, business_unit: str
) -> tuple[Response, str]:
    """Join through an open link: a personal invitation and its response.

    Return the response and the raw personal token (shown once, to bookmark).
    The persona is the link's, unless the link lets participants choose.
    """
    if not open_link.assessment.is_open:
        raise ResponseLocked(closed_message(open_link.assessment))
    if not open_link.allow_persona_choice:
        _check_persona(open_link.persona, persona)
    invitation, token = invitation_create(
        assessment=open_link.assessment,
        persona=persona,
        business_unit=business_unit,
        open_link=open_link,
    )
    response = Response.objects.create(
        invitation=invitation,
        assessment=open_link.assessment,
        persona=persona,
        business_unit=business_unit,
    )
    return response, token


@transaction.atomic
def answers_save(*, response: Response, answers: dict[int, AnswerInput]) -> None:
    """Upsert a page of answers; an empty value and comment clears one.

    The caller has checked that every capability id is one of the
    participant's questions.
    """
    locked = _lock(response)
    now = timezone.now()
    keep = [
        Answer(
            response=locked,
            capability_id=capability_id,
            value=value,
            comment=comment,
            updated_at=now,
        )
        for capability_id, (value, comment) in answers.items()
        if value is not None or comment
    ]
    cleared = [
        capability_id
        for capability_id, (value, comment) in answers.items()
        if value is None and not comment
    ]
    if keep:
        Answer.objects.bulk_create(
            keep,
            update_conflicts=True,
            unique_fields=["response", "capability"],
            update_fields=["value", "comment", "updated_at"],
        )
    if cleared:
        locked.answers.filter(capability_id__in=cleared).delete()
    locked.updated_at = now
    locked.save(update_fields=["updated_at"])


@transaction.atomic
def extras_set(*, response: Response, capability_ids: set[int]) -> None:
    """Set the "answer more" capabilities; answers to removed ones go too."""
    locked = _lock(response)
    current = set(locked.extra_capabilities.values_list("pk", flat=True))
    removed = current - capability_ids
    if removed:
        locked.answers.filter(capability_id__in=removed).delete()
        locked.extra_capabilities.remove(*removed)
    locked.extra_capabilities.add(*(capability_ids - current))


@transaction.atomic
def response_submit(*, response: Response) -> bool:
    """Submit the response; return False if it already was (a replay)."""
    locked = _lock(response, allow_submitted=True)
    if locked.is_submitted:
        return False
    if not locked.answers.filter(value__isnull=False).exists():
        raise ResponseLocked("Answer at least one question before submitting.")
    now = timezone.now()
    locked.status = Response.Status.SUBMITTED
    locked.submitted_at = now
    locked.updated_at = now
    locked.submit_count += 1
    locked.save(update_fields=["status", "submitted_at", "updated_at", "submit_count"])
    return True


@transaction.atomic
def response_reopen(*, response: Response) -> bool:
    """Turn a submitted response back into a draft; False if it was one."""
    locked = _lock(response, allow_submitted=True)
    if not locked.is_submitted:
        return False
    locked.status = Response.Status.DRAFT
    locked.updated_at = timezone.now()
    locked.save(update_fields=["status", "updated_at"])
    return True
