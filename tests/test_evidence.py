"""Cost evidence in the app: uploads, processing, access, and KPIs beside ratings."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.forms.models import model_to_dict
from django.urls import reverse

from assessment import evidence, focus
from assessment.models import (
    AuditEvent,
    EvidenceFigure,
    EvidenceFile,
    EvidenceKpi,
    EvidenceRun,
    Level,
    ResultsSnapshot,
)
from tests.factories import (
    create_answered_response,
    create_scoped_assessment,
    publish_snapshot,
)
from tests.pdf_reading import pdf_text

from .focus_files import KNOWN_ROWS, row, write_csv

AL, RO, FC = "allocation", "rate-optimization", "forecasting"


@pytest.fixture(autouse=True)
def _uploads(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.EVIDENCE_TEMP_DIR = str(tmp_path)
    settings.EVIDENCE_THREADS = 1


@pytest.fixture
def rated(organisation, framework):
    """Allocation rated Walk by three people, rate optimisation Crawl."""
    assessment = create_scoped_assessment(
        organisation=organisation,
        framework=framework,
        capability_slugs=[AL, RO, FC],
        targets={AL: 3, RO: 2, FC: 2},
    )
    for _ in range(3):
        create_answered_response(
            assessment=assessment,
            persona="finops-practitioner",
            answers={AL: 2, RO: 1, FC: 2},
        )
    publish_snapshot(
        assessment=assessment
    )  # viewers and the report read published results
    return assessment


def export_bytes(tmp_path: Path, rows=KNOWN_ROWS, name="known.csv") -> bytes:
    return write_csv(tmp_path / name, rows).read_bytes()


def upload(client, assessment, files, **fields):
    data = {
        "files": files,
        "tag_keys": "team, cost-center",
        "eligible_categories": ["Compute"],
        **fields,
    }
    return client.post(
        reverse("assessment:evidence_upload", args=[assessment.pk]), data
    )


def csv_file(tmp_path, rows=KNOWN_ROWS, name="known.csv"):
    return SimpleUploadedFile(name, export_bytes(tmp_path, rows, name))


@pytest.fixture
def processed(client, owner, rated, tmp_path, django_capture_on_commit_callbacks):
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, rated, [csv_file(tmp_path)])
    assert response.status_code == 302
    return EvidenceRun.objects.get(assessment=rated)


# ---------------------------------------------------------------------------
# Upload and processing
# ---------------------------------------------------------------------------


def test_an_owner_upload_is_processed_and_the_file_deleted(processed, settings):
    assert processed.status == EvidenceRun.Status.SUCCEEDED
    assert processed.rows == len(KNOWN_ROWS)
    assert processed.versions == ["1.0"] and processed.providers == ["AWS"]
    stored = EvidenceFile.objects.get(run=processed)
    assert stored.deleted_at is not None and stored.storage_name == ""
    assert not any(Path(settings.MEDIA_ROOT).rglob("*.csv"))
    allocation = EvidenceFigure.objects.get(
        run=processed, kpi_key="allocation_coverage", month=""
    )
    assert allocation.value == pytest.approx(85 / 165)
    assert AuditEvent.objects.filter(action="evidence.uploaded").count() == 1


def test_only_computed_figures_are_kept(processed):
    # One figure per KPI for the period and per month, nothing per billing row.
    keys = set(
        EvidenceFigure.objects.filter(run=processed).values_list("kpi_key", flat=True)
    )
    assert keys == {
        "allocation_coverage",
        "commitment_coverage",
        "commitment_utilisation",
        "effective_savings_rate",
        "resource_id_share",
        "anomaly_cost_share",
    }
    assert EvidenceFigure.objects.filter(run=processed).count() == 6 + 5


def test_the_run_page_follows_the_processing(client, processed):
    response = client.get(processed.get_absolute_url())
    assert response.status_code == 200
    assert "These are the current figures" in response.content.decode()
    assert b'http-equiv="refresh"' not in response.content


def test_a_waiting_run_page_refreshes_itself(client, owner, rated):
    run = EvidenceRun.objects.create(assessment=rated, created_by=owner)
    client.force_login(owner)
    response = client.get(run.get_absolute_url())
    assert b'http-equiv="refresh"' in response.content
    assert "Waiting to start" in response.content.decode()


def test_processing_twice_changes_nothing(processed):
    figures = list(EvidenceFigure.objects.values_list("pk", flat=True))
    evidence.evidence_process(processed.pk)
    assert list(EvidenceFigure.objects.values_list("pk", flat=True)) == figures


def test_a_bad_upload_fails_clearly_and_keeps_the_previous_figures(
    client, processed, rated, tmp_path, django_capture_on_commit_callbacks
):
    bad = SimpleUploadedFile("sales.csv", b"region,amount\nnorth,12\n")
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, rated, [bad])
    failed = EvidenceRun.objects.get(assessment=rated, status="failed")
    assert failed.error.startswith("sales.csv is not a FOCUS export")
    page = client.get(response.url).content.decode()
    assert "sales.csv is not a FOCUS export" in page
    assert evidence.current_run(rated) == processed
    assert EvidenceFigure.objects.filter(run=processed).exists()
    assert EvidenceFile.objects.get(run=failed).deleted_at is not None


def test_a_successful_upload_replaces_the_figures(
    client, processed, rated, tmp_path, django_capture_on_commit_callbacks
):
    tagged = [row(EffectiveCost=10, ListCost=10, Tags='{"team": "web"}')]
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, rated, [csv_file(tmp_path, tagged, "new.csv")])
    assert not EvidenceFigure.objects.filter(run=processed).exists()
    current = evidence.current_evidence(rated)
    assert current.figure("allocation_coverage").value == 1.0


def test_an_unexpected_error_fails_the_run_without_losing_anything(
    processed, rated, owner, monkeypatch
):
    run = EvidenceRun.objects.create(assessment=rated, created_by=owner)

    def explode(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(focus, "analyse", explode)
    evidence.evidence_process(run.pk)
    run.refresh_from_db()
    assert run.status == "failed" and "unexpected error" in run.error
    assert evidence.current_run(rated) == processed


def test_a_file_over_the_limit_is_refused_before_it_is_stored(
    client, owner, rated, tmp_path, settings
):
    settings.EVIDENCE_MAX_FILE_MB = 1
    client.force_login(owner)
    big = SimpleUploadedFile("big.csv", b"x" * (1024 * 1024 + 10))
    response = upload(client, rated, [big])
    assert response.status_code == 400
    assert "larger than the limit of 1 MB per file" in response.content.decode()
    assert not EvidenceRun.objects.exists()
    assert not Path(settings.MEDIA_ROOT).exists() or not any(
        Path(settings.MEDIA_ROOT).rglob("*")
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"tag_keys": " , "}, "Give at least one tag key."),
        ({"tag_keys": "team, cost;centre"}, "Tag keys use letters"),
        ({"forecasts": "January 1000"}, "Line 1: write a month and an amount"),
        ({"forecast_currency": "euro"}, "three-letter ISO code"),
    ],
)
def test_bad_choices_are_explained_and_the_rest_kept(
    client, owner, rated, tmp_path, fields, message
):
    client.force_login(owner)
    response = upload(
        client, rated, [csv_file(tmp_path)], **{"forecasts": "2026-01 150", **fields}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    assert not EvidenceRun.objects.exists()
    if "forecasts" not in fields:
        assert "2026-01 150" in page  # what the owner typed is still there


def test_a_file_of_another_kind_is_refused(client, owner, rated):
    client.force_login(owner)
    response = upload(client, rated, [SimpleUploadedFile("costs.xlsx", b"PK\x03\x04")])
    assert response.status_code == 400
    assert "costs.xlsx is not a CSV, CSV.gz or Parquet file." in (
        response.content.decode()
    )


def test_forecasts_give_forecast_variance(
    client, owner, rated, tmp_path, django_capture_on_commit_callbacks
):
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, rated, [csv_file(tmp_path)], forecasts="2026-01 150")
    variance = evidence.current_evidence(rated).figure("forecast_variance")
    assert variance.value == pytest.approx(8 / 150)


# ---------------------------------------------------------------------------
# Who sees what
# ---------------------------------------------------------------------------


def test_viewers_see_kpis_but_not_files(client, viewer, processed, rated):
    client.force_login(viewer)
    page = client.get(reverse("assessment:evidence", args=[rated.pk]))
    text = page.content.decode()
    assert page.status_code == 200
    assert "Cost allocated by tags" in text and "52%" in text
    assert "known.csv" not in text and "Upload cost exports" not in text
    assert client.get(processed.get_absolute_url()).status_code == 403


def test_viewers_compare_the_data_with_published_ratings_only(
    client, owner, viewer, processed, rated
):
    ResultsSnapshot.objects.filter(assessment=rated).delete()
    url = reverse("assessment:evidence", args=[rated.pk])
    client.force_login(viewer)
    text = client.get(url).content.decode()
    assert "Cost allocated by tags" in text and "Not published yet" in text
    assert "Ratings and data disagree" not in text and "by 3 people" not in text
    client.force_login(owner)  # owners compare with the live answers
    text = client.get(url).content.decode()
    assert "Ratings and data disagree" in text and "by 3 people" in text
    assert "Not published yet" not in text


def test_viewers_cannot_upload(client, viewer, rated, tmp_path):
    client.force_login(viewer)
    assert upload(client, rated, [csv_file(tmp_path)]).status_code == 403
    assert not EvidenceRun.objects.exists()


def test_owners_see_the_files(client, processed, rated):
    text = client.get(reverse("assessment:evidence", args=[rated.pk])).content
    assert b"known.csv" in text and b"deleted after processing" in text


def test_other_organisations_see_nothing(client, outsider, processed, rated, tmp_path):
    client.force_login(outsider)
    assert (
        client.get(reverse("assessment:evidence", args=[rated.pk])).status_code == 404
    )
    assert client.get(processed.get_absolute_url()).status_code == 404
    assert upload(client, rated, [csv_file(tmp_path)]).status_code == 404
    assert EvidenceRun.objects.count() == 1


def test_a_run_of_another_assessment_is_not_found(
    client, owner, processed, organisation, framework
):
    other = create_scoped_assessment(
        organisation=organisation,
        framework=framework,
        capability_slugs=[AL],
        targets={AL: 2},
        title="Other",
    )
    url = reverse("assessment:evidence_run", args=[other.pk, processed.pk])
    assert client.get(url).status_code == 404


def test_the_dashboard_hides_cost_data_from_other_organisations(
    client, outsider, processed, rated
):
    client.force_login(outsider)
    assert client.get(reverse("assessment:results", args=[rated.pk])).status_code == 404


# ---------------------------------------------------------------------------
# Levels, mismatches and trends
# ---------------------------------------------------------------------------


def test_each_kpi_gets_a_level_from_the_catalogue(framework):
    allocation = EvidenceKpi.objects.get(version=framework, key="allocation_coverage")
    assert allocation.capability.slug == AL
    assert [allocation.level(v) for v in (0.5, 0.7, 0.86, 0.9)] == [
        Level.NOT_STARTED,
        Level.CRAWL,
        Level.WALK,
        Level.RUN,
    ]
    variance = EvidenceKpi.objects.get(version=framework, key="forecast_variance")
    assert [variance.level(v) for v in (0.3, 0.2, 0.07, 0.05)] == [0, 1, 2, 3]
    savings = EvidenceKpi.objects.get(version=framework, key="effective_savings_rate")
    assert savings.level(0.3) is None  # no thresholds: for information


def test_thresholds_edited_in_the_admin_apply_at_once(
    client, processed, rated, framework
):
    kpi = EvidenceKpi.objects.get(version=framework, key="allocation_coverage")

    def level():
        return evidence.current_evidence(rated).by_capability[kpi.capability_id].level

    assert level() != Level.WALK  # about half allocated: below the shipped walk
    client.force_login(get_user_model().objects.create_superuser("root", password="pw"))
    data = {k: v for k, v in model_to_dict(kpi).items() if v is not None}
    data.update(crawl_threshold="0.3", walk_threshold="0.5")
    url = reverse("admin:assessment_evidencekpi_change", args=[kpi.pk])
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert level() == Level.WALK


def test_thresholds_must_be_in_order(framework):
    from django.core.exceptions import ValidationError

    kpi = EvidenceKpi.objects.get(version=framework, key="allocation_coverage")
    kpi.walk_threshold = Decimal("0.95")
    with pytest.raises(ValidationError):
        kpi.clean()


def test_mismatches_say_rating_and_data_plainly(processed, rated):
    from assessment.scoring import assessment_results

    found = evidence.mismatches(
        assessment_results(rated), evidence.current_evidence(rated)
    )
    by_slug = {m.result.capability.slug: m for m in found}
    assert set(by_slug) == {AL, RO}
    assert by_slug[AL].sentence() == (
        "Allocation: rated Walk (2.0) by 3 people; the data says Not started: "
        "52% of spend carries an allocation tag (Walk needs 85%)."
    )
    # Coverage 63% is Crawl, utilisation 75% below Crawl: the weakest decides.
    assert by_slug[RO].evidence.deciding.kpi.key == "commitment_utilisation"


def test_reading_the_evidence_takes_three_queries(
    processed, rated, django_assert_num_queries
):
    with django_assert_num_queries(3):
        evidence.current_evidence(rated)


def test_the_dashboard_says_what_the_data_says(client, processed, rated):
    page = client.get(reverse("assessment:results", args=[rated.pk])).content.decode()
    assert "Data says" in page and "Mismatch" in page
    assert "Allocation: rated Walk (2.0) by 3 people" in page


def test_round_comparison_shows_kpi_trends(
    client, owner, processed, rated, organisation, framework, tmp_path,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    later = create_scoped_assessment(
        organisation=organisation,
        framework=framework,
        capability_slugs=[AL, RO],
        targets={AL: 3, RO: 2},
    )
    later.previous = rated
    later.save()
    tagged = [*KNOWN_ROWS, row(EffectiveCost=135, ListCost=135, Tags='{"team": "a"}')]
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, later, [csv_file(tmp_path, tagged, "later.csv")])
    trends = {
        t.kpi.key: t
        for t in evidence.kpi_trends(evidence.current_evidence(later), rated)
    }
    assert (
        trends["allocation_coverage"].shown_change == "+21 pts"
    )  # 52% -> 73%, as shown
    page = client.get(reverse("assessment:evidence", args=[later.pk])).content
    assert b"Since the previous round" in page and b"+21 pts" in page


# ---------------------------------------------------------------------------
# The PDF report
# ---------------------------------------------------------------------------


def test_the_report_has_an_evidence_section_and_findings(processed, rated):
    from assessment.report_content import ReportOptions, report_context, report_html

    ctx = report_context(rated, ReportOptions())
    assert any("Cost data contradicts the self-ratings" in s for s in ctx["summary"])
    assert "rated higher than the data supports for Allocation and Rate" in (
        " ".join(ctx["summary"])
    )
    html = report_html(rated, ReportOptions())
    assert "Evidence from cost data" in html
    assert "Checked against cost data" in html
    assert "Cost allocated by tags" in html and "52%" in html


def test_the_report_without_cost_data_has_no_evidence_section(rated):
    from assessment.report_content import ReportOptions, report_html

    assert "Evidence from cost data" not in report_html(rated, ReportOptions())


def test_new_cost_data_changes_the_report_version(
    client, processed, rated, tmp_path, django_capture_on_commit_callbacks
):
    from assessment.report_content import ReportOptions
    from assessment.reports import report_key, report_version

    before = report_key(report_version(rated, ReportOptions()))
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, rated, [csv_file(tmp_path, name="again.csv")])
    assert report_key(report_version(rated, ReportOptions())) != before


@pytest.mark.real_pdf
def test_the_pdf_text_holds_the_evidence(processed, rated):
    from assessment.report_content import ReportOptions
    from assessment.reports import render_pdf

    text = pdf_text(render_pdf(rated, ReportOptions()))
    assert "Evidence from cost data" in text
    assert "Commitment utilisation" in text


def test_viewers_read_data_quality_without_file_names(
    client, owner, viewer, rated, tmp_path, django_capture_on_commit_callbacks
):
    from .focus_files import COLUMNS

    columns = [c for c in COLUMNS if c != "BilledCost"]
    path = write_csv(tmp_path / "partial-export.csv", KNOWN_ROWS, columns)
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, rated, [SimpleUploadedFile(path.name, path.read_bytes())])
    page = reverse("assessment:evidence", args=[rated.pk])
    assert b"partial-export.csv: Lacks required columns: BilledCost." in (
        client.get(page).content
    )
    client.force_login(viewer)
    text = client.get(page).content.decode()
    assert "Lacks required columns: BilledCost." in text
    assert "partial-export.csv" not in text


def test_an_object_store_without_paths_is_read_through_a_temporary_copy(
    client, owner, rated, tmp_path, settings, django_capture_on_commit_callbacks
):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, rated, [csv_file(tmp_path)])
    run = EvidenceRun.objects.get(assessment=rated)
    assert run.status == "succeeded", run.error
    assert EvidenceFile.objects.get(run=run).deleted_at is not None
    # The temporary copy went with the processing.
    assert not [p for p in tmp_path.iterdir() if p.is_dir() and p.name != "media"]


def test_an_upload_queues_its_processing_for_a_worker(
    client, owner, rated, tmp_path, settings, django_capture_on_commit_callbacks
):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, rated, [csv_file(tmp_path)])
    run = EvidenceRun.objects.get(assessment=rated)
    assert run.status == EvidenceRun.Status.WAITING
    job = DBTaskResult.objects.get()
    assert job.task_path.endswith("evidence_process_task")
    assert b"Waiting to start" in client.get(response.url).content
    # What the worker does with the job:
    evidence.evidence_process(*job.args_kwargs["args"])
    run.refresh_from_db()
    assert run.status == EvidenceRun.Status.SUCCEEDED


def test_a_run_whose_worker_vanished_is_taken_over_later(owner, rated, tmp_path):
    import datetime

    from django.core.files.storage import default_storage
    from django.utils import timezone

    def running_since(minutes: int) -> EvidenceRun:
        run = EvidenceRun.objects.create(
            assessment=rated,
            created_by=owner,
            status=EvidenceRun.Status.RUNNING,
            started_at=timezone.now() - datetime.timedelta(minutes=minutes),
            tag_keys=["team"],
            eligible_categories=["Compute"],
        )
        name = default_storage.save(f"evidence/{run.pk}.csv", csv_file(tmp_path))
        EvidenceFile.objects.create(
            run=run, name="known.csv", size=1, storage_name=name
        )
        return run

    busy, lost = running_since(1), running_since(120)
    evidence.evidence_process(busy.pk)
    evidence.evidence_process(lost.pk)
    busy.refresh_from_db()
    lost.refresh_from_db()
    assert busy.status == EvidenceRun.Status.RUNNING
    assert lost.status == EvidenceRun.Status.SUCCEEDED


def test_the_evidence_page_queries_do_not_grow_with_uploads(
    client, processed, rated, owner
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = reverse("assessment:evidence", args=[rated.pk])
    with CaptureQueriesContext(connection) as first:
        client.get(url)
    for _ in range(3):
        run = EvidenceRun.objects.create(assessment=rated, created_by=owner)
        EvidenceFile.objects.create(run=run, name="x.csv", size=1)
    with CaptureQueriesContext(connection) as later:
        client.get(url)
    assert len(later.captured_queries) == len(first.captured_queries)
