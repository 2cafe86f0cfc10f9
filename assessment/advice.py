"""What the results advise: priorities, findings to settle first, a 90-day plan.

Pure functions over the shown results (`disclosure.shown_results`) and a few
catalogue and scope rows, so every rule is tested without the PDF.
`assessment_advice` gathers those rows in a constant number of queries.

Rules (the report's "How to read the advice" states them too):
- Priority: capabilities below target, ordered by weighted gap (gap x the
  owner's importance: high 1.5, normal 1, low 0.5), ties to the more
  foundational one. A capability never ranks above one of its catalogue
  prerequisites that is itself below target: the prerequisite is moved up
  just before it. Each priority says why it is where it is.
- Thin evidence: a scored capability with fewer than max(k, 5) scored
  answers, or with 30% or more "Don't know", carries a caveat and ranks after
  the well-evidenced gaps, unless it is a prerequisite of one of them.
- Contested capabilities (personas a full level or more apart, the scoring
  rule) are listed under "align first" with the groups viewers may see, and
  never as close to target or sustained. Their catalogue actions wait for the
  alignment (3-6 months); the 90-day plan opens with the alignment itself.
- Capabilities less than half a level below target are "close to target"
  unless another priority depends on them.
- 90-day plan: at most 10 actions, the next move of the top priorities (at
  most 3 actions per capability), one entry per catalogue action identity
  naming every capability it moves, each with a KPI holding a number. An
  action whose owner persona is not part of the assessment goes to the
  FinOps Practitioner when they are; otherwise it is left out. A round with
  a previous round gets no first-round-only action.
- Roadmap: the rest of the next moves in 3-6 months, later moves towards the
  target in 6-12 months.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property

from . import display
from .models import (
    Assessment,
    Capability,
    NextStep,
    Persona,
    PlanAction,
    ScopedCapability,
)
from .participation import ParticipationSummary
from .scoring import (
    CONTESTED_AT,
    AssessmentResults,
    CapabilityResult,
    Comparison,
    Delta,
    changes_by_name,
)

Importance = ScopedCapability.Importance
IMPORTANCE_WEIGHTS = {
    Importance.HIGH: Decimal("1.5"),
    Importance.NORMAL: Decimal("1"),
    Importance.LOW: Decimal("0.5"),
}
# A gap under half a level is "close to target": keep going, no new action.
NEAR_GAP = Decimal("0.5")
# Evidence is thin below this many scored answers (or k, if larger) ...
THIN_ANSWERS = 5
# ... or when this share of answers or more is "Don't know".
THIN_DONT_KNOW = 0.3
PLAN_LIMIT = 10
PER_CAPABILITY = 3
ROADMAP_LIMIT = 12
# Below this response rate, participation is a risk to the reading.
LOW_RESPONSE_RATE = 0.5
PRACTITIONER = "finops-practitioner"
# Reasons every page and download gives; the exports also give the last two
# to capabilities that are not ranked.
ALIGN_FIRST = "personas disagree: align first"
CLOSE_TO_TARGET = "close to target"
ALIGN_KEY = "align-contested"

PHASE_PLAN, PHASE_NEXT, PHASE_LATER = "0-3", "3-6", "6-12"
PHASES = {
    PHASE_PLAN: "0–3 months",
    PHASE_NEXT: "3–6 months",
    PHASE_LATER: "6–12 months",
}


def some(items: Iterable[str], limit: int = 3) -> str:
    """Name the first few: "A, B, C and 4 others"."""
    items = list(items)
    if len(items) <= limit:
        return display.names(items)
    rest = len(items) - limit
    return ", ".join(items[:limit]) + f" and {rest} other{'s' if rest > 1 else ''}"


def _count(n: int, thing: str) -> str:
    """ "1 other capability", "2 other capabilities"."""
    if n == 1:
        return f"1 {thing}"
    plural = thing[:-1] + "ies" if thing.endswith("y") else thing + "s"
    return f"{n} {plural}"


def has_number(text: str) -> bool:
    return bool(re.search(r"\d", text))


# ---------------------------------------------------------------------------
# Findings: contested and thin evidence
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Disagreement:
    """A contested capability: who scores it highest and lowest, how far apart."""

    result: CapabilityResult

    @property
    def high(self):
        return max(self.result.groups, key=lambda g: g.exact_score)

    @property
    def low(self):
        return min(self.result.groups, key=lambda g: g.exact_score)

    @property
    def sentence(self) -> str:
        high, low = self.high, self.low
        return (
            f"{high.label} {display.score(high.shown_score)} vs "
            f"{low.label} {display.score(low.shown_score)}, "
            f"{display.score(self.result.disagreement)} apart"
        )


def thin_caveat(result: CapabilityResult, k: int) -> str:
    """Return why a scored capability's evidence is thin ("" when it is not)."""
    if result.score is None or result.scored is None:
        return ""
    if result.dont_know_rate is not None and result.dont_know_rate >= THIN_DONT_KNOW:
        return (
            f"{display.percent(result.dont_know_rate)} of answers are "
            "“Don't know”: confirm the facts before acting"
        )
    if result.scored < max(k, THIN_ANSWERS):
        return (
            f"only {result.scored} scored answers: confirm with more people "
            "before acting"
        )
    return ""


