"""Results dashboard, scoring-method page and downloads: access and figures."""

import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from assessment import display
from assessment.models import Assessment
from tests.factories import (
    AL,
    DI,
    create_answered_response,
    create_hand_example,
    create_scoped_assessment,
    publish_snapshot,
)

COMMENT = "Le coût partagé est réparti à la main, dit Zoë."


@pytest.fixture
def assessment(organisation, framework):
    return create_hand_example(organisation=organisation, framework=framework)


def results_url(assessment):
    return reverse("assessment:results", args=[assessment.pk])


def test_owner_sees_scores_priorities_and_comments(client, owner, assessment):
    client.force_login(owner)
    response = client.get(results_url(assessment))
    assert response.status_code == 200
    html = response.content.decode()
    assert "1.7" in html  # overall 5/3, one decimal
    assert "Top priorities" in html
    assert "Contested" in html
    assert COMMENT in html
    assert '<img src="data:image/svg+xml;base64,' in html
    assert "Raw answers (CSV)" in html
    assert "Other personas" in html  # finance pooled with engineering
    assert "Viewers see these results" in html


def test_the_dashboard_and_the_json_agree(client, owner, assessment):
    client.force_login(owner)
    html = client.get(results_url(assessment)).content.decode()
    url = reverse("assessment:export_results", args=[assessment.pk, "json"])
    data = json.loads(client.get(url).content)
    for cap in data["capabilities"]:
        row = re.search(rf'id="cap-{cap["slug"]}".*?</tr>', html, re.S).group(0)
        shown = re.search(r'text-end fw-semibold">([^<]+)<', row).group(1)
        assert shown == display.score(cap["score"])


def test_viewer_sees_aggregates_without_unpublished_comments(
    client, viewer, assessment
):
    client.force_login(viewer)
    html = client.get(results_url(assessment)).content.decode()
    assert "Top priorities" in html
    assert COMMENT not in html
    assert "Raw answers" not in html


def test_viewer_sees_published_comments_without_names(client, viewer, assessment):
    Assessment.objects.filter(pk=assessment.pk).update(comments_published=True)
    client.force_login(viewer)
    html = client.get(results_url(assessment)).content.decode()
    assert COMMENT in html
    text = re.sub(r'src="data:[^"]*"', "", html)  # base64 charts hold any letters
    # No pseudonym (R001...), let alone a name; whole words only, since the
    # page's random CSRF token may hold "R0" as well.
    assert re.search(r"\bR\d{3,}\b", text) is None


def test_other_organisations_results_are_not_found(client, outsider, assessment):
    client.force_login(outsider)
    assert client.get(results_url(assessment)).status_code == 404
    for name, fmt in [("export_results", "json"), ("export_answers", "csv")]:
        url = reverse(f"assessment:{name}", args=[assessment.pk, fmt])
        assert client.get(url).status_code == 404


def test_anonymous_users_are_sent_to_log_in(client, assessment):
    response = client.get(results_url(assessment))
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_viewers_may_not_download_raw_answers(client, viewer, assessment):
    client.force_login(viewer)
    url = reverse("assessment:export_answers", args=[assessment.pk, "csv"])
    assert client.get(url).status_code == 403
    url = reverse("assessment:export_results", args=[assessment.pk, "xlsx"])
    assert client.get(url).status_code == 200


def test_downloads_have_type_and_filename(client, owner, assessment):
    client.force_login(owner)
    url = reverse("assessment:export_answers", args=[assessment.pk, "xlsx"])
    response = client.get(url)
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert 'filename="q3-maturity-answers.xlsx"' in response["Content-Disposition"]
    assert response.content.startswith(b"PK")
    url = reverse("assessment:export_results", args=[assessment.pk, "csv"])
    assert client.get(url).content.startswith(b"\xef\xbb\xbf")


def test_unknown_download_format_is_not_found(client, owner, assessment):
    client.force_login(owner)
    for name in ("export_results", "export_answers"):
        url = reverse(f"assessment:{name}", args=[assessment.pk, "exe"])
        assert client.get(url).status_code == 404
    url = reverse("assessment:export_answers", args=[assessment.pk, "json"])
    assert client.get(url).status_code == 404


