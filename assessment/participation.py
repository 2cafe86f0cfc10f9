"""Who was invited, who started and who submitted: the participation figures.

`participation_summary` counts live figures for owners (two queries whatever
the number of participants: the assessment's personas, and the invitations
counted per persona in the database). A results snapshot keeps the same
counts as rows (`as_rows`) and viewers' pages rebuild them with
`summary_from_rows`; `disclosure` decides what viewers see of them.
"""

from dataclasses import dataclass

from django.db.models import Count, Q

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
        rate = self.response_rate
        return None if rate is None else round(rate * 100)


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
    rows = [
        (row["persona"], row["invited"], row["started"], row["submitted"])
        for row in assessment.invitations.order_by()
        .values("persona")
        .annotate(
            invited=Count("pk"),
            started=Count("response"),
            submitted=Count("response", filter=submitted),
        )
    ]
    return _summary(assessment, rows)


def summary_from_rows(
    *, assessment: Assessment, rows: list[list[int]]
) -> ParticipationSummary:
    """Rebuild a summary from `as_rows` output (one query, the personas)."""
    return _summary(assessment, [tuple(row) for row in rows])


def as_rows(summary: ParticipationSummary) -> list[list[int]]:
    """Return [persona id, invited, started, submitted] per persona, for JSON."""
    return [[p.persona.pk, p.invited, p.started, p.submitted] for p in summary.personas]


def _summary(
    assessment: Assessment, rows: list[tuple[int, int, int, int]]
) -> ParticipationSummary:
    counts = {persona_id: row for persona_id, *row in rows}
    personas = Persona.objects.filter(
        Q(assessments=assessment) | Q(pk__in=counts.keys())
    ).distinct()
    per_persona = [
        PersonaParticipation(*counts.get(persona.pk, (0, 0, 0)), persona=persona)
        for persona in personas
    ]
    return ParticipationSummary(
        personas=per_persona,
        total=Participation(
            invited=sum(p.invited for p in per_persona),
            started=sum(p.started for p in per_persona),
            submitted=sum(p.submitted for p in per_persona),
        ),
        days_left=assessment.days_left(),
    )