# ---------------------------------------------------------------------------
# Priorities
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Priority:
    result: CapabilityResult
    rank: int
    importance: str
    reason: str
    caveat: str = ""

    @property
    def capability(self) -> Capability:
        return self.result.capability

    @property
    def importance_label(self) -> str:
        return Importance(self.importance).label


def _sort_key(weighted: Mapping[int, Decimal], thin: Mapping[int, str]):
    def key(c: CapabilityResult):
        pk = c.capability.pk
        return (bool(thin[pk]), -weighted[pk], c.capability.foundational_rank, pk)

    return key


def order_below_target(
    candidates: list[CapabilityResult],
    prerequisites: Mapping[int, Iterable[int]],
    key,
) -> list[CapabilityResult]:
    """Order by `key`, each capability after its prerequisites among candidates.

    A prerequisite below target is placed just before the first capability
    that needs it (depth first), so the order is otherwise kept. A cycle
    (the catalogue loader refuses them) cannot loop.
    """
    by_pk = {c.capability.pk: c for c in candidates}
    ordered: list[CapabilityResult] = []
    placed: set[int] = set()
    visiting: set[int] = set()

    def place(c: CapabilityResult) -> None:
        pk = c.capability.pk
        if pk in placed or pk in visiting:
            return
        visiting.add(pk)
        needed = [by_pk[q] for q in prerequisites.get(pk, ()) if q in by_pk]
        for prerequisite in sorted(needed, key=key):
            place(prerequisite)
        visiting.discard(pk)
        placed.add(pk)
        ordered.append(c)

    for c in sorted(candidates, key=key):
        place(c)
    return ordered


def rank(
    results: AssessmentResults,
    importance: Mapping[int, str],
    prerequisites: Mapping[int, Iterable[int]],
) -> tuple[list[Priority], list[CapabilityResult]]:
    """Return the ranked priorities and the capabilities close to target."""
    below = [c for c in results.capabilities if c.gap is not None and c.gap > 0]
    by_pk = {c.capability.pk: c for c in below}
    level = {c.capability.pk: importance.get(c.capability.pk, "normal") for c in below}
    weighted = {pk: c.gap * IMPORTANCE_WEIGHTS[level[pk]] for pk, c in by_pk.items()}
    thin = {pk: thin_caveat(c, results.k) for pk, c in by_pk.items()}
    needs = {pk: [q for q in prerequisites.get(pk, ()) if q in by_pk] for pk in by_pk}
    dependents: dict[int, list[int]] = defaultdict(list)
    for pk, required in needs.items():
        for q in required:
            dependents[q].append(pk)
    # Close to target: a small gap nobody else waits for, and not contested.
    near = [
        c
        for c in below
        if c.gap < NEAR_GAP and not c.contested and not dependents[c.capability.pk]
    ]
    near_pks = {c.capability.pk for c in near}
    ranked = order_below_target(
        [c for c in below if c.capability.pk not in near_pks],
        needs,
        _sort_key(weighted, thin),
    )
    largest = max((weighted[c.capability.pk] for c in ranked), default=None)
    # Dependents are named in the order they rank (close ones last).
    order = {c.capability.pk: i for i, c in enumerate(ranked)}
    for waiting in dependents.values():
        waiting.sort(key=lambda q: order.get(q, len(order)))
    priorities = []
    for position, c in enumerate(ranked, start=1):
        pk = c.capability.pk
        priorities.append(
            Priority(
                result=c,
                rank=position,
                importance=level[pk],
                reason=_reason(
                    c,
                    level[pk],
                    largest=weighted[pk] == largest,
                    dependents=[by_pk[q].capability.name for q in dependents[pk]],
                    prerequisites=[by_pk[q].capability.name for q in needs[pk]],
                    thin=bool(thin[pk]),
                ),
                caveat=thin[pk],
            )
        )
    return priorities, near


