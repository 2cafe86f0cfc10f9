"""What the PDF maturity report says: its figures, sentences and charts.

`report_html` turns an assessment into the report's HTML; `pdf.html_to_pdf`
lays it out. Everything here is plain data and templates, so it is tested
without WeasyPrint.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from django.template.loader import render_to_string
from django.utils import timezone

from . import charts, display, evidence
from .advice import (
    NEAR_GAP,
    PLAN_LIMIT,
    THIN_ANSWERS,
    ActionProgress,
    assessment_advice,
    previous_action_rows,
)
from .disclosure import shown_results
from .models import Answer, Assessment, Level
from .participation import ParticipationSummary
from .scoring import (
    ALL_VALUES,
    OTHER_PERSONAS,
    AssessmentResults,
    CapabilityResult,
    Comparison,
    Delta,
    changes_by_name,
    shown_personas,
    worked_example,
)

TEMPLATE = "assessment/report/report.html"
# The appendix is capped so that its length (and render time) stays bounded
# however many participants commented.
COMMENTS_LIMIT = 300

PAPER_SIZES = {"a4": "A4", "letter": "US Letter"}


class NothingPublished(Exception):
    """No results are published yet, so there is no report to write."""


NOTHING_PUBLISHED = (
    "No results are published yet: the report is written from the "
    "published results, when the assessment closes or earlier when "
    "the FinOps team publishes them."
)


@dataclass(frozen=True)
class ReportOptions:
    """What the person downloading chose: paper size and comments appendix."""

    paper: str = "a4"
    include_comments: bool = False

    def __post_init__(self) -> None:
        if self.paper not in PAPER_SIZES:
            raise ValueError(f"Unknown paper size {self.paper!r}.")


# ---------------------------------------------------------------------------

# Answer values in the order of the distribution bars, with their labels.
DISTRIBUTION = [(value, Answer.Value(value).label) for value in ALL_VALUES]


def distribution_background(counts: dict[int, int]) -> str:
    """Return the answer distribution as a CSS gradient with hard stops.

    One element with a gradient lays out far faster in WeasyPrint than a
    flex row of coloured spans, and prints just as crisply. Empty without
    answers.
    """
    total = sum(counts.get(value, 0) for value, _ in DISTRIBUTION)
    if not total:
        return ""
    stops, start = [], 0.0
    for value, _ in DISTRIBUTION:
        if counts.get(value, 0):
            end = start + 100 * counts[value] / total
            colour = charts.VALUE_COLOURS[value]
            stops.append(f"{colour} {start:.2f}%, {colour} {end:.2f}%")
            start = end
    return f"linear-gradient(to right, {', '.join(stops)})"


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def summary_sentences(
    results: AssessmentResults,
    participation: ParticipationSummary | None,
    comparison: Comparison | None = None,
) -> list[str]:
    """Write the executive summary as plain sentences from the figures.

    Priorities, disagreement and unknowns are the advice's (decisions and
    risks): the sentences give who answered, where maturity stands and how
    it moved.
    """
    if results.held_back.respondents:
        people = "People"  # their number is held back (`looks`)
    elif results.respondents is None:
        people = f"Fewer than {results.k} people"
    else:
        people = _plural(results.respondents, "person", "people")
    answered = f"{people} answered the assessment"
    if participation is not None:
        invited, joined = participation.total.invited, participation.total.joined
        rate = display.percent(invited.response_rate)
        if joined.submitted and invited.people:
            answered += (
                f": {invited.submitted} of the {invited.people} invited ({rate}) and "
                f"{joined.submitted} who joined through an open link"
            )
        elif joined.submitted:
            answered += ", all through an open link"
        elif invited.people:
            answered += f" ({rate} of the {invited.people} invited)"
    sentences = [answered + "."]
    if results.overall is None:
        sentences.append(
            "No submitted answer can be scored yet, so this report shows no "
            "maturity level; it fills in as participants submit."
        )
        return sentences
    overall = (
        f"Overall FinOps maturity is {results.overall_level_name} "
        f"({display.score(results.shown_overall)} on the 0–3 scale), against an "
        f"average target of {display.score(results.shown_target)}"
    )
    if comparison is not None and comparison.overall.change is not None:
        overall += (
            f"; {display.change(comparison.overall.change)} since "
            f"“{comparison.previous.title}” "
            f"({display.score(comparison.overall.shown_previous)})"
        )
    sentences.append(overall + ".")
    scored = sorted(
        (d for d in results.domains if d.exact_score is not None),
        key=lambda d: d.exact_score,
    )
    if len(scored) >= 2 and scored[-1].shown_score != scored[0].shown_score:
        best, worst = scored[-1], scored[0]
        sentences.append(
            f"The strongest domain is {best.domain.name} "
            f"({display.score(best.shown_score)}, {best.level_name}); the weakest "
            f"is {worst.domain.name} ({display.score(worst.shown_score)}, "
            f"{worst.level_name})."
        )
    if not results.priorities:
        sentences.append("Every scored capability meets or exceeds its target.")
    return sentences


def image_uri(svg: str) -> str:
    """Return an SVG chart as a data: URI for <img>."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def report_context(
    assessment: Assessment,
    options: ReportOptions,
) -> dict[str, object]:
    """Compute every figure, sentence and chart of the report.

    The report shows the published results, as viewers see them (it may be
    forwarded to anyone): `disclosure.shown_results`. A constant number of
    queries: the snapshot and its results, the previous round's, the next
    steps and the cost evidence. Raise NothingPublished before any
    publication.
    """
    comments = options.include_comments and assessment.comments_published
    shown = shown_results(assessment, owner=False, comments=comments)
    if shown.results is None:
        raise NothingPublished(NOTHING_PUBLISHED)
    results, participation = shown.results, shown.participation
    comparison = shown.comparison
    advice = assessment_advice(results, participation)
    drawn = report_charts(results, comparison=comparison)
    cost_evidence = evidence.current_evidence(assessment)
    mismatches = evidence.mismatches(results, cost_evidence)
    _, changes = changes_by_name(comparison)
    domains = [
        {
            "result": domain,
            "heatmap": heatmap_table(domain.capabilities),
            "rows": [
                capability_row(
                    c,
                    changes.get(c.capability.name),
                    advice.progress.get(c.capability.pk),
                )
                for c in domain.capabilities
            ],
        }
        for domain in results.domains
    ]
    knowledge_gaps = sorted(
        (c for c in results.capabilities if c.dont_know_rate),
        key=lambda c: (-c.dont_know_rate, c.capability.position),
    )[:8]
    all_comments = results.comments or []
    return {
        "assessment": assessment,
        "organisation": assessment.organisation,
        "framework": assessment.framework,
        "options": options,
        "letter": options.paper == "letter",
        "generated": generated_on(),
        "generated_text": display.date(timezone.localdate()),
        "results": results,
        "snapshot": shown.snapshot,
        "participation": participation,
        "breakdowns": [
            (results.personas, "Persona"),
            (results.business_units, "Business unit"),
        ],
        "summary": summary_sentences(results, participation, comparison)
        + evidence.summary_sentences(mismatches),
        "advice": advice,
        "previous_actions": previous_action_rows(advice, comparison),
        "near_gap": NEAR_GAP,
        "plan_limit": PLAN_LIMIT,
        "thin_answers": max(THIN_ANSWERS, results.k),
        "domain_trend": domain_trend(results, comparison),
        "radar": drawn["radar"],
        "domains": domains,
        "comparison": comparison,
        "movers": largest_changes(comparison),
        "knowledge_gaps": knowledge_gaps,
        "legend": [(charts.VALUE_COLOURS[v], label) for v, label in DISTRIBUTION],
        "heat_legend": heat_legend(),
        "evidence": cost_evidence,
        "evidence_rows": evidence.evidence_rows(results, cost_evidence),
        "mismatches": mismatches,
        "mismatched": {m.result.capability.pk for m in mismatches},
        "evidence_trends": evidence.kpi_trends(
            cost_evidence, comparison.previous if comparison else None
        ),
        "include_comments": comments,
        "example": worked_example(),
        "comments": all_comments[:COMMENTS_LIMIT],
        "comments_left_out": max(len(all_comments) - COMMENTS_LIMIT, 0),
    }


