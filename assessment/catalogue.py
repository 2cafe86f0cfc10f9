"""Load the FinOps framework catalogue from the JSON files beside this module.

Each file under `assessment/catalogue/` describes one framework version. A
version already in the database is left as it is (assessments point at it and
the admin may have corrected its texts) unless texts are refreshed on purpose.
"""

import json
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
    """Add a framework version from catalogue data, or leave it if present."""
    meta = data["version"]
    version = FrameworkVersion.objects.filter(slug=meta["slug"]).first()
    if version is None:
        _create_version(data)
        result = LoadResult(meta["slug"], created=True)
    elif refresh_texts:
        _refresh_texts(version, data)
        result = LoadResult(meta["slug"], created=False, refreshed=True)
    else:
        result = LoadResult(meta["slug"], created=False)
    evidence_kpis_add(meta["slug"], data)
    return result


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
            CapabilityAlias.objects.bulk_create(
                CapabilityAlias(capability=capability, **alias)
                for alias in item.get("aliases", [])
            )
            NextStep.objects.bulk_create(_next_steps(capability, item, personas))


@transaction.atomic
def _refresh_texts(version: FrameworkVersion, data: dict) -> None:
    """Rewrite descriptions, signs and next steps; keep every row's identity."""
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
            capability.next_steps.all().delete()
            NextStep.objects.bulk_create(_next_steps(capability, item, personas))


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


def catalogue_version(version_ids: list[int]) -> list[list[str | int]]:
    """Return each catalogue model's row count and last change in these versions.

    A saved row moves its `updated_at` (also an admin edit of a name); a
    deleted one lowers the count, and one deleted and another added moves
    the last change. One query per model.
    """
    version = []
    for model, path in CATALOGUE_MODELS:
        rows = model.objects.filter(**{f"{path}__in": version_ids}).aggregate(
            n=Count("pk"), last=Max("updated_at")
        )
        last = rows["last"].isoformat() if rows["last"] else ""
        version.append([model._meta.model_name, rows["n"], last])
    return version