def _reason(
    c: CapabilityResult,
    importance: str,
    *,
    largest: bool,
    dependents: list[str],
    prerequisites: list[str],
    thin: bool,
) -> str:
    """Say in one short phrase why a priority is where it is."""
    size = "largest gap" if largest else f"gap {display.gap(c.gap)}"
    if importance != Importance.NORMAL:
        size += f", {Importance(importance).label.lower()} importance"
    if dependents:
        others = len(dependents) - 1
        first = f"prerequisite of {dependents[0]}"
        if others:
            first += f" and {others} other{'s' if others > 1 else ''}"
        # A contested prerequisite still waits for the alignment.
        if c.contested:
            first += f"; {ALIGN_FIRST}"
        return f"{first}; {size}"
    if c.contested:
        return f"{ALIGN_FIRST}; {size}"
    if thin:
        return f"thin evidence, ranked after better-known gaps; {size}"
    if prerequisites:
        return f"after {display.names(prerequisites)}; {size}"
    return size


# ---------------------------------------------------------------------------
# Plan and roadmap
# ---------------------------------------------------------------------------


@dataclass
class PlanItem:
    """One action of the plan or roadmap, once however many capabilities it moves."""

    key: str
    action: str
    owner: Persona
    kpi: str
    capabilities: list[Capability]
    stage: int  # 0: the next move of its first capability; 1+: later moves
    reassigned_from: Persona | None = None
    phase: str = PHASE_NEXT
    tracked: PlanAction | None = field(default=None, compare=False)

    @property
    def capability_names(self) -> str:
        return display.names(c.name for c in self.capabilities)


def reached_level(result: CapabilityResult) -> int:
    """Return the last level a capability below target has fully reached.

    A score shown as 1.7 is labelled Walk but Walk is not reached yet: its
    next steps are those from Crawl to Walk.
    """
    return min(math.floor(result.shown_score or 0), result.target - 1)


def _practitioner(personas: Mapping[int, Persona]) -> Persona | None:
    """The FinOps Practitioner, if part of the assessment: owner of last resort."""
    return next((p for p in personas.values() if p.slug == PRACTITIONER), None)


def candidate_actions(
    priorities: list[Priority],
    steps: Mapping[tuple[int, int], list[NextStep]],
    *,
    personas: Mapping[int, Persona],
    later_round: bool,
) -> list[PlanItem]:
    """Return the catalogue actions of the priorities, deduplicated, in rank order.

    Each priority contributes its moves from its reached level to its target.
    One action identity appears once, with every capability it moves; its
    stage is the earliest at which any of them needs it.
    """
    practitioner = _practitioner(personas)
    items: dict[str, PlanItem] = {}
    for priority in priorities:
        result = priority.result
        for stage, level in enumerate(range(reached_level(result), result.target)):
            for step in steps.get((result.capability.pk, level), []):
                if later_round and step.first_round_only:
                    continue
                if not has_number(step.kpi):
                    continue
                owner, moved = step.owner, None
                if owner.pk not in personas:
                    if practitioner is None:
                        continue
                    owner, moved = practitioner, step.owner
                key = step.action_key or f"step-{step.pk}"
                item = items.get(key)
                if item is None:
                    items[key] = PlanItem(
                        key,
                        step.action,
                        owner,
                        step.kpi,
                        [result.capability],
                        stage,
                        reassigned_from=moved,
                    )
                else:
                    if result.capability not in item.capabilities:
                        item.capabilities.append(result.capability)
                    item.stage = min(item.stage, stage)
    return list(items.values())


