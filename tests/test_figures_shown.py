"""Every figure reads the same on every surface, and what is said of it agrees.

One formatting path (assessment.display) for the dashboard, the report, the
charts and the exports' display columns; level, gap, priority and colour
follow the score as shown.
"""

import csv
import io
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from openpyxl import load_workbook

from assessment import exports
from assessment.disclosure import shown_results
from assessment.participation import Group
from assessment.report_content import ReportOptions, report_html
from assessment.scoring import assessment_results
from tests.factories import (
    DI,
    DK,
    create_answered_response,
    create_scoped_assessment,
    publish_snapshot,
)

ROOT = Path(settings.BASE_DIR)


def answered(organisation, framework, values: list[int], *, target: int = 2):
    """An assessment of Data Ingestion answered once per value, by practitioners.

    Published, as viewers and the report read published results.
    """
    assessment = create_scoped_assessment(
        organisation=organisation,
        framework=framework,
        capability_slugs=[DI],
        targets={DI: target},
    )
    for value in values:
        create_answered_response(
            assessment=assessment, persona="finops-practitioner", answers={DI: value}
        )
    publish_snapshot(assessment=assessment)
    return assessment


def published(assessment):
    return shown_results(assessment, owner=False)


def dashboard(client, owner, assessment) -> str:
    client.force_login(owner)
    url = reverse("assessment:results", args=[assessment.pk])
    return client.get(url).content.decode()


def capability_row(html: str) -> str:
    return re.search(rf'id="cap-{DI}".*?</tr>', html, re.S).group(0)


def test_the_report_says_the_same_overall_on_its_cover_and_in_its_summary(
    organisation, framework
):
    # 23/20 = 1.15 exactly: half-up gives 1.2, formatting the float gave 1.1.
    assessment = answered(organisation, framework, [1] * 17 + [2] * 3)
    html = report_html(assessment, ReportOptions())
    assert "1.2 / 3" in html
    assert "Overall FinOps maturity is Crawl (1.2 on the 0–3 scale)" in html
    assert "(1.1 on the" not in html


def test_a_score_shown_as_1_5_is_walk_everywhere(
    client, owner, organisation, framework
):
    # 29/20 = 1.45: shown as 1.5, so labelled Walk like any other 1.5.
    assessment = answered(organisation, framework, [1] * 11 + [2] * 9)
    assert assessment_results(assessment).overall_level_name == "Walk"
    html = dashboard(client, owner, assessment)
    overall = html[html.index("Overall maturity") :][:400]
    assert "1.5" in overall and ">Walk<" in overall
    assert ">Walk<" in capability_row(html)
    report = report_html(assessment, ReportOptions())
    assert "Overall FinOps maturity is Walk (1.5 on the 0–3 scale)" in report


def test_a_capability_shown_at_its_target_has_met_it(
    client, owner, organisation, framework
):
    # 39/20 = 1.95 shows as 2.0 against a target of 2: no gap, no priority.
    assessment = answered(organisation, framework, [2] * 19 + [1])
    html = dashboard(client, owner, assessment)
    row = capability_row(html)
    assert ">2.0<" in row and ">met<" in row
    assert "text-danger" not in row and 'title="Priority"' not in row
    assert "Every scored capability has reached its target." in html
    report = report_html(assessment, ReportOptions())
    assert "Every scored capability meets or exceeds its target." in report


def test_a_gap_reads_the_same_in_badges_tables_and_sentences(
    client, owner, organisation, framework
):
    # 1/3 shown as 0.3 against a target of 2: a gap of 1.7 everywhere.
    assessment = answered(organisation, framework, [0, 0, 1])
    html = dashboard(client, owner, assessment)
    assert "gap 1.7" in html
    assert '<span class="text-danger">1.7</span>' in capability_row(html)
    assert "−1.7" not in html and "-1.7" not in html
    report = report_html(assessment, ReportOptions())
    priorities = report.split('class="fixed priorities"')[1].split("</table>")[0]
    assert '<td class="num">1.7</td>' in priorities
    assert "−1.7" not in report and "-1.7" not in report


def test_percentages_round_half_up_on_the_dashboard_and_in_the_report(
    client, owner, organisation, framework
):
    # One "Don't know" in eight answers: 12.5% reads 13%, never 12%.
    assessment = answered(organisation, framework, [1] * 7 + [DK])
    html = dashboard(client, owner, assessment)
    assert ">13%<" in capability_row(html)
    report = report_html(assessment, ReportOptions())
    knowledge = report[report.index("Knowledge gaps") :]
    assert ">13%<" in knowledge and ">12%<" not in knowledge
    assert Group(people=8, started=1, submitted=1).response_percent == 13


