"""Exports: CSV with BOM, XLSX and JSON, formula injection and the command."""

import csv
import io
import json
import re
from html import unescape

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape
from openpyxl import load_workbook

from assessment import exports
from assessment.demo import demo_rounds_create
from assessment.disclosure import shown_results
from assessment.report_content import ReportOptions, report_context
from tests.factories import (
    AL,
    DI,
    create_answered_response,
    create_hand_example,
    create_scoped_assessment,
    publish_snapshot,
)


@pytest.fixture
def assessment(organisation, framework):
    return create_hand_example(organisation=organisation, framework=framework)


def _csv(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def _xlsx(content: bytes, sheet: str | None = None) -> list[tuple]:
    book = load_workbook(io.BytesIO(content))
    sheet = book[sheet] if sheet else book.active
    return list(sheet.iter_rows(values_only=True))


@pytest.mark.parametrize(
    "text", ["=HYPERLINK(1)", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]
)
def test_neutralise_prefixes_formula_starts(text):
    assert exports.neutralise(text) == "'" + text
    assert exports.neutralise("Plain text") == "Plain text"
    assert exports.neutralise(-1.5) == -1.5  # numbers stay numbers


def test_raw_answers_csv_has_one_row_per_submitted_answer(assessment):
    rows = _csv(exports.export_answers(assessment, "csv"))
    assert rows[0] == exports.ANSWER_HEADER
    # Six submitted respondents: 4+4+4+4+4+3 answers; the draft is left out.
    assert len(rows) == 1 + 23
    comment = next(r for r in rows[1:] if r[8])
    assert comment[8] == "Le coût partagé est réparti à la main, dit Zoë."
    assert (comment[2], comment[5], comment[6], comment[7]) == (
        "Finance",
        "Allocation",
        "Run",
        "3",
    )
    assert all(r[1].startswith("R") for r in rows[1:])
    assert not any("@" in cell for row in rows for cell in row)  # no emails


def test_raw_answers_neutralise_formulas_in_csv_and_xlsx(organisation, framework):
    assessment = create_scoped_assessment(
        organisation=organisation,
        framework=framework,
        capability_slugs=[DI],
        targets={DI: 2},
    )
    create_answered_response(
        assessment=assessment,
        persona="engineering",
        answers={DI: 1},
        comments={DI: "=cmd|' /C calc'!A0"},
    )
    csv_rows = _csv(exports.export_answers(assessment, "csv"))
    assert csv_rows[1][8] == "'=cmd|' /C calc'!A0"
    xlsx_rows = _xlsx(exports.export_answers(assessment, "xlsx"))
    assert xlsx_rows[1][8] == "'=cmd|' /C calc'!A0"
    assert xlsx_rows[1][7] == 1  # the score stays a number


def test_raw_answers_xlsx_keeps_non_ascii(assessment):
    rows = _xlsx(exports.export_answers(assessment, "xlsx"))
    assert rows[0] == tuple(exports.ANSWER_HEADER)
    assert "Le coût partagé est réparti à la main, dit Zoë." in [r[8] for r in rows]


def _published(assessment):
    return shown_results(assessment, owner=False)


def test_results_csv_and_xlsx_carry_full_precision(assessment):
    shown = _published(assessment)
    csv_rows = _csv(exports.export_results(shown, "csv"))
    xlsx_rows = _xlsx(exports.export_results(shown, "xlsx"), "Data")
    header = csv_rows[0]
    assert header[:4] == ["Row", "Domain", "Capability", "Score"]
    assert header[-3:] == [
        "Persona: FinOps Practitioner",
        "Persona: Engineering",
        "Other personas",
    ]
    assert "Persona: Finance" not in header  # below k everywhere
    allocation = next(r for r in csv_rows if r[2] == "Allocation")
    assert float(allocation[3]) == pytest.approx(19 / 12, abs=1e-12)
    assert float(allocation[-1]) == 1.5  # engineering and finance, pooled
    assert next(r for r in xlsx_rows if r[2] == "Allocation")[3] == pytest.approx(
        19 / 12, abs=1e-12
    )
    kinds = [r[0] for r in csv_rows[1:]]
    assert kinds == ["capability"] * 4 + ["domain"] * 2 + ["overall"]
    assert float(csv_rows[-1][3]) == pytest.approx(5 / 3)
    forecasting = next(r for r in csv_rows if r[2] == "Forecasting")
    assert forecasting[header.index("Note")] == "too few per persona to break down"
    # The practitioners' domain score: shown for both capabilities they scored.
    understand = next(r for r in csv_rows if r[0] == "domain")
    assert float(understand[-3]) == pytest.approx(25 / 12)
    assert understand[-2] == ""  # engineering pooled in both: no domain score


def test_results_json_matches_the_scoring_engine(assessment):
    shown = _published(assessment)
    results = shown.results
    data = json.loads(exports.export_results(shown, "json"))
    assert data["overall"]["score"] == results.overall
    assert data["respondents"] == 6
    assert data["published"]["snapshot"] == shown.snapshot.pk
    di = data["capabilities"][0]
    assert di["slug"] == DI and di["contested"] is True
    assert di["scored"] == 5
    assert di["groups"] == [
        {
            "persona": "finops-practitioner",
            "name": "FinOps Practitioner",
            "score": 2.5,
            "respondents": 2,
        },
        {
            "persona": None,
            "name": "Other personas",
            "score": pytest.approx(4 / 3),
            "respondents": 3,
        },
    ]
    assert di["disagreement"] == 1.2  # 2.5 and 1.3 as shown
    # The advice's order: Data Ingestion, a prerequisite of Allocation, first.
    assert data["priorities"] == [DI, AL, "forecasting"]
    assert di["priority"] == 1
    assert di["priority_reason"].startswith("prerequisite of Allocation")
    assert data["personas"]["other"] == {"name": "Other personas", "respondents": 3}
    assert "comments" not in data  # aggregates never carry comments


def test_raw_answers_number_respondents_within_the_assessment_by_day(assessment):
    rows = _csv(exports.export_answers(assessment, "csv"))[1:]
    labels = list(dict.fromkeys(r[1] for r in rows))
    assert labels == ["R001", "R002", "R003", "R004", "R005", "R006"]
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", r[9]) for r in rows)


def test_export_command_writes_each_format(assessment, tmp_path):
    for fmt in ("json", "csv", "xlsx"):
        path = tmp_path / f"out.{fmt}"
        call_command(
            "export_results",
            str(assessment.pk),
            "--format",
            fmt,
            "-o",
            str(path),
            stderr=io.StringIO(),
        )
        assert path.stat().st_size > 0
    data = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert data["assessment"]["title"] == assessment.title
    answers = tmp_path / "answers.csv"
    call_command(
        "export_results",
        str(assessment.pk),
        "--format",
        "csv",
        "--answers",
        "-o",
        str(answers),
        stderr=io.StringIO(),
    )
    assert "Zoë" in answers.read_text(encoding="utf-8-sig")


def test_export_command_explains_bad_input(assessment, tmp_path):
    with pytest.raises(CommandError, match="No assessment with id 999999"):
        call_command("export_results", "999999", "-o", str(tmp_path / "x.json"))
    with pytest.raises(CommandError, match="csv or xlsx"):
        call_command(
            "export_results",
            str(assessment.pk),
            "--answers",
            "--format",
            "json",
            "-o",
            str(tmp_path / "x.json"),
        )
    with pytest.raises(CommandError, match="Cannot write"):
        call_command(
            "export_results", str(assessment.pk), "-o", str(tmp_path / "no/x.json")
        )


# --- Priorities: the advice's rank and reason everywhere ---------------------


def _dashboard_ranks(client, user, assessment) -> list[tuple[int, str, str]]:
    """(rank, capability, reason) from the dashboard's capability tables."""
    client.force_login(user)
    url = reverse("assessment:results", args=[assessment.pk])
    page = client.get(url).content.decode()
    badges = re.findall(
        r'<th scope="row" class="fw-normal">([^<]+)<.*?'
        r'title="Priority: ([^"]*)">#(\d+)</span></th>',
        page,
    )
    ranks = sorted(
        (int(n), unescape(name).strip(), unescape(why)) for name, why, n in badges
    )
    # The top priorities above the tables: the same order and reasons.
    top = page.split('id="priorities-title"')[1].split("</ol>")[0]
    listed = re.findall(r'class="fw-semibold link-body-emphasis">([^<]+)</a>', top)
    assert [unescape(n) for n in listed] == [name for _, name, _ in ranks][:5]
    for _, name, why in ranks[:5]:
        assert f"· {escape(why)}</div>" in top, (name, why)
    return ranks


def _export_ranks(shown) -> dict[str, list[tuple[int, str, str]]]:
    """(rank, capability, reason) from each download."""
    found = {}
    rows = _csv(exports.export_results(shown, "csv"))
    header = rows[0]
    found["csv"] = [
        (int(r[header.index("Priority")]), r[2], r[header.index("Priority reason")])
        for r in rows[1:]
        if r[0] == "capability" and r[header.index("Priority")]
    ]
    book = exports.export_results(shown, "xlsx")
    data = _xlsx(book, "Data")
    found["xlsx data"] = [
        (r[data[0].index("Priority")], r[2], r[data[0].index("Priority reason")])
        for r in data[1:]
        if r[0] == "capability" and r[data[0].index("Priority")]
    ]
    summary = _xlsx(book, "Summary")
    start = next(i for i, r in enumerate(summary) if r[0] == "Domain")
    columns = summary[start]
    found["xlsx summary"] = [
        (r[columns.index("Priority")], r[1], r[columns.index("Priority reason")])
        for r in summary[start + 1 :]
        if r[columns.index("Priority")]
    ]
    data = json.loads(exports.export_results(shown, "json"))
    by_slug = {c["slug"]: c for c in data["capabilities"]}
    found["json"] = [
        (by_slug[s]["priority"], by_slug[s]["name"], by_slug[s]["priority_reason"])
        for s in data["priorities"]
    ]
    assert [rank for rank, _, _ in found["json"]] == list(
        range(1, len(found["json"]) + 1)
    )
    # Contested capabilities say "align first", ranked or not.
    for cap in data["capabilities"]:
        if cap["contested"]:
            assert "align first" in cap["priority_reason"], cap["name"]
    return {kind: sorted(ranks) for kind, ranks in found.items()}


def _everywhere_the_same(client, viewer, assessment) -> list[tuple[int, str, str]]:
    shown = shown_results(assessment, owner=False)
    report = report_context(assessment, ReportOptions())["advice"].priorities
    expected = [(p.rank, p.capability.name, p.reason) for p in report]
    assert expected
    assert _dashboard_ranks(client, viewer, assessment) == expected
    for kind, ranks in _export_ranks(shown).items():
        assert ranks == expected, kind
    return expected


def test_a_prerequisite_below_target_ranks_first_in_every_download(
    client, viewer, organisation, framework
):
    assessment = create_scoped_assessment(
        organisation=organisation,
        framework=framework,
        capability_slugs=[DI, AL],
        targets={DI: 2, AL: 3},
        anonymity_threshold=2,
    )
    for value in (1, 1, 2, 1, 1):  # Data Ingestion 1.2: a gap of 0.8
        create_answered_response(
            assessment=assessment,
            persona="finops-practitioner",
            answers={DI: value, AL: 0},
        )
    publish_snapshot(assessment=assessment)
    assert _everywhere_the_same(client, viewer, assessment) == [
        (1, "Data Ingestion", "prerequisite of Allocation; gap 0.8"),
        (2, "Allocation", "after Data Ingestion; largest gap"),
    ]


def test_the_hand_example_ranks_alike_and_its_contested_prerequisite_aligns_first(
    client, viewer, assessment
):
    ranks = _everywhere_the_same(client, viewer, assessment)
    assert [name for _, name, _ in ranks][:2] == ["Data Ingestion", "Allocation"]
    assert "personas disagree: align first" in ranks[0][2]


def test_the_demo_ranks_alike_on_every_page_and_download(client, viewer, organisation):
    demo = demo_rounds_create(organisation=organisation)
    for assessment in (demo.previous, demo.current):
        ranks = _everywhere_the_same(client, viewer, assessment)
        assert len(ranks) > 5


def _export_queries(shown) -> list[int]:
    counts = []
    for fmt in exports.FORMATS:
        with CaptureQueriesContext(connection) as ctx:
            exports.export_results(shown, fmt)
        counts.append(len(ctx.captured_queries))
    return counts


def test_result_downloads_cost_the_same_queries_whatever_the_respondents(
    organisation, framework
):
    assessment = create_scoped_assessment(
        organisation=organisation,
        framework=framework,
        capability_slugs=[DI, AL],
        targets={DI: 2, AL: 3},
    )
    personas = ["finops-practitioner", "engineering", "finance", "operations"]

    def answer(numbers):
        for i in numbers:
            create_answered_response(
                assessment=assessment,
                persona=personas[i % 4],
                answers={DI: i % 4, AL: i % 3},
            )
        publish_snapshot(assessment=assessment)
        return _export_queries(_published(assessment))

    assert answer(range(12)) == answer(range(12, 80))


def test_the_method_page_says_downloads_rank_as_the_report(client):
    method = client.get(reverse("assessment:method")).content.decode()
    assert "plain order by gap" not in method
    assert "The downloads give each capability the same rank" in method
