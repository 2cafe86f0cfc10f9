"""The PDF report's layout: keys stay whole, headings stay whole, pages fill."""

import re

import pytest

from assessment import report_content
from assessment.demo import demo_rounds_create
from assessment.report_content import ReportOptions, report_html
from assessment.reports import render_pdf
from tests.factories import create_hand_example
from tests.pdf_reading import pdf_read

EVERY_PERSONA = [
    "FinOps Practitioner",
    "Engineering",
    "Operations",
    "Finance",
    "Product",
    "Procurement",
    "Leadership (executives)",
    "ITAM",
    "ITFM/TBM",
    "ITSM/ITIL",
    "Security",
    "Sustainability",
]


@pytest.fixture
def assessment(organisation, framework):
    return create_hand_example(organisation=organisation, framework=framework)


def test_each_legend_swatch_stays_with_its_label(assessment):
    html = report_html(assessment, ReportOptions())
    legend = re.search(r'<div class="legend">.*?</div>', html, re.S).group(0)
    swatches = re.findall(r"<i [^>]*></i>", legend)
    kept = re.findall(r'<span class="key"><i [^>]*></i>[^<]+</span>', legend)
    assert len(swatches) == len(kept) == 6
    assert ">Run</span>" in legend


def test_persona_headings_never_break_inside_a_word(assessment, monkeypatch):
    html = report_html(assessment, ReportOptions())
    assert "\u00ad" not in html  # no soft hyphen: "Practi-tioner" cannot happen
    assert '<th class="center">FinOps Practitioner</th>' in html
    # Too narrow to fit across: the headings turn rather than break.
    monkeypatch.setattr(report_content, "PERSONA_COLUMNS_MM", 20)
    turned = report_html(assessment, ReportOptions())
    assert '<th class="turned"><div>FinOps Practitioner</div></th>' in turned


@pytest.mark.parametrize(
    ("names", "upright"),
    [
        (EVERY_PERSONA[:6], True),  # the demo's widest domain
        (EVERY_PERSONA, False),
        (["ITAM", "Finance", "Product", "Security", "Engineering"] * 2, False),
        ([], True),
    ],
)
def test_headings_turn_only_when_a_word_would_not_fit_across(names, upright):
    assert report_content.upright_headings(names) is upright


@pytest.mark.real_pdf
def test_domains_follow_one_another_instead_of_half_empty_pages(organisation):
    rounds = demo_rounds_create(organisation=organisation, respondents=30, seed=5)
    pdf = render_pdf(rounds.current, ReportOptions())
    pages = pdf_read(pdf).pages
    domains = [
        "Understand Usage & Cost",
        "Quantify Business Value",
        "Optimize Usage & Cost",
        "Manage the FinOps Practice",
    ]
    heatmap_pages = {
        i for i, text in enumerate(pages) for d in domains if f"sees {d}" in text
    }
    # One page per domain would be four; they share pages now.
    assert len(heatmap_pages) < len(domains)
    # The first domain starts under the domain overview.
    # (Page 1, the cover, names it in its contents.)
    overview = next(
        i for i, text in enumerate(pages) if i and "Domain overview" in text
    )
    assert f"How each persona sees {domains[0]}" in "".join(
        pages[overview : overview + 2]
    )
    assert "Score " in pages[overview].split("Overall")[-1]
