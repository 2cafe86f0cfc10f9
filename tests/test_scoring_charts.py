"""Charts: valid, deterministic SVG; the heatmap's shades and their CSS."""

import math
import re
import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings

from assessment import charts
from assessment.scoring import assessment_results
from tests.factories import DI, create_hand_example, create_scoped_assessment


@pytest.fixture
def results(organisation, framework):
    return assessment_results(
        create_hand_example(organisation=organisation, framework=framework)
    )


def test_the_radar_is_well_formed_deterministic_svg(results):
    svg = charts.radar_svg(results)
    assert svg.startswith("<svg")
    ET.fromstring(svg)  # noqa: S314 (our own output) raises if malformed
    assert charts.radar_svg(results) == svg
    assert "<dc:date>" not in svg


def test_radar_falls_back_to_bars_with_fewer_than_three_domains(results):
    svg = charts.radar_svg(results)
    assert "Understand Usage" in svg and "Target" in svg
    # The bars' level axis starts at Not started; the radar's rings do not.
    assert "Not started" in svg


@pytest.fixture
def four_domains(organisation, framework):
    """Capabilities of all four domains, nobody answered yet."""
    slugs = ["data-ingestion", "forecasting", "rate-optimization", "budgeting"]
    slugs += ["finops-assessment"]
    return create_scoped_assessment(
        organisation=organisation,
        framework=framework,
        capability_slugs=slugs,
        targets=dict.fromkeys(slugs, 2),
    )


def test_radar_draws_a_polar_chart_for_many_domains(four_domains):
    svg = charts.radar_svg(assessment_results(four_domains))
    assert "Manage the" in svg and "FinOps Practice" in svg
    assert "Walk" in svg  # the radial level labels
    assert "Not started" not in svg  # no fallback bar axis


def test_a_domain_without_a_score_is_a_gap_in_its_line_not_a_zero(four_domains):
    results = assessment_results(four_domains)  # nobody answered: no score
    previous = [1.5, None, 2.0, 1.0]
    figure = charts.radar(results, previous)
    lines = {line.get_label(): line.get_ydata() for line in figure.axes[0].lines}
    then, now = lines["Previous round"], lines["Current"]
    assert [None if math.isnan(v) else v for v in then] == [*previous, 1.5]
    assert all(math.isnan(v) for v in now)
    assert not figure.axes[0].patches  # no filled area over missing scores


def test_the_radar_renders_without_any_answer(organisation, framework):
    assessment = create_scoped_assessment(
        organisation=organisation,
        framework=framework,
        capability_slugs=[DI],
        targets={DI: 2},
    )
    assert charts.radar_svg(assessment_results(assessment)).startswith("<svg")


@pytest.mark.parametrize(
    ("shown", "shade"),
    [("0.0", 0), ("1.0", 4), ("1.5", 6), ("2.0", 8), ("2.9", 11), ("3.0", 11)],
)
def test_a_heatmap_shade_follows_the_score_as_shown(shown, shade):
    assert charts.heat_shade(Decimal(shown)) == shade
    assert charts.heat_shade(None) is None


def test_the_dashboard_styles_carry_the_heatmap_shades_of_the_report():
    css = (Path(settings.STATICFILES_DIRS[0]) / "css" / "app.css").read_text()
    colours = dict(
        re.findall(
            r"^\.heat-(\d+),[^{]*\{ background-color: (#[0-9a-f]{6}); \}", css, re.M
        )
    )
    assert colours == {str(i): charts.heat_colour(i) for i in range(charts.HEAT_SHADES)}
