"""The PDF report's content, its URL fetcher and its rendering."""

import importlib
import pkgutil
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.utils.html import escape

import assessment as assessment_package
from assessment import pdf_engine, report_content
from assessment.demo import demo_rounds_create
from assessment.lifecycle import assessment_create
from assessment.models import Capability, NextStep
from assessment.pdf_engine import StaticOnlyURLFetcher, URLRefused, weasyprint_pdf
from assessment.report_content import ReportOptions, report_context, report_html
from assessment.reports import render_pdf, report_filename
from assessment.scoring import assessment_results
from tests.factories import (
    AL,
    BU,
    DI,
    FC,
    create_answered_response,
    create_hand_example,
    publish_snapshot,
)
from tests.pdf_reading import pdf_read, pdf_text

HOSTILE = (
    '<img src="http://evil.example/pixel.png">'
    '<link rel="stylesheet" href="file:///etc/passwd"><b>bold</b>'
)


@pytest.fixture
def assessment(organisation, framework):
    return create_hand_example(organisation=organisation, framework=framework)


def test_the_html_shows_the_overall_level_and_domain_scores(assessment):
    results = assessment_results(assessment)
    html = report_html(assessment, ReportOptions())
    assert f"{results.overall:.1f} / 3" in html
    assert results.overall_level_name in html
    for domain in results.domains:
        assert escape(domain.domain.name) in html
        assert f"{domain.score:.1f}" in html
    assert "Acme Énergie" in html


def test_the_summary_is_written_from_the_figures(assessment):
    results = assessment_results(assessment)
    ctx = report_context(assessment, ReportOptions())
    summary = " ".join(ctx["summary"])
    assert "6 people answered" in summary
    assert f"is {results.overall_level_name} ({results.overall:.1f}" in summary
    assert "lorem" not in summary.lower()
    # The first decision asked of leadership names the first priority.
    first = ctx["advice"].priorities[0]
    assert any(first.capability.name in d for d in ctx["advice"].decisions)


def test_next_steps_start_at_the_current_level_of_each_priority(assessment):
    ctx = report_context(assessment, ReportOptions())
    advice = ctx["advice"]
    # Allocation scores 1.5 (labelled Walk, but Walk not fully reached),
    # target Run: its first actions are those from Crawl, in the plan.
    expected = list(
        NextStep.objects.filter(
            capability__slug=AL, capability__version=assessment.framework, from_level=1
        )
    )
    assert expected
    planned = {item.key for item in advice.plan}
    assert {s.action_key for s in expected} & planned
    later = {item.key for item in advice.roadmap["6-12"]}
    walk_to_run = NextStep.objects.filter(
        capability__slug=AL, capability__version=assessment.framework, from_level=2
    )
    assert {s.action_key for s in walk_to_run} & later
    html = report_html(assessment, ReportOptions())
    assert escape(advice.plan[0].action) in html
    assert "90-day plan" in html and "6–12 months" in html
    # Budgeting (2.0 against a Crawl target) is sustained, not planned.
    assert BU not in {p.capability.slug for p in advice.priorities}
    assert BU in {c.capability.slug for c in advice.sustain}


def test_personas_under_the_threshold_are_pooled_in_participation(assessment):
    ctx = report_context(assessment, ReportOptions())
    personas, units = (breakdown for breakdown, _ in ctx["breakdowns"])
    # Finance has one submitted response, under the threshold of 2:
    # engineering (2) joins it so that the pool reaches the threshold.
    assert [(g.label, g.n) for g in personas.rows] == [
        ("FinOps Practitioner", 3),
        ("Other personas", 3),
    ]
    html = report_html(assessment, ReportOptions())
    section = html.split('id="participation"')[1].split("</section>")[0]
    assert "Finance" not in section and "Engineering" not in section


def test_the_methodology_explains_pooling_suppression_and_publication(assessment):
    html = report_html(assessment, ReportOptions())
    section = html.split('id="methodology"')[1]
    assert "pooled into one group, “Other personas”" in section
    assert "No figure in this report rests on fewer than 2" in section
    assert "<h3>Published results</h3>" in section
    # The worked example is the app's own scoring of the method page's.
    assert "(2.0 + 1.0 + 1.7) / 3 = 1.6" in section


def test_there_is_no_report_before_results_are_published(organisation, framework):
    draft = create_hand_example(
        organisation=organisation, framework=framework, published=False
    )
    with pytest.raises(report_content.NothingPublished):
        report_html(draft, ReportOptions())


def test_comments_appear_escaped_only_when_asked_and_published(assessment):
    create_answered_response(
        assessment=assessment,
        persona="finance",
        answers={AL: 2},
        comments={AL: HOSTILE},
    )
    publish_snapshot(assessment=assessment)
    with_comments = ReportOptions(include_comments=True)
    assert "Appendix" not in report_html(assessment, with_comments)
    assessment.comments_published = True
    html = report_html(assessment, with_comments)
    assert "Appendix: participants" in html
    assert "&lt;img src=&quot;http://evil.example/pixel.png&quot;&gt;" in html
    assert '<img src="http://evil' not in html
    assert "<b>bold</b>" not in html
    assert "Le coût partagé est réparti à la main" in html
    assert "Appendix" not in report_html(assessment, ReportOptions())


