"""Advice: priorities that respect prerequisites, findings first, the 90-day plan.

Constructed cases run on in-memory rows (no database); the demo cases run
the whole path on the demo organisation's two rounds.
"""

import re
from decimal import Decimal

import pytest
from django.utils.html import escape

from assessment import advice
from assessment.demo import DemoRounds, demo_rounds_create
from assessment.disclosure import shown_results
from assessment.models import (
    Assessment,
    Capability,
    Domain,
    NextStep,
    Organisation,
    Persona,
    PlanAction,
)
from assessment.report_content import ReportOptions, report_context, report_html
from assessment.scoring import combine
from tests.factories import kept_for_module

K = 3
DOMAIN = Domain(pk=1, name="Understand", slug="understand", position=1)
PRACTITIONER = Persona(
    pk=1, slug="finops-practitioner", name="FinOps Practitioner", position=1
)
ENGINEERING = Persona(pk=2, slug="engineering", name="Engineering", position=2)
FINANCE = Persona(pk=3, slug="finance", name="Finance", position=3)
ITAM = Persona(pk=4, slug="itam", name="ITAM", position=4)


def capability(pk: int, name: str, rank: int = 1) -> Capability:
    return Capability(
        pk=pk,
        name=name,
        slug=name.lower().replace(" ", "-"),
        domain=DOMAIN,
        domain_id=DOMAIN.pk,
        position=pk,
        foundational_rank=rank,
    )


DI = capability(1, "Data Ingestion", rank=1)
AL = capability(2, "Allocation", rank=2)
UE = capability(3, "Unit Economics", rank=9)
FC = capability(4, "Forecasting", rank=5)
BU = capability(5, "Budgeting", rank=6)


def results(answers: dict, targets: dict | None = None, *, k: int = K):
    """Results of capabilities answered {capability: {persona: {value: n}}}."""
    targets = targets or {}
    return combine(
        Assessment(pk=1, anonymity_threshold=k),
        [(c, targets.get(c, 3)) for c in answers],
        {c.pk: by_persona for c, by_persona in answers.items()},
        {"all": 10},
        {},
    )


def everyone(value: int, n: int = 6, extra: dict | None = None) -> dict:
    """n practitioners answering `value` (one group: no disagreement)."""
    return {PRACTITIONER: {value: n, **(extra or {})}}


def ranked(res, importance=None, prerequisites=None):
    priorities, near = advice.rank(res, importance or {}, prerequisites or {})
    return [p.capability.name for p in priorities], priorities, near


# --- Priorities ---------------------------------------------------------------


def test_no_capability_ranks_above_an_unmet_prerequisite():
    # Unit Economics has the largest gap, but needs Allocation, which needs
    # Data Ingestion; both are below target.
    res = results({DI: everyone(2), AL: everyone(1), UE: everyone(0)})
    prerequisites = {UE.pk: [AL.pk], AL.pk: [DI.pk]}
    order, priorities, _ = ranked(res, prerequisites=prerequisites)
    assert order == ["Data Ingestion", "Allocation", "Unit Economics"]
    reasons = {p.capability.name: p.reason for p in priorities}
    assert reasons["Data Ingestion"].startswith("prerequisite of Allocation")
    assert reasons["Unit Economics"] == "after Allocation; largest gap"


def test_a_prerequisite_already_at_target_holds_nothing_back():
    res = results({DI: everyone(3), UE: everyone(0), AL: everyone(2)})
    order, _, _ = ranked(res, prerequisites={UE.pk: [DI.pk]})
    assert order == ["Unit Economics", "Allocation"]


def test_importance_weighs_the_gap():
    # Forecasting: gap 1.0 but low importance (0.5); Budgeting: gap 0.8 ... as
    # 2.2 against Run, high importance (1.2).
    res = results(
        {FC: everyone(2), BU: {PRACTITIONER: {2: 4, 3: 1}}},
    )
    order, priorities, _ = ranked(res, importance={FC.pk: "low", BU.pk: "high"})
    assert order == ["Budgeting", "Forecasting"]
    assert priorities[0].reason == "largest gap, high importance"
    assert priorities[1].reason == "gap 1.0, low importance"


