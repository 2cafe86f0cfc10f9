"""Creating and moving assessments through draft -> open -> closed."""

import datetime

from django.db import transaction

from .models import (
    Assessment,
    Capability,
    FrameworkVersion,
    Level,
    Organisation,
    Persona,
    ScopedCapability,
)


@transaction.atomic
def assessment_create(
    *,
    organisation: Organisation,
    framework: FrameworkVersion,
    title: str,
    created_by=None,
    scope_label: str = "",
    capabilities: list[Capability] | None = None,
    personas: list[Persona] | None = None,
    targets: dict[int, int] | None = None,
    anonymity_threshold: int = 3,
    opens_on: datetime.date | None = None,
    closes_on: datetime.date | None = None,
    previous: Assessment | None = None,
) -> Assessment:
    """Create a draft assessment with its scope, targets and default routing.

    `capabilities` defaults to every capability of the framework, `personas`
    to every persona, `targets` (capability id -> level) to Walk.
    """
    if capabilities is None:
        capabilities = list(framework.capabilities.prefetch_related("default_personas"))
    if personas is None:
        personas = list(framework.personas.all())
    targets = targets or {}
    assessment = Assessment.objects.create(
        organisation=organisation,
        framework=framework,
        title=title,
        scope_label=scope_label,
        anonymity_threshold=anonymity_threshold,
        opens_on=opens_on,
        closes_on=closes_on,
        previous=previous,
        created_by=created_by,
    )
    assessment.personas.set(personas)
    scoped = ScopedCapability.objects.bulk_create(
        ScopedCapability(
            assessment=assessment,
            capability=capability,
            target_level=targets.get(capability.pk, Level.WALK),
        )
        for capability in capabilities
    )
    route_defaults(scoped, capabilities)
    return assessment


def route_defaults(
    scoped: list[ScopedCapability], capabilities: list[Capability]
) -> None:
    """Ask each scoped capability of its catalogue's default personas."""
    by_capability = {c.pk: c for c in capabilities}
    Route = ScopedCapability.personas.through
    Route.objects.bulk_create(
        Route(scopedcapability_id=item.pk, persona_id=persona.pk)
        for item in scoped
        for persona in by_capability[item.capability_id].default_personas.all()
    )
