"""Results pages: the dashboard, the scoring method, downloads and the report.

Owners and viewers see the dashboard and the aggregate exports of the
published results (`disclosure` decides what each sees); owners may also
preview live results (`?live=1`) and publish interim results. Comments reach
viewers only once the owner publishes them (never with a name), and raw
answers are for owners only.
"""

import hashlib
from dataclasses import dataclass
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header, urlencode
from django.views.decorators.http import require_GET, require_POST

from . import audit, charts, evidence, exports, reports, scoring, snapshots
from .access import get_assessment_for_user
from .advice import assessment_advice
from .disclosure import shown_results
from .models import Answer, Level, Membership, ReportFile
from .report_content import (
    PAPER_SIZES,
    NothingPublished,
    ReportOptions,
    image_uri,
    previous_domain_scores,
)
from .scoring import (
    CONTESTED_AT,
    OTHER_PERSONAS,
    AssessmentResults,
    CapabilityResult,
    changes_by_name,
)

ANSWER_FORMATS = ("csv", "xlsx")
RESULT_FORMATS = ("csv", "xlsx", "json")
TOP_PRIORITIES = 5
CHART_CACHE_SECONDS = 24 * 3600


def _shown(request: HttpRequest, pk: int, *, comments: bool = False):
    """Return the assessment, whether the user owns it, and what they see.

    Owners preview live results with `?live=1`; viewers asking for it get
    the published results like everyone else.
    """
    assessment, role = get_assessment_for_user(request, pk)
    owner = role == Membership.Role.OWNER
    live = owner and request.GET.get("live") == "1"
    shown = shown_results(assessment, owner=owner, live=live, comments=comments)
    return assessment, owner, shown


@login_required
def dashboard(request: HttpRequest, pk: int) -> HttpResponse:
    """Show every figure of an assessment, with charts and the previous round."""
    assessment, is_owner, shown = _shown(request, pk, comments=True)
    results, comparison = shown.results, shown.comparison
    cost_evidence = evidence.current_evidence(assessment)
    mismatches = evidence.mismatches(results, cost_evidence) if results else []
    ctx = {
        "assessment": assessment,
        "organisation": assessment.organisation,
        "is_owner": is_owner,
        "shown": shown,
        "results": results,
        "comparison": comparison,
        "participation": shown.participation,
        "publish": snapshots.publish_state(assessment, latest=shown.snapshot)
        if is_owner
        else None,
        "live_query": "?live=1" if shown.live else "",
        "answer_values": Answer.Value.choices,
        "other_personas": OTHER_PERSONAS,
        "heat_legend": _heat_legend(),
        "evidence": cost_evidence,
        "mismatches": mismatches,
        "mismatched": {m.result.capability.pk for m in mismatches},
        "evidence_trends": evidence.kpi_trends(
            cost_evidence, comparison.previous if comparison else None
        ),
    }
    if results is not None:
        by_domain, by_capability = changes_by_name(comparison)
        found = assessment_advice(results, shown.participation)
        ctx |= {
            "advice": found,
            "top_priorities": found.priorities[:TOP_PRIORITIES],
            "domains": [
                (
                    domain,
                    by_domain.get(domain.domain.name),
                    [
                        (
                            c,
                            by_capability.get(c.capability.name),
                            found.progress.get(c.capability.pk),
                            found.standings.get(c.capability.pk),
                        )
                        for c in domain.capabilities
                    ],
                )
                for domain in results.domains
            ],
            "charts": _charts(results, previous_domain_scores(comparison))
            if results.overall is not None
            else None,
            "persona_table": _persona_table(results),
        }
    return render(request, "assessment/results/dashboard.html", ctx)


@dataclass(frozen=True)
class HeatRow:
    """A domain's or a capability's group scores as shown, one per column."""

    label: str
    cells: list[tuple[Decimal | None, int | None]]  # (shown score, shade)
    capability: CapabilityResult | None = None  # None: the domain's row
    slug: str = ""