def test_an_assessment_without_submissions_says_so(
    client, owner, organisation, framework
):
    empty = create_scoped_assessment(
        organisation=organisation,
        framework=framework,
        capability_slugs=[DI],
        targets={DI: 2},
    )
    create_answered_response(
        assessment=empty, persona="engineering", answers={DI: 3}, submitted=False
    )
    client.force_login(owner)
    html = client.get(results_url(empty)).content.decode()
    assert "No results published yet" in html
    html = client.get(results_url(empty) + "?live=1").content.decode()
    assert "No submitted responses" in html


def test_it_shows_the_change_since_the_previous_round(
    client, owner, organisation, framework
):
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
    publish_snapshot(assessment=before)
    after = create_scoped_assessment(
        organisation=organisation,
        framework=framework,
        capability_slugs=[DI, AL],
        targets={DI: 2, AL: 2},
        previous=before,
        title="Next round",
        anonymity_threshold=1,
    )
    create_answered_response(
        assessment=after, persona="finops-practitioner", answers={DI: 3, AL: 1}
    )
    publish_snapshot(assessment=after)
    client.force_login(owner)
    html = client.get(results_url(after)).content.decode()
    assert "▲ +2.0" in html
    assert "vs <a" in html and "Q3 maturity" in html


def test_the_method_page_explains_the_rules(client):
    html = client.get(reverse("assessment:method")).content.decode()
    assert "How scores are computed" in html
    assert "1.5 to under 2.5" in html
    assert "contested" in html
    # Pooling, suppression and publication, in plain words.
    assert "pooled into one group, “Other personas”" in html
    assert "fewer than <em>k</em> scored answers" in html
    assert "Published results, not live ones" in html
    assert "at least <em>k</em> new responses" in html


def test_the_method_pages_worked_example_is_scored_by_the_app(client):
    html = client.get(reverse("assessment:method")).content.decode()
    example = html.split('id="example"')[1].split('<h2 class="h5 mt-4">Levels')[0]
    # Practitioners 2.0 and engineering 1.0 alone; finance and security
    # pooled (3, 2, 0): (2 + 1 + 5/3) / 3 = 14/9, shown 1.6, Walk.
    assert 'Other personas</th><td class="text-end">3</td>' in example
    assert "= <strong>1.6</strong>, labelled Walk" in example


def _dashboard_queries(client, assessment, query="") -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(results_url(assessment) + query).status_code == 200
    return len(ctx.captured_queries)


def test_dashboard_queries_do_not_grow_with_respondents(
    client, owner, organisation, framework
):
    before = create_scoped_assessment(
        organisation=organisation,
        framework=framework,
        capability_slugs=[DI, AL],
        targets={DI: 2, AL: 2},
    )
    create_answered_response(
        assessment=before, persona="engineering", answers={DI: 1, AL: 1}
    )
    publish_snapshot(assessment=before)
    assessment = create_scoped_assessment(
        organisation=organisation,
        framework=framework,
        capability_slugs=[DI, AL],
        targets={DI: 2, AL: 3},
        previous=before,
    )
    personas = ["finops-practitioner", "engineering", "finance", "operations"]
    for i in range(10):
        create_answered_response(
            assessment=assessment,
            persona=personas[i % 4],
            answers={DI: i % 4, AL: i % 3},
            comments={DI: "ok"},
        )
    publish_snapshot(assessment=assessment)
    client.force_login(owner)
    small = _dashboard_queries(client, assessment)
    small_live = _dashboard_queries(client, assessment, "?live=1")
    for i in range(190):
        create_answered_response(
            assessment=assessment,
            persona=personas[i % 4],
            answers={DI: (i * 3) % 6 - 2, AL: i % 4},
            business_unit=f"Unit {i % 9}",
            comments={AL: f"note {i}"},
        )
    publish_snapshot(assessment=assessment)
    assert _dashboard_queries(client, assessment) == small
    assert _dashboard_queries(client, assessment, "?live=1") == small_live
    # Session + user, the assessment with the role, the latest snapshot, 2
    # for its results (catalogue), 4 for the previous round's snapshot and
    # comparison, 1 for cost evidence (none here), 2 for the live
    # participation, 1 for the publish state, 6 for the advice (importance,
    # prerequisites, next steps, personas, this and last round's tracked
    # actions) and the database cache of the charts: 6 when drawn, 1 when
    # reused.
    assert small == 26
    assert _dashboard_queries(client, assessment) == 21
    # Live: 4 more queries aggregate the answers (the charts were the same).
    assert small_live == 25
