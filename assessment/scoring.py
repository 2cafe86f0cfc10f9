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

Rules (also shown on the "How scores are computed" page; k is the
assessment's anonymity threshold):
- Not started = 0, Crawl = 1, Walk = 2, Run = 3; Don't know and Not
  applicable are counted and reported as rates, never scored.
- Only submitted responses count.
- Groups (`pool_groups`): a persona is its own group for a capability only
  with at least k respondents who gave it a scored answer. The others are
  pooled into one group, "other personas"; while that pool has fewer than k
  respondents, the smallest persona group joins it. When one group is left,
  there is no persona breakdown.
- Group score = the plain mean of its respondents' scored answers.
- Capability score = mean of the group scores (each persona of at least k
  weighs the same; the small personas together weigh as one). With one
  group, it is the plain mean of all respondents.
- A capability with fewer than k scored answers in all has no score (like
  one with none), so that no figure rests on fewer than k people.
- Domain score = mean of its scored capability scores; overall = mean of the
  domain scores.
- Level = the nearest level of the shown score.
- Gap = target - shown score; below target (a priority) when the gap is > 0.
- Disagreement = highest - lowest shown group score (the pooled "other
  personas" included: a persona apart from all the small ones is a finding
  too); contested when >= 1.
- Priority = rank by positive gap to target, ties by foundational order.
- Change since the last round = shown score now - shown score then.

Business units follow the same pooling (`breakdown`). What a viewer may see
of these figures is decided in `disclosure`; `snapshots` stores the
aggregated rows (`ResultsData`) that viewers' results are computed from.
"""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from fractions import Fraction
from typing import Any, TypeVar

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
T = TypeVar("T")


# ---------------------------------------------------------------------------
# Result types
# ---------------------------------------------------------------------------


OTHER_PERSONAS = "Other personas"
OTHER_UNITS = "Other units"
# The business unit of respondents who gave none; `looks` counts by it too.
NO_UNIT = "Not given"


@dataclass(frozen=True)
class GroupScore:
    """The mean of one group of at least k respondents to a capability.

    `persona` is None for the pooled "other personas" group.
    """

    persona: Persona | None
    score: float
    n: int  # respondents in the group with a scored answer
    exact_score: Fraction = field(repr=False, compare=False, default=Fraction(0))

    @property
    def label(self) -> str:
        return OTHER_PERSONAS if self.persona is None else self.persona.name

    @property
    def is_pooled(self) -> bool:
        return self.persona is None

    @property
    def shown_score(self) -> Decimal:
        return shown_score(self.exact_score)


@dataclass(frozen=True)
class PersonaDomainScore:
    """A persona's score for a domain: the mean of its capability scores."""

    persona: Persona
    score: float
    exact_score: Fraction = field(repr=False, compare=False, default=Fraction(0))

    @property
    def shown_score(self) -> Decimal:
        return shown_score(self.exact_score)


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
    # Groups of at least k respondents: personas of their own, in catalogue
    # order, then the pooled "other personas" group (None without one). Both
    # are empty/None when one group is left (no persona breakdown).
    persona_scores: list[GroupScore]
    other_personas: GroupScore | None
    disagreement: Decimal | None  # between shown group scores
    contested: bool
    # Fewer than k scored answers in all: no score, and `disclosure` hides
    # the answer counts too ("fewer than k answers").
    too_few: bool = False
    # Set by `disclosure`: answer counts and rates withheld (counts empty,
    # answered None), as the row has fewer than k respondents.
    withheld: bool = False
    # Held back at closing (`looks`): compared with an earlier publication,
    # its figures changed by fewer than k people. Shown like `too_few`.
    held_back: bool = False
    # Not broken down at closing (`looks`), for the same reason.
    merged: bool = False
    priority: int | None = None
    exact_score: Fraction | None = field(default=None, repr=False, compare=False)
    # Personas with at least one scored answer (own group or pooled), for
    # the domain-level persona scores of `disclosure`; never exported.
    scoring_personas: frozenset[int] = field(
        default=frozenset(), repr=False, compare=False
    )

    @property
    def groups(self) -> list[GroupScore]:
        """Return every group shown, the pooled one last."""
        pooled = [self.other_personas] if self.other_personas else []
        return [*self.persona_scores, *pooled]

    @property
    def broken_down(self) -> bool:
        """Return whether the score is split into groups (two or more)."""
        return bool(self.persona_scores)

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
    # Filled by `disclosure.disclose`: only personas shown for every
    # capability of the domain they scored.
    persona_scores: list[PersonaDomainScore] = field(default_factory=list)

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
    """Respondents per group of at least k, the pooled rest as `other`.

    Empty (no groups, no other) when one group is left: the breakdown would
    only repeat the total. How many groups were pooled is not kept, as it
    could tell a pooled group's size.
    """

    groups: list[GroupCount]
    other: GroupCount | None = None

    @property
    def rows(self) -> list[GroupCount]:
        return [*self.groups, *([self.other] if self.other else [])]


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
    respondents: int | None  # None: withheld by `disclosure` (1 to k-1)
    personas: Breakdown
    business_units: Breakdown
    comments: list[Comment] | None = None
    persona_columns: list[Persona] = field(default_factory=list)
    held_back: HeldBack = field(default_factory=lambda: HeldBack())
    exact_overall: Fraction | None = field(default=None, repr=False, compare=False)

    @property
    def overall_level_name(self) -> str:
        return level_name(self.overall_level)

    @property
    def personas_held_back(self) -> bool:
        """Respondents per persona were left out at closing (`looks`)."""
        held = self.held_back
        return held.respondents or "personas" in held.breakdowns

    @property
    def units_held_back(self) -> bool:
        held = self.held_back
        return held.respondents or "units" in held.breakdowns

    @property
    def shown_overall(self) -> Decimal | None:
        return shown_score(self.exact_overall)

    @property
    def shown_target(self) -> Decimal | None:
        """Return the mean target of the capabilities, as displayed."""
        targets = [Fraction(c.target) for c in self.capabilities]
        return shown_score(mean(targets))


@dataclass(frozen=True)
class HeldBack:
    """Figures a closing snapshot leaves out, decided by `looks`.

    `merged`: capabilities shown without persona breakdown; `withheld`:
    capabilities shown with no figure at all; `breakdowns`: "personas"
    and/or "units", respondents shown without that breakdown;
    `respondents`: no respondent count (nor breakdown) at all.
    """

    merged: frozenset[int] = frozenset()
    withheld: frozenset[int] = frozenset()
    breakdowns: frozenset[str] = frozenset()
    respondents: bool = False

    def __bool__(self) -> bool:
        return bool(self.merged or self.withheld or self.breakdowns) or (
            self.respondents
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "merged": sorted(self.merged),
            "withheld": sorted(self.withheld),
            "breakdowns": sorted(self.breakdowns),
            "respondents": self.respondents,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> HeldBack:
        if not data:
            return cls()
        return cls(
            merged=frozenset(data["merged"]),
            withheld=frozenset(data["withheld"]),
            breakdowns=frozenset(data["breakdowns"]),
            respondents=data["respondents"],
        )


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


def disagreement(group_means: Iterable[Fraction]) -> Decimal | None:
    """Return highest - lowest shown group score, or None with fewer than two."""
    items = [shown_score(m) for m in group_means]
    if len(items) < 2:
        return None
    return max(items) - min(items)


def _float(value: Fraction | None) -> float | None:
    return None if value is None else float(value)


def pool_groups(
    sizes: Mapping[T, int], k: int, order: Callable[[T], Any] = str
) -> tuple[list[T], list[T]]:
    """Split groups into those shown on their own and those pooled (rule 1).

    A group with at least k respondents is shown; the others are pooled.
    While the pool has 1 to k-1 respondents, the smallest shown group joins
    it (equal sizes: the last in `order` joins first). When one group would
    be left, every group is pooled: there is no breakdown. Groups of size 0
    are left out. Return (shown in `order`, pooled).
    """
    present = {key: n for key, n in sizes.items() if n > 0}
    shown = sorted(
        (key for key, n in present.items() if n >= k), key=lambda g: order(g)
    )
    pooled = [key for key, n in present.items() if n < k]
    pooled_n = sum(present[key] for key in pooled)
    while shown and 0 < pooled_n < k:
        smallest = min(shown, key=lambda g: (present[g], _after(shown, g)))
        shown.remove(smallest)
        pooled.append(smallest)
        pooled_n += present[smallest]
    if len(shown) + bool(pooled) < 2:
        return [], [*pooled, *shown]
    return shown, sorted(pooled, key=lambda g: order(g))


def _after(shown: list, group) -> int:
    """Rank later groups first among equal sizes."""
    return -shown.index(group)


def capability_result(
    capability: Capability,
    target: int,
    by_persona: Mapping[Persona, Counts],
    k: int,
    *,
    merged: bool = False,
    held_back: bool = False,
) -> CapabilityResult:
    """Compute every figure of one capability from its per-persona counts.

    `merged`: one group, no persona breakdown; `held_back`: no score at
    all (both decided at closing by `looks`).
    """
    counts = merge_counts(by_persona.values())
    answered = sum(counts.values())
    scored = scored_count(counts)
    too_few = 0 < scored < k
    no_score = too_few or held_back
    sizes = {persona: scored_count(table) for persona, table in by_persona.items()}
    shown, pooled = pool_groups(sizes, k, order=lambda p: p.position)
    if merged or held_back:
        shown, pooled = [], [*shown, *pooled]
    groups = [_group(persona, by_persona[persona]) for persona in shown]
    other = None
    if shown and pooled:
        other = _group(None, merge_counts(by_persona[p] for p in pooled))
    group_means = [g.exact_score for g in [*groups, *([other] if other else [])]]
    if no_score:
        score = None
    elif shown:
        score = mean(group_means)
    else:
        score = counts_mean(counts)  # one group: the plain mean of everyone
    spread = disagreement(group_means)
    return CapabilityResult(
        capability=capability,
        target=target,
        score=_float(score),
        respondent_mean=None if no_score else _float(counts_mean(counts)),
        median=None if no_score else _float(counts_median(counts)),
        level=shown_level(score),
        gap=shown_gap(target, score),
        counts=counts,
        answered=answered,
        scored=scored,
        dont_know_rate=counts[DONT_KNOW] / answered if answered else None,
        not_applicable_rate=counts[NOT_APPLICABLE] / answered if answered else None,
        persona_scores=groups,
        other_personas=other,
        disagreement=spread,
        contested=spread is not None and spread >= CONTESTED_AT,
        too_few=too_few,
        held_back=held_back,
        merged=merged and not held_back,
        exact_score=score,
        scoring_personas=frozenset(p.pk for p, n in sizes.items() if n),
    )


def _group(persona: Persona | None, counts: Counts) -> GroupScore:
    exact = counts_mean(counts)
    return GroupScore(persona, float(exact), scored_count(counts), exact)


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


def breakdown(counts: Mapping[str, int], k: int, *, other: str) -> Breakdown:
    """Respondents per group, pooled as scores are (rule 1): see pool_groups."""
    shown, pooled = pool_groups(counts, k)
    if not shown:
        return Breakdown([])
    rest = sum(counts[label] for label in pooled)
    return Breakdown(
        [GroupCount(label, counts[label]) for label in shown],
        GroupCount(other, rest) if rest else None,
    )


def combine(
    assessment: Assessment,
    targets: list[tuple[Capability, int]],
    answer_counts: Mapping[int, Mapping[Persona, Counts]],
    persona_respondents: Mapping[str, int],
    unit_respondents: Mapping[str, int],
    *,
    comments: list[Comment] | None = None,
    k: int | None = None,
    held_back: HeldBack = HeldBack(),
) -> AssessmentResults:
    """Assemble the results from already aggregated rows (no queries)."""
    k = assessment.anonymity_threshold if k is None else k
    results = [
        capability_result(
            cap,
            target,
            answer_counts.get(cap.pk, {}),
            k,
            merged=cap.pk in held_back.merged,
            held_back=cap.pk in held_back.withheld,
        )
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
        respondents=None
        if held_back.respondents
        else sum(persona_respondents.values()),
        personas=Breakdown([])
        if held_back.respondents or "personas" in held_back.breakdowns
        else breakdown(persona_respondents, k, other=OTHER_PERSONAS),
        business_units=Breakdown([])
        if held_back.respondents or "units" in held_back.breakdowns
        else breakdown(unit_respondents, k, other=OTHER_UNITS),
        comments=comments,
        persona_columns=shown_personas(results),
        exact_overall=overall,
        held_back=held_back,
    )


def shown_personas(results: Iterable[CapabilityResult]) -> list[Persona]:
    """Return the personas shown for at least one capability, in catalogue order."""
    seen = {ps.persona.pk: ps.persona for c in results for ps in c.persona_scores}
    return sorted(seen.values(), key=lambda p: p.position)


# ---------------------------------------------------------------------------
# Query layer
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ResultsData:
    """The aggregated rows every figure is computed from, live or published.

    Counts only: no row links two answers of one person. A results
    snapshot stores exactly this (as JSON), and live results are computed
    from it too, so published and live figures go through the same maths.
    """

    targets: list[tuple[int, int]]  # (capability id, target), scope order
    answers: list[tuple[int, int, int, int]]  # (capability, persona, value, n)
    respondents: list[tuple[int, str, int]]  # (persona, business unit, n)
    comments: list[tuple[int, str]] | None = None  # (capability, text)
    held_back: HeldBack = HeldBack()

    def as_json(self) -> dict[str, Any]:
        held = {"held_back": self.held_back.as_json()} if self.held_back else {}
        return {
            **held,
            "targets": [list(row) for row in self.targets],
            "answers": [list(row) for row in self.answers],
            "respondents": [list(row) for row in self.respondents],
            "comments": None
            if self.comments is None
            else [list(row) for row in self.comments],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ResultsData:
        comments = data.get("comments")
        return cls(
            targets=[tuple(row) for row in data["targets"]],
            answers=[tuple(row) for row in data["answers"]],
            respondents=[tuple(row) for row in data["respondents"]],
            comments=None if comments is None else [tuple(r) for r in comments],
            held_back=HeldBack.from_json(data.get("held_back")),
        )


def submitted_answers(assessment: Assessment):
    return Answer.objects.filter(
        response__assessment=assessment,
        response__status=Response.Status.SUBMITTED,
        value__isnull=False,
    )


def collect(
    assessment: Assessment,
    *,
    include_comments: bool = False,
    submitted_by: datetime.datetime | None = None,
) -> ResultsData:
    """Aggregate an assessment's submitted answers in the database.

    Three queries (four with comments), whatever the number of respondents.
    `submitted_by` keeps only the responses last submitted by then (those
    an earlier snapshot counted and nobody changed since: see `looks`).
    """
    answers_of = submitted_answers(assessment)
    responses = Response.objects.filter(
        assessment=assessment, status=Response.Status.SUBMITTED
    )
    if submitted_by is not None:
        answers_of = answers_of.filter(response__submitted_at__lte=submitted_by)
        responses = responses.filter(submitted_at__lte=submitted_by)
    targets = list(
        ScopedCapability.objects.filter(assessment=assessment)
        .order_by("capability__position")
        .values_list("capability_id", "target_level")
    )
    answers = list(
        answers_of.values_list("capability_id", "response__persona_id", "value")
        .annotate(n=Count("id"))
        .order_by("capability_id", "response__persona_id", "value")
    )
    respondents = list(
        responses.values_list("persona_id", "business_unit")
        .annotate(n=Count("id"))
        .order_by("persona_id", "business_unit")
    )
    comments = None
    if include_comments:
        comments = list(
            Answer.objects.filter(
                response__assessment=assessment,
                response__status=Response.Status.SUBMITTED,
                capability_id__in=[pk for pk, _ in targets],
            )
            .exclude(comment="")
            .order_by("capability__position", "pk")
            .values_list("capability_id", "comment")
        )
    return ResultsData(targets, answers, respondents, comments)


def results_from_data(
    assessment: Assessment, data: ResultsData, *, k: int | None = None
) -> AssessmentResults:
    """Compute every figure from aggregated rows (two catalogue queries).

    `k` defaults to the assessment's anonymity threshold.
    """
    capabilities = Capability.objects.select_related("domain").in_bulk(
        [pk for pk, _ in data.targets]
    )
    personas = {
        p.pk: p for p in Persona.objects.filter(version=assessment.framework_id)
    }
    answer_counts: dict[int, dict[Persona, dict[int, int]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    for capability_id, persona_id, value, n in data.answers:
        answer_counts[capability_id][personas[persona_id]][value] = n
    by_persona: dict[str, int] = defaultdict(int)
    by_unit: dict[str, int] = defaultdict(int)
    for persona_id, unit, n in data.respondents:
        by_persona[personas[persona_id].name] += n
        by_unit[unit or NO_UNIT] += n
    comments = None
    if data.comments is not None:
        comments = [
            Comment(capabilities[pk], text)
            for pk, text in data.comments
            if pk in capabilities
        ]
    return combine(
        assessment,
        [(capabilities[pk], target) for pk, target in data.targets],
        answer_counts,
        by_persona,
        by_unit,
        comments=comments,
        k=k,
        held_back=data.held_back,
    )


def assessment_results(
    assessment: Assessment, *, include_comments: bool = False
) -> AssessmentResults:
    """Compute every figure of an assessment from its live answers.

    Five queries (six with comments), whatever the number of respondents.
    Viewers never see live figures: see `disclosure.shown_results`.
    """
    return results_from_data(
        assessment, collect(assessment, include_comments=include_comments)
    )


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


# ---------------------------------------------------------------------------
# The worked example of the method page and the report's methodology
# ---------------------------------------------------------------------------

# Answers per persona, with k = 3: two personas of their own, two pooled.
EXAMPLE_K = 3
EXAMPLE_ANSWERS = {
    "FinOps Practitioner": [2, 2, 3, 1],
    "Engineering": [1, 1, 2, 1, 0],
    "Finance": [3, 2],
    "Security": [0],
}


def worked_example() -> dict:
    """Score the explained example with the real scoring functions (no query)."""
    personas = {
        name: Persona(pk=i, name=name, position=i)
        for i, name in enumerate(EXAMPLE_ANSWERS, start=1)
    }
    counts = {
        personas[name]: dict(Counter(values))
        for name, values in EXAMPLE_ANSWERS.items()
    }
    capability = Capability(pk=1, name="Allocation", domain=Domain(pk=1))
    result = capability_result(capability, Level.WALK, counts, EXAMPLE_K)
    return {
        "k": EXAMPLE_K,
        "answers": [
            (name, values, sum(values) / len(values))
            for name, values in EXAMPLE_ANSWERS.items()
        ],
        "result": result,
    }
