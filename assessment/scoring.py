"""Scores of an assessment: one query layer, then pure maths on small rows.

The database returns answer counts per (capability, persona, value); every
figure (persona means, capability scores, medians, rates, disagreement,
priorities, domain and overall scores) is computed from those counts in pure
functions. The number of queries therefore never depends on the number of
respondents, and the maths is testable without a database.

Arithmetic is exact (`fractions.Fraction`) until a figure leaves this module.
What people read is the score as displayed (one decimal, half-up, see
`display`), so every judgement made about a score is made on that shown
value: its level, its gap to target (and so whether it is a priority), the
disagreement between personas and the change since the last round. A score
shown as 1.5 is therefore labelled Walk even when it is 1.487, and a
capability shown at 2.0 against a target of 2 has no gap. The exact values
stay available for the data exports.

Rules (also shown on the "How scores are computed" page):
- Not started = 0, Crawl = 1, Walk = 2, Run = 3; Don't know and Not
  applicable are counted and reported as rates, never scored.
- Only submitted responses count.
- Persona score = mean of that persona's scored answers.
- Capability score = mean of the persona scores (each persona weighs the same).
- Domain score = mean of its scored capability scores; overall = mean of the
  domain scores.
- Level = the nearest level of the shown score.
- Gap = target - shown score; below target (a priority) when the gap is > 0.
- Disagreement = highest - lowest shown persona score among personas with at
  least k scored answers; contested when >= 1.
- Priority = rank by positive gap to target, ties by foundational order.
- Change since the last round = shown score now - shown score then.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from fractions import Fraction

from django.db.models import Count

from .display import shown_score
from .models import (
    Answer,
    Assessment,
    Capability,
    CapabilityAlias,
    Domain,
    Level,
    Persona,
    Response,
    ScopedCapability,
)

SCORED_VALUES = (0, 1, 2, 3)
DONT_KNOW = Answer.Value.DONT_KNOW.value
NOT_APPLICABLE = Answer.Value.NOT_APPLICABLE.value
ALL_VALUES = (*SCORED_VALUES, DONT_KNOW, NOT_APPLICABLE)
# A full level apart between personas is a finding in itself.
CONTESTED_AT = Fraction(1)

Counts = Mapping[int, int]  # answer value -> number of answers


# ---------------------------------------------------------------------------
# Result types
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonaScore:
    persona: Persona
    score: float
    n: int  # respondents of this persona with a scored answer

    @property
    def shown_score(self) -> Decimal:
        # A persona mean has a small denominator: its float reads back exactly.
        return shown_score(self.score)


@dataclass(frozen=True)
class AnswerShare:
    """How many answers of a capability had one value."""

    value: int
    label: str
    n: int
    share: Fraction

    @property
    def bar_width(self) -> str:
        """Return the share as a CSS width (layout, not a figure people read)."""
        return f"{float(self.share) * 100:.2f}%"


@dataclass(frozen=True)
class CapabilityResult:
    capability: Capability
    target: int
    score: float | None
    respondent_mean: float | None
    median: float | None
    level: int | None  # of the shown score
    gap: Decimal | None  # target - shown score
    counts: dict[int, int]
    answered: int
    scored: int
    dont_know_rate: float | None
    not_applicable_rate: float | None
    persona_scores: list[PersonaScore]
    hidden_personas: int
    disagreement: Decimal | None  # between shown persona scores
    contested: bool
    priority: int | None = None
    exact_score: Fraction | None = field(default=None, repr=False, compare=False)

    @property
    def shown_score(self) -> Decimal | None:
        """Return the score as displayed (one decimal, half-up)."""
        return shown_score(self.exact_score)

    @property
    def domain(self) -> Domain:
        return self.capability.domain

    @property
    def level_name(self) -> str:
        return level_name(self.level)

    @property
    def target_name(self) -> str:
        return Level(self.target).label

    def share(self, value: int) -> Fraction:
        """Return the share (0-1) of answers with this value."""
        return Fraction(self.counts.get(value, 0), self.answered or 1)

    @property
    def not_applicable_count(self) -> int:
        return self.counts.get(NOT_APPLICABLE, 0)

    @property
    def distribution(self) -> list[AnswerShare]:
        """Return each answer value given, with its count and share."""
        labels = dict(Answer.Value.choices)
        return [
            AnswerShare(value, labels[value], self.counts[value], self.share(value))
            for value in ALL_VALUES
            if self.counts.get(value)
        ]


@dataclass(frozen=True)
class DomainResult:
    domain: Domain
    score: float | None
    level: int | None  # of the shown score
    target: float  # mean of the capabilities' targets
    capabilities: list[CapabilityResult]
    exact_score: Fraction | None = field(default=None, repr=False, compare=False)

    @property
    def level_name(self) -> str:
        return level_name(self.level)

    @property
    def shown_score(self) -> Decimal | None:
        return shown_score(self.exact_score)

    @property
    def shown_target(self) -> Decimal:
        # A mean of a few whole targets: its float reads back exactly.
        return shown_score(self.target)

    @property
    def gap(self) -> Decimal | None:
        """Return the shown target - the shown score."""
        return shown_gap(self.shown_target, self.exact_score)


@dataclass(frozen=True)
class GroupCount:
    label: str
    n: int


@dataclass(frozen=True)
class Breakdown:
    """Respondents per group; groups under k are folded into one count."""

    groups: list[GroupCount]
    folded_groups: int
    folded_respondents: int


@dataclass(frozen=True)
class Comment:
    capability: Capability
    text: str


@dataclass(frozen=True)
class AssessmentResults:
    assessment: Assessment
    k: int
    overall: float | None
    overall_level: int | None
    domains: list[DomainResult]
    capabilities: list[CapabilityResult]
    priorities: list[CapabilityResult]
    contested: list[CapabilityResult]
    respondents: int
    personas: Breakdown
    business_units: Breakdown
    comments: list[Comment] | None = None
    persona_columns: list[Persona] = field(default_factory=list)
    exact_overall: Fraction | None = field(default=None, repr=False, compare=False)

    @property
    def overall_level_name(self) -> str:
        return level_name(self.overall_level)

    @property
    def shown_overall(self) -> Decimal | None:
        return shown_score(self.exact_overall)

    @property
    def shown_target(self) -> Decimal | None:
        """Return the mean target of the capabilities, as displayed."""
        targets = [Fraction(c.target) for c in self.capabilities]
        return shown_score(mean(targets))


# ---------------------------------------------------------------------------
# Pure maths
# ---------------------------------------------------------------------------


def level_name(level: int | None) -> str:
    """Return a level's name, or "" for no level (nothing scored)."""
    return "" if level is None else Level(level).label


