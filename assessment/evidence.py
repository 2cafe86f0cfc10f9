"""Evidence from cost data: uploads, their processing, and KPIs beside ratings.

Owners upload FOCUS exports; `evidence_process` (the background job
`tasks.evidence_process_task`) reads them with DuckDB (`focus.py`), stores
the computed figures and deletes the files. The current evidence of an
assessment is its latest successful run; its KPIs get a level from the
catalogue's thresholds at the time they are read, so a threshold edited in
the admin applies at once.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import shutil
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import DatabaseError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import get_valid_filename

from . import audit, display, focus
from .models import (
    Assessment,
    EvidenceFigure,
    EvidenceFile,
    EvidenceKpi,
    EvidenceRun,
    Level,
)
from .scoring import AssessmentResults, CapabilityResult, level_name

logger = logging.getLogger(__name__)

# A run still "processing" this long after it started lost its worker: a
# retry may take it over.
STALE_AFTER = datetime.timedelta(hours=1)
COPY_CHUNK = 8 * 1024 * 1024
UNEXPECTED = (
    "Processing stopped on an unexpected error. Upload the files again; if it "
    "happens again, tell your administrator."
)


def max_file_bytes() -> int:
    """Return the size limit of one uploaded export, in bytes."""
    return settings.EVIDENCE_MAX_FILE_MB * 1024 * 1024


def engine_limits() -> focus.EngineLimits:
    return focus.EngineLimits(
        memory_limit=settings.EVIDENCE_MEMORY_LIMIT,
        threads=settings.EVIDENCE_THREADS,
        temp_directory=settings.EVIDENCE_TEMP_DIR or None,
        max_file_bytes=max_file_bytes(),
    )


# ---------------------------------------------------------------------------
# Uploading and processing
# ---------------------------------------------------------------------------


def evidence_run_create(
    *,
    assessment: Assessment,
    user,
    files: Sequence[UploadedFile],
    choices: focus.Choices,
) -> EvidenceRun:
    """Store the uploaded files and record a run waiting to be processed.

    The files stream to the default storage (a local folder, or an object
    store a worker on another machine can read); should one fail, those
    already stored are deleted again.
    """
    stored: list[str] = []
    try:
        with transaction.atomic():
            run = EvidenceRun.objects.create(
                assessment=assessment,
                created_by=user,
                tag_keys=list(choices.tag_keys),
                months=list(choices.months),
                eligible_categories=list(choices.eligible_categories),
                forecasts=choices.forecasts,
                forecast_currency=choices.forecast_currency,
            )
            for upload in files:
                name = get_valid_filename(Path(upload.name).name) or "export"
                path = f"evidence/{assessment.pk}/{run.pk}/{name}"
                stored.append(default_storage.save(path, upload))
                EvidenceFile.objects.create(
                    run=run, name=upload.name[:255], size=upload.size,
                    storage_name=stored[-1],
                )  # fmt: skip
            audit.record(
                assessment=assessment,
                action="evidence.uploaded",
                user=user,
                detail=", ".join(f.name for f in files),
            )
    except BaseException:
        for name in stored:
            default_storage.delete(name)
        raise
    return run


def evidence_start(run: EvidenceRun) -> None:
    """Queue the run's processing once the upload is committed."""
    from .tasks import evidence_process_task

    transaction.on_commit(lambda: evidence_process_task.enqueue(run.pk))


def evidence_process(run_id: int) -> None:
    """Read a run's files, store the figures, delete the files.

    Safe to run twice: only a waiting run (or one whose worker vanished) is
    claimed, in one conditional update, and a finished run is left alone.
    """
    now = timezone.now()
    claimable = EvidenceRun.objects.filter(
        Q(status=EvidenceRun.Status.WAITING)
        | Q(status=EvidenceRun.Status.RUNNING, started_at__lt=now - STALE_AFTER),
        pk=run_id,
    )
    if not claimable.update(
        status=EvidenceRun.Status.RUNNING, started_at=now, progress=0.0, stage=""
    ):
        return
    run = EvidenceRun.objects.select_related("assessment").get(pk=run_id)
    files = list(run.files.filter(deleted_at__isnull=True))
    choices = focus.Choices(
        tag_keys=tuple(run.tag_keys),
        months=tuple(run.months),
        eligible_categories=tuple(run.eligible_categories),
        forecasts={m: float(v) for m, v in run.forecasts.items()},
        forecast_currency=run.forecast_currency,
    )
    try:
        with local_copies(files) as paths:
            analysis = focus.analyse(
                paths, choices, engine_limits(), progress=_progress(run.pk)
            )
    except focus.FocusError as exc:
        _finish_failed(run, str(exc))
    except Exception:
        logger.exception("Processing cost data of run %s failed.", run.pk)
        _finish_failed(run, UNEXPECTED)
    else:
        _finish_succeeded(run, analysis)
    finally:
        _delete_files(files)


