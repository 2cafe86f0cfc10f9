"""The demo organisation that `make run` shows a new user."""

import datetime
import functools
import json
import random
import secrets
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from .advice import assessment_advice
from .disclosure import shown_results
from .lifecycle import assessment_close, assessment_create, assessment_open
from .models import (
    Answer,
    Assessment,
    FrameworkVersion,
    Invitation,
    Level,
    Membership,
    Organisation,
    PlanAction,
    Response,
    ResultsSnapshot,
)
from .snapshots import snapshot_take

DEMO_ORGANISATION = "Acme Corp (demo)"
DEMO_SLUG = "acme-demo"
DEMO_USERS = {
    # username: (password, role, full name)
    "owner": ("finops-demo-owner", Membership.Role.OWNER, "Olivia Owner"),
    "viewer": ("finops-demo-viewer", Membership.Role.VIEWER, "Victor Viewer"),
}


@dataclass
class DemoLogin:
    username: str
    password: str
    role: str


@transaction.atomic
def demo_organisation_create(
    *, random_passwords: bool = False
) -> tuple[Organisation, list[DemoLogin]]:
    """Create or refresh the demo organisation with an owner and a viewer.

    The logins get the passwords printed in the README, or with
    `random_passwords` new random ones (for any server others can reach).
    """
    organisation, _ = Organisation.objects.update_or_create(
        slug=DEMO_SLUG, defaults={"name": DEMO_ORGANISATION}
    )
    logins = []
    User = get_user_model()
    for username, (known_password, role, full_name) in DEMO_USERS.items():
        password = secrets.token_urlsafe(12) if random_passwords else known_password
        first, last = full_name.split(" ", 1)
        user, _ = User.objects.get_or_create(username=username)
        user.first_name, user.last_name = first, last
        user.email = f"{username}@acme.example"
        user.set_password(password)
        user.save()
        Membership.objects.update_or_create(
            organisation=organisation, user=user, defaults={"role": role}
        )
        logins.append(DemoLogin(username, password, role))
    return organisation, logins


# ---------------------------------------------------------------------------
# Demo assessments: a closed previous round and the current one
# ---------------------------------------------------------------------------

CURRENT_TITLE = "FinOps maturity 2026 H1"
PREVIOUS_TITLE = "FinOps maturity 2025 H2"
# Personas who answer in the demo, with their share of respondents.
PERSONA_MIX = {
    "finops-practitioner": 3,
    "engineering": 6,
    "operations": 3,
    "finance": 3,
    "product": 2,
    "procurement": 1,
    "leadership": 2,
    "itam": 1,
    "security": 1,
}
BUSINESS_UNITS = ["Platform", "Retail", "Paiements & Fintech", "Data & AI", ""]
# Where a mid-size company typically stands: a fair Crawl/Walk mix.
BASE_LEVEL = {
    "data-ingestion": 2.1,
    "allocation": 1.6,
    "reporting-analytics": 2.0,
    "anomaly-management": 1.3,
    "planning-estimating": 1.2,
    "forecasting": 1.4,
    "budgeting": 1.8,
    "kpis-benchmarking": 1.0,
    "unit-economics": 0.7,
    "architecting-workload-placement": 1.5,
    "rate-optimization": 2.0,
    "usage-optimization": 1.5,
    "sustainability": 0.6,
    "licensing-saas": 1.1,
    "finops-practice-operations": 1.7,
    "governance-policy-risk": 1.3,
    "finops-assessment": 1.1,
    "automation-tools-services": 1.2,
    "finops-education-enablement": 1.4,
    "invoicing-chargeback": 1.0,
    "intersecting-disciplines": 0.8,
    "executive-strategy-alignment": 1.2,
}
TARGETS = {
    "data-ingestion": Level.RUN,
    "allocation": Level.RUN,
    "reporting-analytics": Level.RUN,
    "sustainability": Level.CRAWL,
    "intersecting-disciplines": Level.CRAWL,
    "licensing-saas": Level.CRAWL,
}
# Each persona's view of some capabilities (added to the base level). Engineers
# believe their rightsizing is further along than the FinOps team sees it: the
# contested capability of the demo.
PERSONA_BIAS = {
    "engineering": {"usage-optimization": 0.9, "architecting-workload-placement": 0.4},
    "operations": {"anomaly-management": 0.5, "usage-optimization": 0.5},
    "finops-practitioner": {"usage-optimization": -0.5, "allocation": -0.3},
    "finance": {"forecasting": -0.4, "budgeting": 0.3, "invoicing-chargeback": 0.3},
    "product": {"unit-economics": -0.3},
}
OPTIMISM = {"leadership": 0.5}  # applies to every capability
DONT_KNOW_RATE = {"leadership": 0.12, "product": 0.08}
# Comments participants would write, by capability: each is drawn at most once
# per capability and assessment, as real participants do not repeat each other.
COMMENTS_FILE = Path(__file__).with_name("demo_comments.json")
COMMENT_RATE = 0.2


