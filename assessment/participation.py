"""Who was invited, who joined, who started and who submitted.

`participation_summary` counts live figures for owners; `with_participation`
gives the assessment list the same figures. Both count in the database, in a
constant number of queries. A results snapshot keeps the aggregates per
persona (`participation_counts`); viewers see only their total
(`total_of_counts`), as `disclosure` decides.

People come two ways, counted apart: invitees, whom the owner listed by
email address, and people who joined through an open link (their invitation
has no address). A response rate only means something for invitees: someone
who joined through an open link has, by joining, already started.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from . import display
from .models import Assessment, Invitation, Persona, Response


def joined_through_open_link(invitation: Invitation) -> bool:
    """Return whether someone joined through an open link (not invited by email).

    The same rule as the aggregates of `_counts`, for one invitation in hand.
    """
    return not invitation.email


def _plural(n: int, word: str, plural: str) -> str:
    return f"{n} {word if n == 1 else plural}"


@dataclass(frozen=True)
class Group:
    """Counts of the people who came one way (invited, or through an open link)."""

    people: int
    started: int
    submitted: int

    @property
    def in_progress(self) -> int:
        """Return how many started but have not submitted."""
        return self.started - self.submitted

    @property
    def not_started(self) -> int:
        return self.people - self.started

    @property
    def response_rate(self) -> float | None:
        """Return submitted / people as a fraction, or None for nobody."""
        if not self.people:
            return None
        return self.submitted / self.people

    @property
    def response_percent(self) -> int | None:
        """Return the response rate as a whole percentage, for display."""
        return display.shown_percent(self.response_rate)


@dataclass(frozen=True)
class Participation:
    """Participation of one group of people (a persona, or everyone)."""

    invited: Group
    joined: Group  # through an open link

    @classmethod
    def from_counts(cls, counts: dict[str, int]) -> Participation:
        """Build it from the aggregates of `_counts` (missing keys are zeros)."""

        def get(name: str) -> int:
            return counts.get(name) or 0

        return cls(
            invited=Group(
                people=get("n_people") - get("n_joined"),
                started=get("n_started") - get("n_joined_started"),
                submitted=get("n_submitted") - get("n_joined_submitted"),
            ),
            joined=Group(
                people=get("n_joined"),
                started=get("n_joined_started"),
                submitted=get("n_joined_submitted"),
            ),
        )

    @property
    def people(self) -> int:
        return self.invited.people + self.joined.people

    @property
    def started(self) -> int:
        return self.invited.started + self.joined.started

    @property
    def submitted(self) -> int:
        return self.invited.submitted + self.joined.submitted

    @property
    def in_progress(self) -> int:
        return self.started - self.submitted

    @property
    def response_rate(self) -> float | None:
        """Return the invitees' response rate (open-link joiners have none)."""
        return self.invited.response_rate

    @property
    def response_percent(self) -> int | None:
        return self.invited.response_percent

    def sentence(self) -> str:
        """Say who submitted, invitees and open-link joiners apart.

        "10 of 11 invited people submitted (91%); 11 people joined through an
        open link and 11 of them submitted; 2 started without submitting."
        """
        invited, joined = self.invited, self.joined
        parts = []
        if invited.people or not joined.people:
            part = (
                f"{invited.submitted} of "
                f"{_plural(invited.people, 'invited person', 'invited people')} "
                "submitted"
            )
            if invited.response_rate is not None:
                part += f" ({display.percent(invited.response_rate)})"
            parts.append(part)
        if joined.people == 1:
            done = "submitted" if joined.submitted else "has not submitted yet"
            parts.append(f"1 person joined through an open link and {done}")
        elif joined.people:
            parts.append(
                f"{joined.people} people joined through an open link and "
                f"{joined.submitted} of them submitted"
            )
        if self.in_progress:
            parts.append(f"{self.in_progress} started without submitting")
        return "; ".join(parts) + "."


@dataclass(frozen=True)
class PersonaParticipation(Participation):
    persona: Persona


@dataclass(frozen=True)
class ParticipationSummary:
    """Participation of an assessment, per persona (framework order) and total."""

    personas: list[PersonaParticipation]
    total: Participation
    days_left: int | None

    @property
    def has_joined(self) -> bool:
        """Return whether anyone joined through an open link (tables add columns)."""
        return bool(self.total.joined.people)


def _counts(path: str = "") -> dict[str, Count]:
    """Return the aggregates Participation is built from.

    `path` leads from the rows aggregated to the invitations ("" when they
    are invitations, "invitations__" from assessments). Invitees are
    counted as everyone minus the open-link joiners, so that no filter
    needs a negation across the join.
    """
    joined = Q(**{f"{path}email": ""})
    submitted = Q(**{f"{path}response__status": Response.Status.SUBMITTED})
    return {
        "n_people": Count(f"{path}pk"),
        "n_started": Count(f"{path}response"),
        "n_submitted": Count(f"{path}response", filter=submitted),
        "n_joined": Count(f"{path}pk", filter=joined),
        "n_joined_started": Count(f"{path}response", filter=joined),
        "n_joined_submitted": Count(f"{path}response", filter=joined & submitted),
    }


def participation_counts(*, assessment: Assessment) -> dict[int, dict[str, int]]:
    """Return the aggregates of `_counts` per persona id (one query)."""
    return {
        row.pop("persona"): row
        for row in assessment.invitations.order_by()
        .values("persona")
        .annotate(**_counts())
    }


def participation_summary(*, assessment: Assessment) -> ParticipationSummary:
    """Count participation per persona and in total (2 queries).

    Every persona the assessment invites is listed, with zeros if nobody of it
    was invited yet; a persona with participants but no longer invited (which
    the app prevents, but the admin could do) is listed too. "Started" counts
    participants with a response, draft or submitted.
    """
    rows = participation_counts(assessment=assessment)
    personas = Persona.objects.filter(
        Q(assessments=assessment) | Q(pk__in=rows.keys())
    ).distinct()
    per_persona = [
        PersonaParticipation(
            persona=persona, **vars(Participation.from_counts(rows.get(persona.pk, {})))
        )
        for persona in personas
    ]
    return ParticipationSummary(
        personas=per_persona,
        total=total_of_counts(rows.values()),
        days_left=assessment.days_left(),
    )


def total_of_counts(rows: Iterable[Mapping[str, int]]) -> Participation:
    """Return the participation of all the rows of `participation_counts`."""
    rows = list(rows)
    totals = {name: sum(row.get(name, 0) for row in rows) for name in _counts()}
    return Participation.from_counts(totals)


def with_participation(
    assessments: QuerySet[Assessment],
) -> list[tuple[Assessment, Participation]]:
    """Return each assessment with its participation (one query for all)."""
    return [
        (assessment, Participation.from_counts(vars(assessment)))
        for assessment in assessments.annotate(**_counts("invitations__"))
    ]
