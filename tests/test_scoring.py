"""Scoring engine: the hand-computed example, invariants and query counts."""

from decimal import Decimal
from fractions import Fraction

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import strategies as st

from assessment.models import Capability, Domain, Level, Persona
from assessment.scoring import (
    Delta,
    assessment_results,
    breakdown,
    capability_result,
    counts_median,
    level_label,
    rank_priorities,
    round_comparison,
    shown_level,
)
from tests.factories import (
    AL,
    BU,
    DI,
    FC,
    create_answered_response,
    create_hand_example,
    create_scoped_assessment,
)

approx = pytest.approx


@pytest.fixture
def results(organisation, framework):
    return assessment_results(
        create_hand_example(organisation=organisation, framework=framework),
        include_comments=True,
    )


def by_slug(results):
    return {c.capability.slug: c for c in results.capabilities}


# --- The hand-computed example (see tests/factories.create_hand_example) ------


def groups(result):
    return [(g.label, g.score, g.n) for g in result.groups]


def test_it_scores_data_ingestion_as_worked_out_by_hand(results):
    di = by_slug(results)[DI]
    # Scored answers: practitioners 3, 2 (n=2); engineering 1, 1 (n=2);
    # finance 2 (n=1). Finance alone is below k=2, so the smallest group
    # joins it (a tie: engineering, later in the catalogue): "other
    # personas" = 1, 1, 2 with mean 4/3. Score = (5/2 + 4/3) / 2 = 23/12.
    assert groups(di) == [
        ("FinOps Practitioner", 2.5, 2),
        ("Other personas", approx(4 / 3), 3),
    ]
    assert di.score == approx(23 / 12)
    assert di.level == Level.WALK
    # Shown as 1.9 against a target of 2.
    assert (di.shown_score, di.gap) == (Decimal("1.9"), Decimal("0.1"))
    assert di.respondent_mean == approx(9 / 5)
    assert di.median == 2
    assert di.counts == {0: 0, 1: 2, 2: 2, 3: 1, -1: 1, -2: 0}
    assert (di.answered, di.scored) == (6, 5)
    assert di.dont_know_rate == approx(1 / 6)
    assert di.not_applicable_rate == 0
    assert di.disagreement == Decimal("1.2")  # 2.5 and 1.3 as shown
    assert di.contested is True
    assert di.priority == 3


def test_it_scores_allocation_as_worked_out_by_hand(results):
    al = by_slug(results)[AL]
    # Practitioners 2, 2, 1 (n=3); engineering 0 and finance 3 pool to n=2.
    assert groups(al) == [
        ("FinOps Practitioner", approx(5 / 3), 3),
        ("Other personas", 1.5, 2),
    ]
    assert al.score == approx(19 / 12)
    assert al.level == Level.WALK
    assert (al.shown_score, al.gap) == (Decimal("1.6"), Decimal("1.4"))
    assert al.respondent_mean == approx(8 / 5)
    assert al.median == 2
    assert al.counts == {0: 1, 1: 1, 2: 2, 3: 1, -1: 0, -2: 1}
    assert al.not_applicable_rate == approx(1 / 6)
    assert al.disagreement == Decimal("0.2")  # 1.7 and 1.5 as shown
    assert al.contested is False
    assert al.priority == 1


def test_it_scores_forecasting_as_worked_out_by_hand(results):
    fc = by_slug(results)[FC]
    # Engineering answered only "Don't know"; finance's one answer pulls the
    # practitioners into the pool: one group left, the plain mean of all.
    assert fc.groups == [] and not fc.broken_down
    assert fc.score == approx(5 / 4)
    assert fc.level == Level.CRAWL
    # 1.25 shows as 1.3 (half-up) against a target of 2.
    assert (fc.shown_score, fc.gap) == (Decimal("1.3"), Decimal("0.7"))
    assert fc.respondent_mean == approx(5 / 4)
    assert fc.median == 1
    assert fc.dont_know_rate == approx(2 / 6)
    assert fc.disagreement is None
    assert fc.priority == 2


