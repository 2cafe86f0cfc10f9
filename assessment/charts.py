"""Charts of assessment results, shared by the dashboard and the PDF report.

matplotlib's object API only (`Figure()`): pyplot keeps global state that
leaks between requests. Every chart is a function returning a Figure; render
it with `to_svg` (deterministic text: fixed hash salt, no date); the `*_svg`
helpers do both in one call. The persona heatmap is an HTML table on the
dashboard and in the report: its colour scale and shades are defined here.
"""

from __future__ import annotations

import io
import math
import textwrap
from decimal import Decimal

import matplotlib
from matplotlib.colors import LinearSegmentedColormap, to_hex
from matplotlib.figure import Figure

from .models import Level
from .scoring import AssessmentResults, DomainResult

BRAND = "#0b3d5c"
ACCENT = "#1f8a70"
TARGET = "#d98c1f"
GRID = "#d0d7de"
GRID_DARK = "#6b7785"  # the previous round, beside the current one
# Not started, Crawl, Walk, Run, Don't know, Not applicable (as app.css).
VALUE_COLOURS = {
    0: "#9aa5b1",
    1: "#d98c1f",
    2: "#2677ad",
    3: "#1b7c65",
    -1: "#e4e7eb",
    -2: "#f5f7fa",
}
# Ends on a tint of the accent rather than the accent itself, so that dark
# text stays readable (contrast of at least 4.5:1) on every shade.
HEAT = LinearSegmentedColormap.from_list(
    "maturity", ["#f3d6c4", "#f7f1d0", "#bfe0d4", "#3f9f86"]
)
# Heatmap cells take one of this many shades, as classes (`heat_css`).
HEAT_SHADES = 12
# Text stays text in the SVG: smaller, selectable and searchable in the PDF.
SVG_RC = {"svg.hashsalt": "finops-maturity", "svg.fonttype": "none"}


def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def _fixed_figure(
    width: float,
    height: float,
    *,
    left: float,
    bottom: float,
    top: float,
    right: float = 0.45,
) -> Figure:
    """Return a figure with margins given in inches.

    Constrained layout measures every label by drawing the figure an extra
    time; charts whose labels are wrapped to a known width skip that cost
    (it halves the time of the report's charts).
    """
    fig = Figure(figsize=(width, height))
    fig.subplots_adjust(
        left=left / width,
        right=1 - right / width,
        bottom=bottom / height,
        top=1 - top / height,
    )
    return fig


def to_svg(fig: Figure) -> str:
    """Render a figure as SVG text, identical for identical data."""
    buffer = io.StringIO()
    with matplotlib.rc_context(SVG_RC):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    # Drop the XML prolog and DOCTYPE so the SVG can be inlined in HTML.
    return text[text.index("<svg") :]


def _wrap(label: str, width: int = 18) -> str:
    return "\n".join(textwrap.wrap(label, width)) or label


# ---------------------------------------------------------------------------
# Radar of domains: current vs target
# ---------------------------------------------------------------------------


def radar(
    results: AssessmentResults, previous: list[float | None] | None = None
) -> Figure:
    """Plot each domain's score against its target on a 0-3 radar.

    `previous` holds the previous round's domain scores, in the order of
    `results.domains` (None where a domain had none): drawn as a dotted
    line, so the trend reads on the chart. A domain without a score has no
    point on its line (a gap, never a zero that would read as "not
    started"). With fewer than three domains a radar is meaningless, so
    paired bars are drawn instead.
    """
    domains = results.domains
    if len(domains) < 3:
        return _domain_pairs(domains)
    # Room around the circle for the two-line domain names and the legend.
    fig = _fixed_figure(5.6, 4.8, left=1.2, right=1.2, bottom=0.55, top=0.6)
    ax = fig.add_subplot(projection="polar")
    angles = [2 * math.pi * i / len(domains) for i in range(len(domains))]
    closed = [*angles, angles[0]]
    targets = [d.target for d in domains]
    scores = _ring([d.score for d in domains])
    ax.plot(closed, _ring(targets), color=TARGET, linestyle="--", label="Target")
    if previous and any(p is not None for p in previous):
        ax.plot(
            closed,
            _ring(previous),
            color=GRID_DARK,
            linestyle=":",
            linewidth=1.6,
            marker=".",
            label="Previous round",
        )
    ax.plot(closed, scores, color=BRAND, linewidth=2, marker=".", label="Current")
    if not any(math.isnan(score) for score in scores):
        ax.fill(closed, scores, color=BRAND, alpha=0.15)
    ax.set_xticks(angles, [_wrap(d.domain.name, 16) for d in domains], fontsize=8)
    ax.set_ylim(0, 3)
    ax.set_yticks([1, 2, 3], [Level(i).label for i in (1, 2, 3)], fontsize=7)
    ax.set_theta_offset(math.pi / 2)
    ax.set_theta_direction(-1)
    ax.tick_params(axis="x", pad=10)  # keep side labels off the circle
    ax.grid(color=GRID)
    ax.legend(loc="upper right", bbox_to_anchor=(1.15, 1.12), fontsize=8, frameon=False)
    return fig


def _ring(values) -> list[float]:
    """Return the values closed into a ring, a missing one as a gap (NaN)."""
    points = [math.nan if value is None else float(value) for value in values]
    return [*points, points[0]]


def _domain_pairs(domains: list[DomainResult]) -> Figure:
    # Names are wrapped to 24 characters: two inches hold the longest line.
    # The legend sits above the bars, where it covers none of them.
    height = 1.2 + 0.6 * max(len(domains), 1)
    fig = _fixed_figure(5.6, height, left=2.0, right=0.3, bottom=0.35, top=0.35)
    ax = fig.add_subplot()
    names = [_wrap(d.domain.name, 24) for d in domains]
    y = range(len(domains))
    ax.barh(y, [d.score or 0 for d in domains], color=BRAND, label="Current")
    ax.scatter(
        [d.target for d in domains], y, marker="|", s=400, color=TARGET, label="Target"
    )
    _level_axis(ax)
    ax.set_yticks(list(y), names)
    ax.invert_yaxis()
    ax.legend(
        fontsize=8, frameon=False, loc="lower right", bbox_to_anchor=(1, 1), ncols=2
    )
    return fig


def _level_axis(ax) -> None:
    ax.set_xlim(0, 3)
    ax.set_xticks([0, 1, 2, 3], [Level(i).label for i in range(4)], fontsize=8)
    ax.grid(axis="x", color=GRID)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


# ---------------------------------------------------------------------------
# Persona x capability heatmap: shades of an HTML table
# ---------------------------------------------------------------------------


def heat_shade(score: Decimal | None) -> int | None:
    """Return the shade (0 to HEAT_SHADES - 1) of a score as displayed.

    Taken from the shown score, so two cells that read the same have the
    same colour.
    """
    if score is None:
        return None
    return min(int(score * HEAT_SHADES / Level.RUN), HEAT_SHADES - 1)


def heat_colour(shade: int) -> str:
    """Return the background colour of a shade, from the middle of its band."""
    return to_hex(HEAT((shade + 0.5) / HEAT_SHADES))


def heat_css() -> str:
    """Return the CSS classes of the heatmap shades (`.heat-0` ...)."""
    return "\n".join(
        f".heat-{i} {{ background-color: {heat_colour(i)}; }}"
        for i in range(HEAT_SHADES)
    )


# ---------------------------------------------------------------------------
# One-call helpers
# ---------------------------------------------------------------------------


def radar_svg(
    results: AssessmentResults, previous: list[float | None] | None = None
) -> str:
    return to_svg(radar(results, previous))