def test_a_prerequisite_of_several_says_so():
    res = results({AL: everyone(1), UE: everyone(0), FC: everyone(0), BU: everyone(0)})
    prerequisites = {c.pk: [AL.pk] for c in (UE, FC, BU)}
    _, priorities, _ = ranked(res, prerequisites=prerequisites)
    assert priorities[0].capability == AL
    assert priorities[0].reason.startswith("prerequisite of Forecasting and 2 others")


def test_thin_evidence_is_caveated_and_ranked_after_better_known_gaps():
    # Unit Economics: the largest gap, but 3 of 8 answers are Don't know.
    res = results({UE: everyone(0, n=5, extra={-1: 3}), FC: everyone(2)})
    order, priorities, _ = ranked(res)
    assert order == ["Forecasting", "Unit Economics"]
    assert "Don't know" in priorities[1].caveat
    # Four scored answers (k = 3): fewer than five, thin too.
    res = results({UE: everyone(0, n=4), FC: everyone(2)})
    order, priorities, _ = ranked(res)
    assert order == ["Forecasting", "Unit Economics"]
    assert "only 4 scored answers" in priorities[1].caveat


def test_thin_evidence_still_goes_first_when_a_gap_needs_it():
    res = results({DI: everyone(1, n=4), AL: everyone(1)})
    order, priorities, _ = ranked(res, prerequisites={AL.pk: [DI.pk]})
    assert order == ["Data Ingestion", "Allocation"]
    assert priorities[0].caveat


def test_contested_capabilities_are_never_close_to_target_or_sustained():
    split = {PRACTITIONER: {1: 3}, ENGINEERING: {3: 3}}  # 1.0 vs 3.0
    near_split = {PRACTITIONER: {2: 3}, ENGINEERING: {3: 3}}  # mean 2.5... 1.0 apart
    res = results(
        {AL: split, FC: near_split, BU: everyone(2)},
        targets={AL: 2, FC: 3, BU: 2},
    )
    found = advice.advise(
        res,
        importance={},
        prerequisites={},
        steps={},
        personas={},
        later_round=False,
    )
    contested = {d.result.capability for d in found.align_first}
    assert contested == {AL, FC}
    assert not contested & {c.capability for c in found.sustain}
    assert not contested & {c.capability for c in found.close_to_target}
    assert [c.capability for c in found.sustain] == [BU]
    sentence = next(d for d in found.align_first if d.result.capability == AL).sentence
    assert sentence == "Engineering 3.0 vs FinOps Practitioner 1.0, 2.0 apart"


def test_small_gaps_nobody_waits_for_are_close_to_target():
    # Allocation 2.6 against Run: close; Forecasting 2.6 needs it... no, is
    # needed by Budgeting, so it stays a priority.
    res = results(
        {
            AL: {PRACTITIONER: {2: 2, 3: 3}},
            FC: {PRACTITIONER: {2: 2, 3: 3}},
            BU: everyone(1),
        }
    )
    order, _, near = ranked(res, prerequisites={BU.pk: [FC.pk]})
    assert [c.capability for c in near] == [AL]
    assert order == ["Forecasting", "Budgeting"]


# --- Plan -------------------------------------------------------------------


def step(pk, cap, level, key, owner=PRACTITIONER, kpi="Coverage: ≥80%", **kw):
    return NextStep(
        pk=pk,
        capability=cap,
        capability_id=cap.pk,
        from_level=level,
        position=pk,
        action=f"Do {key}",
        owner=owner,
        kpi=kpi,
        action_key=key,
        **kw,
    )


def plan_for(
    steps,
    *,
    personas=(PRACTITIONER, ENGINEERING),
    later_round=False,
    capabilities=(AL, UE, FC),
):
    res = results({c: everyone(1) for c in capabilities})
    table = {}
    for s in steps:
        table.setdefault((s.capability_id, s.from_level), []).append(s)
    return advice.advise(
        res,
        importance={},
        prerequisites={},
        steps=table,
        personas={p.pk: p for p in personas},
        later_round=later_round,
    )