def test_it_scores_budgeting_as_worked_out_by_hand(results):
    bu = by_slug(results)[BU]
    assert groups(bu) == [
        ("FinOps Practitioner", approx(7 / 3), 3),
        ("Engineering", 1.5, 2),
    ]
    assert bu.other_personas is None
    assert bu.score == approx(23 / 12)
    assert (bu.shown_score, bu.gap) == (Decimal("1.9"), Decimal("-0.9"))
    assert bu.median == 2
    assert bu.answered == 5
    # Practitioners 7/3 and engineering 3/2, shown as 2.3 and 1.5.
    assert bu.disagreement == Decimal("0.8")
    assert bu.contested is False
    assert bu.priority is None


def test_it_scores_domains_and_overall_as_worked_out_by_hand(results):
    understand, quantify = results.domains
    assert understand.domain.slug == "understand-usage-cost"
    assert understand.score == approx(7 / 4)
    assert understand.target == 2.5
    assert quantify.score == approx(19 / 12)
    assert quantify.target == 1.5
    assert results.overall == approx(5 / 3)
    assert results.overall_level == Level.WALK
    assert [c.capability.slug for c in results.priorities] == [AL, FC, DI]
    assert [c.capability.slug for c in results.contested] == [DI]


def test_it_counts_only_submitted_respondents_and_pools_small_groups(results):
    assert results.respondents == 6
    # Finance (1) is below k=2; engineering (2) joins it to reach k.
    assert [(g.label, g.n) for g in results.personas.rows] == [
        ("FinOps Practitioner", 3),
        ("Other personas", 3),
    ]
    assert [(g.label, g.n) for g in results.business_units.rows] == [
        ("Not given", 3),
        ("Platform", 3),
    ]


def test_it_returns_comments_without_names_only_when_asked(
    results, organisation, framework
):
    assert [(c.capability.slug, c.text) for c in results.comments] == [
        (AL, "Le coût partagé est réparti à la main, dit Zoë.")
    ]
    plain = assessment_results(results.assessment)
    assert plain.comments is None


def test_it_gives_empty_results_before_any_submission(organisation, framework):
    assessment = create_scoped_assessment(
        organisation=organisation,
        framework=framework,
        capability_slugs=[DI],
        targets={DI: 2},
    )
    results = assessment_results(assessment)
    assert results.overall is None
    assert results.respondents == 0
    assert results.capabilities[0].score is None
    assert results.capabilities[0].dont_know_rate is None
    assert results.priorities == []


# --- Query count does not grow with respondents ------------------------------


def _queries(assessment) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assessment_results(assessment, include_comments=True)
    return len(ctx.captured_queries)


def test_it_uses_the_same_number_of_queries_for_10_and_200_respondents(
    organisation, framework
):
    assessment = create_scoped_assessment(
        organisation=organisation,
        framework=framework,
        capability_slugs=[DI, AL],
        targets={DI: 2, AL: 2},
    )
    personas = ["finops-practitioner", "engineering", "finance"]
    for i in range(10):
        create_answered_response(
            assessment=assessment,
            persona=personas[i % 3],
            answers={DI: i % 4, AL: (i * 7) % 6 - 2},
        )
    small = _queries(assessment)
    for i in range(190):
        create_answered_response(
            assessment=assessment,
            persona=personas[i % 3],
            answers={DI: i % 4, AL: (i * 5) % 6 - 2},
            business_unit=f"BU {i % 7}",
            comments={DI: f"note {i}"},
        )
    assert _queries(assessment) == small == 6


# --- Properties ---------------------------------------------------------------

VALUES = st.sampled_from([0, 1, 2, 3, -1, -2])
COUNTS = st.dictionaries(VALUES, st.integers(0, 6))


def _persona(i: int) -> Persona:
    return Persona(pk=i + 1, slug=f"p{i}", name=f"P{i}", position=i)


CAPABILITY = Capability(
    pk=1, slug="c", name="C", foundational_rank=1, domain=Domain(pk=1, position=1)
)
TABLES = st.lists(COUNTS, min_size=1, max_size=5).map(
    lambda tables: {_persona(i): t for i, t in enumerate(tables)}
)


def _score(tables, k=1):
    return capability_result(CAPABILITY, 2, tables, k)