@functools.cache
def demo_comments() -> dict[str, tuple[str, ...]]:
    """Return the demo comments by capability slug (the file is read once)."""
    data = json.loads(COMMENTS_FILE.read_text(encoding="utf-8"))
    return {slug: tuple(texts) for slug, texts in data.items() if slug[0] != "_"}


def _comment_pools(rng: random.Random) -> dict[str, list[str]]:
    """Return each capability's comments in a random order, to pop one by one."""
    pools = {}
    for slug, texts in demo_comments().items():
        pools[slug] = list(texts)
        rng.shuffle(pools[slug])
    return pools


@dataclass
class DemoRounds:
    previous: Assessment
    current: Assessment


def _answer_value(rng: random.Random, level: float, dont_know_rate: float) -> int:
    """Draw one answer around a level, with some Don't know and N/A."""
    draw = rng.random()
    if draw < dont_know_rate:
        return Answer.Value.DONT_KNOW
    if draw < dont_know_rate + 0.02:
        return Answer.Value.NOT_APPLICABLE
    return min(3, max(0, round(rng.gauss(level, 0.7))))


def _add_responses(
    *,
    assessment: Assessment,
    count: int,
    rng: random.Random,
    shift: float,
    submitted_on: datetime.datetime,
) -> None:
    """Bulk-create `count` submitted responses, plus a few drafts and no-shows."""
    personas = {
        p.slug: p
        for p in assessment.personas.filter(slug__in=PERSONA_MIX).order_by("position")
    }
    routing = defaultdict(list)  # persona id -> capabilities asked
    for scoped in assessment.scoped_capabilities.select_related(
        "capability"
    ).prefetch_related("personas"):
        for persona in scoped.personas.all():
            routing[persona.pk].append(scoped.capability)
    slugs = list(personas)
    weights = [PERSONA_MIX[s] for s in slugs]
    # Everyone submitting, then ~8% drafts and ~10% invited but not started,
    # so the participation figures look like a real campaign.
    drafts, idle = count * 8 // 100, count // 10
    people = [
        (personas[rng.choices(slugs, weights)[0]], rng.choice(BUSINESS_UNITS))
        for _ in range(count + drafts + idle)
    ]
    invitations = Invitation.objects.bulk_create(
        Invitation(
            assessment=assessment,
            email=f"participant{i:05d}@acme.example",
            persona=persona,
            business_unit=unit,
            sent_at=submitted_on - datetime.timedelta(days=14),
        )
        for i, (persona, unit) in enumerate(people, start=1)
    )
    responses = []
    for i, invitation in enumerate(invitations[: count + drafts]):
        started = submitted_on - datetime.timedelta(minutes=rng.randint(60, 20000))
        done = i < count
        responses.append(
            Response(
                invitation=invitation,
                assessment=assessment,
                persona=invitation.persona,
                business_unit=invitation.business_unit,
                status=Response.Status.SUBMITTED if done else Response.Status.DRAFT,
                started_at=started,
                updated_at=started + datetime.timedelta(minutes=12),
                submitted_at=started + datetime.timedelta(minutes=12) if done else None,
                submit_count=1 if done else 0,
            )
        )
    responses = Response.objects.bulk_create(responses)
    comments = _comment_pools(rng)
    answers = []
    for response in responses:
        slug = response.persona.slug
        dont_know = DONT_KNOW_RATE.get(slug, 0.05)
        for capability in routing[response.persona_id]:
            level = (
                BASE_LEVEL.get(capability.slug, 1.2)
                + PERSONA_BIAS.get(slug, {}).get(capability.slug, 0)
                + OPTIMISM.get(slug, 0)
                + shift
            )
            if not response.is_submitted and rng.random() < 0.5:
                continue  # drafts are half filled in
            pool = comments.get(capability.slug)
            comment = ""
            if pool and rng.random() < COMMENT_RATE:
                comment = pool.pop()
            answers.append(
                Answer(
                    response=response,
                    capability=capability,
                    value=_answer_value(rng, level, dont_know),
                    comment=comment,
                )
            )
    Answer.objects.bulk_create(answers, batch_size=2000)