@contextlib.contextmanager
def local_copies(files: Sequence[EvidenceFile]) -> Iterator[list[tuple[Path, str]]]:
    """Yield (local path, name) per file: the stored file, or a temporary copy.

    A local folder is read in place; an object store has no local path, so
    its file is copied in chunks to the evidence temp directory (never whole
    into memory) and removed afterwards.
    """
    folder = None
    paths = []
    try:
        for item in files:
            local = _local_path(item.storage_name)
            if local is not None:
                paths.append((local, item.name))
                continue
            if folder is None:
                folder = Path(tempfile.mkdtemp(dir=settings.EVIDENCE_TEMP_DIR or None))
            local = folder / f"{item.pk}-{Path(item.storage_name).name}"
            with (
                default_storage.open(item.storage_name, "rb") as src,
                local.open("wb") as dst,
            ):
                shutil.copyfileobj(src, dst, COPY_CHUNK)
            paths.append((local, item.name))
        yield paths
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


def _local_path(name: str) -> Path | None:
    """Return the stored file's path on this machine, if the storage has one."""
    try:
        path = Path(default_storage.path(name))
    except NotImplementedError:
        return None
    # A storage may name a path without keeping the file there (in memory).
    return path if path.is_file() else None


def _progress(run_id: int):
    """Return the callback that shows the owner how far processing is."""

    def report(fraction: float, stage: str) -> None:
        try:
            EvidenceRun.objects.filter(
                pk=run_id, status=EvidenceRun.Status.RUNNING
            ).update(progress=min(max(fraction, 0.0), 1.0), stage=stage[:300])
        except DatabaseError:
            # Progress is only shown, never needed: a busy database may skip it.
            logger.warning("Could not record the progress of run %s.", run_id)
        finally:
            # DuckDB's progress arrives on the poller's own thread, which would
            # otherwise leave its database connection open.
            if threading.current_thread().name == focus.PROGRESS_THREAD:
                connection.close()

    return report


def _finish_failed(run: EvidenceRun, message: str) -> None:
    EvidenceRun.objects.filter(pk=run.pk).update(
        status=EvidenceRun.Status.FAILED,
        error=message,
        finished_at=timezone.now(),
        stage="",
    )


@transaction.atomic
def _finish_succeeded(run: EvidenceRun, analysis: focus.Analysis) -> None:
    """Store the figures, then drop those of earlier runs: they are replaced."""
    EvidenceFigure.objects.bulk_create(
        EvidenceFigure(
            run=run,
            kpi_key=key,
            currency=item.currency,
            month=item.month,
            period_start=item.period_start,
            period_end=item.period_end,
            value=figure.value,
            numerator=figure.numerator,
            denominator=figure.denominator,
            detail=figure.detail,
        )
        for item in analysis.figures
        for key, figure in item.figures.items()
    )
    EvidenceRun.objects.filter(pk=run.pk).update(
        status=EvidenceRun.Status.SUCCEEDED,
        finished_at=timezone.now(),
        progress=1.0,
        stage="",
        error="",
        rows=analysis.rows,
        versions=analysis.versions,
        providers=analysis.providers,
        currencies=analysis.currencies,
        months_present=analysis.months,
        latest_charge=analysis.latest_charge,
        problems=analysis.problems,
        notes=analysis.notes,
        tag_keys_seen=analysis.tag_keys_seen,
        categories_seen=analysis.categories_seen,
    )
    EvidenceFigure.objects.filter(
        run__assessment_id=run.assessment_id, run__created_at__lt=run.created_at
    ).delete()


def _delete_files(files: Sequence[EvidenceFile]) -> None:
    """Delete processed files from storage; the list keeps their names."""
    for item in files:
        try:
            default_storage.delete(item.storage_name)
        except OSError:
            logger.exception("Could not delete %s from storage.", item.storage_name)
            continue
        EvidenceFile.objects.filter(pk=item.pk).update(
            deleted_at=timezone.now(), storage_name=""
        )


