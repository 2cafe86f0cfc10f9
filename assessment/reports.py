"""Producing PDF reports: their versions, their render jobs and their files.

A report is stored once per version of everything it reads
(`report_version`): the published snapshots of this round and the previous
one, the cost evidence shown, whether comments are published, the
catalogue's last change, the options and the code. The first download of a
version adds its row and queues one render job (`tasks.report_render_task`);
everyone asking for the same version meanwhile finds that row and waits on
a page that refreshes itself. Renders never run in a web worker: the job
builds the HTML and lays it out in a render process killed at the time limit
(`pdf.html_to_pdf`). A row left "running" by a worker that died counts as
failed once it is older than any render can be, and is queued again.
"""

import contextlib
import datetime
import functools
import hashlib
import json
import logging
import time
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Count, F, Max, Q
from django.utils import timezone
from django.utils.text import slugify

from . import pdf
from .catalogue import catalogue_version
from .evidence import current_run
from .models import Assessment, PlanAction, ReportFile, ResultsSnapshot
from .report_content import (
    NOTHING_PUBLISHED,
    NothingPublished,
    ReportOptions,
    heat_styles,
    report_html,
)
from .snapshots import latest_snapshot

logger = logging.getLogger(__name__)

# The code that decides what a PDF shows: a change to it (a deploy) renders
# stored PDFs of unchanged data again.
REPORT_CODE = (
    "reports.py",
    "advice.py",
    "report_content.py",
    "pdf.py",
    "pdf_engine.py",
    "scoring.py",
    "charts.py",
    "participation.py",
    "disclosure.py",
    "display.py",
    "evidence.py",
)
# Stored PDFs kept per assessment (paper sizes and appendix choices of the
# current data); older ones are deleted, file and row, when a new one is stored.
KEEP = 4
# A render past its limit is killed, so a row "running" for longer than the
# limit plus this margin (HTML building, storing) belongs to a dead worker.
STALE_MARGIN = 30
# Renders queued again automatically after their worker died; beyond this,
# the user decides ("Try again"), so a report that kills workers does not loop.
AUTO_RETRIES = 3

TOO_SLOW = (
    "The report took too long to prepare and was stopped. Try again; if it "
    "keeps happening, contact support."
)
CRASHED = (
    "The report could not be prepared. Try again; if it keeps happening, "
    "contact support."
)
CHANGED = "The results changed while the report was waiting. Download it again."


class ReportError(Exception):
    """A report could not be produced; the message is for the user."""


# ---------------------------------------------------------------------------
# Versions
# ---------------------------------------------------------------------------


@functools.cache
def code_version() -> str:
    """Return a digest of the report's code (it changes only on restart)."""
    digest = hashlib.sha256()
    for name in REPORT_CODE:
        digest.update((Path(__file__).parent / name).read_bytes())
    return digest.hexdigest()


def template_version() -> str:
    """Return a digest of the report's templates, styles and code.

    Templates are read from disk on each call (a few small files) so that
    editing one renders stored PDFs again without a restart.
    """
    digest = hashlib.sha256(code_version().encode())
    folders = [
        Path(settings.BASE_DIR) / "templates" / "assessment" / "report",
        Path(settings.STATICFILES_DIRS[0]) / "report",
    ]
    for folder in folders:
        for path in sorted(folder.glob("*.*")):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def report_version(assessment: Assessment, options: ReportOptions) -> dict:
    """Return what the report of this assessment reads, as plain values.

    Results are published snapshots, never edited: a new publication (or a
    comment edited and published again) is a new snapshot id. The previous
    round counts as `disclosure` compares it: its latest snapshot, if it is
    of the same organisation. Raise NothingPublished before any publication.
    About ten small queries, whatever the number of respondents.
    """
    latest = latest_snapshot(assessment)
    if latest is None:
        raise NothingPublished(NOTHING_PUBLISHED)
    previous = None
    if assessment.previous_id:
        previous = (
            ResultsSnapshot.objects.filter(
                assessment_id=assessment.previous_id,
                assessment__organisation_id=assessment.organisation_id,
            )
            .order_by("-pk")
            .values_list("pk", "assessment__title", "assessment__framework_id")
            .first()
        )
    frameworks = sorted(
        {assessment.framework_id, previous[2] if previous else None} - {None}
    )
    runs = [current_run(assessment)]
    if previous:
        runs.append(current_run(Assessment(pk=assessment.previous_id)))
    return {
        "options": [options.paper, options.include_comments],
        "results": [latest.pk, list(previous) if previous else None],
        "evidence": [run.pk if run else None for run in runs],
        "comments_published": assessment.comments_published,
        "assessment": [
            assessment.organisation.name,
            assessment.title,
            assessment.scope_label,
            assessment.status,
            str(assessment.opens_on),
            str(assessment.closes_on),
            str(assessment.closed_at),
        ],
        "catalogue": catalogue_version(frameworks),
        "code": template_version(),
        "advice": advice_version(assessment),
    }