def alignment_action(
    disagreements: list[Disagreement], personas: Mapping[int, Persona]
) -> PlanItem | None:
    """Return the plan's first action when personas disagree: agree on the facts."""
    practitioner = _practitioner(personas)
    if not disagreements or practitioner is None:
        return None
    caps = [d.result.capability for d in disagreements]
    return PlanItem(
        ALIGN_KEY,
        "Bring the personas who disagree together to agree on the facts, with "
        "the evidence each group relies on, before acting on these scores.",
        practitioner,
        "Spread between persona scores at the next round: "
        f"<{display.score(CONTESTED_AT)}",
        caps,
        0,
        phase=PHASE_PLAN,
    )


def phase(
    items: list[PlanItem],
    priorities: list[Priority],
    alignment: PlanItem | None,
) -> tuple[list[PlanItem], dict[str, list[PlanItem]], int]:
    """Split actions into the 90-day plan and the 3-6 and 6-12 month roadmap.

    Return the plan, the roadmap phases (each at most ROADMAP_LIMIT long)
    and the number of actions left for later rounds.
    """
    waiting = {p.capability.pk for p in priorities if p.result.contested or p.caveat}
    plan = [alignment] if alignment else []
    per_capability: dict[int, int] = defaultdict(int)
    roadmap: dict[str, list[PlanItem]] = {PHASE_NEXT: [], PHASE_LATER: []}
    for item in items:
        first = item.capabilities[0].pk
        if (
            item.stage == 0
            and first not in waiting
            and len(plan) < PLAN_LIMIT
            and per_capability[first] < PER_CAPABILITY
        ):
            per_capability[first] += 1
            item.phase = PHASE_PLAN
            plan.append(item)
        else:
            item.phase = PHASE_NEXT if item.stage == 0 else PHASE_LATER
            roadmap[item.phase].append(item)
    left = sum(max(len(v) - ROADMAP_LIMIT, 0) for v in roadmap.values())
    return plan, {k: v[:ROADMAP_LIMIT] for k, v in roadmap.items()}, left


# ---------------------------------------------------------------------------
# Decisions and risks for leadership
# ---------------------------------------------------------------------------


def risks(
    results: AssessmentResults,
    participation: ParticipationSummary | None,
    disagreements: list[Disagreement],
    thin: list[tuple[CapabilityResult, str]],
) -> list[str]:
    """Return what could make a reader misjudge these results."""
    found = []
    if disagreements:
        found.append(
            f"Contested: {some(d.result.capability.name for d in disagreements)}, "
            "where personas are a full level or more apart; their scores average "
            "views that differ."
        )
    if results.respondents is None:
        found.append(
            f"Low participation: fewer than {results.k} people answered, so "
            "most figures are withheld."
        )
    elif participation is not None and participation.total.invited.people:
        rate = participation.total.invited.response_rate
        if rate is not None and rate < LOW_RESPONSE_RATE:
            found.append(
                f"Low participation: {display.percent(rate)} of those invited "
                "answered; the results may speak for the most engaged."
            )
    unscored = [c.capability.name for c in results.capabilities if c.too_few]
    if unscored:
        found.append(
            f"Unknown: {some(unscored)} had fewer than {results.k} scored "
            "answers and have no score."
        )
    if thin:
        worst, caveat = thin[0]
        found.append(
            f"Thin evidence on {some(c.capability.name for c, _ in thin)}: for "
            f"{worst.capability.name}, {caveat}."
        )
    return found


