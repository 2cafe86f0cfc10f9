"""Creating and moving assessments through draft -> open -> closed."""

import datetime

from django.db import transaction
from django.utils import timezone

from . import display
from .models import (
    Answer,
    Assessment,
    Capability,
    FrameworkVersion,
    Invitation,
    Level,
    Organisation,
    Persona,
    ResultsSnapshot,
    ScopedCapability,
)
from .reports import report_prepare
from .snapshots import snapshot_close, snapshot_rethreshold


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
    importance: dict[int, str] | None = None,
    anonymity_threshold: int = 3,
    opens_on: datetime.date | None = None,
    closes_on: datetime.date | None = None,
    previous: Assessment | None = None,
) -> Assessment:
    """Create a draft assessment with its scope, targets and default routing.

    `capabilities` defaults to every capability of the framework, `personas`
    to every persona, `targets` (capability id -> level) to Walk,
    `importance` (capability id -> high/normal/low) to normal.
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
            importance=(importance or {}).get(
                capability.pk, ScopedCapability.Importance.NORMAL
            ),
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


class LifecycleError(ValueError):
    """A change the assessment's state does not allow; the message says why."""


def _check_closing_date(closes_on: datetime.date | None) -> None:
    if closes_on is not None and closes_on < timezone.localdate():
        raise LifecycleError(
            f"The closing date ({display.date(closes_on)}) has passed: "
            "set a later one first."
        )


@transaction.atomic
def assessment_open(*, assessment: Assessment) -> None:
    """Open a draft to participants."""
    if assessment.status != Assessment.Status.DRAFT:
        raise LifecycleError("Only a draft can be opened; reopen a closed one.")
    if not assessment.scoped_capabilities.exists():
        raise LifecycleError("Put at least one capability in scope first.")
    if not assessment.personas.exists():
        raise LifecycleError("Invite at least one persona first.")
    _check_closing_date(assessment.closes_on)
    assessment.status = Assessment.Status.OPEN
    assessment.opened_at = timezone.now()
    assessment.save(update_fields=["status", "opened_at"])


@transaction.atomic
def assessment_close(
    *, assessment: Assessment, user=None, keep_published: bool = False
) -> ResultsSnapshot:
    """Close an open assessment: answers stop and results are published.

    Viewers see the snapshot taken here (see `snapshots`); with
    `keep_published`, the last published results if closing would hold
    figures back (`snapshots.snapshot_close`). Its default
    report is queued once this is committed, ready before the first download
    (`robust`: a failure to queue it must not undo the closing).
    """
    if assessment.status != Assessment.Status.OPEN:
        raise LifecycleError("Only an open assessment can be closed.")
    assessment.status = Assessment.Status.CLOSED
    assessment.closed_at = timezone.now()
    assessment.save(update_fields=["status", "closed_at"])
    snapshot = snapshot_close(
        assessment=assessment, user=user, keep_published=keep_published
    )
    transaction.on_commit(lambda: report_prepare(assessment), robust=True)
    return snapshot


def assessment_reopen(
    *, assessment: Assessment, closes_on: datetime.date | None = None
) -> None:
    """Reopen a closed assessment, moving its closing date if one is given.

    Its published results stay as they are: viewers see the results of the
    closing until k new submissions allow an interim publication, or the
    assessment closes again.
    """
    if assessment.status != Assessment.Status.CLOSED:
        raise LifecycleError("Only a closed assessment can be reopened.")
    new_closes_on = closes_on or assessment.closes_on
    _check_closing_date(new_closes_on)
    if (
        new_closes_on is not None
        and assessment.opens_on is not None
        and new_closes_on < assessment.opens_on
    ):
        raise LifecycleError("The closing date must not be before the opening date.")
    assessment.status = Assessment.Status.OPEN
    assessment.closes_on = new_closes_on
    assessment.closed_at = None
    assessment.save(update_fields=["status", "closes_on", "closed_at"])


def assessment_keep_links(*, assessment: Assessment, days: int) -> datetime.datetime:
    """Keep participants' links working `days` longer; return the new end.

    Counted from when they would stop, or from now if they already have.
    """
    expires_at = assessment.links_expire_at()
    if expires_at is None:
        raise LifecycleError("Links work while the assessment is open.")
    assessment.links_kept_until = max(expires_at, timezone.now()) + datetime.timedelta(
        days=days
    )
    assessment.save(update_fields=["links_kept_until"])
    return assessment.links_kept_until


