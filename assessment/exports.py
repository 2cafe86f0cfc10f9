"""Exports of an assessment: raw answers and aggregates as CSV, XLSX and JSON.

Raw answers carry a pseudonym per respondent (R001, R002, ... numbered within
the assessment in submission order), never a name, an email or a database id,
and the day of submission, not its time. Aggregates are what
`disclosure.shown_results` lets the downloader see. Every text cell that a
spreadsheet would read as a formula is neutralised, in CSV and in XLSX alike
(openpyxl too turns a string starting with "=" into a formula), and loses any
control character stored before input refused them (openpyxl cannot write
one).

The aggregates' data (CSV, JSON, the workbook's Data sheet) keep every score
at full precision; the workbook's Summary sheet reads like the dashboard,
with every figure formatted by `display`. Priorities and their reasons are
the advice's (`advice.assessment_advice` on the same shown results), so a
download ranks as the dashboard and the report do.
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

from django.http import HttpResponse
from django.utils import timezone
from django.utils.text import slugify
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from . import display
from .advice import NOT_RANKED, Standing, assessment_advice
from .disclosure import ShownResults
from .models import Answer, Assessment, Response
from .scoring import (
    ALL_VALUES,
    OTHER_PERSONAS,
    AssessmentResults,
    Breakdown,
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
    "Submitted on",
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


def pseudonyms(assessment: Assessment) -> dict[int, str]:
    """Return response id -> R001, R002, ... in submission order (one query).

    Numbered within the assessment, so a label tells nothing of other
    assessments or of database ids.
    """
    ids = list(
        Response.objects.filter(assessment=assessment, status=Response.Status.SUBMITTED)
        .order_by("submitted_at", "pk")
        .values_list("pk", flat=True)
    )
    width = max(3, len(str(len(ids))))
    return {pk: f"R{number:0{width}d}" for number, pk in enumerate(ids, start=1)}


def answer_rows(assessment: Assessment) -> Iterator[list[Any]]:
    """Yield one row per submitted answer (two queries, streamed in chunks)."""
    labels = pseudonyms(assessment)
    rows = (
        Answer.objects.filter(
            response__assessment=assessment,
            response__status=Response.Status.SUBMITTED,
        )
        .order_by("response__submitted_at", "response_id", "capability__position")
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
            labels[pk],
            persona,
            unit,
            domain,
            capability,
            ANSWER_LABELS.get(value, "No answer"),
            value if value is not None and value >= 0 else None,
            comment,
            _local_day(at),
        ]


def _local_day(moment: datetime.datetime | None) -> str:
    """Return the day only: a time of submission could tell who answered."""
    if moment is None:
        return ""
    return timezone.localtime(moment).strftime("%Y-%m-%d")


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
    "Priority reason",
    "Previous score",
    "Change",
    "Note",
]


def standings(shown: ShownResults) -> dict[int, Standing]:
    """Return each capability's priority and reason, as the report ranks them.

    Advice reads only the shown results and catalogue and scope rows, in a
    constant number of queries.
    """
    return assessment_advice(shown.results, shown.participation).standings


def result_rows(
    shown: ShownResults, ranks: dict[int, Standing]
) -> tuple[list[str], list[list[Any]]]:
    """Return the header and rows of the aggregates, at full precision.

    One row per capability, then one per domain, then the overall row.
    Group scores follow as one column per persona shown (then "Other
    personas" if any capability pools small personas); domain rows carry
    the personas' domain scores where they are shown.
    """
    results, comparison = shown.results, shown.comparison
    personas = results.persona_columns
    pooled = any(c.other_personas for c in results.capabilities)
    header = RESULT_HEADER + [f"Persona: {p.name}" for p in personas]
    header += [OTHER_PERSONAS] if pooled else []
    domain_deltas, previous = changes_by_name(comparison)
    rows = []
    for cap in results.capabilities:
        delta = previous.get(cap.capability.name)
        scores = {g.persona.pk: g.score for g in cap.persona_scores}
        other = cap.other_personas.score if cap.other_personas else None
        rows.append(
            [
                "capability",
                cap.capability.domain.name,
                cap.capability.name,
                *_capability_figures(cap, ranks.get(cap.capability.pk, NOT_RANKED)),
                *_delta_figures(delta),
                _note(cap, results.k),
                *[scores.get(p.pk) for p in personas],
                *([other] if pooled else []),
            ]
        )
    blanks = [None] * (len(RESULT_HEADER) - 10)
    for domain in results.domains:
        delta = domain_deltas.get(domain.domain.name)
        scores = {s.persona.pk: s.score for s in domain.persona_scores}
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
                "",
                *[scores.get(p.pk) for p in personas],
                *([None] if pooled else []),
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
            "",
            *[None] * (len(personas) + pooled),
        ]
    )
    return header, rows


def _note(cap: CapabilityResult, k: int) -> str:
    if cap.held_back:
        return f"held back: changed by fewer than {k} people since published"
    if cap.merged:
        return (
            f"not broken down: its groups changed by fewer than {k} people "
            "since published"
        )
    if cap.too_few or cap.withheld:
        return f"fewer than {k} answers"
    if cap.scored and not cap.broken_down:
        return "too few per persona to break down"
    return ""


def _delta_figures(delta: Delta | None) -> list[Any]:
    """Return the previous score (full precision) and the change, or blanks."""
    if delta is None:
        return [None, None]
    return [_number(delta.previous), delta.change]


def _capability_figures(cap: CapabilityResult, standing: Standing) -> list[Any]:
    return [
        cap.score,
        cap.level_name,
        cap.target,
        cap.gap,
        cap.respondent_mean,
        cap.median,
        cap.answered,
        cap.scored,
        *[cap.counts.get(v) for v in ALL_VALUES],
        cap.dont_know_rate,
        cap.not_applicable_rate,
        cap.disagreement,
        cap.contested,
        standing.rank,
        standing.reason,
    ]


def results_json(shown: ShownResults, ranks: dict[int, Standing]) -> dict[str, Any]:
    """Return every aggregate figure as JSON-ready data, at full precision.

    Per capability, the number of scored answers and, per group shown, its
    number of respondents: anyone can check from this file alone that no
    figure rests on fewer than k people.
    """
    results, comparison, snapshot = shown.results, shown.comparison, shown.snapshot
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
        "live": shown.live,
        "published": None
        if shown.live or snapshot is None
        else {
            "snapshot": snapshot.pk,
            "published_at": snapshot.created_at.isoformat(),
            "reason": snapshot.get_reason_display(),
            # Kept at closing: the figures of the results published then, and
            # how many responses submitted since are not in them.
            "kept_results_of": snapshot.figures_published_at.isoformat()
            if snapshot.figures_published_at
            else None,
            "left_out": snapshot.left_out,
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
                "persona_scores": [
                    {
                        "persona": s.persona.slug,
                        "name": s.persona.name,
                        "score": s.score,
                    }
                    for s in d.persona_scores
                ],
            }
            for d in results.domains
        ],
        "capabilities": [
            _capability_json(c, ranks.get(c.capability.pk, NOT_RANKED))
            for c in results.capabilities
        ],
        "priorities": [
            c.capability.slug
            for c in sorted(
                (c for c in results.capabilities if _rank(ranks, c) is not None),
                key=lambda c: _rank(ranks, c),
            )
        ],
        "contested": [c.capability.slug for c in results.contested],
        "personas": _breakdown_json(results.personas),
        "business_units": _breakdown_json(results.business_units),
        "comparison": _comparison_json(comparison),
    }


def _rank(ranks: dict[int, Standing], cap: CapabilityResult) -> int | None:
    return ranks.get(cap.capability.pk, NOT_RANKED).rank


def _capability_json(cap: CapabilityResult, standing: Standing) -> dict[str, Any]:
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
        "too_few": cap.too_few,
        "held_back": cap.held_back,
        "withheld": cap.withheld,
        "counts": None
        if cap.withheld
        else {ANSWER_LABELS[v]: n for v, n in cap.counts.items()},
        "dont_know_rate": cap.dont_know_rate,
        "not_applicable_rate": cap.not_applicable_rate,
        "broken_down": cap.broken_down,
        "groups": [
            {
                "persona": None if g.is_pooled else g.persona.slug,
                "name": g.label,
                "score": g.score,
                "respondents": g.n,
            }
            for g in cap.groups
        ],
        "disagreement": cap.disagreement,
        "contested": cap.contested,
        "priority": standing.rank,
        "priority_reason": standing.reason or None,
    }


def _breakdown_json(breakdown: Breakdown) -> dict[str, Any]:
    other = breakdown.other
    return {
        "groups": [{"name": g.label, "respondents": g.n} for g in breakdown.groups],
        "other": None
        if other is None
        else {"name": other.label, "respondents": other.n},
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
    ("Priority reason", 60, None),  # the longest reasons fit unwrapped
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
    shown: ShownResults, ranks: dict[int, Standing]
) -> list[tuple[list[Any], bool]]:
    """Return the Summary sheet's rows as shown values, each with a bold flag.

    The overall row, then each domain followed by its capabilities; group
    scores (as shown) in trailing columns, one per persona shown, then
    "Other personas" if any capability pools small personas. A domain's row
    holds the personas' domain scores where they are shown.
    """
    results, comparison = shown.results, shown.comparison
    domain_deltas, capability_deltas = changes_by_name(comparison)
    personas, pooled = _group_columns(results)
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
                *[None] * (len(personas) + pooled),
            ],
            True,
        )
    ]
    for domain in results.domains:
        delta = domain_deltas.get(domain.domain.name)
        scores = {s.persona.pk: s.shown_score for s in domain.persona_scores}
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
                    *[scores.get(p.pk) for p in personas],
                    *([None] if pooled else []),
                ],
                True,
            )
        )
        for cap in domain.capabilities:
            delta = capability_deltas.get(cap.capability.name)
            standing = ranks.get(cap.capability.pk, NOT_RANKED)
            rows.append(
                (_summary_capability(cap, standing, delta, personas, pooled), False)
            )
    return rows


def _group_columns(results: AssessmentResults) -> tuple[list, bool]:
    """Return the personas shown anywhere, and whether any group is pooled."""
    pooled = any(c.other_personas for c in results.capabilities)
    return results.persona_columns, pooled


def _summary_capability(
    cap: CapabilityResult,
    standing: Standing,
    delta: Delta | None,
    personas,
    pooled: bool,
) -> list[Any]:
    scores = {g.persona.pk: g.shown_score for g in cap.persona_scores}
    other = cap.other_personas.shown_score if cap.other_personas else None
    return [
        cap.capability.domain.name,
        cap.capability.name,
        cap.shown_score,
        cap.level_name,
        f"{cap.target_name} ({cap.target})",
        cap.gap,
        standing.rank,
        standing.reason,
        cap.disagreement,
        "yes" if cap.contested else "",
        cap.answered,
        _share(cap.dont_know_rate),
        _share(cap.not_applicable_rate),
        display.shown_score(cap.respondent_mean),
        display.shown_score(cap.median),
        delta.change if delta else None,
        *[scores.get(p.pk) for p in personas],
        *([other] if pooled else []),
    ]


def results_workbook(shown: ShownResults, ranks: dict[int, Standing]) -> bytes:
    """Return the results as a workbook: a Summary sheet and a Data sheet."""
    book = Workbook()
    summary = book.active
    summary.title = "Summary"
    _write_summary(summary, shown, ranks)
    data = book.create_sheet("Data")
    header, rows = result_rows(shown, ranks)
    data.append([neutralise(v) for v in header])
    for row in rows:
        data.append([neutralise(v) for v in row])
    data.freeze_panes = "A2"
    for cell in data[1]:
        cell.font = Font(bold=True)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _write_summary(sheet, shown: ShownResults, ranks: dict[int, Standing]) -> None:
    results = shown.results
    assessment = results.assessment
    k = results.k
    responses = (
        "number of responses held back"
        if results.held_back.respondents
        else f"fewer than {k} submitted responses"
        if results.respondents is None
        else f"{results.respondents} submitted response"
        f"{'' if results.respondents == 1 else 's'}"
    )
    published = (
        "live preview, not published"
        if shown.live
        else f"published {display.date(shown.snapshot.created_at)}"
    )
    sheet.append([neutralise(f"{assessment.title}: results")])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append(
        [
            neutralise(
                f"{assessment.organisation.name} · {assessment.get_status_display()}"
                f" · {published} · {responses} · {assessment.framework.name}"
            )
        ]
    )
    sheet.append(
        [
            "Scores run from 0 (Not started) to 3 (Run) and are shown with one "
            "decimal, as on the results page; each level is that of the score "
            "shown. Gap to target: how far a score is below its target "
            f"(“{display.MET}” when it is not). A persona has a score of its "
            f"own with {k} or more respondents; smaller personas are pooled as "
            f"“{OTHER_PERSONAS}”. Priority: the order of the results page and "
            "the report (gap weighted by importance, prerequisites first), with "
            "the reason for each. Full precision: the Data sheet."
        ]
    )
    sheet.append([])
    personas, pooled = _group_columns(results)
    columns = SUMMARY_COLUMNS + [
        (f"Persona: {p.name}", 12, SCORE_FORMAT) for p in personas
    ]
    columns += [(OTHER_PERSONAS, 12, SCORE_FORMAT)] if pooled else []
    sheet.append([neutralise(heading) for heading, _, _ in columns])
    header_row = sheet.max_row
    for cell in sheet[header_row]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="bottom")
    for values, bold in summary_rows(shown, ranks):
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


def download(content: bytes, fmt: str, name: str) -> HttpResponse:
    """Return an export as a file to save (`name` from `filename`)."""
    response = HttpResponse(content, content_type=FORMATS[fmt])
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def export_answers(assessment: Assessment, fmt: str) -> bytes:
    """Return the raw answers in CSV or XLSX."""
    rows = answer_rows(assessment)
    if fmt == "csv":
        return write_csv(ANSWER_HEADER, rows)
    if fmt == "xlsx":
        return write_xlsx(ANSWER_HEADER, rows, title="Answers")
    raise ValueError(f"Raw answers export as csv or xlsx, not {fmt!r}.")


def export_results(shown: ShownResults, fmt: str) -> bytes:
    """Return the aggregates someone may see in CSV, XLSX or JSON."""
    if fmt not in FORMATS:
        raise ValueError(f"Results export as csv, xlsx or json, not {fmt!r}.")
    ranks = standings(shown)
    if fmt == "json":
        return write_json(results_json(shown, ranks))
    if fmt == "csv":
        return write_csv(*result_rows(shown, ranks))
    return results_workbook(shown, ranks)
