"""Downloading the PDF report: access, file, cache and the render limits."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from assessment import reports
from assessment.models import Answer, RenderedReport
from assessment.report_content import ReportOptions
from assessment.reports import render_slot, report_fingerprint
from tests.factories import AL, DI, FC, create_answered_response, create_hand_example


@pytest.fixture
def assessment(organisation, framework):
    return create_hand_example(organisation=organisation, framework=framework)


@pytest.fixture
def url(assessment):
    return reverse("assessment:report", args=[assessment.pk])


@pytest.fixture
def renders(monkeypatch):
    """Count real renders (a cache hit makes none)."""
    calls = []
    original = reports.render_pdf

    def counting(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(reports, "render_pdf", counting)
    return calls


def error_messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.mark.parametrize("who", ["owner", "viewer"])
def test_members_download_the_pdf_with_a_clean_file_name(
    client, assessment, url, who, request
):
    client.force_login(request.getfixturevalue(who))
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        'attachment; filename="acme-energie-finops-maturity-q3-maturity.pdf"'
    )
    assert response["Cache-Control"] == "private, no-store"
    assert response.content.startswith(b"%PDF")


def test_it_hides_other_organisations_reports(client, outsider, url):
    client.force_login(outsider)
    assert client.get(url).status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_a_viewer_cannot_ask_for_the_comments_appendix(client, viewer, url):
    client.force_login(viewer)
    assert client.get(url, {"comments": "1"}).status_code == 403


def test_an_unknown_paper_size_explains_itself(client, owner, assessment, url):
    client.force_login(owner)
    response = client.get(url, {"paper": "tabloid"})
    assert response.status_code == 302
    assert response.url == assessment.get_absolute_url()
    assert error_messages(response) == [
        "Choose A4 or US Letter to download the report."
    ]


def test_a_second_download_of_unchanged_data_renders_nothing(
    client, owner, viewer, url, renders
):
    client.force_login(owner)
    first = client.get(url).content
    client.force_login(viewer)
    second = client.get(url).content
    assert first == second
    assert len(renders) == 1
    assert RenderedReport.objects.count() == 1


def test_a_changed_answer_or_option_renders_again(
    client, owner, assessment, url, renders
):
    client.force_login(owner)
    client.get(url)
    answer = Answer.objects.filter(response__assessment=assessment).first()
    answer.value = 3 if answer.value != 3 else 0
    answer.save()
    client.get(url)
    client.get(url, {"paper": "letter"})
    assert len(renders) == 3


def test_the_fingerprint_follows_targets_and_new_responses(assessment):
    options = ReportOptions()
    before = report_fingerprint(assessment, options)
    assert report_fingerprint(assessment, options) == before
    scoped = assessment.scoped_capabilities.first()
    scoped.target_level = 3 if scoped.target_level != 3 else 1
    scoped.save()
    after_target = report_fingerprint(assessment, options)
    assert after_target != before
    create_answered_response(
        assessment=assessment, persona="engineering", answers={DI: 2, AL: 2, FC: 2}
    )
    assert report_fingerprint(assessment, options) != after_target
    assert report_fingerprint(assessment, ReportOptions(paper="letter")) != (
        report_fingerprint(assessment, options)
    )


def test_the_cached_download_costs_the_same_queries_for_more_respondents(
    client, owner, assessment, url, django_assert_num_queries
):
    client.force_login(owner)
    client.get(url)
    with django_assert_num_queries(QUERIES_CACHED):
        client.get(url)
    for _ in range(5):
        create_answered_response(
            assessment=assessment, persona="engineering", answers={DI: 2, AL: 1, FC: 2}
        )
    client.get(url)
    with django_assert_num_queries(QUERIES_CACHED):
        client.get(url)


# Session and user, the assessment with the role, nine fingerprint queries
# (the published results among them), the cached PDF and the audit trail's row.
QUERIES_CACHED = 14


def test_a_user_already_rendering_is_asked_to_wait(
    client, owner, assessment, url, renders
):
    client.force_login(owner)
    with render_slot(owner.pk):
        response = client.get(url)
    assert response.status_code == 302
    assert "still being prepared" in error_messages(response)[0]
    assert renders == []
    # The slot is free again once the first render is over.
    assert client.get(url).status_code == 200


def test_the_limit_is_per_user(client, owner, viewer, url):
    client.force_login(viewer)
    with render_slot(owner.pk):
        assert client.get(url).status_code == 200


def test_a_render_over_its_budget_fails_with_a_message(
    client, owner, assessment, url, monkeypatch
):
    monkeypatch.setattr(reports, "RENDER_BUDGET", 0.0)
    client.force_login(owner)
    response = client.get(url)
    assert response.status_code == 302
    assert response.url == assessment.get_absolute_url()
    assert "took too long" in error_messages(response)[0]
    assert not RenderedReport.objects.exists()
    # The failed render released its slot.
    monkeypatch.setattr(reports, "RENDER_BUDGET", 60.0)
    assert client.get(url).status_code == 200


def test_the_assessment_page_offers_the_download(client, owner, viewer, assessment):
    client.force_login(owner)
    page = client.get(assessment.get_absolute_url()).content.decode()
    assert reverse("assessment:report", args=[assessment.pk]) in page
    assert "Download PDF report" in page
    assert 'name="comments"' in page
    client.force_login(viewer)
    page = client.get(assessment.get_absolute_url()).content.decode()
    assert "Download PDF report" in page
    assert 'name="comments"' not in page