def level_label(score: float | Fraction | Decimal) -> int:
    """Return the nearest level of a score on the 0-3 scale."""
    if score < Fraction(1, 2):
        return Level.NOT_STARTED
    if score < Fraction(3, 2):
        return Level.CRAWL
    if score < Fraction(5, 2):
        return Level.WALK
    return Level.RUN


def shown_level(score: Fraction | None) -> int | None:
    """Return the level of a score as displayed: 1.487 shows 1.5, so Walk."""
    shown = shown_score(score)
    return None if shown is None else level_label(shown)


def shown_gap(target: Decimal | int, score: Fraction | None) -> Decimal | None:
    """Return target - the score as displayed, exactly (2 - 1.95 is 0.0).

    Positive: below target by that much; zero or less: target met.
    """
    shown = shown_score(score)
    return None if shown is None else Decimal(target) - shown


def mean(values: Iterable[Fraction]) -> Fraction | None:
    """Return the exact mean, or None for no values."""
    items = list(values)
    if not items:
        return None
    return sum(items, Fraction(0)) / len(items)


def scored_count(counts: Counts) -> int:
    return sum(counts.get(v, 0) for v in SCORED_VALUES)


def counts_mean(counts: Counts) -> Fraction | None:
    """Return the mean of the scored answers in a value -> count table."""
    n = scored_count(counts)
    if n == 0:
        return None
    return Fraction(sum(v * counts.get(v, 0) for v in SCORED_VALUES), n)


def counts_median(counts: Counts) -> Fraction | None:
    """Return the median of the scored answers in a value -> count table."""
    n = scored_count(counts)
    if n == 0:
        return None
    ordered = [v for v in SCORED_VALUES for _ in range(counts.get(v, 0))]
    middle = n // 2
    if n % 2:
        return Fraction(ordered[middle])
    return Fraction(ordered[middle - 1] + ordered[middle], 2)


