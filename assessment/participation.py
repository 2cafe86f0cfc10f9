"""Who was invited, who started and who submitted: the participation figures.

`participation_summary` is shared by the assessment page, the results page and
the PDF report. It runs two queries whatever the number of participants: the
assessment's personas, and the invitations counted per persona in the database.
"""

from dataclasses import dataclass
from fractions import Fraction

from django.db.models import Count, Q

from .display import shown_percent
from .models import Assessment, Persona, Response


@dataclass(frozen=True)
class Participation:
    """Counts for one group of participants (a persona, or everyone)."""

    invited: int
    started: int
    submitted: int

    @property
    def in_progress(self) -> int:
        """Return how many started but have not submitted."""
        return self.started - self.submitted

    @property
    def not_started(self) -> int:
        return self.invited - self.started

    @property
    def response_rate(self) -> float | None:
        """Return submitted / invited as a fraction, or None if nobody is invited."""
        if not self.invited:
            return None
        return self.submitted / self.invited

    @property
    def response_percent(self) -> int | None:
        """Return the response rate as a whole percentage, for display."""
        if not self.invited:
            return None
        return shown_percent(Fraction(self.submitted, self.invited))


@dataclass(frozen=True)
class PersonaParticipation(Participation):
    persona: Persona


@dataclass(frozen=True)
class ParticipationSummary:
    """Participation of an assessment, per persona (framework order) and total."""

    personas: list[PersonaParticipation]
    total: Participation
    days_left: int | None


def participation_summary(*, assessment: Assessment) -> ParticipationSummary:
    """Count invited, started and submitted participants per persona (2 queries).

    Every persona the assessment invites is listed, with zeros if nobody of it
    was invited yet; a persona with participants but no longer invited (which
    the app prevents, but the admin could do) is listed too. "Started" counts
    participants with a response, draft or submitted; open-link participants
    count as invited once they join.
    """
    submitted = Q(response__status=Response.Status.SUBMITTED)
    rows = {
        row["persona"]: row
        for row in assessment.invitations.order_by()
        .values("persona")
        .annotate(
            invited=Count("pk"),
            started=Count("response"),
            submitted=Count("response", filter=submitted),
        )
    }
    personas = Persona.objects.filter(
        Q(assessments=assessment) | Q(pk__in=rows.keys())
    ).distinct()
    per_persona = [
        PersonaParticipation(
            persona=persona,
            invited=rows.get(persona.pk, {}).get("invited", 0),
            started=rows.get(persona.pk, {}).get("started", 0),
            submitted=rows.get(persona.pk, {}).get("submitted", 0),
        )
        for persona in personas
    ]
    total = Participation(
        invited=sum(p.invited for p in per_persona),
        started=sum(p.started for p in per_persona),
        submitted=sum(p.submitted for p in per_persona),
    )
    return ParticipationSummary(
        personas=per_persona, total=total, days_left=assessment.days_left()
    )
