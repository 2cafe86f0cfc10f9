"""The owner's list of invitees: filters, their counts and one page of rows.

Built for organisation-wide lists (10,000 people and more): the page costs
the same queries whatever the size of the list, one for the counts, one for
the number of matches, one for the page's rows and, when the page shows
open-link participants, one to number them.

People come two ways and the list keeps them apart: invitees (listed by the
owner with an address) and people who joined through an open link (no
address; numbered within the assessment by when they joined).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import QueryDict

from . import mailing
from .models import Assessment, EmailDelivery, Invitation, Persona, Response

PER_PAGE = 50
# The list's state in a query string: what a page link or a form keeps.
PARAMS = ("q", "persona", "status", "source", "page")
PARAM_MAX = 254  # an email address's longest

_submitted = Q(response__status=Response.Status.SUBMITTED)
_joined = Q(email="")


@dataclass(frozen=True)
class Filter:
    label: str
    condition: Q


# An email to the invitee failed and was not made good by a later one.
_email_failed = Exists(
    mailing.still_failed(EmailDelivery.objects.filter(invitation=OuterRef("pk")))
)

# The first four partition the list (their counts add up to the total);
# a failed email can happen in any of them.
STATUSES = {
    "not_sent": Filter(
        "Not sent yet", ~_joined & Q(sent_at__isnull=True, response__isnull=True)
    ),
    "sent": Filter(
        "Sent or joined, not started",
        Q(response__isnull=True) & (Q(sent_at__isnull=False) | _joined),
    ),
    "started": Filter(
        "Started, not submitted", Q(response__isnull=False) & ~_submitted
    ),
    "submitted": Filter("Submitted", _submitted),
    "failed": Filter("Email failed", Q(_email_failed)),
}
SOURCES = {
    "invited": Filter("Invited by email", ~_joined),
    "joined": Filter("Joined through an open link", _joined),
}


def invitee_counts(
    *, assessment: Assessment, personas: list[Persona]
) -> dict[str, int]:
    """Count the whole list per status, source and persona (one query).

    Keys: "total", the names of STATUSES and SOURCES, and "persona-<pk>".
    """
    counts = {"total": Count("pk")}
    for name, item in (STATUSES | SOURCES).items():
        counts[name] = Count("pk", filter=item.condition)
    for persona in personas:
        counts[f"persona-{persona.pk}"] = Count("pk", filter=Q(persona=persona))
    return assessment.invitations.order_by().aggregate(**counts)


def invitees_matching(
    *,
    assessment: Assessment,
    q: str = "",
    persona: Persona | None = None,
    status: str = "",
    source: str = "",
) -> QuerySet[Invitation]:
    """Return the invitees matching the filters, in the list's order."""
    rows = assessment.invitations.select_related("persona", "response").annotate(
        email_failed=_email_failed
    )
    if q:
        rows = rows.filter(email__icontains=q)
    if persona is not None:
        rows = rows.filter(persona=persona)
    if status:
        rows = rows.filter(STATUSES[status].condition)
    if source:
        rows = rows.filter(SOURCES[source].condition)
    return rows.order_by("persona__position", "email", "pk")


def invitee_page(rows: QuerySet[Invitation], number: str | int | None) -> Page:
    """Return one page of rows (the last one for a number past it), labelled.

    Two queries: the number of matches, the page's rows; a third numbers
    the open-link participants on the page, if any.
    """
    page = Paginator(rows, PER_PAGE).get_page(number)
    page.object_list = list(page.object_list)
    _label(page.object_list)
    return page


def _label(invitees: list[Invitation]) -> None:
    """Label each row: its address, or "Open-link participant N".

    N counts the assessment's open-link participants in the order they
    joined (a database id would tell how many joined other assessments).
    One query for the page, whatever the size of the list.
    """
    joiners = [i for i in invitees if not i.email]
    numbers = {}
    if joiners:
        assessment_id = joiners[0].assessment_id
        numbers = Invitation.objects.filter(
            assessment_id=assessment_id, email=""
        ).aggregate(**{str(i.pk): Count("pk", filter=Q(pk__lte=i.pk)) for i in joiners})
    for invitation in invitees:
        invitation.label = (
            invitation.email or f"Open-link participant {numbers[str(invitation.pk)]}"
        )


def list_state(params: QueryDict) -> QueryDict:
    """Keep only the list's own parameters, each of a sensible length.

    Used to carry the filters and page through a form post and back, so
    that an action on page 7 of "not sent" returns to it.
    """
    state = QueryDict(mutable=True)
    for name in PARAMS:
        value = params.get(name, "").strip()
        if value and len(value) <= PARAM_MAX:
            state[name] = value
    return state
