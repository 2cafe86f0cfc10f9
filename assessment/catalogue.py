"""Load the FinOps framework catalogue from the JSON files beside this module.

Each file under `assessment/catalogue/` describes one framework version. A
version already in the database is left as it is (assessments point at it and
the admin may have corrected its texts) unless texts are refreshed on purpose;
a version loaded before the file gained prerequisites or action identities
gains them on the next load.

Besides levels and next steps, a file declares:

- per capability, `prerequisites`: slugs of capabilities that must work before
  this one is worth maturing (advice never ranks a capability above a
  prerequisite that is itself below target). The top-level
  `prerequisites_rationale` maps each capability that has prerequisites to one
  sentence saying why; the graph must have no cycle.
- per next step, `id`: the action's identity. One action that serves several
  capabilities is listed under each with the same id and the same text, owner
  and KPI, so a plan can name it once. `first_round_only` marks steps that only
  make sense before an organisation's first round. Every KPI carries a numeric
  target, written with "≥"/"≤" rather than ">="/"<=".

`validate_catalogue` checks all of this and raises `CatalogueError` naming the
offending capability, step or cycle.
"""

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone

from .models import (
    Capability,
    CapabilityAlias,
    Domain,
    EvidenceKpi,
    FrameworkVersion,
    Level,
    NextStep,
    Persona,
)

CATALOGUE_DIR = Path(__file__).resolve().parent / "catalogue"

# JSON key of each transition -> the level it starts from.
TRANSITIONS = {
    "to_crawl": Level.NOT_STARTED,
    "to_walk": Level.CRAWL,
    "to_run": Level.WALK,
}

# What makes two listings of one action id the same action.
STEP_CONTENT = ("action", "owner", "kpi", "first_round_only")
ACTION_KEY = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
ACTION_KEY_MAX = NextStep._meta.get_field("action_key").max_length


class CatalogueError(ValueError):
    """A catalogue file that cannot be loaded; the message says where."""


@dataclass
class LoadResult:
    version: str
    created: bool
    refreshed: bool = False


def catalogue_files() -> list[Path]:
    return sorted(CATALOGUE_DIR.glob("*.json"))


def read_catalogue(path: Path) -> dict:
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


def load_catalogue(data: dict, *, refresh_texts: bool = False) -> LoadResult:
    """Add a framework version from catalogue data, or leave it if present.

    Raise CatalogueError, before writing anything, if the data is invalid.
    """
    validate_catalogue(data)
    meta = data["version"]
    version = FrameworkVersion.objects.filter(slug=meta["slug"]).first()
    if version is None:
        _create_version(data)
        result = LoadResult(meta["slug"], created=True)
    elif refresh_texts:
        _refresh_texts(version, data)
        result = LoadResult(meta["slug"], created=False, refreshed=True)
    else:
        _add_missing_structure(version, data)
        result = LoadResult(meta["slug"], created=False)
    evidence_kpis_add(meta["slug"], data)
    return result


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------


def validate_catalogue(data: dict) -> None:
    """Raise CatalogueError if prerequisites, action ids or KPIs are unsound."""
    capabilities = [c for d in data["domains"] for c in d["capabilities"]]
    _check_prerequisites(data, capabilities)
    _check_steps({p["slug"] for p in data["personas"]}, capabilities)


def _check_prerequisites(data: dict, capabilities: list[dict]) -> None:
    graph = {c["slug"]: c.get("prerequisites", []) for c in capabilities}
    rationale = data.get("prerequisites_rationale", {})
    for slug, needs in graph.items():
        unknown = [n for n in needs if n not in graph or n == slug]
        if unknown:
            raise CatalogueError(
                f"Capability {slug!r} names unknown prerequisites: "
                f"{', '.join(unknown)} (use slugs of other capabilities of "
                "this version)."
            )
        if needs and not rationale.get(slug, "").strip():
            raise CatalogueError(
                f"Capability {slug!r} has prerequisites but no sentence in "
                "prerequisites_rationale saying why."
            )
    stray = sorted(set(rationale) - {s for s, needs in graph.items() if needs})
    if stray:
        raise CatalogueError(
            "prerequisites_rationale explains capabilities without "
            f"prerequisites: {', '.join(stray)}."
        )
    cycle = _find_cycle(graph)
    if cycle:
        raise CatalogueError(f"Prerequisites form a cycle: {' -> '.join(cycle)}.")


def _find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """Return one cycle as a path that starts and ends on the same slug."""
    done: set[str] = set()

    def visit(slug: str, path: list[str]) -> list[str] | None:
        if slug in path:
            return path[path.index(slug) :] + [slug]
        if slug in done:
            return None
        for need in graph[slug]:
            found = visit(need, [*path, slug])
            if found:
                return found
        done.add(slug)
        return None

    for slug in graph:
        found = visit(slug, [])
        if found:
            return found
    return None