def advice_version(assessment: Assessment) -> list:
    """Return what the advice reads besides results and catalogue (3 queries).

    Importance per capability, the personas taking part, and the tracked
    actions of this round and the previous one (their last change).
    """
    importance = sorted(
        assessment.scoped_capabilities.values_list("capability_id", "importance")
    )
    personas = sorted(assessment.personas.values_list("pk", flat=True))
    rounds = [assessment.pk, assessment.previous_id]
    actions = PlanAction.objects.filter(assessment_id__in=rounds).aggregate(
        count=Count("pk"), changed=Max("updated_at")
    )
    return [
        [list(row) for row in importance],
        personas,
        [actions["count"], str(actions["changed"])],
    ]


def report_key(version: dict) -> str:
    """Return the digest under which a version's report is stored."""
    return hashlib.sha256(json.dumps(version, sort_keys=True).encode()).hexdigest()


# ---------------------------------------------------------------------------
# Asking for a report
# ---------------------------------------------------------------------------


def report_request(assessment: Assessment, options: ReportOptions) -> ReportFile:
    """Return the stored report of the current data, queueing its render if new.

    One row per version: two people asking at once both reach
    `get_or_create`, and only the one that created the row queues the job
    (in the same transaction, so a row never waits for a job that was not
    queued). A row whose worker died is queued again. Raise NothingPublished
    before any publication.
    """
    version = report_version(assessment, options)
    with transaction.atomic():
        report, created = ReportFile.objects.get_or_create(
            assessment=assessment,
            key=report_key(version),
            defaults={
                "version": version,
                "paper": options.paper,
                "include_comments": options.include_comments,
            },
        )
        if created:
            _enqueue(report.pk)
    # A row found was read just now; one queued here may have moved on (with
    # the immediate backend, in tests, its job has already run).
    if created or _revive(report):
        report.refresh_from_db()
    return report


def report_waited_for(
    assessment: Assessment, options: ReportOptions, report_id: int
) -> ReportFile | None:
    """Return the report a "being prepared" page waits for, or None if gone.

    The page's refresh names its row, so each look costs a query or two
    instead of the version's dozen (three people waiting look every few
    seconds). The report is then the version of when they asked.
    """
    report = ReportFile.objects.filter(
        pk=report_id,
        assessment=assessment,
        paper=options.paper,
        include_comments=options.include_comments,
    ).first()
    if report is not None and _revive(report):
        report.refresh_from_db()
    return report


def _revive(report: ReportFile) -> bool:
    """Queue a report whose worker died again, a few times; True if queued."""
    return (
        report_stalled(report)
        and report.attempts < AUTO_RETRIES
        and report_retry(report)
    )


def report_stalled(report: ReportFile) -> bool:
    """Say whether a running report's worker must have died (it is too old)."""
    return report.status == ReportFile.Status.RUNNING and (
        report.started_at is None or report.started_at < _stale_before()
    )


def report_failed(report: ReportFile) -> bool:
    """Say whether the user should be offered to try again."""
    return report.status == ReportFile.Status.FAILED or report_stalled(report)


def report_retry(report: ReportFile) -> bool:
    """Queue a failed or stalled report's render again; False if it was not.

    A conditional update: of two people clicking "Try again" at once, one
    queues the job.
    """
    retriable = Q(status=ReportFile.Status.FAILED) | Q(
        status=ReportFile.Status.RUNNING, started_at__lt=_stale_before()
    )
    with transaction.atomic():
        queued = ReportFile.objects.filter(retriable, pk=report.pk).update(
            status=ReportFile.Status.QUEUED, error="", started_at=None
        )
        if queued:
            _enqueue(report.pk)
    return bool(queued)


def _stale_before() -> datetime.datetime:
    limit = settings.REPORT_RENDER_SECONDS + STALE_MARGIN
    return timezone.now() - datetime.timedelta(seconds=limit)


def _enqueue(report_id: int) -> None:
    from .tasks import report_render_task

    report_render_task.enqueue(report_id)


def report_prepare(assessment: Assessment) -> None:
    """Queue the default report (A4, no comments) ahead of its first download."""
    with contextlib.suppress(NothingPublished):
        report_request(assessment, ReportOptions())


# ---------------------------------------------------------------------------
# The render job
# ---------------------------------------------------------------------------


