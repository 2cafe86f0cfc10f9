"""The PDF maturity report: an HTML template rendered by WeasyPrint.

Rendering costs CPU seconds, so three things keep it from starving the site:
a cache of rendered PDFs keyed by a fingerprint of everything the report shows
(a second download of unchanged data renders nothing), a per-user limit on
concurrent renders shared by every process through the database cache, and a
time budget checked between the rendering stages so that a slow render ends
with a message instead of a worker timeout.
"""

import base64
import contextlib
import functools
import hashlib
import math
import mimetypes
import re
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit
from urllib.request import url2pathname

import pyphen
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models import Count, F, Max, Sum
from django.db.models.functions import Length
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.text import slugify
from django.views.decorators.http import require_GET
from matplotlib.colors import to_hex
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse, path2url

from . import charts, html_parser_cache
from .access import get_assessment_for_user
from .models import (
    Answer,
    Assessment,
    Capability,
    Invitation,
    Level,
    Membership,
    NextStep,
    RenderedReport,
    Response,
    ScopedCapability,
)
from .participation import ParticipationSummary, participation_summary
from .scoring import (
    ALL_VALUES,
    AssessmentResults,
    CapabilityResult,
    Comparison,
    Delta,
    assessment_results,
    changes_by_name,
    previous_comparison,
    shown_personas,
)

# The code that decides what a PDF shows: a change to it (a deploy) renders
# cached PDFs of unchanged data again.
REPORT_CODE = ("reports.py", "scoring.py", "charts.py", "participation.py")
TEMPLATE = "assessment/report/report.html"
# Rendered PDFs kept per assessment: one per paper size and appendix choice
# of the current data; older fingerprints are deleted when a new one is saved.
CACHE_KEEP = 4
# Seconds a render may take before it is abandoned with a message.
RENDER_BUDGET = 20.0
# The appendix is capped so that its length (and render time) stays bounded
# however many participants commented.
COMMENTS_LIMIT = 300

# Prioritised capabilities whose next steps go all the way to their target.
DETAILED_PLANS = 5
# Below the detailed plans, capabilities less than half a level from their
# target are named rather than given an action: the report stays focused on
# the gaps that matter.
NEAR_GAP = 0.5
# "svg" or "png": see report_charts.
CHART_FORMAT = "svg"

PAPER_SIZES = {"a4": "A4", "letter": "US Letter"}


@dataclass(frozen=True)
class ReportOptions:
    """What the person downloading chose: paper size and comments appendix."""

    paper: str = "a4"
    include_comments: bool = False

    def __post_init__(self) -> None:
        if self.paper not in PAPER_SIZES:
            raise ValueError(f"Unknown paper size {self.paper!r}.")


class ReportError(Exception):
    """A report could not be produced now; the message is for the user."""


class ReportBusy(ReportError):
    """The user already has as many renders running as allowed."""


class ReportTooSlow(ReportError):
    """The render went over its time budget."""


# ---------------------------------------------------------------------------
# Fetching resources: the app's static files and data: URIs, nothing else
# ---------------------------------------------------------------------------


class URLRefused(ValueError):
    """WeasyPrint asked for a URL the report may not fetch."""


def static_roots() -> list[Path]:
    """Return the folders whose files the report may load (the app's static)."""
    return [Path(folder).resolve() for folder in settings.STATICFILES_DIRS]


class StaticOnlyURLFetcher(URLFetcher):
    """Serve the app's static files and data: URIs; refuse every other URL.

    Participant text reaches the report, so a stray `<img src=http://...>` or
    `file:///etc/passwd` must never be fetched: no network, no redirects, no
    file outside the static folders (symlinks and `..` resolved first).
    """

    def __init__(self, roots: list[Path] | None = None) -> None:
        super().__init__(
            timeout=2, allowed_protocols={"file", "data"}, allow_redirects=False
        )
        self.roots = static_roots() if roots is None else roots

    def fetch(self, url: str, headers=None) -> URLFetcherResponse:
        scheme = url.split(":", 1)[0].lower()
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme == "file":
            path = self._static_path(url)
            content_type = mimetypes.guess_type(path.name)[0]
            return URLFetcherResponse(
                url,
                body=path.read_bytes(),
                headers={"Content-Type": content_type or "application/octet-stream"},
            )
        raise URLRefused(f"The report may not fetch {url[:200]!r}.")

    def _static_path(self, url: str) -> Path:
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise URLRefused(f"The report may not fetch {url[:200]!r}.")
        path = Path(url2pathname(parts.path)).resolve()
        if not path.is_file() or not any(path.is_relative_to(r) for r in self.roots):
            raise URLRefused(f"The report may not fetch {url[:200]!r}.")
        return path