def _check_steps(personas: set[str], capabilities: list[dict]) -> None:
    seen: dict[str, tuple[str, dict]] = {}
    for capability in capabilities:
        keys_here: set[str] = set()
        for transition in TRANSITIONS:
            for step in capability["next_steps"][transition]:
                where = f"{capability['slug']} {transition} step {step.get('id')!r}"
                _check_step(step, where, personas)
                if step["id"] in keys_here:
                    raise CatalogueError(
                        f"{where}: the id appears twice in one capability."
                    )
                keys_here.add(step["id"])
                first = seen.setdefault(step["id"], (where, step))
                if _step_content(first[1]) != _step_content(step):
                    raise CatalogueError(
                        f"{where}: one id must mean one action, but its text, "
                        f"owner, KPI or first-round flag differ from {first[0]}."
                    )


def _check_step(step: dict, where: str, personas: set[str]) -> None:
    key = step.get("id", "")
    if not ACTION_KEY.match(key) or len(key) > ACTION_KEY_MAX:
        raise CatalogueError(
            f"{where}: the id must be a lowercase slug of at most "
            f"{ACTION_KEY_MAX} characters."
        )
    if step["owner"] not in personas:
        raise CatalogueError(f"{where}: unknown owner persona {step['owner']!r}.")
    kpi = step["kpi"]
    if not re.search(r"\d", kpi):
        raise CatalogueError(f"{where}: the KPI {kpi!r} has no numeric target.")
    if ">=" in kpi or "<=" in kpi:
        raise CatalogueError(f'{where}: write "≥" and "≤" in the KPI {kpi!r}.')


def _step_content(step: dict) -> tuple:
    return tuple(step.get(field, False) for field in STEP_CONTENT)


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------


def evidence_kpis_add(slug: str, data: dict) -> int:
    """Add the catalogue's evidence KPIs a version lacks; return how many.

    KPIs already there keep their thresholds (the admin may have tuned
    them), so a version loaded before KPIs existed gains them on the next
    `load_catalogue`.
    """
    version = FrameworkVersion.objects.get(slug=slug)
    present = set(version.evidence_kpis.values_list("key", flat=True))
    capabilities = {c.slug: c for c in version.capabilities.all()}
    added = [
        EvidenceKpi(
            version=version,
            key=item["key"],
            name=item["name"],
            capability=capabilities[item["capability"]],
            direction=item["direction"],
            crawl_threshold=_share(item["crawl"]),
            walk_threshold=_share(item["walk"]),
            run_threshold=_share(item["run"]),
            position=position,
            description=item["description"],
        )
        for position, item in enumerate(data.get("evidence_kpis", []), start=1)
        if item["key"] not in present
    ]
    EvidenceKpi.objects.bulk_create(added)
    return len(added)


@transaction.atomic
def _create_version(data: dict) -> None:
    meta = data["version"]
    version = FrameworkVersion.objects.create(
        slug=meta["slug"],
        name=meta["name"],
        published=meta.get("published"),
        credit=meta["credit"],
    )
    personas = {}
    for position, item in enumerate(data["personas"], start=1):
        personas[item["slug"]] = Persona.objects.create(
            version=version,
            slug=item["slug"],
            name=item["name"],
            kind=item["kind"],
            position=position,
            description=item.get("description", ""),
        )
    capability_position = 0
    for domain_position, domain_data in enumerate(data["domains"], start=1):
        domain = Domain.objects.create(
            version=version,
            slug=domain_data["slug"],
            name=domain_data["name"],
            position=domain_position,
            description=domain_data.get("description", ""),
        )
        for item in domain_data["capabilities"]:
            capability_position += 1
            capability = Capability.objects.create(
                version=version,
                domain=domain,
                slug=item["slug"],
                name=item["name"],
                position=capability_position,
                foundational_rank=item["foundational_rank"],
                **_capability_texts(item),
            )
            capability.default_personas.set(personas[s] for s in item["personas"])
            _aliases_set(capability, item)
            NextStep.objects.bulk_create(_next_steps(capability, item, personas))
    _prerequisites_set(version, data)


@transaction.atomic
def _refresh_texts(version: FrameworkVersion, data: dict) -> None:
    """Rewrite texts, routing, aliases, next steps and prerequisites.

    Rows keep their identity: capabilities and next steps are updated in
    place, so nothing pointing at them breaks. Routing already copied into
    assessments stays as it is there.
    """
    personas = {p.slug: p for p in version.personas.all()}
    for domain_data in data["domains"]:
        # `update` skips `auto_now`: stamp the change for catalogue_version.
        Domain.objects.filter(version=version, slug=domain_data["slug"]).update(
            description=domain_data.get("description", ""), updated_at=timezone.now()
        )
        for item in domain_data["capabilities"]:
            capability = Capability.objects.get(version=version, slug=item["slug"])
            for field, value in _capability_texts(item).items():
                setattr(capability, field, value)
            capability.save()
            capability.default_personas.set(personas[s] for s in item["personas"])
            _aliases_set(capability, item)
            _next_steps_update(capability, item, personas)
    _prerequisites_set(version, data)


