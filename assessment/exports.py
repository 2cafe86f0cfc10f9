"""Exports of an assessment: raw answers and aggregates as CSV, XLSX and JSON.

Raw answers carry a pseudonym per respondent, never a name or email. Every
text cell that a spreadsheet would read as a formula is neutralised, in CSV
and in XLSX alike (openpyxl too turns a string starting with "=" into a
formula), and loses any control character stored before input refused them
(openpyxl cannot write one).

The aggregates' data (CSV, JSON, the workbook's Data sheet) keep every score
at full precision; the workbook's Summary sheet reads like the dashboard,
with every figure formatted by `display`.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
from collections.abc import Iterable, Iterator
from decimal import Decimal
from fractions import Fraction
from typing import Any

from django.utils import timezone
from django.utils.text import slugify
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from . import display
from .models import Answer, Assessment, Response
from .scoring import (
    ALL_VALUES,
    AssessmentResults,
    CapabilityResult,
    Comparison,
    Delta,
    changes_by_name,
)
from .text import without_controls

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ANSWER_HEADER = [
    "Assessment",
    "Respondent",
    "Persona",
    "Business unit",
    "Domain",
    "Capability",
    "Answer",
    "Score",
    "Comment",
    "Submitted at",
]
ANSWER_LABELS = dict(Answer.Value.choices)
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}


def neutralise(value: Any) -> Any:
    """Make text safe for a spreadsheet: no control characters, no formula.

    Text a spreadsheet would run as a formula gets a leading quote.
    """
    if not isinstance(value, str):
        return value
    value = without_controls(value)
    if value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _number(value: Fraction | Decimal | None) -> float | None:
    """Return an exact figure as a float for the data files (None stays None)."""
    return None if value is None else float(value)


# ---------------------------------------------------------------------------
# Rows
# ---------------------------------------------------------------------------


def answer_rows(assessment: Assessment) -> Iterator[list[Any]]:
    """Yield one row per submitted answer (one query, streamed in chunks)."""
    rows = (
        Answer.objects.filter(
            response__assessment=assessment,
            response__status=Response.Status.SUBMITTED,
        )
        .order_by("response_id", "capability__position")
        .values_list(
            "response_id",
            "response__persona__name",
            "response__business_unit",
            "capability__domain__name",
            "capability__name",
            "value",
            "comment",
            "response__submitted_at",
        )
    )
    for pk, persona, unit, domain, capability, value, comment, at in rows.iterator(
        chunk_size=2000
    ):
        yield [
            assessment.title,
            Response(pk=pk).pseudonym,
            persona,
            unit,
            domain,
            capability,
            ANSWER_LABELS.get(value, "No answer"),
            value if value is not None and value >= 0 else None,
            comment,
            _local(at),
        ]


def _local(moment: datetime.datetime | None) -> str:
    if moment is None:
        return ""
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


RESULT_HEADER = [
    "Row",
    "Domain",
    "Capability",
    "Score",
    "Level",
    "Target",
    "Gap",
    "Respondent mean",
    "Median",
    "Answers",
    "Scored answers",
    *(ANSWER_LABELS[value] for value in ALL_VALUES),
    "Don't know rate",
    "Not applicable rate",
    "Disagreement",
    "Contested",
    "Priority",
    "Personas below threshold",
    "Previous score",
    "Change",
]


def result_rows(
    results: AssessmentResults, comparison: Comparison | None = None
) -> tuple[list[str], list[list[Any]]]:
    """Return the header and rows of the aggregates, at full precision.

    One row per capability, then one per domain, then the overall row.
    Persona scores follow as one column per persona shown (at least k answers).
    """
    personas = results.persona_columns
    header = RESULT_HEADER + [f"Persona: {p.name}" for p in personas]
    domain_deltas, previous = changes_by_name(comparison)
    rows = []
    for cap in results.capabilities:
        delta = previous.get(cap.capability.name)
        scores = {ps.persona.pk: ps.score for ps in cap.persona_scores}
        rows.append(
            [
                "capability",
                cap.capability.domain.name,
                cap.capability.name,
                *_capability_figures(cap),
                *_delta_figures(delta),
                *[scores.get(p.pk) for p in personas],
            ]
        )
    blanks = [None] * (len(RESULT_HEADER) - 9)
    for domain in results.domains:
        delta = domain_deltas.get(domain.domain.name)
        rows.append(
            [
                "domain",
                domain.domain.name,
                "",
                domain.score,
                domain.level_name,
                domain.target,
                domain.gap,
                *blanks,
                *_delta_figures(delta),
                *[None] * len(personas),
            ]
        )
    overall = comparison.overall if comparison else None
    rows.append(
        [
            "overall",
            "",
            "",
            results.overall,
            results.overall_level_name,
            None,
            None,
            *blanks,
            *_delta_figures(overall),
            *[None] * len(personas),
        ]
    )
    return header, rows


def _delta_figures(delta: Delta | None) -> list[Any]:
    """Return the previous score (full precision) and the change, or blanks."""
    if delta is None:
        return [None, None]
    return [_number(delta.previous), delta.change]


def _capability_figures(cap: CapabilityResult) -> list[Any]:
    return [
        cap.score,
        cap.level_name,
        cap.target,
        cap.gap,
        cap.respondent_mean,
        cap.median,
        cap.answered,
        cap.scored,
        *[cap.counts[v] for v in ALL_VALUES],
        cap.dont_know_rate,
        cap.not_applicable_rate,
        cap.disagreement,
        cap.contested,
        cap.priority,
        cap.hidden_personas,
    ]


def results_json(
    results: AssessmentResults, comparison: Comparison | None = None
) -> dict[str, Any]:
    """Return every aggregate figure as JSON-ready data, at full precision."""
    assessment = results.assessment
    return {
        "assessment": {
            "id": assessment.pk,
            "title": assessment.title,
            "scope": assessment.scope_label,
            "status": assessment.status,
            "framework": assessment.framework.name,
            "credit": assessment.framework.credit,
        },
        "anonymity_threshold": results.k,
        "respondents": results.respondents,
        "overall": {
            "score": results.overall,
            "level": results.overall_level_name,
            "previous": _number(comparison.overall.previous) if comparison else None,
        },
        "domains": [
            {
                "slug": d.domain.slug,
                "name": d.domain.name,
                "score": d.score,
                "level": d.level_name,
                "target": d.target,
                "capabilities": [c.capability.slug for c in d.capabilities],
            }
            for d in results.domains
        ],
        "capabilities": [_capability_json(c) for c in results.capabilities],
        "priorities": [c.capability.slug for c in results.priorities],
        "contested": [c.capability.slug for c in results.contested],
        "personas": _breakdown_json(results.personas),
        "business_units": _breakdown_json(results.business_units),
        "comparison": _comparison_json(comparison),
    }


def _capability_json(cap: CapabilityResult) -> dict[str, Any]:
    return {
        "slug": cap.capability.slug,
        "name": cap.capability.name,
        "domain": cap.capability.domain.slug,
        "score": cap.score,
        "level": cap.level_name,
        "target": cap.target,
        "gap": cap.gap,
        "respondent_mean": cap.respondent_mean,
        "median": cap.median,
        "answered": cap.answered,
        "scored": cap.scored,
        "counts": {ANSWER_LABELS[v]: n for v, n in cap.counts.items()},
        "dont_know_rate": cap.dont_know_rate,
        "not_applicable_rate": cap.not_applicable_rate,
        "persona_scores": [
            {"persona": ps.persona.slug, "score": ps.score, "n": ps.n}
            for ps in cap.persona_scores
        ],
        "hidden_personas": cap.hidden_personas,
        "disagreement": cap.disagreement,
        "contested": cap.contested,
        "priority": cap.priority,
    }


def _breakdown_json(breakdown) -> dict[str, Any]:
    return {
        "groups": [{"name": g.label, "respondents": g.n} for g in breakdown.groups],
        "folded_groups": breakdown.folded_groups,
        "folded_respondents": breakdown.folded_respondents,
    }


def _comparison_json(comparison: Comparison | None) -> dict[str, Any] | None:
    if comparison is None:
        return None

    def deltas(items):
        return [
            {
                "name": d.label,
                "current": _number(d.current),
                "previous": _number(d.previous),
                "change": _number(d.change),
            }
            for d in items
        ]

    return {
        "previous_assessment": comparison.previous.pk,
        "domains": deltas(comparison.domains),
        "capabilities": deltas(comparison.capabilities),
        "unmatched_previous_capabilities": comparison.unmatched,
    }


# ---------------------------------------------------------------------------
# Writers
# ---------------------------------------------------------------------------


def write_csv(header: list[str], rows: Iterable[list[Any]]) -> bytes:
    """Return UTF-8 CSV with a BOM, so Excel reads accents correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([neutralise(v) for v in header])
    for row in rows:
        writer.writerow(["" if v is None else neutralise(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def write_xlsx(header: list[str], rows: Iterable[list[Any]], *, title: str) -> bytes:
    """Return an XLSX workbook with one sheet, header row frozen."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31] or "Sheet")
    sheet.freeze_panes = "A2"
    sheet.append([neutralise(v) for v in header])
    for row in rows:
        sheet.append([neutralise(v) for v in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# ---------------------------------------------------------------------------
# Results workbook: a Summary sheet as on the dashboard, the data beside it
# ---------------------------------------------------------------------------

# Number formats that read as `display` writes: one decimal, a signed change
# with a true minus, a gap that reads "met" at or above target, whole percents.
SCORE_FORMAT = "0.0"
CHANGE_FORMAT = '+0.0;"−"0.0;0.0'
GAP_FORMAT = f'0.0;"{display.MET}";"{display.MET}"'
PERCENT_FORMAT = "0%"
SUMMARY_COLUMNS = [
    # (heading, width, number format)
    ("Domain", 28, None),
    ("Capability", 34, None),
    ("Score", 8, SCORE_FORMAT),
    ("Level", 12, None),
    ("Target", 12, None),
    ("Gap to target", 13, GAP_FORMAT),
    ("Priority", 9, None),
    ("Disagreement", 13, SCORE_FORMAT),
    ("Contested", 10, None),
    ("Answers", 9, None),
    ("Don't know", 11, PERCENT_FORMAT),
    ("Not applicable", 14, PERCENT_FORMAT),
    ("Mean of all respondents", 13, SCORE_FORMAT),
    ("Median answer", 10, SCORE_FORMAT),
    ("Change since previous round", 14, CHANGE_FORMAT),
]


def _share(rate: float | None) -> Decimal | None:
    """Return a rate as the whole percent shown, as a share for a 0% format."""
    shown = display.shown_percent(rate)
    return None if shown is None else Decimal(shown) / 100


def summary_rows(
    results: AssessmentResults, comparison: Comparison | None = None
) -> list[tuple[list[Any], bool]]:
    """Return the Summary sheet's rows as shown values, each with a bold flag.

    The overall row, then each domain followed by its capabilities; persona
    scores (as shown) in trailing columns, one per persona shown.
    """
    domain_deltas, capability_deltas = changes_by_name(comparison)
    personas = results.persona_columns
    blanks = [None] * (len(SUMMARY_COLUMNS) - 7)
    overall = comparison.overall if comparison else None
    rows = [
        (
            [
                "Overall",
                "",
                results.shown_overall,
                results.overall_level_name,
                results.shown_target,
                None,
                *blanks,
                overall.change if overall else None,
                *[None] * len(personas),
            ],
            True,
        )
    ]
    for domain in results.domains:
        delta = domain_deltas.get(domain.domain.name)
        rows.append(
            (
                [
                    domain.domain.name,
                    "",
                    domain.shown_score,
                    domain.level_name,
                    domain.shown_target,
                    domain.gap,
                    *blanks,
                    delta.change if delta else None,
                    *[None] * len(personas),
                ],
                True,
            )
        )
        for cap in domain.capabilities:
            delta = capability_deltas.get(cap.capability.name)
            rows.append((_summary_capability(cap, delta, personas), False))
    return rows


def _summary_capability(cap: CapabilityResult, delta: Delta | None, personas):
    scores = {ps.persona.pk: ps.shown_score for ps in cap.persona_scores}
    return [
        cap.capability.domain.name,
        cap.capability.name,
        cap.shown_score,
        cap.level_name,
        f"{cap.target_name} ({cap.target})",
        cap.gap,
        cap.priority,
        cap.disagreement,
        "yes" if cap.contested else "",
        cap.answered,
        _share(cap.dont_know_rate),
        _share(cap.not_applicable_rate),
        display.shown_score(cap.respondent_mean),
        display.shown_score(cap.median),
        delta.change if delta else None,
        *[scores.get(p.pk) for p in personas],
    ]


def results_workbook(
    results: AssessmentResults, comparison: Comparison | None = None
) -> bytes:
    """Return the results as a workbook: a Summary sheet and a Data sheet."""
    book = Workbook()
    summary = book.active
    summary.title = "Summary"
    _write_summary(summary, results, comparison)
    data = book.create_sheet("Data")
    header, rows = result_rows(results, comparison)
    data.append([neutralise(v) for v in header])
    for row in rows:
        data.append([neutralise(v) for v in row])
    data.freeze_panes = "A2"
    for cell in data[1]:
        cell.font = Font(bold=True)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _write_summary(sheet, results: AssessmentResults, comparison) -> None:
    assessment = results.assessment
    sheet.append([neutralise(f"{assessment.title}: results")])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append(
        [
            neutralise(
                f"{assessment.organisation.name} · {assessment.get_status_display()}"
                f" · {results.respondents} submitted response"
                f"{'' if results.respondents == 1 else 's'}"
                f" · {assessment.framework.name}"
            )
        ]
    )
    sheet.append(
        [
            "Scores run from 0 (Not started) to 3 (Run) and are shown with one "
            "decimal, as on the results page; each level is that of the score "
            "shown. Gap to target: how far a score is below its target "
            f"(“{display.MET}” when it is not). Persona scores are shown for "
            f"groups of {results.k} or more. Full precision: the Data sheet."
        ]
    )
    sheet.append([])
    personas = results.persona_columns
    columns = SUMMARY_COLUMNS + [
        (f"Persona: {p.name}", 12, SCORE_FORMAT) for p in personas
    ]
    sheet.append([neutralise(heading) for heading, _, _ in columns])
    header_row = sheet.max_row
    for cell in sheet[header_row]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="bottom")
    for values, bold in summary_rows(results, comparison):
        sheet.append([neutralise(v) for v in values])
        for cell, (_, _, number_format) in zip(
            sheet[sheet.max_row], columns, strict=True
        ):
            if number_format:
                cell.number_format = number_format
            if bold:
                cell.font = Font(bold=True)
    for cell, (_, width, _) in zip(sheet[header_row], columns, strict=True):
        sheet.column_dimensions[cell.column_letter].width = width
    sheet.freeze_panes = sheet.cell(row=header_row + 1, column=3)


def write_json(data: dict[str, Any]) -> bytes:
    # Gaps, spreads and changes are exact decimals (one decimal place).
    return json.dumps(data, ensure_ascii=False, indent=2, default=_number).encode(
        "utf-8"
    )


def filename(assessment: Assessment, kind: str, fmt: str) -> str:
    """Return an ASCII download name such as `q3-maturity-results.csv`."""
    stem = slugify(assessment.title) or f"assessment-{assessment.pk}"
    return f"{stem}-{kind}.{fmt}"


def export_answers(assessment: Assessment, fmt: str) -> bytes:
    """Return the raw answers in CSV or XLSX."""
    rows = answer_rows(assessment)
    if fmt == "csv":
        return write_csv(ANSWER_HEADER, rows)
    if fmt == "xlsx":
        return write_xlsx(ANSWER_HEADER, rows, title="Answers")
    raise ValueError(f"Raw answers export as csv or xlsx, not {fmt!r}.")


def export_results(
    results: AssessmentResults, fmt: str, comparison: Comparison | None = None
) -> bytes:
    """Return the aggregates in CSV, XLSX or JSON."""
    if fmt == "json":
        return write_json(results_json(results, comparison))
    header, rows = result_rows(results, comparison)
    if fmt == "csv":
        return write_csv(header, rows)
    if fmt == "xlsx":
        return results_workbook(results, comparison)
    raise ValueError(f"Results export as csv, xlsx or json, not {fmt!r}.")