def static_base_url() -> str:
    """Return the base URL against which the template's relative links resolve."""
    return path2url(str(Path(settings.STATICFILES_DIRS[0]).resolve())) + "/"


# ---------------------------------------------------------------------------
# Fingerprint and cache
# ---------------------------------------------------------------------------


@contextlib.contextmanager
def _nothing() -> Iterator[None]:
    yield


@functools.cache
def code_version() -> str:
    """Return a digest of the report's code (it changes only on restart)."""
    digest = hashlib.sha256()
    for name in REPORT_CODE:
        digest.update((Path(__file__).parent / name).read_bytes())
    return digest.hexdigest()


def template_version() -> str:
    """Return a digest of the report's templates, styles and code.

    Templates are read from disk on each call (a few small files) so that
    editing one invalidates cached PDFs without a restart.
    """
    digest = hashlib.sha256(code_version().encode())
    folders = [
        Path(settings.BASE_DIR) / "templates" / "assessment" / "report",
        Path(settings.STATICFILES_DIRS[0]) / "report",
    ]
    for folder in folders:
        for path in sorted(folder.glob("*.*")):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def report_fingerprint(assessment: Assessment, options: ReportOptions) -> str:
    """Return a digest of everything the report shows (six small queries).

    Answers are summarised by database aggregates (count, sums, latest
    change) of this round and the previous one, so the cost does not grow
    with the number of respondents; any edit to an answer moves its
    `updated_at` and so the fingerprint.
    """
    rounds = [pk for pk in (assessment.pk, assessment.previous_id) if pk]
    submitted = {"status": Response.Status.SUBMITTED, "assessment_id__in": rounds}
    responses = (
        Response.objects.filter(**submitted)
        .values("assessment_id")
        .annotate(
            n=Count("id"),
            personas=Sum(F("persona_id") * F("id")),
            units=Sum(Length("business_unit")),
            updated=Max("updated_at"),
            submitted=Max("submitted_at"),
        )
        .order_by("assessment_id")
    )
    answers = (
        Answer.objects.filter(**{f"response__{k}": v for k, v in submitted.items()})
        .values("response__assessment_id")
        .annotate(
            n=Count("id"),
            total=Sum("value"),
            weighted=Sum(F("value") * F("capability_id") * F("response_id")),
            comments=Sum(Length("comment")),
            updated=Max("updated_at"),
        )
        .order_by("response__assessment_id")
    )
    targets = ScopedCapability.objects.filter(assessment_id__in=rounds).values_list(
        "assessment_id", "capability_id", "target_level"
    )
    invited = (
        Invitation.objects.filter(assessment=assessment)
        .values("persona_id")
        .annotate(n=Count("id"))
        .order_by("persona_id")
    )
    catalogue = [
        Capability.objects.filter(version_id=assessment.framework_id).aggregate(
            n=Count("id"), text=Sum(Length("name") + Length("description"))
        ),
        NextStep.objects.filter(
            capability__version_id=assessment.framework_id
        ).aggregate(
            n=Count("id"),
            last=Max("id"),
            text=Sum(Length("action") + Length("kpi") + F("owner_id")),
        ),
    ]
    parts = [
        template_version(),
        options,
        assessment.organisation.name,
        assessment.framework.slug,
        [
            getattr(assessment, field)
            for field in (
                "title",
                "scope_label",
                "status",
                "anonymity_threshold",
                "opens_on",
                "closes_on",
                "previous_id",
                "comments_published",
            )
        ],
        list(responses),
        list(answers),
        sorted(targets),
        list(invited),
        catalogue,
    ]
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def cached_report(assessment: Assessment, fingerprint: str) -> bytes | None:
    """Return the cached PDF for this fingerprint, or None."""
    pdf = (
        RenderedReport.objects.filter(assessment=assessment, fingerprint=fingerprint)
        .values_list("pdf", flat=True)
        .first()
    )
    return None if pdf is None else bytes(pdf)