# ---------------------------------------------------------------------------
# Reading the evidence
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class KpiEvidence:
    kpi: EvidenceKpi
    figure: EvidenceFigure

    @property
    def value(self) -> float | None:
        return self.figure.value

    @property
    def level(self) -> int | None:
        return self.kpi.level(self.figure.value)

    @property
    def level_name(self) -> str:
        return level_name(self.level)

    @property
    def shown_value(self) -> str:
        return display.percent(self.value)

    def needs(self, level: int) -> str:
        """Return what a level needs: "Walk needs 85%" ("" without a threshold)."""
        threshold = dict(self.kpi.thresholds).get(level)
        if threshold is None:
            return ""
        word = "at most" if self.kpi.direction == EvidenceKpi.Direction.LOWER else ""
        return " ".join(
            part
            for part in (Level(level).label, "needs", word, display.percent(threshold))
            if part
        )


@dataclass(frozen=True)
class CapabilityEvidence:
    capability_id: int
    kpis: list[KpiEvidence]

    @property
    def deciding(self) -> KpiEvidence | None:
        """Return the KPI with the lowest level: a capability is as mature as
        its weakest measured KPI."""
        levelled = [k for k in self.kpis if k.level is not None]
        return min(levelled, key=lambda k: k.level, default=None)

    @property
    def level(self) -> int | None:
        deciding = self.deciding
        return None if deciding is None else deciding.level

    @property
    def level_name(self) -> str:
        return level_name(self.level)


@dataclass
class Evidence:
    run: EvidenceRun
    currency: str  # the currency with the most cost: the one levels use
    period_start: datetime.date
    period_end: datetime.date
    kpis: list[KpiEvidence]
    other_currencies: dict[str, list[KpiEvidence]]
    monthly: list[tuple[str, dict[str, EvidenceFigure]]]
    total_cost: float | None = None
    by_capability: dict[int, CapabilityEvidence] = field(default_factory=dict)

    @property
    def levelled(self) -> list[KpiEvidence]:
        """Return the KPIs with a level (those with catalogue thresholds)."""
        return [k for k in self.kpis if k.level is not None]

    def figure(self, key: str) -> EvidenceFigure | None:
        return next((k.figure for k in self.kpis if k.kpi.key == key), None)

    @property
    def anomalies(self) -> EvidenceFigure | None:
        return self.figure("anomaly_cost_share")

    @property
    def untagged_services(self) -> list[dict]:
        figure = self.figure("allocation_coverage")
        return figure.detail.get("untagged_services", []) if figure else []


def current_run(assessment: Assessment) -> EvidenceRun | None:
    """Return the assessment's latest successful run (one query)."""
    return (
        EvidenceRun.objects.filter(
            assessment=assessment, status=EvidenceRun.Status.SUCCEEDED
        )
        .order_by("-created_at", "-pk")
        .first()
    )


def current_evidence(assessment: Assessment) -> Evidence | None:
    """Return the KPIs of the latest successful run, with their levels.

    Three queries (run, figures, catalogue KPIs), whatever the data.
    """
    run = current_run(assessment)
    if run is None:
        return None
    return evidence_of(run, assessment.framework_id)


def evidence_of(run: EvidenceRun, framework_id: int) -> Evidence | None:
    figures = list(run.figures.all())
    kpis = {
        k.key: k
        for k in EvidenceKpi.objects.filter(version_id=framework_id).select_related(
            "capability"
        )
    }
    whole = [f for f in figures if not f.month]
    if not whole:
        return None
    currencies = list(dict.fromkeys(run.currencies or [f.currency for f in whole]))
    main = currencies[0]

    def kpi_list(currency: str) -> list[KpiEvidence]:
        found = [
            KpiEvidence(kpis[f.kpi_key], f)
            for f in whole
            if f.currency == currency and f.kpi_key in kpis
        ]
        return sorted(found, key=lambda k: k.kpi.position)

    main_kpis = kpi_list(main)
    by_capability: dict[int, list[KpiEvidence]] = {}
    for item in main_kpis:
        by_capability.setdefault(item.kpi.capability_id, []).append(item)
    months: dict[str, dict[str, EvidenceFigure]] = {}
    for f in figures:
        if f.month and f.currency == main:
            months.setdefault(f.month, {})[f.kpi_key] = f
    first = main_kpis[0].figure if main_kpis else whole[0]
    # The anomaly share's base is the period's whole cost.
    total = next(
        (
            f.denominator
            for f in whole
            if f.currency == main and f.kpi_key == "anomaly_cost_share"
        ),
        None,
    )
    return Evidence(
        run=run,
        currency=main,
        period_start=first.period_start,
        period_end=first.period_end,
        kpis=main_kpis,
        other_currencies={c: kpi_list(c) for c in currencies[1:]},
        monthly=sorted(months.items()),
        total_cost=total,
        by_capability={
            pk: CapabilityEvidence(pk, items) for pk, items in by_capability.items()
        },
    )


