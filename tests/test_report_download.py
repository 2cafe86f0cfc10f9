"""Downloading the PDF report: access, options, the stored file."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from assessment import reports
from assessment.models import ReportFile
from tests.factories import (
    AL,
    DI,
    FC,
    create_answered_response,
    create_hand_example,
    publish_snapshot,
)


@pytest.fixture
def assessment(organisation, framework):
    return create_hand_example(organisation=organisation, framework=framework)


@pytest.fixture
def url(assessment):
    return reverse("assessment:report", args=[assessment.pk])


@pytest.fixture
def renders(monkeypatch):
    """Count real renders (a stored report makes none)."""
    calls = []
    original = reports.pdf.html_to_pdf

    def counting(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(reports.pdf, "html_to_pdf", counting)
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
    first = client.get(url)
    client.force_login(viewer)
    second = client.get(url)
    assert first.content == second.content
    assert len(renders) == 1
    assert ReportFile.objects.get().status == ReportFile.Status.READY


def test_another_option_is_another_report(client, owner, url, renders):
    client.force_login(owner)
    client.get(url)
    client.get(url, {"paper": "letter"})
    assert len(renders) == 2
    assert ReportFile.objects.count() == 2


def test_the_stored_download_costs_the_same_queries_for_more_respondents(
    client, owner, assessment, url, django_assert_num_queries
):
    client.force_login(owner)
    client.get(url)
    with django_assert_num_queries(QUERIES_STORED):
        client.get(url)
    for _ in range(5):
        create_answered_response(
            assessment=assessment, persona="engineering", answers={DI: 2, AL: 1, FC: 2}
        )
    publish_snapshot(assessment=assessment)
    client.get(url)
    with django_assert_num_queries(QUERIES_STORED):
        client.get(url)


# Session and user, the assessment with the role, the version's queries
# (snapshot, evidence run, seven catalogue models and one link table, the
# advice's importance, personas and tracked actions), the report's row in a
# savepoint (read once: a ready row is not read again) and the audit trail's row.
QUERIES_STORED = 20


def test_nothing_published_says_so_and_queues_nothing(
    client, owner, organisation, framework
):
    assessment = create_hand_example(
        organisation=organisation, framework=framework, published=False
    )
    client.force_login(owner)
    response = client.get(reverse("assessment:report", args=[assessment.pk]))
    assert response.status_code == 302
    assert response.url == assessment.get_absolute_url()
    assert "No results are published yet" in error_messages(response)[0]
    assert not ReportFile.objects.exists()


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