@transaction.atomic
def demo_rounds_create(
    *, organisation: Organisation, respondents: int = 40, seed: int = 2026
) -> DemoRounds:
    """Replace the demo organisation's assessments with two rounds of answers.

    The previous round is closed with slightly lower scores; the current one
    is open with `respondents` submitted responses. The same seed always gives
    the same answers.
    """
    rng = random.Random(seed)
    organisation.assessments.all().delete()
    framework = FrameworkVersion.objects.order_by("-slug").first()
    if framework is None:
        raise ValueError("Load the catalogue first: manage.py load_catalogue.")
    owner = organisation.memberships.filter(role=Membership.Role.OWNER).first()
    capabilities = list(framework.capabilities.prefetch_related("default_personas"))
    targets = {c.pk: TARGETS.get(c.slug, Level.WALK) for c in capabilities}
    today = timezone.localdate()
    now = timezone.now()

    previous = assessment_create(
        organisation=organisation,
        framework=framework,
        title=PREVIOUS_TITLE,
        scope_label="All of Acme",
        capabilities=capabilities,
        targets=targets,
        created_by=owner and owner.user,
    )
    assessment_open(assessment=previous)
    _add_responses(
        assessment=previous,
        count=max(12, min(respondents * 4 // 5, 400)),
        rng=rng,
        shift=-0.35,
        submitted_on=now - datetime.timedelta(days=180),
    )
    assessment_close(assessment=previous)
    Assessment.objects.filter(pk=previous.pk).update(
        opens_on=today - datetime.timedelta(days=200),
        closes_on=today - datetime.timedelta(days=170),
        opened_at=now - datetime.timedelta(days=200),
        closed_at=now - datetime.timedelta(days=170),
        created_at=now - datetime.timedelta(days=210),
    )
    ResultsSnapshot.objects.filter(assessment=previous).update(
        created_at=now - datetime.timedelta(days=170)
    )

    current = assessment_create(
        organisation=organisation,
        framework=framework,
        title=CURRENT_TITLE,
        scope_label="All of Acme",
        capabilities=capabilities,
        targets=targets,
        created_by=owner and owner.user,
        opens_on=today - datetime.timedelta(days=10),
        closes_on=today + datetime.timedelta(days=11),
        previous=previous,
    )
    assessment_open(assessment=current)
    _add_responses(
        assessment=current, count=respondents, rng=rng, shift=0.0, submitted_on=now
    )
    # The demo viewer sees results at once: interim results of the current
    # round, as an owner would publish them.
    snapshot_take(
        assessment=current,
        reason=ResultsSnapshot.Reason.INTERIM,
        user=owner and owner.user,
    )
    demo_evidence_create(
        assessment=previous,
        ends=today - datetime.timedelta(days=200),
        seed=seed - 1,
        kind="previous",
    )
    demo_evidence_create(assessment=current, ends=today, seed=seed, kind="current")
    demo_actions_create(assessment=previous, due=today - datetime.timedelta(days=20))
    previous.refresh_from_db()
    return DemoRounds(previous=previous, current=current)


# What became of the previous round's 90-day plan, action by action: the
# current round shows it beside each capability's change.
DEMO_ACTION_STATUSES = ["done", "done", "in_progress", "done", "planned", "dropped"]
DEMO_ACTION_OWNERS = ["Platform team", "Finance operations", "Ana (FinOps lead)"]


def demo_actions_create(*, assessment: Assessment, due: datetime.date) -> None:
    """Track the round's 90-day plan (its published results) with statuses."""
    shown = shown_results(assessment, owner=False)
    if shown.results is None:
        return
    plan = assessment_advice(shown.results, shown.participation).plan
    for i, item in enumerate(plan):
        action = PlanAction.objects.create(
            assessment=assessment,
            action_key=item.key,
            title=item.action,
            kpi=item.kpi,
            owner_name=DEMO_ACTION_OWNERS[i % len(DEMO_ACTION_OWNERS)],
            due_on=due,
            status=DEMO_ACTION_STATUSES[i % len(DEMO_ACTION_STATUSES)],
        )
        action.capabilities.set(item.capabilities)


# ---------------------------------------------------------------------------
# Demo cost data: a synthetic FOCUS export per round, processed at once
# ---------------------------------------------------------------------------

DEMO_COST_ROWS = 30_000
DEMO_TAG_KEYS = ("cost-center", "team")
# The previous round tagged and committed less: the KPI trends show progress.
DEMO_COST_ROUNDS = {"previous": (0.85, 0.8), "current": (1.0, 1.0)}
# Forecasts the demo FinOps team entered: actual spend missed them by these.
DEMO_FORECAST_MISS = (0.08, -0.12, 0.06)


def _months_before(day: datetime.date, count: int) -> datetime.date:
    """Return the first day of the month `count` months before `day`'s month."""
    month = day.month - count
    year = day.year + (month - 1) // 12
    return datetime.date(year, (month - 1) % 12 + 1, 1)


def demo_evidence_create(
    *, assessment: Assessment, ends: datetime.date, seed: int, kind: str
) -> None:
    """Give a demo round cost evidence: three months before `ends`, processed.

    The export is the project's synthetic FOCUS data; it goes through the
    same storage, checks and DuckDB processing as an owner's upload.
    """
    from django.core.files import File

    from . import evidence, focus
    from .focus_synth import SynthOptions, write_export

    start = _months_before(ends, 3)
    stop = _months_before(ends, 0)
    tagging, commitments = DEMO_COST_ROUNDS[kind]
    options = SynthOptions(
        rows=DEMO_COST_ROWS,
        days=(stop - start).days,
        start=start,
        seed=seed,
        currencies=("USD", "EUR"),
        tagging=tagging,
        commitments=commitments,
    )
    owner = assessment.organisation.memberships.filter(
        role=Membership.Role.OWNER
    ).first()
    with tempfile.TemporaryDirectory() as folder:
        path = write_export(Path(folder) / "acme-focus-export.parquet", options)
        forecasts = {
            month: round(total / (1 + miss), -2)
            for (month, total), miss in zip(
                monthly_totals(path, "USD"), DEMO_FORECAST_MISS, strict=False
            )
        }
        with path.open("rb") as handle:
            run = evidence.evidence_run_create(
                assessment=assessment,
                user=owner and owner.user,
                files=[File(handle, name=path.name)],
                choices=focus.Choices(
                    tag_keys=DEMO_TAG_KEYS,
                    forecasts=forecasts,
                    forecast_currency="USD",
                ),
            )
    evidence.evidence_process(run.pk)


def monthly_totals(path: Path, currency: str) -> list[tuple[str, float]]:
    """Return a demo export's effective cost per month (DuckDB adds it up)."""
    import duckdb

    with duckdb.connect() as con:
        return con.execute(
            "SELECT strftime(ChargePeriodStart, '%Y-%m') AS month, "
            "sum(EffectiveCost) FROM read_parquet(?) WHERE BillingCurrency = ? "
            "GROUP BY month ORDER BY month",
            [str(path), currency],
        ).fetchall()
