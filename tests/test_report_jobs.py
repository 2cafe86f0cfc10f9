"""PDF reports as background jobs: one per version, waited for, time-limited."""

import datetime
import multiprocessing
import time

import pytest
from django.urls import reverse
from django.utils import timezone
from django_tasks import task_backends

from assessment import lifecycle, reports
from assessment.models import Assessment, ReportFile
from tests.factories import (
    AL,
    DI,
    FC,
    create_answered_response,
    create_hand_example,
    publish_snapshot,
)

REFRESH = '<meta http-equiv="refresh"'


@pytest.fixture
def assessment(organisation, framework):
    return create_hand_example(organisation=organisation, framework=framework)


@pytest.fixture
def url(assessment):
    return reverse("assessment:report", args=[assessment.pk])


@pytest.fixture
def queue(settings):
    """Keep jobs in a queue the test inspects instead of running them."""
    settings.TASKS = {
        "default": {
            "BACKEND": "django_tasks.backends.dummy.DummyBackend",
            "QUEUES": ["default"],
        }
    }
    return task_backends["default"].results


def pdf_bytes(response) -> bytes:
    assert response["Content-Type"] == "application/pdf"
    return response.content


def test_a_report_is_prepared_then_downloaded(client, viewer, url, queue):
    client.force_login(viewer)
    waiting = client.get(url)
    page = waiting.content.decode()
    assert waiting.status_code == 200
    assert "being prepared" in page
    assert REFRESH in page
    assert "<script>" not in page  # no inline script: CSP refuses them
    report = ReportFile.objects.get()
    assert report.status == ReportFile.Status.QUEUED
    assert [job.args for job in queue] == [[report.pk]]

    reports.report_render(report.pk)  # what the worker does
    assert pdf_bytes(client.get(url)).startswith(b"%PDF")


def test_the_page_looks_again_at_its_own_report(
    client, owner, organisation, framework, url, queue, django_assert_max_num_queries
):
    client.force_login(owner)
    page = client.get(url).content.decode()
    report = ReportFile.objects.get()
    again = f"?paper=a4&amp;report={report.pk}"
    assert f'content="3;url={again}"' in page
    # A look names its row: no version to compute (session, user, role, row).
    with django_assert_max_num_queries(6):
        assert REFRESH in client.get(url, {"report": report.pk}).content.decode()
    reports.report_render(report.pk)
    assert pdf_bytes(client.get(url, {"report": report.pk})).startswith(b"%PDF")
    # Another assessment's report is not served under this one.
    other = create_hand_example(organisation=organisation, framework=framework)
    other_url = reverse("assessment:report", args=[other.pk])
    client.get(other_url, {"report": report.pk})
    assert ReportFile.objects.filter(assessment=other).count() == 1


def test_one_job_per_report_however_many_ask(client, owner, viewer, url, queue):
    for user in (owner, viewer, viewer):
        client.force_login(user)
        assert "being prepared" in client.get(url).content.decode()
    assert ReportFile.objects.count() == 1
    assert len(queue) == 1


def test_a_second_delivery_of_the_job_renders_nothing(
    client, owner, url, queue, monkeypatch
):
    client.force_login(owner)
    client.get(url)
    report = ReportFile.objects.get()
    calls = []
    original = reports.pdf.html_to_pdf
    monkeypatch.setattr(
        reports.pdf,
        "html_to_pdf",
        lambda *a, **kw: calls.append(1) or original(*a, **kw),
    )
    reports.report_render(report.pk)
    reports.report_render(report.pk)
    assert len(calls) == 1


@pytest.mark.real_pdf  # the render's own process, really killed
def test_a_render_past_its_limit_is_stopped_and_offered_again(
    client, owner, assessment, url, settings
):
    settings.REPORT_RENDER_SECONDS = 1
    settings.REPORT_PDF_ENGINE = "tests.slow_pdf.never_done"
    client.force_login(owner)
    started = time.monotonic()
    page = client.get(url).content.decode()  # the immediate backend runs the job
    assert time.monotonic() - started < 30  # the engine sleeps for 120 s
    assert multiprocessing.active_children() == []  # the render's process is gone
    report = ReportFile.objects.get()
    assert report.status == ReportFile.Status.FAILED
    assert "took too long" in page
    assert "Try again" in page
    assert REFRESH not in page

    settings.REPORT_RENDER_SECONDS = 60
    settings.REPORT_PDF_ENGINE = "assessment.pdf_engine.weasyprint_pdf"
    retry = reverse("assessment:report_retry", args=[assessment.pk])
    response = client.post(retry, {"paper": "a4"})
    assert response.status_code == 302
    assert response.url == url + "?paper=a4"
    assert pdf_bytes(client.get(response.url)).startswith(b"%PDF")