def test_one_action_serving_several_capabilities_appears_once_naming_them():
    found = plan_for(
        [
            step(1, AL, 1, "shared-cost-rules"),
            step(2, UE, 1, "shared-cost-rules"),
            step(3, FC, 1, "budget-alerts"),
            step(4, UE, 1, "budget-alerts"),
            step(5, AL, 1, "budget-alerts"),
        ]
    )
    keys = [i.key for i in found.actions]
    assert sorted(keys) == ["budget-alerts", "shared-cost-rules"]
    shared = next(i for i in found.actions if i.key == "shared-cost-rules")
    assert shared.capability_names == "Allocation and Unit Economics"
    alerts = next(i for i in found.actions if i.key == "budget-alerts")
    assert set(alerts.capabilities) == {AL, UE, FC}


def test_owners_take_part_in_the_assessment_or_the_practitioner_steps_in():
    steps = [
        step(1, AL, 1, "tag-policy", owner=ENGINEERING),
        step(2, AL, 1, "license-register", owner=ITAM),
    ]
    found = plan_for(steps)
    owners = {i.key: (i.owner, i.reassigned_from) for i in found.plan}
    assert owners == {
        "tag-policy": (ENGINEERING, None),
        "license-register": (PRACTITIONER, ITAM),
    }
    assert found.reassigned
    # Without the practitioner in the assessment, such an action is left out.
    found = plan_for(steps, personas=(ENGINEERING,))
    assert [i.key for i in found.actions] == ["tag-policy"]


def test_a_kpi_without_a_number_is_not_planned():
    found = plan_for([step(1, AL, 1, "vague", kpi="Better reports")])
    assert not found.actions


def test_a_later_round_proposes_no_first_round_step():
    steps = [
        step(1, AL, 1, "run-first-self-assessment", first_round_only=True),
        step(2, AL, 1, "tag-policy"),
    ]
    assert "run-first-self-assessment" in {i.key for i in plan_for(steps).plan}
    later = plan_for(steps, later_round=True)
    assert [i.key for i in later.actions] == ["tag-policy"]


def test_the_plan_has_at_most_ten_actions_then_a_roadmap():
    steps = [
        step(n, cap, level, f"{cap.slug}-{level}-{n}")
        for n, (cap, level) in enumerate(
            [(c, lv) for c in (AL, UE, FC, BU) for lv in (1, 2) for _ in range(5)],
            start=1,
        )
    ]
    # Four priorities with five next moves each: twenty candidates for the plan.
    found = plan_for(steps, capabilities=(AL, UE, FC, BU))
    assert len(found.plan) == advice.PLAN_LIMIT
    # At most three actions per capability, so the plan spans the priorities.
    per = {}
    for item in found.plan:
        per[item.capabilities[0]] = per.get(item.capabilities[0], 0) + 1
    assert max(per.values()) <= advice.PER_CAPABILITY and len(per) == 4
    assert found.roadmap["3-6"] and found.roadmap["6-12"]
    assert all(i.stage == 0 for i in found.roadmap["3-6"])
    assert all(i.stage > 0 for i in found.roadmap["6-12"])


def test_three_decisions_are_asked():
    found = plan_for([step(1, AL, 1, "tag-policy")])
    assert len(found.decisions) == 3
    assert found.decisions[0].startswith("Approve the 90-day plan (1 action)")


# --- The demo organisation ---------------------------------------------------


@pytest.fixture(scope="module")
def demo_rounds(django_db_setup, django_db_blocker, tmp_path_factory):
    """Build the demo's two rounds once for the module's tests (about a second)."""

    media = tmp_path_factory.mktemp("demo-media")

    def build():
        organisation = Organisation.objects.create(name="Acme (demo)", slug="demo")
        rounds = demo_rounds_create(organisation=organisation, respondents=40, seed=7)
        return rounds.previous.pk, rounds.current.pk, media

    yield from kept_for_module(django_db_blocker, build, media)


@pytest.fixture
def demo(db, demo_rounds, settings) -> DemoRounds:
    """This test's own copies of the demo rounds, their files where stored."""
    previous, current, settings.MEDIA_ROOT = demo_rounds
    return DemoRounds(
        previous=Assessment.objects.get(pk=previous),
        current=Assessment.objects.get(pk=current),
    )


