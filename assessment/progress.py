"""How far a participant has got: questions asked and answered, time needed.

A participant's questions are the capabilities in scope routed to their
persona, plus those they added ("answer more"); a question is answered when
its answer has a value (a comment alone does not answer it). The survey pages
count one participant's questions as they list them; emails count all their
recipients at once, in the database, by the same rules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from django.db.models import Count, Exists, OuterRef

from . import display
from .models import Answer, Invitation, Response, ScopedCapability

# Reading three levels of signs and choosing takes about a minute and a half.
MINUTES_PER_QUESTION = Fraction(3, 2)


def minutes_to_answer(question_count: int) -> int:
    """Estimate the time to answer, rounded up to five minutes (at least five)."""
    return max(5, math.ceil(question_count * MINUTES_PER_QUESTION / 5) * 5)


@dataclass(frozen=True)
class Progress:
    """One participant's questions: how many, and how many answered."""

    answered: int
    total: int

    @property
    def remaining(self) -> int:
        return max(self.total - self.answered, 0)

    @property
    def percent(self) -> int:
        """Return the share answered as a whole percentage (0 without questions)."""
        if not self.total:
            return 0
        return display.shown_percent(Fraction(self.answered, self.total))

    @property
    def minutes(self) -> int:
        """Return the estimated time to answer every question."""
        return minutes_to_answer(self.total)

    @property
    def minutes_left(self) -> int:
        """Return the estimated time to answer the questions left."""
        return minutes_to_answer(self.remaining)

    @property
    def state(self) -> str:
        """Return "none", "some" or "all", for wording that fits."""
        if not self.answered:
            return "none"
        return "all" if self.answered >= self.total else "some"


def progress_by_invitation(
    *, assessment_id: int, invitations: list[Invitation]
) -> dict[int, Progress]:
    """Return the progress of each invitation of an assessment, by its id.

    Four queries whatever the number of invitations: the routed questions per
    persona, the responses' personas, the added questions and the answered
    ones. Someone who has not started is asked their invitation's persona's
    questions; someone who has, their response's persona's.
    """
    ids = [invitation.pk for invitation in invitations]
    scoped = ScopedCapability.objects.filter(assessment_id=assessment_id)
    Route = ScopedCapability.personas.through
    routes = Route.objects.filter(scopedcapability__assessment_id=assessment_id)
    routed = dict(
        routes.order_by()
        .values("persona_id")
        .annotate(n=Count("pk"))
        .values_list("persona_id", "n")
    )
    personas = dict(
        Response.objects.filter(invitation_id__in=ids).values_list(
            "invitation_id", "persona_id"
        )
    )

    def routed_to_response(capability: str) -> Exists:
        """A question routed to the persona the response answers as."""
        return Exists(
            routes.filter(
                scopedcapability__capability_id=OuterRef(capability),
                persona_id=OuterRef("response__persona_id"),
            )
        )

    Extra = Response.extra_capabilities.through
    added = dict(
        Extra.objects.filter(
            response__invitation_id__in=ids,
            capability_id__in=scoped.values("capability_id"),
        )
        .exclude(routed_to_response("capability_id"))
        .order_by()
        .values("response__invitation_id")
        .annotate(n=Count("pk"))
        .values_list("response__invitation_id", "n")
    )
    is_added = Exists(
        Extra.objects.filter(
            response_id=OuterRef("response_id"), capability_id=OuterRef("capability_id")
        )
    )
    answered = dict(
        Answer.objects.filter(
            response__invitation_id__in=ids,
            value__isnull=False,
            capability_id__in=scoped.values("capability_id"),
        )
        .filter(routed_to_response("capability_id") | is_added)
        .order_by()
        .values("response__invitation_id")
        .annotate(n=Count("pk"))
        .values_list("response__invitation_id", "n")
    )
    return {
        invitation.pk: Progress(
            answered=answered.get(invitation.pk, 0),
            total=routed.get(personas.get(invitation.pk, invitation.persona_id), 0)
            + added.get(invitation.pk, 0),
        )
        for invitation in invitations
    }