def store_report(assessment: Assessment, fingerprint: str, pdf: bytes) -> None:
    """Cache a rendered PDF and drop the oldest beyond CACHE_KEEP."""
    # Two people rendering the same data at once both arrive here: the
    # second insert is simply ignored by the unique constraint.
    RenderedReport.objects.bulk_create(
        [RenderedReport(assessment=assessment, fingerprint=fingerprint, pdf=pdf)],
        ignore_conflicts=True,
    )
    stale = RenderedReport.objects.filter(assessment=assessment).order_by(
        "-created_at", "-pk"
    )[CACHE_KEEP:]
    stale_ids = list(stale.values_list("pk", flat=True))
    RenderedReport.objects.filter(pk__in=stale_ids).delete()


# ---------------------------------------------------------------------------
# Concurrency limit and time budget
# ---------------------------------------------------------------------------


@contextlib.contextmanager
def render_slot(user_id: int) -> Iterator[None]:
    """Hold one of the user's render slots, or raise ReportBusy.

    Each slot is a database-cache key taken with `cache.add`, which is atomic
    across processes; the key expires after the render budget (plus margin)
    so a crashed worker cannot hold a slot forever.
    """
    limit = max(settings.REPORT_MAX_CONCURRENT_RENDERS, 1)
    timeout = int(RENDER_BUDGET) + 30
    for slot in range(limit):
        key = f"report-render:{user_id}:{slot}"
        if cache.add(key, time.time(), timeout):
            try:
                yield
            finally:
                cache.delete(key)
            return
    raise ReportBusy(
        "A report you asked for is still being prepared. Wait a moment for it "
        "to finish, then download again."
    )


class Deadline:
    """A render's time budget, checked between stages."""

    def __init__(self, seconds: float) -> None:
        self.ends = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self.ends:
            raise ReportTooSlow(
                "The report took too long to prepare and was stopped. Try again "
                "in a few minutes; if it keeps happening, contact support."
            )


# ---------------------------------------------------------------------------
# What the report says: figures, sentences and charts
# ---------------------------------------------------------------------------

# Answer values in the order of the distribution bars, with their labels.
DISTRIBUTION = [(value, Answer.Value(value).label) for value in ALL_VALUES]


class Stage(NamedTuple):
    """The next steps of one move, from a level to the next."""

    from_level: int
    steps: list[NextStep]

    @property
    def move(self) -> str:
        return f"{Level(self.from_level).label} → {Level(self.from_level + 1).label}"


@dataclass(frozen=True)
class StepPlan:
    """A prioritised capability's next steps, from its level towards its target."""

    result: CapabilityResult
    stages: list[Stage]


def distribution_background(counts: dict[int, int]) -> str:
    """Return the answer distribution as a CSS gradient with hard stops.

    One element with a gradient lays out far faster in WeasyPrint than a
    flex row of coloured spans, and prints just as crisply. Empty without
    answers.
    """
    total = sum(counts.get(value, 0) for value, _ in DISTRIBUTION)
    if not total:
        return ""
    stops, start = [], 0.0
    for value, _ in DISTRIBUTION:
        if counts.get(value, 0):
            end = start + 100 * counts[value] / total
            colour = charts.VALUE_COLOURS[value]
            stops.append(f"{colour} {start:.2f}%, {colour} {end:.2f}%")
            start = end
    return f"linear-gradient(to right, {', '.join(stops)})"