def _persona_table(results: AssessmentResults) -> dict:
    """Lay group scores out as rows of the persona columns, domain by domain.

    Columns: the personas shown anywhere, then "other personas" if any
    capability has a pooled group. A domain's row holds the personas'
    domain scores. A blank cell: not a group of its own there.
    """
    personas = results.persona_columns
    pooled = any(c.other_personas for c in results.capabilities)

    def cells(scores: dict, other: Decimal | None = None) -> list:
        shown = [scores.get(p.pk) for p in personas] + ([other] if pooled else [])
        return [(score, charts.heat_shade(score)) for score in shown]

    rows = []
    for domain in results.domains:
        scores = {s.persona.pk: s.shown_score for s in domain.persona_scores}
        rows.append(HeatRow(domain.domain.name, cells(scores), slug=domain.domain.slug))
        for cap in domain.capabilities:
            scores = {g.persona.pk: g.shown_score for g in cap.persona_scores}
            other = cap.other_personas.shown_score if cap.other_personas else None
            rows.append(
                HeatRow(
                    cap.capability.name,
                    cells(scores, other),
                    capability=cap,
                    slug=cap.capability.slug,
                )
            )
    return {"personas": personas, "pooled": pooled, "rows": rows}


@login_required
@require_POST
def publish(request: HttpRequest, pk: int) -> HttpResponse:
    """Publish interim results to viewers, if enough new responses arrived."""
    assessment, _ = get_assessment_for_user(request, pk, write=True)
    try:
        snapshot = snapshots.snapshot_publish(assessment=assessment, user=request.user)
    except snapshots.PublishRefused as refused:
        messages.error(request, str(refused))
    else:
        audit.record(
            assessment=assessment,
            action="results.published",
            user=request.user,
            detail=f"{snapshot.submissions} responses",
        )
        messages.success(
            request,
            "Results published: viewers now see the figures of "
            f"{snapshot.submissions} responses.",
        )
    return redirect("assessment:results", pk=assessment.pk)


def _heat_legend() -> list[tuple[int, int, str]]:
    """Return the heatmap legend: (level, shade, name) of each level's colour."""
    return [
        (level, charts.heat_shade(Decimal(level)), label)
        for level, label in Level.choices
    ]


def _charts(
    results: AssessmentResults, previous: list[float | None] | None = None
) -> dict[str, str]:
    """Return the dashboard's SVG charts as data: URIs for <img>.

    Images, not inline SVG: matplotlib styles its SVG with style attributes,
    which the Content-Security-Policy refuses in the page itself. Drawing
    takes most of the page's time, so the SVGs are cached by the figures they
    draw; the key changes whenever a drawn figure does.
    """
    drawn = [(d.domain.name, d.score, d.target) for d in results.domains]
    drawn.append(previous)  # the previous round's line
    key = "results-charts:" + hashlib.sha256(repr(drawn).encode()).hexdigest()
    svgs = cache.get(key)
    if svgs is None:
        svgs = {"radar": charts.radar_svg(results, previous)}
        cache.set(key, svgs, CHART_CACHE_SECONDS)
    return {name: image_uri(svg) for name, svg in svgs.items()}


def method(request: HttpRequest) -> HttpResponse:
    """Explain how every figure on the results pages is computed."""
    ctx = {
        "levels": Level.choices,
        "contested_at": CONTESTED_AT,
        "example": scoring.worked_example(),
        "other_personas": OTHER_PERSONAS,
    }
    return render(request, "assessment/results/method.html", ctx)