@transaction.atomic
def _add_missing_structure(version: FrameworkVersion, data: dict) -> None:
    """Give a version loaded by an older file what that file lacked.

    Prerequisites are set when the version has none; next steps without an
    action id (loaded before ids existed) are rewritten from the file.
    """
    edges = Capability.prerequisites.through.objects.filter(
        from_capability__version=version
    )
    if not edges.exists():
        _prerequisites_set(version, data)
    if NextStep.objects.filter(capability__version=version, action_key="").exists():
        personas = {p.slug: p for p in version.personas.all()}
        for domain_data in data["domains"]:
            for item in domain_data["capabilities"]:
                capability = version.capabilities.get(slug=item["slug"])
                _next_steps_update(capability, item, personas)


def _prerequisites_set(version: FrameworkVersion, data: dict) -> None:
    capabilities = {c.slug: c for c in version.capabilities.all()}
    for domain_data in data["domains"]:
        for item in domain_data["capabilities"]:
            capabilities[item["slug"]].prerequisites.set(
                capabilities[slug] for slug in item.get("prerequisites", [])
            )


def _aliases_set(capability: Capability, item: dict) -> None:
    """Add the file's earlier names; keep any the admin added."""
    CapabilityAlias.objects.bulk_create(
        [CapabilityAlias(capability=capability, **a) for a in item.get("aliases", [])],
        update_conflicts=True,
        unique_fields=["capability", "name"],
        update_fields=["versions"],
    )


def _next_steps_update(capability: Capability, item: dict, personas: dict) -> None:
    """Make a capability's next steps match the file, updating rows in place."""
    existing = {(s.from_level, s.position): s for s in capability.next_steps.all()}
    fields = ["action", "owner", "kpi", "action_key", "first_round_only"]
    changed, added = [], []
    for step in _next_steps(capability, item, personas):
        row = existing.pop((step.from_level, step.position), None)
        if row is None:
            added.append(step)
            continue
        for field in fields:
            setattr(row, field, getattr(step, field))
        changed.append(row)
    NextStep.objects.filter(pk__in=[s.pk for s in existing.values()]).delete()
    NextStep.objects.bulk_update(changed, fields)
    NextStep.objects.bulk_create(added)


def _share(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _capability_texts(item: dict) -> dict:
    levels = item["levels"]
    return {
        "description": item["description"],
        "crawl_signs": "\n".join(levels["crawl"]),
        "walk_signs": "\n".join(levels["walk"]),
        "run_signs": "\n".join(levels["run"]),
    }


def _next_steps(capability, item: dict, personas: dict) -> list[NextStep]:
    return [
        NextStep(
            capability=capability,
            from_level=from_level,
            position=position,
            action=step["action"],
            owner=personas[step["owner"]],
            kpi=step["kpi"],
            action_key=step["id"],
            first_round_only=step.get("first_round_only", False),
        )
        for key, from_level in TRANSITIONS.items()
        for position, step in enumerate(item["next_steps"][key], start=1)
    ]


# Every catalogue model, with the path from its rows to their framework version.
CATALOGUE_MODELS = [
    (FrameworkVersion, "pk"),
    (Domain, "version"),
    (Persona, "version"),
    (Capability, "version"),
    (CapabilityAlias, "capability__version"),
    (NextStep, "capability__version"),
    (EvidenceKpi, "version"),
]
# Links between capabilities: no `updated_at`, so only their count and largest
# id (an admin edit also saves the capability, which moves its `updated_at`).
CATALOGUE_LINKS = [(Capability.prerequisites.through, "from_capability__version")]


def catalogue_version(version_ids: list[int]) -> list[list[str | int]]:
    """Return each catalogue model's row count and last change in these versions.

    A saved row moves its `updated_at` (also an admin edit of a name); a
    deleted one lowers the count, and one deleted and another added moves
    the last change. One query per model and per link table.
    """
    version = []
    for model, path in CATALOGUE_MODELS:
        rows = model.objects.filter(**{f"{path}__in": version_ids}).aggregate(
            n=Count("pk"), last=Max("updated_at")
        )
        last = rows["last"].isoformat() if rows["last"] else ""
        version.append([model._meta.model_name, rows["n"], last])
    for model, path in CATALOGUE_LINKS:
        rows = model.objects.filter(**{f"{path}__in": version_ids}).aggregate(
            n=Count("pk"), last=Max("pk")
        )
        version.append([model._meta.model_name, rows["n"], rows["last"] or 0])
    return version