def _names(items: list[str]) -> str:
    """Join names as prose: "A", "A and B", "A, B and C"."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def summary_sentences(
    results: AssessmentResults, participation: ParticipationSummary
) -> list[str]:
    """Write the executive summary as plain sentences from the figures."""
    total = participation.total
    rate = total.response_percent
    people = _plural(results.respondents, "person", "people")
    answered = f"{people} answered the assessment"
    if rate is not None:
        answered += f" ({rate}% of the {total.invited} invited)"
    sentences = [answered + "."]
    if results.overall is None:
        sentences.append(
            "No submitted answer can be scored yet, so this report shows no "
            "maturity level; it fills in as participants submit."
        )
        return sentences
    targets = [c.target for c in results.capabilities]
    target = sum(targets) / len(targets) if targets else 0
    sentences.append(
        f"Overall FinOps maturity is {results.overall_level_name} "
        f"({results.overall:.1f} on the 0–3 scale), against an average "
        f"target of {target:.1f}."
    )
    scored = sorted(
        (d for d in results.domains if d.score is not None), key=lambda d: d.score
    )
    if len(scored) >= 2 and scored[-1].score != scored[0].score:
        best, worst = scored[-1], scored[0]
        sentences.append(
            f"The strongest domain is {best.domain.name} ({best.score:.1f}, "
            f"{best.level_name}); the weakest is {worst.domain.name} "
            f"({worst.score:.1f}, {worst.level_name})."
        )
    below = results.priorities
    if below:
        top = [f"{c.capability.name} (gap {c.gap:.1f})" for c in below[:3]]
        sentences.append(
            f"{_plural(len(below), 'capability', 'capabilities')} of "
            f"{len(results.capabilities)} "
            f"{'is' if len(below) == 1 else 'are'} below target; the largest "
            f"gaps are in {_names(top)}."
        )
    else:
        sentences.append("Every scored capability meets or exceeds its target.")
    if results.contested:
        names = [c.capability.name for c in results.contested[:4]]
        sentences.append(
            f"Personas disagree by a full level or more on {_names(names)}"
            f"{' among others' if len(results.contested) > 4 else ''}: "
            "such disagreement is a finding in itself and worth a conversation."
        )
    unknown = max(
        (c for c in results.capabilities if c.dont_know_rate),
        key=lambda c: c.dont_know_rate,
        default=None,
    )
    if unknown is not None and unknown.dont_know_rate >= 0.2:
        sentences.append(
            f"“Don't know” was most frequent for {unknown.capability.name} "
            f"({unknown.dont_know_rate:.0%} of answers), a sign of a knowledge "
            "gap to close."
        )
    return sentences


def reached_level(result: CapabilityResult) -> int:
    """Return the last level a prioritised capability has fully reached.

    A score of 1.7 is labelled Walk but Walk is not reached yet: its next
    steps are those from Crawl to Walk. Prioritised capabilities are below
    their target, so this is always below the target.
    """
    return min(math.floor(result.score or 0), result.target - 1)


def step_plans(results: AssessmentResults) -> tuple[list[StepPlan], list]:
    """Return next steps per prioritised capability, and those to sustain.

    One query: the catalogue's next steps of the prioritised capabilities.
    """
    capability_ids = [c.capability.pk for c in results.priorities]
    steps: dict[tuple[int, int], list[NextStep]] = defaultdict(list)
    for step in NextStep.objects.filter(
        capability_id__in=capability_ids
    ).select_related("owner"):
        steps[(step.capability_id, step.from_level)].append(step)
    plans = []
    for result in results.priorities:
        levels = [
            level
            for level in range(reached_level(result), result.target)
            if steps[(result.capability.pk, level)]
        ]
        # The top priorities get the whole path to their target; the others
        # the first action towards their next level, which keeps the report
        # focused (and within its page and time budget) when many
        # capabilities are below target. The app's framework guide lists all.
        stages = [
            Stage(level, steps[(result.capability.pk, level)]) for level in levels
        ]
        if result.priority > DETAILED_PLANS:
            stages = [Stage(level, found[:1]) for level, found in stages[:1]]
        plans.append(StepPlan(result, stages))
    sustain = [
        c for c in results.capabilities if c.score is not None and c.priority is None
    ]
    return plans, sustain


def participation_rows(
    participation: ParticipationSummary, k: int
) -> list[dict[str, object]]:
    """Return participation per persona, hiding counts under the threshold k.

    A submitted count below k (but above zero) would say how few people of a
    persona answered and so help identify them: it is shown as "fewer than k".
    """
    rows = []
    for item in participation.personas:
        if not item.invited and not item.submitted:
            continue
        hidden = 0 < item.submitted < k
        rows.append(
            {
                "persona": item.persona,
                "invited": item.invited,
                "submitted": None if hidden else item.submitted,
                "percent": None if hidden else item.response_percent,
            }
        )
    return rows


def image_uri(chart: str | bytes) -> str:
    """Return a chart (SVG text or PNG bytes) as a data: URI for <img>."""
    if isinstance(chart, str):
        return "data:image/svg+xml;base64," + base64.b64encode(chart.encode()).decode()
    return "data:image/png;base64," + base64.b64encode(chart).decode()


def report_context(
    assessment: Assessment,
    options: ReportOptions,
    *,
    deadline: Deadline | None = None,
) -> dict[str, object]:
    """Compute every figure, sentence and chart of the report.

    A constant number of queries: the results (scoring), the previous round's
    results, participation and the next steps.
    """
    deadline = deadline or Deadline(RENDER_BUDGET)
    comments = options.include_comments and assessment.comments_published
    results = assessment_results(assessment, include_comments=comments)
    participation = participation_summary(assessment=assessment)
    comparison = previous_comparison(results)
    plans, sustain = step_plans(results)
    deadline.check()
    drawn = report_charts(results, deadline)
    _, changes = changes_by_name(comparison)
    domains = [
        {
            "result": domain,
            "heatmap": heatmap_table(domain.capabilities),
            "rows": [
                capability_row(c, changes.get(c.capability.name))
                for c in domain.capabilities
            ],
        }
        for domain in results.domains
    ]
    knowledge_gaps = sorted(
        (c for c in results.capabilities if c.dont_know_rate),
        key=lambda c: (-c.dont_know_rate, c.capability.position),
    )[:8]
    all_comments = results.comments or []
    return {
        "assessment": assessment,
        "organisation": assessment.organisation,
        "framework": assessment.framework,
        "options": options,
        "letter": options.paper == "letter",
        "generated": generated_on(),
        "results": results,
        "participation": participation,
        "participation_rows": participation_rows(participation, results.k),
        "summary": summary_sentences(results, participation),
        "top_priorities": results.priorities[:5],
        "radar": drawn["radar"],
        "domains": domains,
        "plans": plans[:DETAILED_PLANS],
        "brief_plans": [p for p in plans[DETAILED_PLANS:] if p.result.gap >= NEAR_GAP],
        "near_target": [
            p.result for p in plans[DETAILED_PLANS:] if p.result.gap < NEAR_GAP
        ],
        "near_gap": NEAR_GAP,
        "detailed": DETAILED_PLANS,
        "sustain": sustain,
        "comparison": comparison,
        "movers": largest_changes(comparison),
        "knowledge_gaps": knowledge_gaps,
        "legend": [(charts.VALUE_COLOURS[v], label) for v, label in DISTRIBUTION],
        "include_comments": comments,
        "comments": all_comments[:COMMENTS_LIMIT],
        "comments_left_out": max(len(all_comments) - COMMENTS_LIMIT, 0),
    }


def _render(fig, chart_format: str) -> str:
    if chart_format == "svg":
        return image_uri(charts.to_svg(fig))
    return image_uri(charts.to_png(fig))


def report_charts(
    results: AssessmentResults, deadline: Deadline, *, chart_format: str | None = None
) -> dict[str, object]:
    """Draw the report's matplotlib chart, the domain radar, as a data: URI.

    SVG by default: vector and sharp at any zoom; PNG (150 dpi) costs about
    as much in total and weighs more (see bench/report.py). The per-domain
    bar charts are drawn in HTML (see `capability_row`).
    """
    chart_format = chart_format or CHART_FORMAT
    deadline.check()
    if results.overall is None:
        return {"radar": None}
    return {"radar": _render(charts.radar(results), chart_format)}


@dataclass(frozen=True)
class CapabilityRow:
    """What a domain page shows of one capability, bars included."""

    result: CapabilityResult
    answers_background: str  # the answer distribution as a CSS gradient
    score_percent: float  # bar length on the 0-3 scale
    target_percent: float  # target mark position on the same scale
    change: Delta | None = None  # since the previous round, if any


def largest_changes(
    comparison: Comparison | None, *, count: int = 5
) -> dict[str, list[Delta]]:
    """Return the capabilities that rose and fell most since the last round.

    The domain pages show every capability's change; the comparison section
    names the few that moved most, so the trend reads at a glance.
    """
    moved = [
        d for d in (comparison.capabilities if comparison else []) if d.shown_change
    ]
    rises = sorted((d for d in moved if d.change > 0), key=lambda d: -d.change)
    falls = sorted((d for d in moved if d.change < 0), key=lambda d: d.change)
    return {"rises": rises[:count], "falls": falls[:count]}


def capability_row(
    result: CapabilityResult, change: Delta | None = None
) -> CapabilityRow:
    """Return a capability's row, with its score-vs-target bar as percentages.

    The bar chart is HTML rather than a matplotlib image: it prints as
    crisp vectors and costs a fraction of an embedded SVG's layout and
    drawing time in WeasyPrint.
    """
    return CapabilityRow(
        result,
        distribution_background(result.counts),
        round((result.score or 0) / Level.RUN * 100, 2),
        round(result.target / Level.RUN * 100, 2),
        change,
    )


# Heatmap cells take one of this many shades, as classes: an inline style per
# cell would be parsed by WeasyPrint cell by cell.
HEAT_SHADES = 12


@dataclass(frozen=True)
class HeatCell:
    score: float | None
    span: int = 1  # columns covered: a run of blank cells is one cell

    @property
    def shade(self) -> int | None:
        """Return the cell's shade class number (0 to HEAT_SHADES - 1)."""
        if self.score is None:
            return None
        return min(int(self.score / 3 * HEAT_SHADES), HEAT_SHADES - 1)


