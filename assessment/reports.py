"""Producing PDF reports: the cache, the render limits and the pipeline.

Rendering costs CPU seconds, so three things keep it from starving the site:
a cache of rendered PDFs keyed by a fingerprint of everything the report shows
(a second download of unchanged data renders nothing), a per-user limit on
concurrent renders shared by every process through the database cache, and a
time budget checked between the rendering stages so that a slow render ends
with a message instead of a worker timeout.
"""

import contextlib
import functools
import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, F, Max, Sum
from django.db.models.functions import Length
from django.utils.text import slugify

from . import pdf
from .models import (
    Answer,
    Assessment,
    Capability,
    EvidenceKpi,
    EvidenceRun,
    Invitation,
    NextStep,
    RenderedReport,
    Response,
    ResultsSnapshot,
    ScopedCapability,
)
from .report_content import NothingPublished, ReportOptions, heat_styles, report_html

# The code that decides what a PDF shows: a change to it (a deploy) renders
# cached PDFs of unchanged data again.
REPORT_CODE = (
    "reports.py",
    "report_content.py",
    "pdf.py",
    "scoring.py",
    "charts.py",
    "participation.py",
)
# Rendered PDFs kept per assessment: one per paper size and appendix choice
# of the current data; older fingerprints are deleted when a new one is saved.
CACHE_KEEP = 4
# Seconds a render may take before it is abandoned with a message.
RENDER_BUDGET = 20.0


class ReportError(Exception):
    """A report could not be produced now; the message is for the user."""


class ReportBusy(ReportError):
    """The user already has as many renders running as allowed."""


class ReportTooSlow(ReportError):
    """The render went over its time budget."""


# Fingerprint and cache
# ---------------------------------------------------------------------------


@contextlib.contextmanager
def _nothing() -> Iterator[None]:
    yield


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
    editing one invalidates cached PDFs without a restart.
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


def report_fingerprint(assessment: Assessment, options: ReportOptions) -> str:
    """Return a digest of everything the report shows (nine small queries).

    Answers are summarised by database aggregates (count, sums, latest
    change) of this round and the previous one, so the cost does not grow
    with the number of respondents; any edit to an answer moves its
    `updated_at` and so the fingerprint.
    """
    rounds = [pk for pk in (assessment.pk, assessment.previous_id) if pk]
    submitted = {"status": Response.Status.SUBMITTED, "assessment_id__in": rounds}
    responses = (
        Response.objects.filter(**submitted)
        .values("assessment_id")
        .annotate(
            n=Count("id"),
            personas=Sum(F("persona_id") * F("id")),
            units=Sum(Length("business_unit")),
            updated=Max("updated_at"),
            submitted=Max("submitted_at"),
        )
        .order_by("assessment_id")
    )
    answers = (
        Answer.objects.filter(**{f"response__{k}": v for k, v in submitted.items()})
        .values("response__assessment_id")
        .annotate(
            n=Count("id"),
            total=Sum("value"),
            weighted=Sum(F("value") * F("capability_id") * F("response_id")),
            comments=Sum(Length("comment")),
            updated=Max("updated_at"),
        )
        .order_by("response__assessment_id")
    )
    targets = ScopedCapability.objects.filter(assessment_id__in=rounds).values_list(
        "assessment_id", "capability_id", "target_level"
    )
    invited = (
        Invitation.objects.filter(assessment=assessment)
        .values("persona_id")
        .annotate(n=Count("id"))
        .order_by("persona_id")
    )
    # The report shows the published results: the latest snapshot of each round.
    published = (
        ResultsSnapshot.objects.filter(assessment_id__in=rounds)
        .values("assessment_id")
        .annotate(latest=Max("pk"))
        .order_by("assessment_id")
    )
    catalogue = [
        Capability.objects.filter(version_id=assessment.framework_id).aggregate(
            n=Count("id"), text=Sum(Length("name") + Length("description"))
        ),
        NextStep.objects.filter(
            capability__version_id=assessment.framework_id
        ).aggregate(
            n=Count("id"),
            last=Max("id"),
            text=Sum(Length("action") + Length("kpi") + F("owner_id")),
        ),
    ]
    # Cost evidence: the rounds' current runs, and the thresholds that level them.
    evidence_runs = EvidenceRun.objects.filter(
        assessment_id__in=rounds, status=EvidenceRun.Status.SUCCEEDED
    ).values_list("assessment_id", "pk", "finished_at")
    evidence_kpis = EvidenceKpi.objects.filter(
        version_id=assessment.framework_id
    ).values_list(
        "key", "name", "capability_id", "direction", "crawl_threshold",
        "walk_threshold", "run_threshold", "description",
    )  # fmt: skip
    parts = [
        template_version(),
        options,
        assessment.organisation.name,
        assessment.framework.slug,
        [
            getattr(assessment, field)
            for field in (
                "title",
                "scope_label",
                "status",
                "anonymity_threshold",
                "opens_on",
                "closes_on",
                "previous_id",
                "comments_published",
            )
        ],
        list(responses),
        list(answers),
        sorted(targets),
        list(invited),
        list(published),
        catalogue,
        sorted(evidence_runs),
        sorted(evidence_kpis),
    ]
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def cached_report(assessment: Assessment, fingerprint: str) -> bytes | None:
    """Return the cached PDF for this fingerprint, or None."""
    pdf = (
        RenderedReport.objects.filter(assessment=assessment, fingerprint=fingerprint)
        .values_list("pdf", flat=True)
        .first()
    )
    return None if pdf is None else bytes(pdf)