@login_required
def export_results(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    """Download the published aggregates (owners: `?live=1` for live ones)."""
    if fmt not in RESULT_FORMATS:
        raise Http404("Results export as CSV, XLSX or JSON.")
    assessment, _owner, shown = _shown(request, pk)
    if shown.results is None:
        messages.info(request, NOTHING_PUBLISHED)
        return redirect("assessment:results", pk=assessment.pk)
    content = exports.export_results(shown, fmt)
    kind = "live-results" if shown.live else "results"
    return exports.download(content, fmt, exports.filename(assessment, kind, fmt))


NOTHING_PUBLISHED = (
    "No results are published yet: they are published when the assessment "
    "closes, or earlier by the FinOps team."
)


@login_required
def export_answers(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    """Download every submitted answer under a pseudonym (owners only)."""
    if fmt not in ANSWER_FORMATS:
        raise Http404("Raw answers export as CSV or XLSX.")
    assessment, role = get_assessment_for_user(request, pk)
    if role != Membership.Role.OWNER:
        raise PermissionDenied("Viewers see aggregates only.")
    content = exports.export_answers(assessment, fmt)
    audit.record(
        assessment=assessment,
        action="answers.exported",
        user=request.user,
        detail=f"As {fmt.upper()}.",
    )
    return exports.download(content, fmt, exports.filename(assessment, "answers", fmt))


# ---------------------------------------------------------------------------
# PDF report
# ---------------------------------------------------------------------------


class ReportOptionsForm(forms.Form):
    """The download link's query string: paper size and comments appendix."""

    paper = forms.ChoiceField(choices=list(PAPER_SIZES.items()), required=False)
    comments = forms.BooleanField(required=False)


def _report_options(request: HttpRequest, data, role: str) -> ReportOptions | None:
    """Return the report options asked for; None (with a message) if invalid."""
    form = ReportOptionsForm(data)
    if not form.is_valid():
        messages.error(request, "Choose A4 or US Letter to download the report.")
        return None
    include_comments = form.cleaned_data["comments"]
    if include_comments and role != Membership.Role.OWNER:
        raise PermissionDenied("Only owners choose to include comments.")
    return ReportOptions(
        paper=form.cleaned_data["paper"] or "a4", include_comments=include_comments
    )


# Seconds between two looks of the "being prepared" page.
REPORT_REFRESH_SECONDS = 3


@login_required
@require_GET
def report_download(request: HttpRequest, pk: int) -> HttpResponse:
    """Send the PDF report, or a page that waits for its render.

    A report not rendered yet is queued (once, however many ask) and this
    page refreshes itself until the download is there: no JavaScript needed.
    """
    assessment, role = get_assessment_for_user(request, pk)
    options = _report_options(request, request.GET, role)
    if options is None:
        return redirect(assessment)
    report = None
    waited_for = request.GET.get("report", "")
    if waited_for.isdigit():  # a look again from the "being prepared" page
        report = reports.report_waited_for(assessment, options, int(waited_for))
    try:
        report = report or reports.report_request(assessment, options)
    except NothingPublished as exc:
        messages.info(request, str(exc))
        return redirect(assessment)
    file = None
    if report.status == ReportFile.Status.READY:
        file = reports.report_open(report)
    if file is None:
        return _report_waiting(request, assessment, report, options)
    audit.record(
        assessment=assessment,
        action="report.downloaded",
        user=request.user,
        detail=f"{PAPER_SIZES[options.paper]}"
        + (", with comments." if options.include_comments else "."),
    )
    with file:
        content = file.read()  # a few hundred kB at most
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=reports.report_filename(assessment)
    )
    # The report holds an organisation's results: keep it out of shared caches.
    response["Cache-Control"] = "private, no-store"
    return response


def _report_waiting(request, assessment, report, options) -> HttpResponse:
    """Show that the report is being prepared, or why it failed."""
    failed = reports.report_failed(report)
    ctx = {
        "assessment": assessment,
        "report": report,
        "failed": failed,
        "error": report.error or reports.CRASHED,
        "query": _report_query(options),
        "again": urlencode(_report_query(options) | {"report": report.pk}),
        "paper": PAPER_SIZES[options.paper],
        "refresh": None if failed else REPORT_REFRESH_SECONDS,
    }
    response = render(request, "assessment/results/report_waiting.html", ctx)
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
def report_retry(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue a failed report's render again, then wait for it."""
    assessment, role = get_assessment_for_user(request, pk)
    options = _report_options(request, request.POST, role)
    if options is None:
        return redirect(assessment)
    try:
        report = reports.report_request(assessment, options)
    except NothingPublished as exc:
        messages.info(request, str(exc))
        return redirect(assessment)
    reports.report_retry(report)
    query = urlencode(_report_query(options))
    return redirect(reverse("assessment:report", args=[assessment.pk]) + "?" + query)


def _report_query(options: ReportOptions) -> dict[str, str]:
    """Return the download link's query string for these options."""
    return {"paper": options.paper} | (
        {"comments": "1"} if options.include_comments else {}
    )