@given(TABLES, st.integers(1, 4))
def test_scores_stay_within_the_scale(tables, k):
    result = _score(tables, k)
    for value in (result.score, result.respondent_mean, result.median):
        assert value is None or 0 <= value <= 3
    assert result.disagreement is None or 0 <= result.disagreement <= 3


@given(TABLES, st.integers(0, 4), st.sampled_from([-1, -2]))
def test_dont_know_and_not_applicable_never_change_a_score(tables, index, unscored):
    persona = list(tables)[index % len(tables)]
    before = _score(tables)
    more = dict(tables)
    more[persona] = {**tables[persona]}
    more[persona][unscored] = more[persona].get(unscored, 0) + 1
    after = _score(more)
    assert after.score == before.score
    assert after.respondent_mean == before.respondent_mean
    assert after.median == before.median


@given(TABLES, st.integers(0, 4), st.integers(2, 5))
def test_duplicating_one_personas_answers_keeps_the_capability_score(
    tables, index, factor
):
    persona = list(tables)[index % len(tables)]
    louder = dict(tables)
    louder[persona] = {v: n * factor for v, n in tables[persona].items()}
    assert _score(louder).score == _score(tables).score


@given(st.fractions(min_value=0, max_value=3))
def test_level_labels_follow_the_nearest_level(score):
    expected = 0 if score < 0.5 else 1 if score < 1.5 else 2 if score < 2.5 else 3
    assert level_label(score) == expected


def test_level_boundaries_are_exact():
    assert [level_label(Fraction(x, 2)) for x in range(7)] == [0, 1, 1, 2, 2, 3, 3]
    assert level_label(Fraction(1, 2) - Fraction(1, 10**9)) == 0
    assert level_label(Fraction(5, 2) - Fraction(1, 10**9)) == 2


@given(st.integers(0, 3), st.integers(0, 3), st.integers(1, 3))
def test_contested_exactly_from_a_full_level_apart(low, high, k):
    # Each persona answers k times the same value: persona means are exact.
    tables = {_persona(0): {low: k}, _persona(1): {high: k}}
    result = _score(tables, k)
    assert result.contested is (abs(high - low) >= 1)


def test_contested_at_exactly_one_but_not_just_below():
    third = {_persona(0): {1: 3}, _persona(1): {2: 2, 1: 1}}  # 1 vs 5/3
    assert _score(third).contested is False
    exact = {_persona(0): {1: 2}, _persona(1): {2: 2}, _persona(2): {3: 1, 1: 1}}
    assert _score(exact).disagreement == 1.0
    assert _score(exact).contested is True


def test_disagreement_needs_two_groups_of_k():
    tables = {_persona(0): {0: 3}, _persona(1): {3: 1}}
    assert _score(tables, 2).disagreement is None  # one group left
    assert _score(tables, 1).disagreement == 3


@given(COUNTS)
def test_median_lies_between_lowest_and_highest_scored_answer(counts):
    scored = [v for v in (0, 1, 2, 3) if counts.get(v)]
    median = counts_median(counts)
    if not scored:
        assert median is None
    else:
        assert min(scored) <= median <= max(scored)


def test_equal_gaps_go_to_the_more_foundational_capability():
    def cap(pk, rank):
        return Capability(pk=pk, slug=f"c{pk}", foundational_rank=rank)

    later = capability_result(cap(1, 9), 2, {_persona(0): {1: 1}}, 1)
    earlier = capability_result(cap(2, 2), 2, {_persona(0): {1: 1}}, 1)
    bigger = capability_result(cap(3, 20), 3, {_persona(0): {1: 1}}, 1)
    above = capability_result(cap(4, 1), 1, {_persona(0): {2: 1}}, 1)
    ranked = rank_priorities([later, earlier, bigger, above])
    assert [(c.capability.pk, c.priority) for c in ranked] == [(3, 1), (2, 2), (1, 3)]


# --- Judgements follow the score as shown ------------------------------------