def decisions(
    plan: list[PlanItem],
    priorities: list[Priority],
    disagreements: list[Disagreement],
    thin: list[tuple[CapabilityResult, str]],
    sustained: int,
) -> list[str]:
    """Return the three decisions this report asks of leadership."""
    asked = []
    actions = [i for i in plan if i.key != ALIGN_KEY]
    if actions:
        owners = sorted({i.owner.name for i in actions})
        asked.append(
            f"Approve the 90-day plan ({_count(len(plan), 'action')}) and give "
            "each a named owner and the time it needs; it asks for work from "
            f"{display.names(owners)}."
        )
    if disagreements:
        top = disagreements[0]
        others = len(disagreements) - 1
        asked.append(
            f"Sponsor an alignment session on {top.result.capability.name} "
            f"({top.sentence})"
            + (f" and {_count(others, 'other contested capability')}" if others else "")
            + " before funding work on their scores."
        )
    if priorities:
        first = priorities[0]
        asked.append(
            f"Confirm {first.capability.name} as the first priority "
            f"({first.reason}) and its target of {first.result.target_name}."
        )
    if thin:
        asked.append(
            f"Decide whether {display.names(c.capability.name for c, _ in thin[:2])} "
            "should be assessed again with the people who know them before any "
            "investment."
        )
    if sustained:
        asked.append(
            f"Review the targets: {_count(sustained, 'capability')} meet theirs; raise "
            "those where more maturity brings value, keep the others."
        )
    asked.append(
        "Set the date of the next round (the same scope, in about six months) "
        "to measure the plan's effect."
    )
    return asked[:3]


# ---------------------------------------------------------------------------
# Tracked actions of the previous round
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionProgress:
    """Last round's tracked actions that moved one capability."""

    actions: list[PlanAction]

    @property
    def done(self) -> int:
        return sum(a.status == PlanAction.Status.DONE for a in self.actions)

    @property
    def total(self) -> int:
        return len(self.actions)

    @property
    def text(self) -> str:
        return f"{self.done} of {_count(self.total, 'action')} done"


def progress_by_capability(
    actions: Iterable[PlanAction], capabilities: Iterable[Capability]
) -> dict[int, ActionProgress]:
    """Map current capability ids to last round's tracked actions on them.

    Capabilities are matched by slug, so a next round in the same framework
    finds its actions; `actions` must have their capabilities prefetched.
    """
    by_slug: dict[str, list[PlanAction]] = defaultdict(list)
    for action in actions:
        for capability in action.capabilities.all():
            by_slug[capability.slug].append(action)
    return {
        c.pk: ActionProgress(by_slug[c.slug]) for c in capabilities if by_slug[c.slug]
    }


def previous_actions(assessment: Assessment) -> list[PlanAction]:
    """Return the tracked actions of the previous round (two queries).

    Only a previous round of the same organisation counts, as for the
    round comparison.
    """
    if assessment.previous_id is None:
        return []
    return list(
        PlanAction.objects.filter(
            assessment_id=assessment.previous_id,
            assessment__organisation_id=assessment.organisation_id,
        ).prefetch_related("capabilities")
    )


# ---------------------------------------------------------------------------
# Everything together
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Standing:
    """Where a capability stands in the advice: its rank (if any) and why."""

    rank: int | None = None
    reason: str = ""


NOT_RANKED = Standing()


@dataclass(frozen=True)
class Advice:
    priorities: list[Priority]
    align_first: list[Disagreement]
    thin: list[tuple[CapabilityResult, str]]
    close_to_target: list[CapabilityResult]
    sustain: list[CapabilityResult]
    plan: list[PlanItem]
    roadmap: dict[str, list[PlanItem]]
    left_for_later: int
    decisions: list[str]
    risks: list[str]
    reassigned: bool  # an action went to the practitioner
    progress: dict[int, ActionProgress]  # last round's tracked actions
    previous: list[PlanAction]  # last round's tracked actions, in order

    @cached_property
    def standings(self) -> dict[int, Standing]:
        """Return capability id -> its rank and reason, as the report gives them.

        The downloads' Priority and Priority reason columns read this, so
        they rank as the report and dashboard do. Capabilities close to
        target or contested without a gap get a reason and no rank; the
        others are absent.
        """
        found = {
            c.capability.pk: Standing(None, CLOSE_TO_TARGET)
            for c in self.close_to_target
        }
        found |= {
            d.result.capability.pk: Standing(None, ALIGN_FIRST)
            for d in self.align_first
        }
        found |= {p.capability.pk: Standing(p.rank, p.reason) for p in self.priorities}
        return found

    @property
    def roadmap_phases(self) -> list[tuple[str, list[PlanItem]]]:
        return [(PHASES[k], v) for k, v in self.roadmap.items()]

    @property
    def actions(self) -> list[PlanItem]:
        """Every action proposed, plan then roadmap."""
        return [*self.plan, *(i for v in self.roadmap.values() for i in v)]


