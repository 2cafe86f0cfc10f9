"""What the PDF maturity report says: its figures, sentences and charts.

`report_html` turns an assessment into the report's HTML; `pdf.html_to_pdf`
lays it out. Everything here is plain data and templates, so it is tested
without WeasyPrint.
"""

from __future__ import annotations

import base64
import math
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from django.template.loader import render_to_string
from django.utils import timezone

from . import charts, display, evidence
from .disclosure import shown_results
from .models import Answer, Assessment, Level, NextStep
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

# Prioritised capabilities whose next steps go all the way to their target.
DETAILED_PLANS = 5
# Below the detailed plans, capabilities less than half a level from their
# target are named rather than given an action: the report stays focused on
# the gaps that matter.
NEAR_GAP = Decimal("0.5")

PAPER_SIZES = {"a4": "A4", "letter": "US Letter"}


class NothingPublished(Exception):
    """No results are published yet, so there is no report to write."""


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


class Stage(NamedTuple):
    """The next steps of one move, from a level to the next."""

    from_level: int
    steps: list[NextStep]

    @property
    def move(self) -> str:
        return f"{Level(self.from_level).label} → {Level(self.from_level + 1).label}"


@dataclass(frozen=True)
class StepPlan:
    """A prioritised capability's next steps, from its level towards its target."""

    result: CapabilityResult
    stages: list[Stage]


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


def _names(items: list[str]) -> str:
    """Join names as prose: "A", "A and B", "A, B and C"."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def summary_sentences(
    results: AssessmentResults, participation: ParticipationSummary | None
) -> list[str]:
    """Write the executive summary as plain sentences from the figures."""
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
    sentences.append(
        f"Overall FinOps maturity is {results.overall_level_name} "
        f"({display.score(results.shown_overall)} on the 0–3 scale), against an "
        f"average target of {display.score(results.shown_target)}."
    )
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
    below = results.priorities
    if below:
        top = [f"{c.capability.name} (gap {display.gap(c.gap)})" for c in below[:3]]
        sentences.append(
            f"{_plural(len(below), 'capability', 'capabilities')} of "
            f"{len(results.capabilities)} "
            f"{'is' if len(below) == 1 else 'are'} below target; the largest "
            f"gaps are in {_names(top)}."
        )
    else:
        sentences.append("Every scored capability meets or exceeds its target.")
    if results.contested:
        names = [c.capability.name for c in results.contested[:4]]
        sentences.append(
            f"Personas disagree by a full level or more on {_names(names)}"
            f"{' among others' if len(results.contested) > 4 else ''}: "
            "such disagreement is a finding in itself and worth a conversation."
        )
    unknown = max(
        (c for c in results.capabilities if c.dont_know_rate),
        key=lambda c: c.dont_know_rate,
        default=None,
    )
    if unknown is not None and display.shown_percent(unknown.dont_know_rate) >= 20:
        sentences.append(
            f"“Don't know” was most frequent for {unknown.capability.name} "
            f"({display.percent(unknown.dont_know_rate)} of answers), a sign of a "
            "knowledge gap to close."
        )
    return sentences


def reached_level(result: CapabilityResult) -> int:
    """Return the last level a prioritised capability has fully reached.

    A score shown as 1.7 is labelled Walk but Walk is not reached yet: its
    next steps are those from Crawl to Walk. Prioritised capabilities are
    below their target, so this is always below the target.
    """
    return min(math.floor(result.shown_score or 0), result.target - 1)


def step_plans(results: AssessmentResults) -> tuple[list[StepPlan], list]:
    """Return next steps per prioritised capability, and those to sustain.

    One query: the catalogue's next steps of the prioritised capabilities.
    """
    capability_ids = [c.capability.pk for c in results.priorities]
    steps: dict[tuple[int, int], list[NextStep]] = defaultdict(list)
    for step in NextStep.objects.filter(
        capability_id__in=capability_ids
    ).select_related("owner"):
        steps[(step.capability_id, step.from_level)].append(step)
    plans = []
    for result in results.priorities:
        levels = [
            level
            for level in range(reached_level(result), result.target)
            if steps[(result.capability.pk, level)]
        ]
        # The top priorities get the whole path to their target; the others
        # the first action towards their next level, which keeps the report
        # focused (and within its page and time budget) when many
        # capabilities are below target. The app's framework guide lists all.
        stages = [
            Stage(level, steps[(result.capability.pk, level)]) for level in levels
        ]
        if result.priority > DETAILED_PLANS:
            stages = [Stage(level, found[:1]) for level, found in stages[:1]]
        plans.append(StepPlan(result, stages))
    sustain = [
        c for c in results.capabilities if c.score is not None and c.priority is None
    ]
    return plans, sustain


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
        raise NothingPublished(
            "No results are published yet: the report is written from the "
            "published results, when the assessment closes or earlier when "
            "the FinOps team publishes them."
        )
    results, participation = shown.results, shown.participation
    comparison = shown.comparison
    plans, sustain = step_plans(results)
    drawn = report_charts(results)
    cost_evidence = evidence.current_evidence(assessment)
    mismatches = evidence.mismatches(results, cost_evidence)
    _, changes = changes_by_name(comparison)
    domains = [
        {
            "result": domain,
            "heatmap": heatmap_table(domain.capabilities),
            "rows": [
                capability_row(c, changes.get(c.capability.name))
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
        "summary": summary_sentences(results, participation)
        + evidence.summary_sentences(mismatches),
        "top_priorities": results.priorities[:5],
        "radar": drawn["radar"],
        "domains": domains,
        "plans": plans[:DETAILED_PLANS],
        "brief_plans": [p for p in plans[DETAILED_PLANS:] if p.result.gap >= NEAR_GAP],
        "near_target": [
            p.result for p in plans[DETAILED_PLANS:] if p.result.gap < NEAR_GAP
        ],
        "near_gap": NEAR_GAP,
        "detailed": DETAILED_PLANS,
        "sustain": sustain,
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


def report_charts(results: AssessmentResults) -> dict[str, object]:
    """Draw the report's matplotlib chart, the domain radar, as an SVG data: URI.

    The per-domain bar charts and heatmaps are drawn in HTML (see
    `capability_row` and `heatmap_table`).
    """
    if results.overall is None:
        return {"radar": None}
    return {"radar": image_uri(charts.to_svg(charts.radar(results)))}


@dataclass(frozen=True)
class CapabilityRow:
    """What a domain page shows of one capability, bars included."""

    result: CapabilityResult
    answers_background: str  # the answer distribution as a CSS gradient
    score_percent: float  # bar length on the 0-3 scale
    target_percent: float  # target mark position on the same scale
    change: Delta | None = None  # since the previous round, if any


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
    result: CapabilityResult, change: Delta | None = None
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