def test_the_dashboard_shows_the_figures_the_method_page_promises(
    client, owner, organisation, framework
):
    assessment = answered(organisation, framework, [0, 1, 2, 2, -2])
    row = capability_row(dashboard(client, owner, assessment))
    details = re.search(r"<details.*?</details>", row, re.S).group(0)
    # Mean 5/4 of all respondents, median 1.5, one not-applicable in five.
    assert re.search(r"Mean of all respondents</dt><dd>1.3<", details)
    assert re.search(r"Median answer</dt><dd>1.5<", details)
    assert re.search(r"Not applicable</dt><dd>1 \(20%\)<", details)
    method = client.get(reverse("assessment:method")).content.decode()
    assert "answer details" in method
    assert "<em>as shown</em>" in method


def test_the_results_workbook_has_a_summary_as_shown_and_the_data_in_full(
    organisation, framework
):
    assessment = answered(organisation, framework, [2] * 19 + [1])
    book = load_workbook(
        io.BytesIO(exports.export_results(published(assessment), "xlsx"))
    )
    assert book.sheetnames == ["Summary", "Data"]
    summary = book["Summary"]
    rows = list(summary.iter_rows())
    header = next(r for r in rows if r[0].value == "Domain")
    columns = {cell.value: i for i, cell in enumerate(header)}
    overall = next(r for r in rows if r[0].value == "Overall")
    capability = next(r for r in rows if r[1].value == "Data Ingestion")
    score = capability[columns["Score"]]
    assert (score.value, score.number_format) == (2, "0.0")
    assert capability[columns["Level"]].value == "Walk"
    gap = capability[columns["Gap to target"]]
    assert (gap.value, gap.number_format) == (0, exports.GAP_FORMAT)
    assert capability[columns["Priority"]].value is None
    assert overall[columns["Score"]].value == 2
    data = list(book["Data"].iter_rows(values_only=True))
    row = next(r for r in data if r[2] == "Data Ingestion")
    assert row[data[0].index("Score")] == pytest.approx(39 / 20)
    assert row[data[0].index("Gap")] == 0
    assert row[data[0].index("Priority")] is None


def test_the_csv_keeps_the_score_in_full_and_the_gap_as_shown(organisation, framework):
    assessment = answered(organisation, framework, [2] * 19 + [1])
    content = exports.export_results(published(assessment), "csv")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    row = next(r for r in rows if r[2] == "Data Ingestion")
    assert row[rows[0].index("Score")] == "1.95"
    assert row[rows[0].index("Gap")] == "0.0"


# The modules that turn results into text people read.
FIGURE_MODULES = [
    "charts.py",
    "exports.py",
    "participation.py",
    "report_content.py",
    "scoring.py",
    "views_results.py",
]


def test_no_template_or_module_rounds_a_figure_on_its_own():
    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text()
        assert "floatformat" not in text, path
        assert "widthratio" not in text, path
    for name in FIGURE_MODULES:
        text = (ROOT / "assessment" / name).read_text()
        # Two-decimal percentages are CSS lengths, not figures.
        assert not re.search(r":\.[01]f\}|:\.0%\}", text), name


def test_the_dashboard_heatmap_is_a_readable_table_with_a_colour_key(
    client, owner, organisation, framework
):
    assessment = answered(organisation, framework, [1, 2, 2, 3])
    for _ in range(3):  # a second group, so that there is a breakdown
        create_answered_response(
            assessment=assessment, persona="engineering", answers={DI: 1}
        )
    publish_snapshot(assessment=assessment)
    html = dashboard(client, owner, assessment)
    section = html[html.index('id="heat-title"') :]
    section = section[: section.index("</section>")]
    assert "<svg" not in section  # text of the page's size, not a shrunk image
    key = re.search(r'aria-label="Heatmap colours">.*?</ul>', section, re.S).group(0)
    for shade, label in [(0, "Not started"), (4, "Crawl"), (8, "Walk"), (11, "Run")]:
        assert re.search(rf'heat-{shade}">[0-3]\.0</span> {label}<', key)
    # Practitioners' mean 2.0 has the Walk shade, as in the key.
    assert '<td class="text-center heat-8">2.0</td>' in section
