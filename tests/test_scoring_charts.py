"""Charts: valid, deterministic SVG/PNG that respects the anonymity threshold."""

import xml.etree.ElementTree as ET

import pytest

from assessment import charts
from assessment.scoring import assessment_results

from .results_helpers import DI, hand_example, scoped_assessment


@pytest.fixture
def results(organisation, framework):
    return assessment_results(hand_example(organisation, framework))


def test_every_chart_is_well_formed_svg(results):
    svgs = [
        charts.radar_svg(results),
        charts.heatmap_svg(results),
    ]
    for svg in svgs:
        assert svg.startswith("<svg")
        ET.fromstring(svg)  # noqa: S314 (our own output) raises if malformed


def test_svg_output_is_deterministic(results):
    assert charts.heatmap_svg(results) == charts.heatmap_svg(results)
    assert charts.radar_svg(results) == charts.radar_svg(results)
    assert "<dc:date>" not in charts.radar_svg(results)


def test_charts_keep_names_as_text(results):
    heatmap = charts.heatmap_svg(results)
    assert "Data Ingestion" in heatmap
    assert "2.3" in heatmap  # a group score label, one decimal
    assert ">Other<" in heatmap and ">personas<" in heatmap  # wrapped label


def test_heatmap_shows_only_personas_with_at_least_k_answers(results):
    svg = charts.heatmap_svg(results)
    assert "Engineering" in svg
    # Finance has one respondent (k = 2): never a column of its own.
    assert "Finance" not in svg


def test_radar_falls_back_to_bars_with_fewer_than_three_domains(results):
    svg = charts.radar_svg(results)
    assert "Understand Usage" in svg and "Target" in svg
    # The bars' level axis starts at Not started; the radar's rings do not.
    assert "Not started" in svg


def test_radar_draws_a_polar_chart_for_many_domains(organisation, framework):
    slugs = ["data-ingestion", "forecasting", "rate-optimization", "budgeting"]
    slugs += ["finops-assessment"]
    assessment = scoped_assessment(
        organisation, framework, slugs, dict.fromkeys(slugs, 2)
    )
    svg = charts.radar_svg(assessment_results(assessment))
    assert "Manage the" in svg and "FinOps Practice" in svg
    assert "Walk" in svg  # the radial level labels
    assert "Not started" not in svg  # no fallback bar axis


def test_charts_render_without_any_answer(organisation, framework):
    assessment = scoped_assessment(organisation, framework, [DI], {DI: 2})
    empty = assessment_results(assessment)
    assert "No persona has 3 or more answers yet." in charts.heatmap_svg(empty)
    assert charts.radar_svg(empty).startswith("<svg")


def test_png_rendering_gives_a_png(results):
    png = charts.to_png(charts.radar(results), dpi=50)
    assert png.startswith(b"\x89PNG")