@pytest.mark.real_pdf
def test_a_hostile_comment_fetches_nothing_and_prints_as_text(assessment, monkeypatch):
    create_answered_response(
        assessment=assessment,
        persona="finance",
        answers={AL: 2},
        comments={AL: HOSTILE},
    )
    publish_snapshot(assessment=assessment)
    assessment.comments_published = True
    fetched: list[str] = []
    original = StaticOnlyURLFetcher.fetch

    def recording_fetch(self, url, headers=None):
        fetched.append(url)
        return original(self, url, headers)

    monkeypatch.setattr(StaticOnlyURLFetcher, "fetch", recording_fetch)
    # Laid out in this process (not a render's child) to watch the fetcher.
    html = report_content.report_html(assessment, ReportOptions(include_comments=True))
    pdf = weasyprint_pdf(html, extra_css=report_content.heat_styles())
    assert fetched, "the radar chart loads through the fetcher"
    assert all(url.startswith(("file://", "data:")) for url in fetched)
    assert not [url for url in fetched if "evil" in url or "passwd" in url]
    assert "evil.example/pixel.png" in pdf_text(pdf)


@pytest.mark.real_pdf
def test_the_pdf_text_holds_the_level_and_domain_scores(assessment):
    results = assessment_results(assessment)
    pdf = render_pdf(assessment, ReportOptions())
    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf)
    assert results.overall_level_name in text
    assert f"{results.overall:.1f} / 3" in text
    for domain in results.domains:
        assert domain.domain.name in text
    read = pdf_read(pdf)
    assert read.metadata["Author"] == "Acme Énergie"
    assert "Q3 maturity" in read.metadata["Title"]
    top_level = [title for level, title in read.outline if level == 0]
    assert top_level[:4] == [
        "Cover",
        "Executive summary",
        "90-day plan",
        "Domain overview",
    ]
    assert "Priorities and roadmap" in top_level
    assert "Methodology" in top_level
    assert read.sizes[0][0] == 595  # A4


@pytest.mark.real_pdf
def test_us_letter_is_offered(assessment):
    pdf = render_pdf(assessment, ReportOptions(paper="letter"))
    assert pdf_read(pdf).sizes[1] == (612, 792)


def test_an_assessment_without_answers_still_reports(organisation, framework):
    empty = assessment_create(
        organisation=organisation, framework=framework, title="Empty round"
    )
    publish_snapshot(assessment=empty)
    html = report_html(empty, ReportOptions())
    assert "No submitted answer can be scored yet" in html
    assert "Next steps appear once participants have submitted" in html


def test_a_previous_round_adds_the_comparison(assessment, organisation, framework):
    later = assessment_create(
        organisation=organisation,
        framework=framework,
        title="Q4 maturity",
        capabilities=list(
            Capability.objects.filter(version=framework, slug__in=[DI, AL, FC, BU])
        ),
        previous=assessment,
        anonymity_threshold=2,
    )
    create_answered_response(
        assessment=later,
        persona="finops-practitioner",
        answers={DI: 3, AL: 3, FC: 2, BU: 2},
    )
    create_answered_response(
        assessment=later,
        persona="finops-practitioner",
        answers={DI: 3, AL: 3, FC: 2, BU: 2},
    )
    publish_snapshot(assessment=later)
    html = report_html(later, ReportOptions())
    assert "Change since the previous round" in html
    assert "Compared with “Q3 maturity”" in html
    ctx = report_context(later, ReportOptions())
    rises = ctx["movers"]["rises"]
    assert rises, "every capability scores higher in the later round"
    assert all(d.change > 0 for d in rises)
    assert [d.change for d in rises] == sorted((d.change for d in rises), reverse=True)
    assert f"{rises[0].label}: " in html
    # Each capability's change also sits in its domain's table.
    rows = [row for d in ctx["domains"] for row in d["rows"]]
    names = {row.result.capability.name for row in rows}
    assert {row.change.label for row in rows} == names
    assert html.count('<th class="num">Change</th>') >= len(ctx["domains"])


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/x.css",
        "https://example.com/font.ttf",
        "ftp://example.com/x",
        "file:///etc/passwd",
        "file://otherhost/static/report/report.css",
    ],
)
def test_the_fetcher_refuses_anything_but_static_files(url):
    with pytest.raises(URLRefused):
        StaticOnlyURLFetcher().fetch(url)


def test_the_fetcher_refuses_a_path_escaping_the_static_folder():
    static = Path(settings.STATICFILES_DIRS[0]).resolve()
    escaping = f"file://{static}/report/../../manage.py"
    assert (static / "report" / ".." / ".." / "manage.py").resolve().is_file()
    with pytest.raises(URLRefused):
        StaticOnlyURLFetcher().fetch(escaping)