def test_the_level_is_that_of_the_score_as_shown():
    # 29/20 = 1.45 shows as 1.5, so it reads Walk like every other 1.5.
    result = _score({_persona(0): {1: 11, 2: 9}})
    assert (result.shown_score, result.level) == (Decimal("1.5"), Level.WALK)
    assert shown_level(Fraction(1487, 1000)) == Level.WALK
    assert shown_level(Fraction(1449, 1000)) == Level.CRAWL
    assert shown_level(None) is None


def test_a_capability_shown_at_its_target_has_no_gap_and_no_priority():
    # 39/20 = 1.95 shows as 2.0 against a target of 2.
    at_target = _score({_persona(0): {2: 19, 1: 1}})
    assert (at_target.shown_score, at_target.gap) == (Decimal("2.0"), 0)
    below = _score({_persona(0): {2: 17, 1: 3}})  # 1.85 shows 1.9
    assert below.gap == Decimal("0.1")
    ranked = rank_priorities([at_target, below])
    assert [(c.gap, c.priority) for c in ranked] == [(Decimal("0.1"), 1)]


def test_disagreement_and_contested_come_from_the_persona_scores_as_shown():
    # 1 against 39/20 (shown 2.0): exactly 0.95 apart, but read a level apart.
    tables = {_persona(0): {1: 2}, _persona(1): {2: 19, 1: 1}}
    result = _score(tables)
    assert result.disagreement == Decimal("1.0")
    assert result.contested is True


def test_a_change_is_the_shown_score_now_minus_the_shown_score_then():
    # 1.45 now (shown 1.5) after 1.34 (shown 1.3): read as +0.2, not +0.1.
    delta = Delta("Allocation", Fraction(29, 20), Fraction(134, 100))
    assert delta.change == Decimal("0.2")
    assert Delta("Allocation", Fraction(1, 3), None).change is None


def test_breakdown_pools_groups_below_k():
    result = breakdown({"A": 5, "B": 2, "C": 1}, 3, other="Other units")
    assert [(g.label, g.n) for g in result.rows] == [("A", 5), ("Other units", 3)]


def test_breakdown_pulls_the_smallest_group_into_a_pool_below_k():
    result = breakdown({"A": 5, "B": 4, "C": 1}, 3, other="Other units")
    assert [(g.label, g.n) for g in result.rows] == [("A", 5), ("Other units", 5)]


def test_breakdown_of_one_group_is_no_breakdown():
    assert breakdown({"A": 5, "C": 1}, 3, other="Other").rows == []
    assert breakdown({"A": 5}, 3, other="Other").rows == []


# --- Round comparison ---------------------------------------------------------


def test_it_compares_rounds_by_capability_and_domain(organisation, framework):
    before = create_scoped_assessment(
        organisation=organisation,
        framework=framework,
        capability_slugs=[DI, AL],
        targets={DI: 2, AL: 2},
        anonymity_threshold=1,
    )
    create_answered_response(
        assessment=before, persona="finops-practitioner", answers={DI: 1, AL: 1}
    )
    after = create_scoped_assessment(
        organisation=organisation,
        framework=framework,
        capability_slugs=[DI, AL, FC],
        targets={DI: 2, AL: 2, FC: 2},
        previous=before,
        anonymity_threshold=1,
    )
    create_answered_response(
        assessment=after, persona="finops-practitioner", answers={DI: 2, AL: 1, FC: 3}
    )
    comparison = round_comparison(assessment_results(after), assessment_results(before))
    changes = {d.label: d.change for d in comparison.capabilities}
    assert changes == {"Data Ingestion": 1.0, "Allocation": 0.0, "Forecasting": None}
    understand = comparison.domains[0]
    assert (understand.previous, understand.current) == (1.0, 1.5)
    # Overall 9/4 now (shown 2.3) against 1 then.
    assert comparison.overall.change == Decimal("1.3")


def test_it_matches_renamed_capabilities_through_aliases(framework):
    from assessment.scoring import match_capabilities

    current = Capability(pk=1, slug="usage-optimization", name="Usage Optimization")
    old = Capability(pk=99, slug="workload-optimization", name="Workload Optimization")
    stranger = Capability(pk=98, slug="x", name="Something else")
    matched = match_capabilities(
        [current], [stranger, old], {1: ["Workload Optimization"]}
    )
    assert matched == {1: old}