@transaction.atomic
def assessment_update(
    *,
    assessment: Assessment,
    title: str,
    scope_label: str,
    personas: list[Persona],
    anonymity_threshold: int,
    opens_on: datetime.date | None,
    closes_on: datetime.date | None,
    comments_published: bool | None = None,
    user=None,
) -> None:
    """Change an assessment's settings; personas with participants stay.

    `comments_published` None leaves the choice as it is. A raised anonymity
    threshold applies to the published results at once, a lowered one from
    the next publication (`snapshots.snapshot_rethreshold`).
    """
    kept = {p.pk for p in personas}
    in_use = Persona.objects.filter(
        pk__in=assessment.invitations.values("persona")
    ).exclude(pk__in=kept)
    names = [p.name for p in in_use]
    if names:
        raise LifecycleError(
            "These personas have participants, so they stay invited: "
            + ", ".join(names)
            + "."
        )
    if assessment.status == Assessment.Status.OPEN:
        _check_closing_date(closes_on)
    assessment.title = title
    assessment.scope_label = scope_label
    assessment.anonymity_threshold = anonymity_threshold
    assessment.opens_on = opens_on
    assessment.closes_on = closes_on
    if comments_published is not None:
        assessment.comments_published = comments_published
    assessment.save()
    assessment.personas.set(personas)
    snapshot_rethreshold(assessment=assessment, user=user)


def answered_capabilities(
    *, assessment: Assessment, capability_ids: set[int]
) -> list[Capability]:
    """Return which of these capabilities already have answers (one query)."""
    answered = Answer.objects.filter(
        response__assessment=assessment, capability_id__in=capability_ids
    ).values("capability_id")
    return list(Capability.objects.filter(pk__in=answered))


@transaction.atomic
def assessment_set_scope(
    *,
    assessment: Assessment,
    targets: dict[int, int],
    importance: dict[int, str] | None = None,
) -> None:
    """Make `targets` (capability id -> target level) the assessment's scope.

    `importance` (capability id -> high/normal/low) changes the capabilities
    it names; others keep theirs (normal for new ones).

    Capabilities left out are removed from scope (their answers stay in the
    database, so putting a capability back restores them); new ones are asked
    of their catalogue's default personas.
    """
    if not targets:
        raise LifecycleError("Keep at least one capability in scope.")
    existing = {s.capability_id: s for s in assessment.scoped_capabilities.all()}
    assessment.scoped_capabilities.exclude(capability_id__in=targets).delete()
    changed = []
    importance = importance or {}
    for capability_id, level in targets.items():
        item = existing.get(capability_id)
        if item is None:
            continue
        weight = importance.get(capability_id, item.importance)
        if item.target_level != level or item.importance != weight:
            item.target_level, item.importance = level, weight
            changed.append(item)
    ScopedCapability.objects.bulk_update(changed, ["target_level", "importance"])
    new = list(
        assessment.framework.capabilities.filter(
            pk__in=targets.keys() - existing.keys()
        ).prefetch_related("default_personas")
    )
    scoped = ScopedCapability.objects.bulk_create(
        ScopedCapability(
            assessment=assessment,
            capability=c,
            target_level=targets[c.pk],
            importance=importance.get(c.pk, ScopedCapability.Importance.NORMAL),
        )
        for c in new
    )
    route_defaults(scoped, new)


@transaction.atomic
def assessment_set_routing(
    *, assessment: Assessment, routes: dict[int, set[int]]
) -> None:
    """Set which personas are asked about each scoped capability.

    `routes` maps a ScopedCapability id to persona ids; rows not in it keep
    their routing. Every capability keeps at least one persona, or nobody
    would be asked about it.
    """
    if any(not personas for personas in routes.values()):
        raise LifecycleError("Ask at least one persona about each capability.")
    Route = ScopedCapability.personas.through
    scoped_ids = set(
        assessment.scoped_capabilities.filter(pk__in=routes).values_list(
            "pk", flat=True
        )
    )
    Route.objects.filter(scopedcapability_id__in=scoped_ids).delete()
    Route.objects.bulk_create(
        Route(scopedcapability_id=scoped_id, persona_id=persona_id)
        for scoped_id in scoped_ids
        for persona_id in routes[scoped_id]
    )


@transaction.atomic
def assessment_duplicate(*, assessment: Assessment, created_by=None) -> Assessment:
    """Copy scope, targets, routing and invitees into a new draft round.

    Dates are left blank (the new round has its own); invitees are copied
    but not sent anything yet.
    """
    scoped = list(assessment.scoped_capabilities.prefetch_related("personas"))
    new = Assessment.objects.create(
        organisation=assessment.organisation,
        framework=assessment.framework,
        title=f"{assessment.title} (next round)"[:150],
        scope_label=assessment.scope_label,
        anonymity_threshold=assessment.anonymity_threshold,
        previous=assessment,
        created_by=created_by,
    )
    new.personas.set(assessment.personas.all())
    copies = ScopedCapability.objects.bulk_create(
        ScopedCapability(
            assessment=new,
            capability_id=s.capability_id,
            target_level=s.target_level,
            importance=s.importance,
        )
        for s in scoped
    )
    Route = ScopedCapability.personas.through
    Route.objects.bulk_create(
        Route(scopedcapability_id=copy.pk, persona_id=persona.pk)
        for original, copy in zip(scoped, copies, strict=True)
        for persona in original.personas.all()
    )
    # Open-link participants have no address to invite again. Links are
    # created when the invitations are sent.
    Invitation.objects.bulk_create(
        Invitation(
            assessment=new,
            persona_id=invitation.persona_id,
            email=invitation.email,
            business_unit=invitation.business_unit,
        )
        for invitation in assessment.invitations.exclude(email="")
    )
    return new