def store_report(assessment: Assessment, fingerprint: str, pdf: bytes) -> None:
    """Cache a rendered PDF and drop the oldest beyond CACHE_KEEP."""
    # Two people rendering the same data at once both arrive here: the
    # second insert is simply ignored by the unique constraint.
    RenderedReport.objects.bulk_create(
        [RenderedReport(assessment=assessment, fingerprint=fingerprint, pdf=pdf)],
        ignore_conflicts=True,
    )
    stale = RenderedReport.objects.filter(assessment=assessment).order_by(
        "-created_at", "-pk"
    )[CACHE_KEEP:]
    stale_ids = list(stale.values_list("pk", flat=True))
    RenderedReport.objects.filter(pk__in=stale_ids).delete()


# ---------------------------------------------------------------------------
# Concurrency limit and time budget
# ---------------------------------------------------------------------------


@contextlib.contextmanager
def render_slot(user_id: int) -> Iterator[None]:
    """Hold one of the user's render slots, or raise ReportBusy.

    Each slot is a database-cache key taken with `cache.add`, which is atomic
    across processes; the key expires after the render budget (plus margin)
    so a crashed worker cannot hold a slot forever.
    """
    limit = max(settings.REPORT_MAX_CONCURRENT_RENDERS, 1)
    timeout = int(RENDER_BUDGET) + 30
    for slot in range(limit):
        key = f"report-render:{user_id}:{slot}"
        if cache.add(key, time.time(), timeout):
            try:
                yield
            finally:
                cache.delete(key)
            return
    raise ReportBusy(
        "A report you asked for is still being prepared. Wait a moment for it "
        "to finish, then download again."
    )


class Deadline:
    """A render's time budget, checked between stages."""

    def __init__(self, seconds: float) -> None:
        self.ends = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self.ends:
            raise ReportTooSlow(
                "The report took too long to prepare and was stopped. Try again "
                "in a few minutes; if it keeps happening, contact support."
            )


# ---------------------------------------------------------------------------
# What the report says: figures, sentences and charts


# ---------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------


def report_filename(assessment: Assessment) -> str:
    """Return a clean file name like acme-finops-maturity-2026-q4.pdf."""
    organisation = slugify(assessment.organisation.name) or "report"
    title = slugify(assessment.title)
    if not title.startswith("finops"):
        title = f"finops-maturity-{title}" if title else "finops-maturity"
    return f"{organisation}-{title}"[:120].strip("-") + ".pdf"


def render_pdf(
    assessment: Assessment, options: ReportOptions, *, budget: float | None = None
) -> bytes:
    """Render the report to PDF bytes, within the time budget."""
    deadline = Deadline(RENDER_BUDGET if budget is None else budget)
    html = report_html(assessment, options, deadline=deadline)
    deadline.check()
    return pdf.html_to_pdf(html, extra_css=heat_styles(), check=deadline.check)


def report_pdf(
    assessment: Assessment, options: ReportOptions, *, user_id: int | None = None
) -> bytes:
    """Return the report's PDF, from the cache when the data has not changed.

    `user_id` applies the per-user concurrent render limit (the command line,
    run by an operator, passes None).
    """
    fingerprint = report_fingerprint(assessment, options)
    pdf = cached_report(assessment, fingerprint)
    if pdf is not None:
        return pdf
    with render_slot(user_id) if user_id is not None else _nothing():
        try:
            pdf = render_pdf(assessment, options)
        except NothingPublished as exc:
            raise ReportError(str(exc)) from exc
    store_report(assessment, fingerprint, pdf)
    return pdf
