"""Published results: viewers see snapshots, never live figures."""

import json

import pytest
from django.urls import reverse

from assessment import snapshots
from assessment.disclosure import shown_results
from assessment.lifecycle import (
    assessment_close,
    assessment_open,
    assessment_reopen,
    assessment_update,
)
from assessment.models import ResultsSnapshot
from assessment.report_content import ReportOptions, report_context
from assessment.responses import response_reopen, response_submit
from tests.factories import (
    AL,
    DI,
    create_answered_response,
    create_scoped_assessment,
    publish_snapshot,
)

pytestmark = pytest.mark.django_db
FP, EN = "finops-practitioner", "engineering"


@pytest.fixture
def assessment(organisation, framework):
    """An open assessment (k=3) with six responses, published."""
    assessment = create_scoped_assessment(
        organisation=organisation,
        framework=framework,
        capability_slugs=[DI, AL],
        targets={DI: 2, AL: 2},
        anonymity_threshold=3,
    )
    assessment_open(assessment=assessment)
    for value in (1, 1, 2):
        create_answered_response(
            assessment=assessment, persona=FP, answers={DI: value, AL: 1}
        )
        create_answered_response(
            assessment=assessment, persona=EN, answers={DI: value, AL: 2}
        )
    publish_snapshot(assessment=assessment)
    return assessment


def viewer_json(client, assessment) -> dict:
    url = reverse("assessment:export_results", args=[assessment.pk, "json"])
    return json.loads(client.get(url).content)


def viewer_sees(client, assessment) -> tuple:
    """Return the figures a viewer reads: JSON score and dashboard text."""
    data = viewer_json(client, assessment)
    html = client.get(reverse("assessment:results", args=[assessment.pk])).content
    return data["capabilities"][0]["score"], data["respondents"], html.decode()


def test_one_new_submission_changes_nothing_a_viewer_sees(
    client, viewer, owner, assessment
):
    client.force_login(viewer)
    before = viewer_sees(client, assessment)
    create_answered_response(assessment=assessment, persona=FP, answers={DI: 3, AL: 3})
    after = viewer_sees(client, assessment)
    assert after[:2] == before[:2] == (pytest.approx(4 / 3), 6)
    # Not even the participation figures move.
    assert after[2].count("6 submitted") == before[2].count("6 submitted")
    # The owner sees the new submission live, and may not publish yet.
    client.force_login(owner)
    live = client.get(reverse("assessment:results", args=[assessment.pk]) + "?live=1")
    assert "7 submitted responses" in live.content.decode()
    reply = client.post(
        reverse("assessment:publish", args=[assessment.pk]), follow=True
    )
    assert "once 3 new responses have been submitted" in reply.content.decode()
    assert ResultsSnapshot.objects.filter(assessment=assessment).count() == 1


def test_k_new_submissions_may_be_published_and_viewers_then_see_them(
    client, viewer, owner, assessment
):
    for _ in range(3):
        create_answered_response(
            assessment=assessment, persona=FP, answers={DI: 3, AL: 3}
        )
    client.force_login(owner)
    page = client.get(reverse("assessment:results", args=[assessment.pk]))
    assert "Publish interim results (3 new responses)" in page.content.decode()
    client.post(reverse("assessment:publish", args=[assessment.pk]))
    client.force_login(viewer)
    score, respondents, html = viewer_sees(client, assessment)
    assert respondents == 9
    # Practitioners 1, 1, 2, 3, 3, 3 and engineering 1, 1, 2: (13/6 + 4/3) / 2.
    assert score == pytest.approx((13 / 6 + 4 / 3) / 2)
    assert "9 submitted responses" in html


def test_closing_publishes_the_final_figures(client, viewer, assessment):
    for _ in range(3):
        create_answered_response(
            assessment=assessment, persona=EN, answers={DI: 3, AL: 3}
        )
    assessment_close(assessment=assessment)
    client.force_login(viewer)
    score, respondents, _ = viewer_sees(client, assessment)
    assert respondents == 9
    assert score == pytest.approx((4 / 3 + 13 / 6) / 2)
    latest = snapshots.latest_snapshot(assessment)
    assert latest.reason == ResultsSnapshot.Reason.CLOSED


def test_the_close_page_warns_when_few_responses_arrived_since_publishing(
    client, owner, assessment
):
    create_answered_response(assessment=assessment, persona=EN, answers={DI: 3, AL: 3})
    client.force_login(owner)
    page = client.get(reverse("assessment:close", args=[assessment.pk])).content
    assert "Including them leaves these figures out" in page.decode()
    assert "(1 response submitted)" in page.decode()


