"""Results pages: the dashboard, the scoring method, downloads and the report.

Owners and viewers see the dashboard and the aggregate exports; comments
reach viewers only once the owner publishes them (never with a name), and raw
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
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from . import audit, charts, evidence, exports, reports
from .access import get_assessment_for_user
from .models import Answer, Assessment, Capability, Level, Membership
from .participation import participation_summary
from .report_content import PAPER_SIZES, ReportOptions, image_uri
from .scoring import (
    CONTESTED_AT,
    AssessmentResults,
    assessment_results,
    changes_by_name,
    previous_comparison,
)

ANSWER_FORMATS = ("csv", "xlsx")
RESULT_FORMATS = ("csv", "xlsx", "json")
TOP_PRIORITIES = 5
CHART_CACHE_SECONDS = 24 * 3600


def _may_read_comments(assessment: Assessment, role: str) -> bool:
    return role == Membership.Role.OWNER or assessment.comments_published


@login_required
def dashboard(request: HttpRequest, pk: int) -> HttpResponse:
    """Show every figure of an assessment, with charts and the previous round."""
    assessment, role = get_assessment_for_user(request, pk)
    results = assessment_results(
        assessment, include_comments=_may_read_comments(assessment, role)
    )
    comparison = previous_comparison(results)
    by_domain, by_capability = changes_by_name(comparison)
    cost_evidence = evidence.current_evidence(assessment)
    mismatches = evidence.mismatches(results, cost_evidence)
    domains = [
        (
            domain,
            by_domain.get(domain.domain.name),
            [(c, by_capability.get(c.capability.name)) for c in domain.capabilities],
        )
        for domain in results.domains
    ]
    ctx = {
        "assessment": assessment,
        "organisation": assessment.organisation,
        "is_owner": role == Membership.Role.OWNER,
        "results": results,
        "comparison": comparison,
        "participation": participation_summary(assessment=assessment),
        "top_priorities": results.priorities[:TOP_PRIORITIES],
        "domains": domains,
        "answer_values": Answer.Value.choices,
        "charts": _charts(results) if results.respondents else None,
        "persona_table": _persona_table(results),
        "heat_legend": _heat_legend(),
        "evidence": cost_evidence,
        "mismatches": mismatches,
        "mismatched": {m.result.capability.pk for m in mismatches},
        "evidence_trends": evidence.kpi_trends(
            cost_evidence, comparison.previous if comparison else None
        ),
    }
    return render(request, "assessment/results/dashboard.html", ctx)


@dataclass(frozen=True)
class HeatRow:
    """A capability's persona scores as shown, one per persona column."""

    capability: Capability
    cells: list[tuple[Decimal | None, int | None]]  # (shown score, shade)
    hidden: int


def _persona_table(results: AssessmentResults) -> list[HeatRow]:
    """Lay persona scores out as rows of the persona columns (blank under k)."""
    table = []
    for cap in results.capabilities:
        scores = {ps.persona.pk: ps.shown_score for ps in cap.persona_scores}
        shown = [scores.get(p.pk) for p in results.persona_columns]
        table.append(
            HeatRow(
                cap.capability,
                [(score, charts.heat_shade(score)) for score in shown],
                cap.hidden_personas,
            )
        )
    return table


def _heat_legend() -> list[tuple[int, int, str]]:
    """Return the heatmap legend: (level, shade, name) of each level's colour."""
    return [
        (level, charts.heat_shade(Decimal(level)), label)
        for level, label in Level.choices
    ]


def _charts(results: AssessmentResults) -> dict[str, str]:
    """Return the dashboard's SVG charts as data: URIs for <img>.

    Images, not inline SVG: matplotlib styles its SVG with style attributes,
    which the Content-Security-Policy refuses in the page itself. Drawing
    takes most of the page's time, so the SVGs are cached by the figures they
    draw; the key changes whenever a drawn figure does.
    """
    drawn = [(d.domain.name, d.score, d.target) for d in results.domains]
    key = "results-charts:" + hashlib.sha256(repr(drawn).encode()).hexdigest()
    svgs = cache.get(key)
    if svgs is None:
        svgs = {"radar": charts.radar_svg(results)}
        cache.set(key, svgs, CHART_CACHE_SECONDS)
    return {name: image_uri(svg) for name, svg in svgs.items()}


def method(request: HttpRequest) -> HttpResponse:
    """Explain how every figure on the results pages is computed."""
    ctx = {"levels": Level.choices, "contested_at": CONTESTED_AT}
    return render(request, "assessment/results/method.html", ctx)


def _download(content: bytes, fmt: str, name: str) -> HttpResponse:
    response = HttpResponse(content, content_type=exports.FORMATS[fmt])
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
def export_results(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    """Download the aggregates (owners and viewers)."""
    if fmt not in RESULT_FORMATS:
        raise Http404("Results export as CSV, XLSX or JSON.")
    assessment, _role = get_assessment_for_user(request, pk)
    results = assessment_results(assessment)
    content = exports.export_results(results, fmt, previous_comparison(results))
    return _download(content, fmt, exports.filename(assessment, "results", fmt))


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
    return _download(content, fmt, exports.filename(assessment, "answers", fmt))


# ---------------------------------------------------------------------------
# PDF report
# ---------------------------------------------------------------------------


class ReportOptionsForm(forms.Form):
    """The download link's query string: paper size and comments appendix."""

    paper = forms.ChoiceField(choices=list(PAPER_SIZES.items()), required=False)
    comments = forms.BooleanField(required=False)


@login_required
@require_GET
def report_download(request: HttpRequest, pk: int) -> HttpResponse:
    """Send the assessment's PDF report to an owner or a viewer."""
    assessment, role = get_assessment_for_user(request, pk)
    form = ReportOptionsForm(request.GET)
    if not form.is_valid():
        messages.error(request, "Choose A4 or US Letter to download the report.")
        return redirect(assessment)
    include_comments = form.cleaned_data["comments"]
    if include_comments and role != Membership.Role.OWNER:
        raise PermissionDenied("Only owners choose to include comments.")
    options = ReportOptions(
        paper=form.cleaned_data["paper"] or "a4", include_comments=include_comments
    )
    try:
        pdf = reports.report_pdf(assessment, options, user_id=request.user.pk)
    except reports.ReportError as exc:
        messages.error(request, str(exc))
        return redirect(assessment)
    audit.record(
        assessment=assessment,
        action="report.downloaded",
        user=request.user,
        detail=f"{PAPER_SIZES[options.paper]}"
        + (", with comments." if include_comments else "."),
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=reports.report_filename(assessment)
    )
    # The report holds an organisation's results: keep it out of shared caches.
    response["Cache-Control"] = "private, no-store"
    return response