def report_charts(
    results: AssessmentResults, *, comparison: Comparison | None = None
) -> dict[str, object]:
    """Draw the report's matplotlib chart, the domain radar, as an SVG data: URI.

    The previous round, if any, is drawn on it. The per-domain bar charts
    and heatmaps are drawn in HTML (see `capability_row` and `heatmap_table`).
    """
    if results.overall is None:
        return {"radar": None}
    svg = charts.to_svg(charts.radar(results, previous_domain_scores(comparison)))
    return {"radar": image_uri(svg)}


def previous_domain_scores(comparison: Comparison | None) -> list[float | None] | None:
    """Return the previous round's domain scores in the current domains' order."""
    if comparison is None:
        return None
    return [
        None if d.previous is None else float(d.previous) for d in comparison.domains
    ]


def domain_trend(
    results: AssessmentResults, comparison: Comparison | None
) -> list[tuple[object, Delta | None]]:
    """Pair each domain with its change since the previous round (None without)."""
    by_domain, _ = changes_by_name(comparison)
    return [(d, by_domain.get(d.domain.name)) for d in results.domains]


@dataclass(frozen=True)
class CapabilityRow:
    """What a domain page shows of one capability, bars included."""

    result: CapabilityResult
    answers_background: str  # the answer distribution as a CSS gradient
    score_percent: float  # bar length on the 0-3 scale
    target_percent: float  # target mark position on the same scale
    change: Delta | None = None  # since the previous round, if any
    progress: ActionProgress | None = None  # last round's tracked actions