def test_a_reopened_assessment_keeps_showing_its_closing_results(
    client, viewer, assessment
):
    assessment_close(assessment=assessment)
    assessment_reopen(assessment=assessment)
    create_answered_response(assessment=assessment, persona=EN, answers={DI: 0, AL: 0})
    client.force_login(viewer)
    score, respondents, html = viewer_sees(client, assessment)
    assert (score, respondents) == (pytest.approx(4 / 3), 6)
    assert "The assessment closed" in html or "the assessment closed" in html


def test_viewers_see_nothing_before_the_first_publication(
    client, viewer, organisation, framework
):
    fresh = create_scoped_assessment(
        organisation=organisation,
        framework=framework,
        capability_slugs=[DI],
        targets={DI: 2},
    )
    for _ in range(3):
        create_answered_response(assessment=fresh, persona=FP, answers={DI: 2})
    client.force_login(viewer)
    html = client.get(reverse("assessment:results", args=[fresh.pk])).content.decode()
    assert "No results published yet" in html
    assert "2.0" not in html
    url = reverse("assessment:export_results", args=[fresh.pk, "json"])
    assert client.get(url).status_code == 302  # back to the page that explains
    url = reverse("assessment:report", args=[fresh.pk])
    assert client.get(url).status_code == 302
    # A viewer asking for the live preview gets the published results.
    live = client.get(reverse("assessment:results", args=[fresh.pk]) + "?live=1")
    assert "No results published yet" in live.content.decode()


def test_resubmitting_counts_as_new_and_withdrawing_blocks_a_refresh(assessment):
    response = assessment.responses.first()
    state = snapshots.publish_state(assessment)
    assert (state.new, state.withdrawn, state.unchanged) == (0, 0, True)
    response_reopen(response=response)
    state = snapshots.publish_state(assessment)
    assert (state.new, state.withdrawn, state.may_publish) == (0, 1, False)
    response_submit(response=response)
    state = snapshots.publish_state(assessment)
    assert (state.new, state.may_publish) == (1, False)


def test_publishing_the_same_responses_again_is_allowed(assessment):
    snapshot = snapshots.snapshot_publish(assessment=assessment)
    assert snapshot.reason == ResultsSnapshot.Reason.REFRESHED


def test_a_new_threshold_applies_to_published_results_at_once(assessment):
    before = snapshots.latest_snapshot(assessment)
    assessment_update(
        assessment=assessment,
        title=assessment.title,
        scope_label="",
        personas=list(assessment.personas.all()),
        anonymity_threshold=4,
        opens_on=None,
        closes_on=None,
    )
    latest = snapshots.latest_snapshot(assessment)
    assert latest.pk != before.pk and latest.anonymity_threshold == 4
    assert latest.data == before.data
    results = shown_results(assessment, owner=False).results
    # Three per persona are no longer enough for a group of their own.
    assert results.k == 4
    assert all(not c.broken_down for c in results.capabilities)


def test_the_report_and_round_comparison_read_published_results(
    organisation, framework, assessment
):
    later = create_scoped_assessment(
        organisation=organisation,
        framework=framework,
        capability_slugs=[DI, AL],
        targets={DI: 2, AL: 2},
        previous=assessment,
        anonymity_threshold=3,
        title="Next round",
    )
    for _ in range(3):
        create_answered_response(assessment=later, persona=FP, answers={DI: 3, AL: 3})
    publish_snapshot(assessment=later)
    # Live changes to either round after publishing show nowhere.
    for _ in range(3):
        create_answered_response(
            assessment=assessment, persona=EN, answers={DI: 3, AL: 3}
        )
    create_answered_response(assessment=later, persona=EN, answers={DI: 0, AL: 0})
    ctx = report_context(later, ReportOptions())
    assert ctx["results"].respondents == 3
    assert ctx["comparison"].capabilities[0].previous == pytest.approx(4 / 3)


def test_a_snapshot_stores_counts_not_answers(organisation, framework, assessment):
    rows = len(snapshots.latest_snapshot(assessment).data["answers"])
    for _ in range(20):
        create_answered_response(
            assessment=assessment, persona=FP, answers={DI: 1, AL: 1}
        )
    snapshot = snapshots.snapshot_publish(assessment=assessment)
    # Twenty more people with the same answers add no row.
    assert len(snapshot.data["answers"]) == rows
    assert all(len(row) == 4 for row in snapshot.data["answers"])
    assert snapshot.submissions == 26


def test_the_assessment_list_shows_viewers_published_participation_only(
    client, viewer, owner, assessment
):
    create_answered_response(assessment=assessment, persona=EN, answers={DI: 3, AL: 3})
    url = reverse("assessment:list", args=[assessment.organisation.slug])
    client.force_login(viewer)
    assert "6 / 6" in client.get(url).content.decode()  # as published
    client.force_login(owner)
    assert "7 / 7" in client.get(url).content.decode()  # live