def heat_styles() -> str:
    """Return the CSS of the heatmap shades, in the charts' colour scale."""
    return " ".join(
        f".heat-{i} {{ background: {to_hex(charts.HEAT((i + 0.5) / HEAT_SHADES))}; }}"
        for i in range(HEAT_SHADES)
    )


@functools.cache
def _hyphenator() -> pyphen.Pyphen:
    return pyphen.Pyphen(lang="en_US")


@functools.lru_cache(maxsize=256)
def soft_hyphenated(name: str) -> str:
    """Return a name with soft hyphens in its long words.

    Persona names head narrow heatmap columns: "Practitioner" must break
    between syllables (Prac-ti-tion-er), not anywhere. Marking the breaks
    here is cached; WeasyPrint's automatic hyphenation would look every
    word of the column up on every render.
    """
    return " ".join(
        _hyphenator().inserted(word, hyphen="\u00ad") if len(word) > 8 else word
        for word in name.split(" ")
    )


def heatmap_table(
    capabilities: list[CapabilityResult],
) -> tuple[list[str], list[tuple[CapabilityResult, list[HeatCell]]]]:
    """Return a persona x capability heatmap: column headings and rows.

    Drawn as an HTML table rather than an image: the text stays crisp and
    searchable, and it lays out several times faster than a matplotlib
    image in WeasyPrint. Only personas with at least k answers have a score
    (CapabilityResult.persona_scores already respects the threshold); a
    persona that has none in these capabilities gets no column.
    """
    personas = shown_personas(capabilities)
    rows = []
    for capability in capabilities:
        scores = {ps.persona.pk: ps.score for ps in capability.persona_scores}
        rows.append((capability, heat_cells([scores.get(p.pk) for p in personas])))
    return [soft_hyphenated(p.name) for p in personas], rows