def merge_counts(tables: Iterable[Counts]) -> dict[int, int]:
    """Add value -> count tables; every value of the scale appears."""
    total = dict.fromkeys(ALL_VALUES, 0)
    for table in tables:
        for value, n in table.items():
            total[value] = total.get(value, 0) + n
    return total


def disagreement(persona_means: Iterable[Fraction]) -> Decimal | None:
    """Return highest - lowest shown persona score, or None with fewer than two."""
    items = [shown_score(m) for m in persona_means]
    if len(items) < 2:
        return None
    return max(items) - min(items)


def _float(value: Fraction | None) -> float | None:
    return None if value is None else float(value)


def capability_result(
    capability: Capability,
    target: int,
    by_persona: Mapping[Persona, Counts],
    k: int,
) -> CapabilityResult:
    """Compute every figure of one capability from its per-persona counts."""
    persona_means = {
        persona: m
        for persona, counts in by_persona.items()
        if (m := counts_mean(counts)) is not None
    }
    score = mean(persona_means.values())
    counts = merge_counts(by_persona.values())
    answered = sum(counts.values())
    scored = scored_count(counts)
    visible = {
        persona: m
        for persona, m in persona_means.items()
        if scored_count(by_persona[persona]) >= k
    }
    spread = disagreement(visible.values())
    return CapabilityResult(
        capability=capability,
        target=target,
        score=_float(score),
        respondent_mean=_float(counts_mean(counts)),
        median=_float(counts_median(counts)),
        level=shown_level(score),
        gap=shown_gap(target, score),
        counts=counts,
        answered=answered,
        scored=scored,
        dont_know_rate=counts[DONT_KNOW] / answered if answered else None,
        not_applicable_rate=counts[NOT_APPLICABLE] / answered if answered else None,
        persona_scores=[
            PersonaScore(persona, float(m), scored_count(by_persona[persona]))
            for persona, m in sorted(visible.items(), key=lambda i: i[0].position)
        ],
        hidden_personas=len(persona_means) - len(visible),
        disagreement=spread,
        contested=spread is not None and spread >= CONTESTED_AT,
        exact_score=score,
    )


def rank_priorities(capabilities: Iterable[CapabilityResult]) -> list[CapabilityResult]:
    """Return the capabilities below target, numbered by priority.

    Largest gap first; equal gaps go to the more foundational capability,
    because later capabilities build on it. Gaps are those shown (target -
    shown score), so the order reads right from the figures on the page.
    """
    below = [c for c in capabilities if c.gap is not None and c.gap > 0]
    below.sort(key=lambda c: (-c.gap, c.capability.foundational_rank))
    return [replace(c, priority=rank) for rank, c in enumerate(below, start=1)]


def domain_result(domain: Domain, capabilities: list[CapabilityResult]) -> DomainResult:
    """Average the scored capabilities of a domain, and their targets."""
    score = mean(c.exact_score for c in capabilities if c.exact_score is not None)
    return DomainResult(
        domain=domain,
        score=_float(score),
        level=shown_level(score),
        target=float(mean(Fraction(c.target) for c in capabilities) or 0),
        capabilities=capabilities,
        exact_score=score,
    )


def breakdown(counts: Mapping[str, int], k: int) -> Breakdown:
    """Show groups with at least k respondents; fold the rest into one count."""
    shown = sorted(
        (GroupCount(label, n) for label, n in counts.items() if n >= k),
        key=lambda g: (-g.n, g.label),
    )
    small = [n for n in counts.values() if 0 < n < k]
    return Breakdown(shown, len(small), sum(small))