def demo_advice(assessment):
    shown = shown_results(assessment, owner=False)
    return shown.results, advice.assessment_advice(shown.results, shown.participation)


@pytest.mark.parametrize("which", ["previous", "current"])
def test_the_demo_advice_holds_every_rule(demo, which):
    assessment = getattr(demo, which)
    res, found = demo_advice(assessment)
    # Prerequisites below target come first.
    position = {p.capability.pk: p.rank for p in found.priorities}
    below = {c.capability.pk for c in res.capabilities if c.gap and c.gap > 0}
    for p in found.priorities:
        for required in p.capability.prerequisites.all():
            if required.pk in below:
                assert position[required.pk] < p.rank, (p.capability, required)
    # No action twice.
    keys = [i.key for i in found.actions]
    assert len(keys) == len(set(keys))
    # The plan: at most ten, owners in the assessment, numeric KPI targets.
    personas = set(assessment.personas.values_list("pk", flat=True))
    assert 0 < len(found.plan) <= 10
    for item in found.plan:
        assert item.owner.pk in personas
        assert re.search(r"\d", item.kpi), item.kpi
    # Contested: under "align first" only.
    contested = {d.result.capability.pk for d in found.align_first}
    assert contested
    assert not contested & {c.capability.pk for c in found.sustain}
    assert not contested & {c.capability.pk for c in found.close_to_target}
    assert len(found.decisions) == 3


def test_a_second_round_never_proposes_a_first_self_assessment(demo):
    first_only = set(
        NextStep.objects.filter(first_round_only=True).values_list(
            "action_key", flat=True
        )
    )
    assert first_only
    _, found = demo_advice(demo.current)
    assert not first_only & {i.key for i in found.actions}
    html = report_html(demo.current, ReportOptions())
    assert "first self-assessment" not in html.lower()


def test_the_demo_tracks_the_previous_rounds_plan(demo):
    tracked = PlanAction.objects.filter(assessment=demo.previous)
    assert tracked.count() == len(demo_advice(demo.previous)[1].plan)
    assert {a.status for a in tracked} >= {"done", "in_progress", "planned"}
    html = report_html(demo.current, ReportOptions())
    assert "Last round's actions" in html and "actions done" in html


def test_a_second_round_report_shows_last_rounds_actions_and_status(demo):
    PlanAction.objects.all().delete()  # the demo's own, for exact counts
    allocation = Capability.objects.get(
        version=demo.previous.framework, slug="allocation"
    )
    done = PlanAction.objects.create(
        assessment=demo.previous,
        action_key="enforce-tags",
        title="Enforce required tags at resource creation",
        owner_name="Platform team",
        status=PlanAction.Status.DONE,
    )
    open_one = PlanAction.objects.create(
        assessment=demo.previous,
        title="Agree shared cost rules",
        status=PlanAction.Status.IN_PROGRESS,
    )
    for action in (done, open_one):
        action.capabilities.add(allocation)
    ctx = report_context(demo.current, ReportOptions())
    row = next(
        r
        for d in ctx["domains"]
        for r in d["rows"]
        if r.result.capability.slug == "allocation"
    )
    assert row.progress.text == "1 of 2 actions done"
    html = report_html(demo.current, ReportOptions())
    assert "Last round's actions" in html
    assert escape(done.title) in html and "In progress" in html
    change = row.change.change
    sign = "+" if change > 0 else ""
    assert f"Allocation {sign}{change:.1f}".replace("-", "−") in html


def test_advice_on_the_demo_costs_a_fixed_number_of_queries(
    demo, django_assert_max_num_queries
):
    shown = shown_results(demo.current, owner=False)
    with django_assert_max_num_queries(7):
        advice.assessment_advice(shown.results, shown.participation)


def test_the_weights_are_documented_in_the_report(demo):
    html = report_html(demo.current, ReportOptions())
    assert "high counts 1.5 times" in html
    assert advice.IMPORTANCE_WEIGHTS["high"] == Decimal("1.5")