def heat_cells(scores: list[float | None]) -> list[HeatCell]:
    """Return a heatmap row's cells, each run of blanks merged into one.

    Most cells are blank (personas not asked, or hidden under k) and each
    table cell costs WeasyPrint as much layout as a filled one; a blank
    cell spanning the run looks the same.
    """
    cells: list[HeatCell] = []
    for score in scores:
        if score is None and cells and cells[-1].score is None:
            cells[-1] = HeatCell(None, cells[-1].span + 1)
        else:
            cells.append(HeatCell(score))
    return cells


# ---------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------


def report_filename(assessment: Assessment) -> str:
    """Return a clean file name like acme-finops-maturity-2026-q4.pdf."""
    organisation = slugify(assessment.organisation.name) or "report"
    title = slugify(assessment.title)
    if not title.startswith("finops"):
        title = f"finops-maturity-{title}" if title else "finops-maturity"
    return f"{organisation}-{title}"[:120].strip("-") + ".pdf"


def report_html(
    assessment: Assessment,
    options: ReportOptions,
    *,
    deadline: Deadline | None = None,
) -> str:
    """Return the report's HTML (aggregation and charts happen here)."""
    ctx = report_context(assessment, options, deadline=deadline)
    return without_block_spacing(render_to_string(TEMPLATE, ctx))


# Whitespace before a block-level tag never shows, but WeasyPrint parses each
# run and builds a box for it that layout then drops: about 3% of a render.
# Whitespace between inline tags (a space between two words) is kept.
BLOCK_SPACING = re.compile(
    r"\s+(?=</?(?:html|head|body|section|div|p|h[1-6]|table|thead|tbody|tr|td|th"
    r"|caption|colgroup|col|ol|ul|li|figure|figcaption|meta|title|style)[\s>])"
)


