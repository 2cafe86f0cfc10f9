"""The one formatting path for figures: exact half-up rounding."""

import datetime
from fractions import Fraction

import pytest
from django.template import Context, Template

from assessment import display


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Fraction(23, 20), "1.2"),  # 1.15 exactly: half-up, not banker's
        (1.15, "1.2"),  # the float 1.15 is read as the decimal it prints as
        (1.487, "1.5"),
        (Fraction(29, 20), "1.5"),
        (2, "2.0"),
        (0, "0.0"),
        (None, "–"),
    ],
)
def test_scores_round_half_up_to_one_decimal(value, text):
    assert display.score(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Fraction(1, 4), "+0.3"),
        (Fraction(-1, 4), "−0.3"),
        (0.04, "0.0"),
        (-0.04, "0.0"),
        (None, "–"),
    ],
)
def test_changes_carry_their_sign_and_never_read_minus_zero(value, text):
    assert display.change(value) == text


@pytest.mark.parametrize(
    ("share", "text"),
    [(Fraction(1, 8), "13%"), (0.125, "13%"), (0.615, "62%"), (1, "100%")],
)
def test_percentages_round_half_up_to_whole_numbers(share, text):
    assert display.percent(share) == text


def test_the_template_filters_format_like_the_module():
    template = Template(
        "{% load figures %}{{ a|score }} {{ b|change }} {{ c|percent }}"
    )
    rendered = template.render(Context({"a": 1.15, "b": -0.25, "c": 0.125}))
    assert rendered == "1.2 −0.3 13%"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (datetime.date(2026, 11, 30), "30 Nov 2026"),
        (datetime.date(2027, 1, 5), "5 Jan 2027"),
        (None, "–"),
    ],
)
def test_dates_read_day_short_month_year(value, text):
    assert display.date(value) == text


def test_a_moment_is_shown_in_the_sites_time_zone(settings):
    settings.TIME_ZONE = "Pacific/Auckland"
    # 23:30 UTC on 30 November is already 1 December, 12:30, in Auckland.
    moment = datetime.datetime(2026, 11, 30, 23, 30, tzinfo=datetime.UTC)
    assert display.date(moment) == "1 Dec 2026"
    assert display.date_time(moment) == "1 Dec 2026, 12:30"


def test_the_date_filters_format_like_the_module():
    template = Template("{% load figures %}{{ d|day }} · {{ m|day_time }}")
    moment = datetime.datetime(2026, 11, 30, 9, 5, tzinfo=datetime.UTC)
    rendered = template.render(Context({"d": datetime.date(2026, 12, 21), "m": moment}))
    assert rendered == "21 Dec 2026 · 30 Nov 2026, 09:05"


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (12345.5, "USD", "USD 12,346"),
        (Fraction(-5, 2), "EUR", "EUR −3"),
        (0.4, "", "0"),
        (None, "USD", "–"),
    ],
)
def test_money_is_whole_units_half_up_with_separators(amount, currency, text):
    assert display.money(amount, currency) == text


def test_counts_have_thousands_separators():
    assert display.count(30000) == "30,000"
    assert display.count(None) == "–"
