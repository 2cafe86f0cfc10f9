"""Evidence from cost data: the KPIs page, uploads and their processing runs.

Owners and viewers see the KPIs beside the self-ratings; only owners upload
and see the files and runs (a viewer gets a 403), and another
organisation's assessment or run is a 404.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from . import evidence, focus
from .access import get_assessment_for_user
from .disclosure import shown_results
from .forms import EvidenceUploadForm
from .models import Assessment, EvidenceFile, EvidenceRun, Membership

RUNS_LISTED = 10


def _max_bytes() -> int:
    return settings.EVIDENCE_MAX_FILE_MB * 1024 * 1024


@login_required
def evidence_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Show the KPIs from cost data beside the self-ratings (and, for owners,
    the upload form and the runs)."""
    assessment, role = get_assessment_for_user(request, pk)
    form = None
    if role == Membership.Role.OWNER:
        form = EvidenceUploadForm(max_bytes=_max_bytes())
    return _render(request, assessment, role, form)


def _render(
    request: HttpRequest,
    assessment: Assessment,
    role: str,
    form: EvidenceUploadForm | None,
    status: int = 200,
) -> HttpResponse:
    is_owner = role == Membership.Role.OWNER
    current = evidence.current_evidence(assessment)
    # Owners rate the data against live answers; viewers only against the
    # published results (none before the first publication).
    results = shown_results(assessment, owner=is_owner, live=is_owner).results
    previous = None
    if assessment.previous_id:
        previous = Assessment.objects.filter(
            pk=assessment.previous_id, organisation_id=assessment.organisation_id
        ).first()
    runs = []
    if is_owner:
        runs = list(
            EvidenceRun.objects.filter(assessment=assessment)
            .select_related("created_by")
            .prefetch_related(
                Prefetch("files", queryset=EvidenceFile.objects.order_by("pk"))
            )[:RUNS_LISTED]
        )
    ctx = {
        "assessment": assessment,
        "organisation": assessment.organisation,
        "is_owner": is_owner,
        "evidence": current,
        "published": results is not None,
        "rows": evidence.evidence_rows(results, current),
        "mismatches": evidence.mismatches(results, current),
        "trends": evidence.kpi_trends(current, previous),
        "previous": previous,
        "form": form,
        "runs": runs,
        "max_bytes": _max_bytes(),
        "anomaly": {
            "window": focus.ANOMALY_WINDOW,
            "threshold": focus.ANOMALY_THRESHOLD,
            "sigmas": focus.ANOMALY_SIGMAS,
            "floor": focus.ANOMALY_FLOOR,
        },
    }
    return render(request, "assessment/evidence/evidence.html", ctx, status=status)


class UploadSizeLimit(FileUploadHandler):
    """Skip a file as soon as it passes the size limit, before it is stored."""

    def __init__(self, request: HttpRequest, limit: int) -> None:
        super().__init__(request)
        self.limit = limit
        self.received = 0
        self.too_large: list[str] = []

    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.limit:
            self.too_large.append(self.file_name)
            raise SkipFile
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


@csrf_exempt
@login_required
@require_POST
def evidence_upload(request: HttpRequest, pk: int) -> HttpResponse:
    """Store uploaded exports and start processing them (owners only).

    The size limit must watch the body as it is read, so it is installed
    before the CSRF check reads the form (Django's documented pattern for
    per-view upload handlers); access is checked before anything is read.
    """
    assessment, role = get_assessment_for_user(request, pk, write=True)
    limiter = UploadSizeLimit(request, _max_bytes())
    request.upload_handlers.insert(0, limiter)
    return _evidence_upload(request, assessment, role, limiter)


@csrf_protect
def _evidence_upload(
    request: HttpRequest, assessment: Assessment, role: str, limiter: UploadSizeLimit
) -> HttpResponse:
    form = EvidenceUploadForm(request.POST, request.FILES, max_bytes=_max_bytes())
    valid = form.is_valid()
    if limiter.too_large:
        form.add_error(
            "files",
            f"{', '.join(limiter.too_large)} "
            f"{'is' if len(limiter.too_large) == 1 else 'are'} larger than the "
            f"limit of {settings.EVIDENCE_MAX_FILE_MB:,} MB per file.",
        )
        valid = False
    if not valid:
        return _render(request, assessment, role, form, status=400)
    data = form.cleaned_data
    run = evidence.evidence_run_create(
        assessment=assessment,
        user=request.user,
        files=data["files"],
        choices=focus.Choices(
            tag_keys=data["tag_keys"],
            months=tuple(sorted(data["months"])),
            eligible_categories=tuple(data["eligible_categories"]),
            forecasts=data["forecasts"],
            forecast_currency=data["forecast_currency"],
        ),
    )
    evidence.evidence_start(run)
    messages.success(request, "Files uploaded; this page shows how processing goes.")
    return redirect(run)


@login_required
def evidence_run(request: HttpRequest, pk: int, run_pk: int) -> HttpResponse:
    """Follow one processing run: progress, then its result or its error."""
    assessment, role = get_assessment_for_user(request, pk)
    if role != Membership.Role.OWNER:
        raise PermissionDenied("Only owners see uploads.")
    run = (
        EvidenceRun.objects.filter(assessment=assessment, pk=run_pk)
        .select_related("created_by")
        .first()
    )
    if run is None:
        raise Http404("No such upload.")
    ctx = {
        "assessment": assessment,
        "organisation": assessment.organisation,
        "run": run,
        "files": list(run.files.order_by("pk")),
        "is_current": run == evidence.current_run(assessment),
    }
    return render(request, "assessment/evidence/run.html", ctx)
