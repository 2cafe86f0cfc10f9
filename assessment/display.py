"""One path from a figure or a date to the text people read.

Every page, chart, export display column and the PDF format numbers here, so
that one figure reads the same everywhere; pages and emails format dates here
too (exports keep ISO dates, which spreadsheets sort). Rounding is half-up (half away
from zero) to one decimal for scores, and to whole percents for shares,
decided exactly on fractions: a float such as 1.15 is stored as
1.149999... and would round down.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Iterable
from decimal import Decimal
from fractions import Fraction

from django.utils import timezone

Number = int | float | Fraction | Decimal
# Shown where a figure does not exist (nothing scored, or suppressed).
MISSING = "–"
MINUS = "−"  # a true minus sign, as wide as the plus sign
# Shown as the gap of a score at or above its target.
MET = "met"


def exact(value: Number) -> Fraction:
    """Return a number as an exact fraction (a float by its decimal text)."""
    if isinstance(value, float):
        # repr() is the shortest text that reads back as the same float:
        # 1.15 stays 1.15 rather than its binary neighbour 1.1499999...
        return Fraction(repr(value))
    return Fraction(value)


def round_half_up(value: Number, places: int = 1) -> Decimal:
    """Round half away from zero to `places` decimals, exactly."""
    scaled = abs(exact(value)) * 10**places
    digits = math.floor(scaled + Fraction(1, 2))
    sign = -1 if value < 0 else 1
    return Decimal(sign * digits).scaleb(-places)


def shown_score(value: Number | None) -> Decimal | None:
    """Return a score as displayed: one decimal, half-up (None stays None)."""
    return None if value is None else round_half_up(value, 1)


def shown_percent(share: Number | None) -> int | None:
    """Return a share (0-1) as a whole percentage, half-up."""
    return None if share is None else int(round_half_up(exact(share) * 100, 0))


def score(value: Number | None) -> str:
    """Format a score on the 0-3 scale: "1.5"."""
    shown = shown_score(value)
    if shown is None:
        return MISSING
    return f"{shown:.1f}".replace("-", MINUS)


def change(value: Number | None) -> str:
    """Format a change between two scores with its sign: "+0.3", "−0.2", "0.0"."""
    shown = shown_score(value)
    if shown is None:
        return MISSING
    if shown > 0:
        return f"+{shown:.1f}"
    if shown < 0:
        return f"{MINUS}{-shown:.1f}"
    return "0.0"


def gap(value: Number | None) -> str:
    """Format a gap to target (target − score): "1.3" below target, else "met".

    One convention everywhere: a gap is how far a score is below its
    target, never signed; a score at or above its target has met it.
    """
    shown = shown_score(value)
    if shown is None:
        return MISSING
    return f"{shown:.1f}" if shown > 0 else MET


def percent(share: Number | None) -> str:
    """Format a share (0-1) as a whole percentage: "62%"."""
    shown = shown_percent(share)
    return MISSING if shown is None else f"{shown}%"


# "30 Nov 2026": unambiguous on both sides of the Atlantic, short enough for
# a table cell. Month names are English like the rest of the text.
MONTHS = [
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
]


def _local_date(value: datetime.date | datetime.datetime) -> datetime.date:
    """Return a date, or a moment's date in the site's time zone."""
    if isinstance(value, datetime.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.date()
    return value


def date(value: datetime.date | datetime.datetime | None) -> str:
    """Format a date (or a moment's local date): "30 Nov 2026"."""
    if value is None or value == "":
        return MISSING
    day = _local_date(value)
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def date_time(value: datetime.datetime | None) -> str:
    """Format a moment in the site's time zone: "30 Nov 2026, 14:05"."""
    if value is None or value == "":
        return MISSING
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return f"{date(value)}, {value:%H:%M}"


def count(value: int | None) -> str:
    """Format a count with thousands separators: "30,000"."""
    return MISSING if value is None else f"{value:,}"


def money(amount: Number | None, currency: str = "") -> str:
    """Format an amount in whole units with thousands separators: "USD 12,345"."""
    if amount is None:
        return MISSING
    shown = round_half_up(amount, 0)
    sign = MINUS if shown < 0 else ""
    return f"{currency} {sign}{abs(shown):,.0f}".strip()


def names(items: Iterable[str]) -> str:
    """Join names as prose: "A", "A and B", "A, B and C"."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