def largest_changes(
    comparison: Comparison | None, *, count: int = 5
) -> dict[str, list[Delta]]:
    """Return the capabilities that rose and fell most since the last round.

    The domain pages show every capability's change; the comparison section
    names the few that moved most, so the trend reads at a glance.
    """
    moved = [d for d in (comparison.capabilities if comparison else []) if d.change]
    rises = sorted((d for d in moved if d.change > 0), key=lambda d: -d.change)
    falls = sorted((d for d in moved if d.change < 0), key=lambda d: d.change)
    return {"rises": rises[:count], "falls": falls[:count]}


def capability_row(
    result: CapabilityResult,
    change: Delta | None = None,
    progress: ActionProgress | None = None,
) -> CapabilityRow:
    """Return a capability's row, with its score-vs-target bar as percentages.

    The bar chart is HTML rather than a matplotlib image: it prints as
    crisp vectors and costs a fraction of an embedded SVG's layout and
    drawing time in WeasyPrint.
    """
    return CapabilityRow(
        result,
        distribution_background(result.counts),
        round(float(result.shown_score or 0) / Level.RUN * 100, 2),
        round(result.target / Level.RUN * 100, 2),
        change,
        progress,
    )


@dataclass(frozen=True)
class HeatCell:
    score: Decimal | None  # as shown
    span: int = 1  # columns covered: a run of blank cells is one cell

    @property
    def shade(self) -> int | None:
        """Return the cell's shade class number (`charts.heat_shade`)."""
        return charts.heat_shade(self.score)


def heat_styles() -> str:
    """Return the CSS of the heatmap shades, in the charts' colour scale.

    As classes: an inline style per cell would be parsed by WeasyPrint cell
    by cell.
    """
    return charts.heat_css()


def heat_legend() -> list[tuple[Decimal, int]]:
    """Return the heatmap's key: each level's score and its shade."""
    return [(Decimal(level), charts.heat_shade(Decimal(level))) for level in Level]


# Persona headings of a heatmap stay upright while their longest word fits
# its column: the persona columns share about 128 mm of an A4 text width,
# and a heading character takes at most about 1.5 mm (plus the padding).
# Crowded headings are turned to read upwards instead of breaking a word.
PERSONA_COLUMNS_MM = 128
HEADING_CHAR_MM = 1.5
HEADING_PADDING_MM = 1.6


class HeatTable(NamedTuple):
    """A domain's persona heatmap: column headings, rows and heading layout."""

    personas: list[str]
    rows: list[tuple[CapabilityResult, list[HeatCell]]]
    upright: bool  # headings read across; else turned to read upwards


def upright_headings(names: list[str]) -> bool:
    """Return whether every word of these column headings fits across."""
    if not names:
        return True
    longest = max(len(word) for name in names for word in name.split())
    needed = longest * HEADING_CHAR_MM + HEADING_PADDING_MM
    return needed <= PERSONA_COLUMNS_MM / len(names)


def heatmap_table(capabilities: list[CapabilityResult]) -> HeatTable:
    """Return a persona x capability heatmap: column headings and rows.

    Drawn as an HTML table rather than an image: the text stays crisp and
    searchable, and it lays out several times faster than a matplotlib
    image in WeasyPrint. Columns are the groups scoring already pooled
    (CapabilityResult.groups): the personas shown on their own in these
    capabilities, then "other personas" if any capability has that group.
    Headings never break inside a word: they read upwards when columns are
    narrow.
    """
    personas = shown_personas(capabilities)
    pooled = any(c.other_personas for c in capabilities)
    rows = []
    for capability in capabilities:
        scores = {g.persona.pk: g.shown_score for g in capability.persona_scores}
        cells = [scores.get(p.pk) for p in personas]
        if pooled:
            other = capability.other_personas
            cells.append(other.shown_score if other else None)
        rows.append((capability, heat_cells(cells)))
    names = [p.name for p in personas] + ([OTHER_PERSONAS] if pooled else [])
    return HeatTable(names, rows, upright_headings(names))


def heat_cells(scores: list[Decimal | None]) -> list[HeatCell]:
    """Return a heatmap row's cells, each run of blanks merged into one.

    Most cells are blank (personas not asked, or hidden under k) and each
    table cell costs WeasyPrint as much layout as a filled one; a blank
    cell spanning the run looks the same.
    """
    cells: list[HeatCell] = []
    for score in scores:
        if score is None and cells and cells[-1].score is None:
            cells[-1] = HeatCell(None, cells[-1].span + 1)
        else:
            cells.append(HeatCell(score))
    return cells


def report_html(assessment: Assessment, options: ReportOptions) -> str:
    """Return the report's HTML (aggregation and charts happen here)."""
    ctx = report_context(assessment, options)
    return render_to_string(TEMPLATE, ctx)


def generated_on() -> str:
    """Return today's date as the report's cover and footer show it."""
    return timezone.localdate().isoformat()