def test_the_fetcher_serves_static_files_and_data_uris():
    static = Path(settings.STATICFILES_DIRS[0]).resolve()
    css = StaticOnlyURLFetcher().fetch(f"file://{static}/report/report.css")
    assert css.content_type == "text/css"
    assert b"@font-face" in css.read()
    data = StaticOnlyURLFetcher().fetch("data:text/plain;base64,aGVsbG8=")
    assert data.read() == b"hello"


def test_the_file_name_is_clean(assessment, organisation):
    assessment.title = "2026 Q4"
    assert report_filename(assessment) == "acme-energie-finops-maturity-2026-q4.pdf"
    assessment.title = "FinOps review / H1"
    assert report_filename(assessment) == "acme-energie-finops-review-h1.pdf"


def test_the_radar_is_an_svg_image(assessment):
    results = assessment_results(assessment)
    drawn = report_content.report_charts(results)
    assert list(drawn) == ["radar"]
    assert drawn["radar"].startswith("data:image/svg+xml;base64,")


def test_domain_bars_place_score_and_target_on_the_0_to_3_scale(assessment):
    results = assessment_results(assessment)
    allocation = next(c for c in results.capabilities if c.capability.slug == AL)
    row = report_content.capability_row(allocation)
    # The bar is as long as the score shown: 14/9 shows as 1.6.
    assert row.score_percent == round(1.6 / 3 * 100, 2)
    assert row.target_percent == 100.0  # target Run
    html = report_html(assessment, ReportOptions())
    assert f"width: {row.score_percent}%" in html
    assert "left: 100.0%" in html


def test_capabilities_close_to_target_are_named_not_planned(organisation):
    rounds = demo_rounds_create(organisation=organisation, respondents=40, seed=7)
    assessment = rounds.current
    advice = report_context(assessment, ReportOptions())["advice"]
    assert advice.close_to_target
    near = {c.capability.pk for c in advice.close_to_target}
    for result in advice.close_to_target:
        assert result.gap < report_content.NEAR_GAP and not result.contested
    moved = {c.pk for item in advice.actions for c in item.capabilities}
    assert not near & moved
    below = {c.capability.pk for c in assessment_results(assessment).priorities}
    ranked = {p.capability.pk for p in advice.priorities}
    assert ranked | near == below


def test_the_heatmap_hides_personas_under_k_and_merges_blank_runs(assessment):
    ctx = report_context(assessment, ReportOptions())
    personas, rows, _ = ctx["domains"][0]["heatmap"]
    # Finance has a single response, under the threshold of 2: no column.
    assert "Finance" not in personas
    assert "FinOps Practitioner" in personas
    for _, cells in rows:
        assert sum(cell.span for cell in cells) == len(personas)
    html = report_html(assessment, ReportOptions())
    assert 'class="heatmap fixed"' in html


def test_runs_of_blank_heatmap_cells_become_one_cell():
    one_and_a_half, two = Decimal("1.5"), Decimal("2.0")
    cells = report_content.heat_cells([one_and_a_half, None, None, two, None])
    assert [(c.score, c.span) for c in cells] == [
        (one_and_a_half, 1),
        (None, 2),
        (two, 1),
        (None, 1),
    ]
    assert [c.shade for c in cells] == [6, None, 8, None]


def test_indentation_before_block_tags_goes_and_spaces_between_words_stay():
    html = (
        "<section>\n  <p>Owner <strong>Finance</strong> <span>KPI</span>\n  </p>\n"
        '  <table>\n    <tr>\n      <td class="num">1.0</td>\n    </tr>\n  </table>'
        '\n<p class="comment">line one\n  line two</p>\n</section>'
    )
    assert pdf_engine.without_block_spacing(html) == (
        "<section><p>Owner <strong>Finance</strong> <span>KPI</span></p><table><tr>"
        '<td class="num">1.0</td></tr></table><p class="comment">line one\n  line two'
        "</p></section>"
    )


def test_the_report_html_has_no_indentation_before_rows_or_cells(assessment):
    html = pdf_engine.without_block_spacing(report_html(assessment, ReportOptions()))
    assert "<tr>" in html and "<td" in html
    assert not re.search(r"\s<(?:tr|td|th|li|p|div)[\s>]", html)


def test_a_render_leaves_the_html_parser_as_it_ships(assessment):
    tinyhtml5 = pytest.importorskip("tinyhtml5.inputstream")
    # WeasyPrint lays out in a render process; what could replace this
    # process's parser state is importing the app or building the report.
    for module in pkgutil.walk_packages(assessment_package.__path__, "assessment."):
        if ".migrations." not in module.name:
            importlib.import_module(module.name)
    render_pdf(assessment, ReportOptions())
    # No module-level state of WeasyPrint's parser is replaced by the app.
    assert type(tinyhtml5.characters_until_regex) is dict