# ---------------------------------------------------------------------------
# Ratings against data
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Mismatch:
    """A capability whose self-rating and cost data differ by a level or more."""

    result: CapabilityResult
    evidence: CapabilityEvidence

    @property
    def data_level(self) -> int:
        return self.evidence.level

    @property
    def overrated(self) -> bool:
        return self.result.level > self.data_level

    def sentence(self) -> str:
        """Say it plainly: rating, measured value and what the level needs."""
        kpi = self.evidence.deciding
        people = self.result.scored
        rated = (
            f"{self.result.capability.name}: rated {self.result.level_name} "
            f"({display.score(self.result.exact_score)}) by {people} "
            f"{'person' if people == 1 else 'people'}"
        )
        needs = kpi.needs(max(self.result.level, self.data_level))
        measured = f"{kpi.shown_value} {PHRASES.get(kpi.kpi.key, kpi.kpi.name)}"
        return (
            f"{rated}; the data says {self.evidence.level_name}: {measured}"
            f"{f' ({needs})' if needs else ''}."
        )


# How a KPI's value reads in a sentence, after its percentage.
PHRASES = {
    "allocation_coverage": "of spend carries an allocation tag",
    "commitment_coverage": "of eligible usage is covered by commitment discounts",
    "commitment_utilisation": "of commitment cost is used",
    "resource_id_share": "of usage cost is traced to a resource",
    "forecast_variance": "average gap between forecast and actual spend",
    "effective_savings_rate": "saved against list prices",
    "anomaly_cost_share": "of spend went on cost anomalies",
}


def mismatches(
    results: AssessmentResults | None, evidence: Evidence | None
) -> list[Mismatch]:
    """Return the capabilities where rating and data differ by a level or more."""
    if results is None or evidence is None:
        return []
    found = []
    for result in results.capabilities:
        data = evidence.by_capability.get(result.capability.pk)
        if data is None or data.level is None or result.level is None:
            continue
        if abs(result.level - data.level) >= 1:
            found.append(Mismatch(result, data))
    return found


def summary_sentences(found: list[Mismatch]) -> list[str]:
    """Say in one sentence where cost data contradicts the ratings."""
    if not found:
        return []
    over = [m.result.capability.name for m in found if m.overrated]
    under = [m.result.capability.name for m in found if not m.overrated]
    parts = []
    if over:
        parts.append(f"rated higher than the data supports for {display.names(over)}")
    if under:
        parts.append(f"rated lower than the data shows for {display.names(under)}")
    return [
        f"Cost data contradicts the self-ratings: {' and '.join(parts)} "
        "(details under “Checked against cost data”)."
    ]


def evidence_rows(
    results: AssessmentResults | None, evidence: Evidence | None
) -> list[dict[str, object]]:
    """Return one row per KPI with the self-rating of its capability beside it.

    Without results (nothing published yet, for a viewer) no rating is shown.
    """
    if evidence is None:
        return []
    rated = {c.capability.pk: c for c in results.capabilities} if results else {}
    off = {m.result.capability.pk for m in mismatches(results, evidence)}
    return [
        {
            "kpi": item,
            "rating": rated.get(item.kpi.capability_id),
            "mismatch": item.kpi.capability_id in off
            and evidence.by_capability[item.kpi.capability_id].deciding == item,
        }
        for item in evidence.kpis
    ]


@dataclass(frozen=True)
class KpiTrend:
    kpi: EvidenceKpi
    previous: float | None
    current: float | None

    @property
    def change_points(self) -> int | None:
        """Return the change in whole percentage points, as displayed."""
        if self.previous is None or self.current is None:
            return None
        return display.shown_percent(self.current) - display.shown_percent(
            self.previous
        )

    @property
    def shown_change(self) -> str:
        """Return the change as read: "+3 pts", "−2 pts", "0 pts" or "–"."""
        points = self.change_points
        if points is None:
            return display.MISSING
        sign = "+" if points > 0 else display.MINUS if points < 0 else ""
        return f"{sign}{abs(points)} pts"


def kpi_trends(
    evidence: Evidence | None, previous: Assessment | None
) -> list[KpiTrend]:
    """Compare the KPIs with the previous round's, in the same currency."""
    if evidence is None or previous is None:
        return []
    before = current_evidence(previous)
    if before is None:
        return []
    earlier = {
        k.kpi.key: k.value
        for k in (
            before.kpis
            if before.currency == evidence.currency
            else before.other_currencies.get(evidence.currency, [])
        )
    }
    return [
        KpiTrend(item.kpi, earlier.get(item.kpi.key), item.value)
        for item in evidence.kpis
    ]