def combine(
    assessment: Assessment,
    targets: list[tuple[Capability, int]],
    answer_counts: Mapping[int, Mapping[Persona, Counts]],
    persona_respondents: Mapping[str, int],
    unit_respondents: Mapping[str, int],
    *,
    comments: list[Comment] | None = None,
) -> AssessmentResults:
    """Assemble the results from already aggregated rows (no queries)."""
    k = assessment.anonymity_threshold
    results = [
        capability_result(cap, target, answer_counts.get(cap.pk, {}), k)
        for cap, target in targets
    ]
    ranked = {c.capability.pk: c for c in rank_priorities(results)}
    results = [ranked.get(c.capability.pk, c) for c in results]
    by_domain: dict[int, list[CapabilityResult]] = defaultdict(list)
    domains: dict[int, Domain] = {}
    for result in results:
        by_domain[result.capability.domain_id].append(result)
        domains[result.capability.domain_id] = result.capability.domain
    domain_results = [
        domain_result(domains[pk], items)
        for pk, items in sorted(by_domain.items(), key=lambda i: domains[i[0]].position)
    ]
    overall = mean(d.exact_score for d in domain_results if d.exact_score is not None)
    return AssessmentResults(
        assessment=assessment,
        k=k,
        overall=_float(overall),
        overall_level=shown_level(overall),
        domains=domain_results,
        capabilities=results,
        priorities=sorted(
            (c for c in results if c.priority is not None), key=lambda c: c.priority
        ),
        contested=[c for c in results if c.contested],
        respondents=sum(persona_respondents.values()),
        personas=breakdown(persona_respondents, k),
        business_units=breakdown(unit_respondents, k),
        comments=comments,
        persona_columns=shown_personas(results),
        exact_overall=overall,
    )


def shown_personas(results: Iterable[CapabilityResult]) -> list[Persona]:
    """Return the personas shown for at least one capability, in catalogue order."""
    seen = {ps.persona.pk: ps.persona for c in results for ps in c.persona_scores}
    return sorted(seen.values(), key=lambda p: p.position)


# ---------------------------------------------------------------------------
# Query layer
# ---------------------------------------------------------------------------


def submitted_answers(assessment: Assessment):
    return Answer.objects.filter(
        response__assessment=assessment,
        response__status=Response.Status.SUBMITTED,
        value__isnull=False,
    )