def advise(
    results: AssessmentResults,
    *,
    importance: Mapping[int, str],
    prerequisites: Mapping[int, Iterable[int]],
    steps: Mapping[tuple[int, int], list[NextStep]],
    personas: Mapping[int, Persona],
    later_round: bool,
    participation: ParticipationSummary | None = None,
    previous: Iterable[PlanAction] = (),
    tracked: Iterable[PlanAction] = (),
) -> Advice:
    """Compute the advice from the shown results and catalogue rows (no query)."""
    previous = list(previous)
    priorities, near = rank(results, importance, prerequisites)
    disagreements = sorted(
        (Disagreement(c) for c in results.capabilities if c.contested),
        key=lambda d: (-d.result.disagreement, d.result.capability.position),
    )
    thin = [
        (c, caveat)
        for c in results.capabilities
        if not c.contested and (caveat := thin_caveat(c, results.k))
    ]
    items = candidate_actions(
        priorities, steps, personas=personas, later_round=later_round
    )
    alignment = alignment_action(disagreements, personas)
    plan, roadmap, left = phase(items, priorities, alignment)
    # Every action proposed once: the plan is the alignment and some of `items`.
    proposed = [alignment, *items] if alignment else items
    by_key = {a.action_key: a for a in tracked if a.action_key}
    for item in proposed:
        item.tracked = by_key.get(item.key)
    sustain = [
        c
        for c in results.capabilities
        if c.gap is not None and c.gap <= 0 and not c.contested
    ]
    return Advice(
        priorities=priorities,
        align_first=disagreements,
        thin=thin,
        close_to_target=near,
        sustain=sustain,
        plan=plan,
        roadmap=roadmap,
        left_for_later=left,
        decisions=decisions(plan, priorities, disagreements, thin, len(sustain)),
        risks=risks(results, participation, disagreements, thin),
        reassigned=any(i.reassigned_from for i in proposed),
        progress=progress_by_capability(
            previous, (c.capability for c in results.capabilities)
        ),
        previous=previous,
    )


def assessment_advice(
    results: AssessmentResults, participation: ParticipationSummary | None = None
) -> Advice:
    """Gather the rows advice needs and compute it.

    Seven queries at most, whatever the size: importance, prerequisites,
    next steps, the assessment's personas, this round's tracked actions and
    the previous round's (with their capabilities).
    """
    assessment = results.assessment
    ids = [c.capability.pk for c in results.capabilities]
    importance = dict(
        assessment.scoped_capabilities.values_list("capability_id", "importance")
    )
    prerequisites: dict[int, list[int]] = defaultdict(list)
    through = Capability.prerequisites.through
    for pk, required in through.objects.filter(from_capability_id__in=ids).values_list(
        "from_capability_id", "to_capability_id"
    ):
        prerequisites[pk].append(required)
    steps: dict[tuple[int, int], list[NextStep]] = defaultdict(list)
    for step in NextStep.objects.filter(capability_id__in=ids).select_related("owner"):
        steps[(step.capability_id, step.from_level)].append(step)
    personas = {p.pk: p for p in assessment.personas.all()}
    return advise(
        results,
        importance=importance,
        prerequisites=prerequisites,
        steps=steps,
        personas=personas,
        later_round=assessment.previous_id is not None,
        participation=participation,
        previous=previous_actions(assessment),
        tracked=PlanAction.objects.filter(assessment=assessment).exclude(action_key=""),
    )


def capability_change(changes: Mapping[str, Delta], name: str) -> str:
    """Return "Allocation +0.5" (the name alone without a change)."""
    delta = changes.get(name)
    if delta is not None and delta.change is not None:
        return f"{name} {display.change(delta.change)}"
    return name


def previous_action_rows(
    advice: Advice, comparison: Comparison | None
) -> list[tuple[PlanAction, str]]:
    """Pair last round's tracked actions with their capabilities' changes.

    Capabilities are named as last round named them; the change shows when
    this round has a capability of that name.
    """
    _, changes = changes_by_name(comparison)
    return [
        (
            action,
            ", ".join(
                capability_change(changes, c.name) for c in action.capabilities.all()
            ),
        )
        for action in advice.previous
    ]
