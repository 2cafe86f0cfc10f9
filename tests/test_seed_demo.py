"""seed_demo: a full, reproducible demo for `make run` and the benchmarks."""

import io

import pytest
from django.core.management import CommandError, call_command

from assessment.demo import CURRENT_TITLE, DEMO_SLUG
from assessment.disclosure import shown_results
from assessment.models import Answer, Assessment, Membership, Response
from assessment.scoring import assessment_results
from tests.factories import kept_for_module


def _seed(respondents=40, seed=7):
    call_command("seed_demo", respondents=respondents, seed=seed, stdout=io.StringIO())
    return _current()


def _current():
    return Assessment.objects.get(organisation__slug=DEMO_SLUG, title=CURRENT_TITLE)


@pytest.fixture(scope="module")
def seeded_once(django_db_setup, django_db_blocker, tmp_path_factory):
    """`seed_demo` with its defaults, run once for the tests that only read it."""

    media = tmp_path_factory.mktemp("demo-media")

    def build():
        _seed()
        return media

    yield from kept_for_module(django_db_blocker, build, media)


@pytest.fixture
def seeded(db, seeded_once, settings) -> Assessment:
    """The demo's current round, as `seed_demo` with its defaults leaves it."""
    settings.MEDIA_ROOT = str(seeded_once)
    return _current()


def _answers(assessment):
    return list(
        Answer.objects.filter(response__assessment=assessment)
        .order_by("response__invitation__email", "capability__position")
        .values_list("response__persona__slug", "capability__slug", "value", "comment")
    )


def test_it_creates_owner_viewer_and_two_linked_rounds(seeded):
    current = seeded
    roles = set(
        Membership.objects.filter(organisation=current.organisation).values_list(
            "user__username", "role"
        )
    )
    assert roles == {("owner", "owner"), ("viewer", "viewer")}
    assert current.status == Assessment.Status.OPEN
    assert current.previous.status == Assessment.Status.CLOSED
    submitted = current.responses.filter(status=Response.Status.SUBMITTED)
    assert submitted.count() == 40
    assert current.responses.filter(status=Response.Status.DRAFT).exists()


def test_the_same_seed_gives_the_same_answers_and_refreshing_replaces(seeded):
    first = _answers(seeded)
    assert _answers(_seed()) == first  # the defaults again
    assert Assessment.objects.filter(organisation__slug=DEMO_SLUG).count() == 2
    assert _answers(_seed(seed=8)) != first


def test_demo_answers_are_varied_and_realistic(seeded):
    current = seeded
    values = set(
        Answer.objects.filter(response__assessment=current).values_list(
            "value", flat=True
        )
    )
    assert values == {0, 1, 2, 3, -1, -2}
    comments = " ".join(
        Answer.objects.filter(response__assessment=current)
        .exclude(comment="")
        .values_list("comment", flat=True)
    )
    assert "Zoë" in comments or "coût" in comments
    results = assessment_results(current)
    assert results.contested
    assert results.business_units.groups
    assert results.overall > assessment_results(current.previous).overall


def test_the_demo_viewer_sees_published_results_showing_the_rules(seeded):
    current = seeded
    shown = shown_results(current, owner=False)
    assert shown.snapshot is not None and shown.results.overall is not None
    assert shown_results(current.previous, owner=False).snapshot.reason == "closed"
    capabilities = shown.results.capabilities
    # A pooled "other personas" group, and a capability too small to break down.
    assert any(c.other_personas for c in capabilities)
    assert any(c.score is not None and not c.broken_down for c in capabilities)


@pytest.mark.django_db
def test_demo_comments_are_never_repeated_for_one_capability(framework):
    current = _seed(respondents=200)
    for assessment in (current, current.previous):
        commented = (
            Answer.objects.filter(response__assessment=assessment)
            .exclude(comment="")
            .values_list("capability__slug", "comment")
        )
        pairs = list(commented)
        assert len(pairs) >= 20
        assert len(set(pairs)) == len(pairs)
        # Comments spread over many capabilities, not a handful.
        assert len({slug for slug, _ in pairs}) >= 15


@pytest.mark.django_db
def test_it_refuses_a_non_positive_number_of_respondents(framework):
    with pytest.raises(CommandError):
        call_command("seed_demo", "--respondents", "0")


def test_the_demo_shows_evidence_from_cost_data(seeded):
    from assessment.evidence import current_evidence, kpi_trends, mismatches
    from assessment.models import EvidenceFile

    current = seeded
    evidence = current_evidence(current)
    assert evidence is not None and evidence.currency == "USD"
    assert set(evidence.other_currencies) == {"EUR"}
    assert evidence.figure("forecast_variance").value is not None
    assert evidence.anomalies.detail["count"] >= 1
    assert mismatches(assessment_results(current), evidence)
    trends = kpi_trends(evidence, current.previous)
    assert any(t.change_points and t.change_points > 0 for t in trends)
    assert not EvidenceFile.objects.filter(deleted_at__isnull=True).exists()