def assessment_results(
    assessment: Assessment, *, include_comments: bool = False
) -> AssessmentResults:
    """Compute every figure of an assessment in a constant number of queries.

    Four queries (five with comments), whatever the number of respondents.
    """
    scope = list(
        ScopedCapability.objects.filter(assessment=assessment)
        .select_related("capability__domain")
        .order_by("capability__position")
    )
    personas = {
        p.pk: p for p in Persona.objects.filter(version=assessment.framework_id)
    }
    rows = (
        submitted_answers(assessment)
        .values("capability_id", "response__persona_id", "value")
        .annotate(n=Count("id"))
        .order_by()
    )
    answer_counts: dict[int, dict[Persona, dict[int, int]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    for row in rows:
        persona = personas[row["response__persona_id"]]
        answer_counts[row["capability_id"]][persona][row["value"]] = row["n"]
    groups = (
        Response.objects.filter(assessment=assessment, status=Response.Status.SUBMITTED)
        .values("persona_id", "business_unit")
        .annotate(n=Count("id"))
        .order_by()
    )
    by_persona: dict[str, int] = defaultdict(int)
    by_unit: dict[str, int] = defaultdict(int)
    for row in groups:
        by_persona[personas[row["persona_id"]].name] += row["n"]
        by_unit[row["business_unit"] or "Not given"] += row["n"]
    comments = None
    if include_comments:
        comments = _comments(assessment, {s.capability_id: s.capability for s in scope})
    return combine(
        assessment,
        [(s.capability, s.target_level) for s in scope],
        answer_counts,
        by_persona,
        by_unit,
        comments=comments,
    )


def _comments(assessment: Assessment, capabilities: dict[int, Capability]):
    """Return the comments of submitted responses, without who wrote them."""
    rows = (
        Answer.objects.filter(
            response__assessment=assessment,
            response__status=Response.Status.SUBMITTED,
            capability_id__in=capabilities,
        )
        .exclude(comment="")
        .order_by("capability__position", "pk")
        .values_list("capability_id", "comment")
    )
    return [Comment(capabilities[pk], text) for pk, text in rows]


# ---------------------------------------------------------------------------
# Round comparison
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Delta:
    """A score now and in the previous round (exact; None for no score)."""

    label: str
    current: Fraction | None
    previous: Fraction | None

    @property
    def shown_current(self) -> Decimal | None:
        return shown_score(self.current)

    @property
    def shown_previous(self) -> Decimal | None:
        return shown_score(self.previous)

    @property
    def change(self) -> Decimal | None:
        """Return shown score now - shown score then, so 1.5 after 1.4 is +0.1."""
        if self.current is None or self.previous is None:
            return None
        return self.shown_current - self.shown_previous


@dataclass(frozen=True)
class Comparison:
    previous: Assessment
    overall: Delta
    domains: list[Delta]
    capabilities: list[Delta]
    unmatched: list[str]  # previous capabilities with no counterpart now


def changes_by_name(
    comparison: Comparison | None,
) -> tuple[dict[str, Delta], dict[str, Delta]]:
    """Return the domain and capability changes by current name ({} for none)."""
    if comparison is None:
        return {}, {}
    return (
        {d.label: d for d in comparison.domains},
        {d.label: d for d in comparison.capabilities},
    )


def match_capabilities(
    current: Iterable[Capability],
    previous: Iterable[Capability],
    aliases: Mapping[int, Iterable[str]],
) -> dict[int, Capability]:
    """Map current capability ids to previous capabilities.

    Same slug first; otherwise a previous capability whose name is one of the
    current capability's earlier names (its aliases), or the reverse.
    """
    previous = list(previous)
    by_slug = {c.slug: c for c in previous}
    by_name = {c.name.casefold(): c for c in previous}
    matched: dict[int, Capability] = {}
    for cap in current:
        found = by_slug.get(cap.slug)
        if found is None:
            for name in aliases.get(cap.pk, ()):
                found = by_name.get(name.casefold())
                if found:
                    break
        if found is None:
            found = next(
                (
                    p
                    for p in previous
                    if cap.name.casefold()
                    in {a.casefold() for a in aliases.get(p.pk, ())}
                ),
                None,
            )
        if found is not None:
            matched[cap.pk] = found
    return matched


def round_comparison(
    current: AssessmentResults, previous: AssessmentResults
) -> Comparison:
    """Return per-domain and per-capability changes since the previous round.

    One query (the catalogue's aliases of both rounds' capabilities).
    """
    caps_now = [c.capability for c in current.capabilities]
    caps_then = [c.capability for c in previous.capabilities]
    aliases: dict[int, list[str]] = defaultdict(list)
    for cap_id, name in CapabilityAlias.objects.filter(
        capability__in=[c.pk for c in caps_now + caps_then]
    ).values_list("capability_id", "name"):
        aliases[cap_id].append(name)
    matched = match_capabilities(caps_now, caps_then, aliases)
    then_by_pk = {c.capability.pk: c for c in previous.capabilities}
    capability_deltas = []
    for result in current.capabilities:
        old = matched.get(result.capability.pk)
        old_score = then_by_pk[old.pk].exact_score if old else None
        capability_deltas.append(
            Delta(result.capability.name, result.exact_score, old_score)
        )
    domain_deltas = [
        Delta(
            d.domain.name, d.exact_score, _previous_domain_score(d, previous, matched)
        )
        for d in current.domains
    ]
    used = {c.pk for c in matched.values()}
    return Comparison(
        previous=previous.assessment,
        overall=Delta("Overall", current.exact_overall, previous.exact_overall),
        domains=domain_deltas,
        capabilities=capability_deltas,
        unmatched=[c.name for c in caps_then if c.pk not in used],
    )


def _previous_domain_score(
    domain: DomainResult,
    previous: AssessmentResults,
    matched: Mapping[int, Capability],
) -> Fraction | None:
    """Find the previous round's domain: same slug, else where its capabilities were."""
    by_slug = {d.domain.slug: d for d in previous.domains}
    if domain.domain.slug in by_slug:
        return by_slug[domain.domain.slug].exact_score
    old_domains = [
        matched[c.capability.pk].domain_id
        for c in domain.capabilities
        if c.capability.pk in matched
    ]
    if not old_domains:
        return None
    most = max(set(old_domains), key=old_domains.count)
    return next((d.exact_score for d in previous.domains if d.domain.pk == most), None)


def previous_comparison(current: AssessmentResults) -> Comparison | None:
    """Compare with the assessment's previous round, if it has one.

    Only a previous round of the same organisation counts (the admin could
    link any assessment). Six queries when there is one, none otherwise.
    """
    assessment = current.assessment
    if assessment.previous_id is None:
        return None
    previous = (
        Assessment.objects.select_related("framework")
        .filter(pk=assessment.previous_id, organisation_id=assessment.organisation_id)
        .first()
    )
    if previous is None:
        return None
    return round_comparison(current, assessment_results(previous))