@pytest.mark.real_pdf  # the render's own process, really killed
def test_a_broken_engine_is_reported_with_a_way_to_try_again(
    client, owner, url, settings
):
    settings.REPORT_PDF_ENGINE = "tests.slow_pdf.broken"
    client.force_login(owner)
    page = client.get(url).content.decode()
    assert "could not be prepared" in page
    assert "Try again" in page
    assert ReportFile.objects.get().status == ReportFile.Status.FAILED


def _killed_worker(report: ReportFile, *, seconds_ago: float) -> None:
    """Leave the row as a worker killed mid-render leaves it."""
    ReportFile.objects.filter(pk=report.pk).update(
        status=ReportFile.Status.RUNNING,
        started_at=timezone.now() - datetime.timedelta(seconds=seconds_ago),
        attempts=1,
    )


def test_a_render_whose_worker_died_is_queued_again(
    client, owner, url, queue, settings
):
    client.force_login(owner)
    client.get(url)
    report = ReportFile.objects.get()
    limit = settings.REPORT_RENDER_SECONDS + reports.STALE_MARGIN
    # Within the limit the render may still be running: wait for it.
    _killed_worker(report, seconds_ago=limit - 5)
    assert REFRESH in client.get(url).content.decode()
    assert len(queue) == 1
    # Past it, the worker is dead: the next look queues the render again.
    _killed_worker(report, seconds_ago=limit + 1)
    assert REFRESH in client.get(url).content.decode()
    report.refresh_from_db()
    assert report.status == ReportFile.Status.QUEUED
    assert len(queue) == 2


def test_after_repeated_deaths_the_user_decides_to_try_again(
    client, owner, url, queue, settings
):
    client.force_login(owner)
    client.get(url)
    report = ReportFile.objects.get()
    _killed_worker(report, seconds_ago=settings.REPORT_RENDER_SECONDS + 60)
    ReportFile.objects.filter(pk=report.pk).update(attempts=reports.AUTO_RETRIES)
    page = client.get(url).content.decode()
    assert "Try again" in page
    assert len(queue) == 1


def test_closing_an_assessment_queues_its_default_report(
    organisation, framework, queue, django_capture_on_commit_callbacks
):
    assessment = create_hand_example(
        organisation=organisation, framework=framework, published=False
    )
    Assessment.objects.filter(pk=assessment.pk).update(status=Assessment.Status.OPEN)
    assessment.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.assessment_close(assessment=assessment)
    report = ReportFile.objects.get()
    assert (report.paper, report.include_comments) == ("a4", False)
    assert [job.args for job in queue] == [[report.pk]]


def test_a_stored_file_that_vanished_is_rendered_again(client, owner, url):
    client.force_login(owner)
    client.get(url)
    report = ReportFile.objects.get()
    report.file.storage.delete(report.file.name)
    assert "being prepared" in client.get(url).content.decode()
    assert pdf_bytes(client.get(url)).startswith(b"%PDF")


def test_new_answers_render_only_once_published(client, owner, assessment, url):
    client.force_login(owner)
    client.get(url)
    create_answered_response(
        assessment=assessment, persona="engineering", answers={DI: 2, AL: 1, FC: 2}
    )
    client.get(url)
    assert ReportFile.objects.count() == 1
    # ...and once published, the next look prepares a new report.
    publish_snapshot(assessment=assessment)
    client.get(url)
    assert ReportFile.objects.count() == 2


# Permissions
# ---------------------------------------------------------------------------


def test_other_organisations_cannot_retry(client, outsider, assessment):
    client.force_login(outsider)
    retry = reverse("assessment:report_retry", args=[assessment.pk])
    assert client.post(retry, {"paper": "a4"}).status_code == 404


def test_viewers_cannot_retry_with_comments(client, viewer, assessment):
    client.force_login(viewer)
    retry = reverse("assessment:report_retry", args=[assessment.pk])
    assert client.post(retry, {"paper": "a4", "comments": "1"}).status_code == 403


def test_retry_is_for_members_only(client, assessment):
    retry = reverse("assessment:report_retry", args=[assessment.pk])
    response = client.post(retry, {"paper": "a4"})
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