def without_block_spacing(html: str) -> str:
    """Drop the template's indentation before block-level tags."""
    return BLOCK_SPACING.sub("", html)


def render_pdf(
    assessment: Assessment, options: ReportOptions, *, budget: float | None = None
) -> bytes:
    """Render the report to PDF bytes, within the time budget."""
    deadline = Deadline(RENDER_BUDGET if budget is None else budget)
    html = report_html(assessment, options, deadline=deadline)
    deadline.check()
    return html_to_pdf(html, deadline)


def html_to_pdf(html: str, deadline: Deadline | None = None) -> bytes:
    """Lay out the report's HTML and write it as PDF (WeasyPrint's work)."""
    html_parser_cache.install()
    document = HTML(
        string=html, base_url=static_base_url(), url_fetcher=StaticOnlyURLFetcher()
    ).render(font_config=font_configuration(), stylesheets=[report_stylesheet()])
    if deadline:
        deadline.check()
    return document.write_pdf()


_fonts = threading.local()


def font_configuration() -> FontConfiguration:
    """Return this thread's WeasyPrint font configuration, made once.

    A new configuration per render leaks about 0.25 MB each time (fontconfig
    and Pango state is never freed), so a long-lived worker reuses one; the
    report's @font-face fonts are registered once. Per thread, because Pango
    font maps are not shared safely between threads.
    """
    if not hasattr(_fonts, "config"):
        _fonts.config = FontConfiguration()
    return _fonts.config


def report_stylesheet() -> CSS:
    """Return the report's print styles, parsed once per thread and file version.

    Parsing report.css on every render costs about 2% of it; the parsed
    sheet goes with this thread's font configuration, where its @font-face
    rules are registered. An edited file is parsed again.
    """
    path = Path(settings.STATICFILES_DIRS[0]) / "report" / "report.css"
    version = (path, path.stat().st_mtime_ns)
    if getattr(_fonts, "stylesheet_version", None) != version:
        _fonts.stylesheet = CSS(
            string=path.read_text() + heat_styles(),
            base_url=static_base_url() + "report/",
            url_fetcher=StaticOnlyURLFetcher(),
            font_config=font_configuration(),
        )
        _fonts.stylesheet_version = version
    return _fonts.stylesheet


def report_pdf(
    assessment: Assessment, options: ReportOptions, *, user_id: int | None = None
) -> bytes:
    """Return the report's PDF, from the cache when the data has not changed.

    `user_id` applies the per-user concurrent render limit (the command line,
    run by an operator, passes None).
    """
    fingerprint = report_fingerprint(assessment, options)
    pdf = cached_report(assessment, fingerprint)
    if pdf is not None:
        return pdf
    with render_slot(user_id) if user_id is not None else _nothing():
        pdf = render_pdf(assessment, options)
    store_report(assessment, fingerprint, pdf)
    return pdf


def generated_on() -> str:
    """Return today's date as the report's footer shows it."""
    return timezone.localdate().isoformat()


# ---------------------------------------------------------------------------
# Download
# ---------------------------------------------------------------------------


class ReportOptionsForm(forms.Form):
    """The download link's query string: paper size and comments appendix."""

    paper = forms.ChoiceField(choices=list(PAPER_SIZES.items()), required=False)
    comments = forms.BooleanField(required=False)


@login_required
@require_GET
def report_download(request: HttpRequest, pk: int) -> HttpResponse:
    """Send the assessment's PDF report to an owner or a viewer."""
    assessment, role = get_assessment_for_user(request, pk)
    form = ReportOptionsForm(request.GET)
    if not form.is_valid():
        messages.error(request, "Choose A4 or US Letter to download the report.")
        return redirect(assessment)
    include_comments = form.cleaned_data["comments"]
    if include_comments and role != Membership.Role.OWNER:
        raise PermissionDenied("Only owners choose to include comments.")
    options = ReportOptions(
        paper=form.cleaned_data["paper"] or "a4", include_comments=include_comments
    )
    try:
        pdf = report_pdf(assessment, options, user_id=request.user.pk)
    except ReportError as exc:
        messages.error(request, str(exc))
        return redirect(assessment)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=report_filename(assessment)
    )
    # The report holds an organisation's results: keep it out of shared caches.
    response["Cache-Control"] = "private, no-store"
    return response