def report_render(report_id: int) -> None:
    """Render a queued report and store its PDF (the job's work).

    The row is claimed by a conditional update, so a second delivery of the
    job, or a job for a row someone else claimed, does nothing. The result
    is recorded only while the claim is this one's (`attempts`).
    """
    claimed = ReportFile.objects.filter(
        pk=report_id, status=ReportFile.Status.QUEUED
    ).update(
        status=ReportFile.Status.RUNNING,
        started_at=timezone.now(),
        attempts=F("attempts") + 1,
    )
    if not claimed:
        return
    report = ReportFile.objects.select_related(
        "assessment__organisation", "assessment__framework"
    ).get(pk=report_id)
    try:
        content = _render(report)
    except ReportError as exc:
        _finish(report, status=ReportFile.Status.FAILED, error=str(exc))
        return
    name = report.file.storage.save(
        f"reports/{report.assessment_id}/{report.key}.pdf", ContentFile(content)
    )
    if not _finish(report, status=ReportFile.Status.READY, file=name):
        report.file.storage.delete(name)
        return
    _prune(report.assessment_id)


def render_pdf(assessment: Assessment, options: ReportOptions) -> bytes:
    """Render the report now, stored nowhere (tests and benches)."""
    return pdf.html_to_pdf(report_html(assessment, options), extra_css=heat_styles())


def report_options(report: ReportFile) -> ReportOptions:
    """Return the options a stored report was asked with."""
    return ReportOptions(paper=report.paper, include_comments=report.include_comments)


def _render(report: ReportFile) -> bytes:
    """Return the report's PDF, within the time limit, or raise ReportError."""
    started = time.monotonic()
    assessment = report.assessment
    options = report_options(report)
    try:
        html = report_html(assessment, options)
        # The HTML must show the version the row stands for.
        if report_key(report_version(assessment, options)) != report.key:
            raise ReportError(CHANGED)
    except NothingPublished as exc:
        raise ReportError(str(exc)) from exc
    seconds = settings.REPORT_RENDER_SECONDS - (time.monotonic() - started)
    try:
        return pdf.html_to_pdf(html, extra_css=heat_styles(), seconds=seconds)
    except pdf.RenderTimeout as exc:
        logger.warning("Report %s stopped: %s", report.pk, exc)
        raise ReportError(TOO_SLOW) from exc
    except pdf.RenderCrashed as exc:
        logger.error("Report %s failed: %s", report.pk, exc)
        raise ReportError(CRASHED) from exc


def _finish(
    report: ReportFile, *, status: str, error: str = "", file: str = ""
) -> bool:
    """Record the render's outcome if the row is still this render's."""
    return bool(
        ReportFile.objects.filter(
            pk=report.pk, status=ReportFile.Status.RUNNING, attempts=report.attempts
        ).update(status=status, error=error, file=file, finished_at=timezone.now())
    )


def _prune(assessment_id: int) -> None:
    """Delete the assessment's finished reports beyond the KEEP newest."""
    finished = ReportFile.objects.filter(
        assessment_id=assessment_id,
        status__in=[ReportFile.Status.READY, ReportFile.Status.FAILED],
    ).order_by("-finished_at", "-pk")
    for old in finished[KEEP:]:
        if old.file:
            old.file.delete(save=False)
        old.delete()


# ---------------------------------------------------------------------------
# Reading a stored report
# ---------------------------------------------------------------------------


def report_filename(assessment: Assessment) -> str:
    """Return a clean file name like acme-finops-maturity-2026-q4.pdf."""
    organisation = slugify(assessment.organisation.name) or "report"
    title = slugify(assessment.title)
    if not title.startswith("finops"):
        title = f"finops-maturity-{title}" if title else "finops-maturity"
    return f"{organisation}-{title}"[:120].strip("-") + ".pdf"


def report_open(report: ReportFile):
    """Return a ready report's file opened for reading, or None if it is gone.

    A file deleted from the storage behind the app's back is rendered again.
    """
    try:
        return report.file.open("rb")
    except OSError:
        logger.warning("Report %s lost its file %s", report.pk, report.file.name)
        ReportFile.objects.filter(pk=report.pk).update(
            status=ReportFile.Status.FAILED, error="The stored file is missing."
        )
        report_retry(report)
        return None


def report_now(assessment: Assessment, options: ReportOptions) -> bytes:
    """Return the report's PDF, rendering it in this process if needed.

    For the command line: an operator waits for the file. A worker that
    took the job first is waited for, up to the time any render may take.
    """
    try:
        report = report_request(assessment, options)
    except NothingPublished as exc:
        raise ReportError(str(exc)) from exc
    waiting = ReportFile.Status.QUEUED, ReportFile.Status.RUNNING
    give_up = time.monotonic() + settings.REPORT_RENDER_SECONDS + STALE_MARGIN
    while report.status in waiting and time.monotonic() < give_up:
        report_render(report.pk)
        report.refresh_from_db()
        if report.status == ReportFile.Status.RUNNING:
            time.sleep(0.5)
    if report.status != ReportFile.Status.READY:
        raise ReportError(report.error or TOO_SLOW)
    with report.file.open("rb") as file:
        return file.read()
