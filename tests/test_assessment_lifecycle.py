"""Lifecycle services: open, close, reopen, scope, routing, next round."""

import datetime

import pytest
from django.utils import timezone

from assessment import lifecycle
from assessment.models import Assessment, Level, ScopedCapability
from tests.factories import create_invitation, respond_to_invitation


def test_it_opens_a_draft_and_records_when(assessment):
    lifecycle.assessment_open(assessment=assessment)
    assessment.refresh_from_db()
    assert assessment.status == Assessment.Status.OPEN
    assert assessment.opened_at is not None


def test_it_refuses_to_open_with_a_closing_date_in_the_past(assessment):
    assessment.closes_on = timezone.localdate() - datetime.timedelta(days=1)
    assessment.save()
    with pytest.raises(lifecycle.LifecycleError, match="closing date"):
        lifecycle.assessment_open(assessment=assessment)
    assessment.refresh_from_db()
    assert assessment.status == Assessment.Status.DRAFT


def test_it_closes_and_reopens_with_a_new_closing_date(open_assessment):
    lifecycle.assessment_close(assessment=open_assessment)
    assert open_assessment.status == Assessment.Status.CLOSED
    assert open_assessment.closed_at is not None
    later = timezone.localdate() + datetime.timedelta(days=7)
    lifecycle.assessment_reopen(assessment=open_assessment, closes_on=later)
    open_assessment.refresh_from_db()
    assert open_assessment.status == Assessment.Status.OPEN
    assert open_assessment.closes_on == later
    assert open_assessment.closed_at is None


def test_it_refuses_transitions_out_of_order(assessment):
    with pytest.raises(lifecycle.LifecycleError):
        lifecycle.assessment_close(assessment=assessment)
    with pytest.raises(lifecycle.LifecycleError):
        lifecycle.assessment_reopen(assessment=assessment)


def test_set_scope_removes_adds_and_retargets(assessment, framework):
    allocation = framework.capabilities.get(slug="allocation")
    forecasting = framework.capabilities.get(slug="forecasting")
    lifecycle.assessment_set_scope(
        assessment=assessment, targets={allocation.pk: Level.RUN}
    )
    assert list(
        assessment.scoped_capabilities.values_list("capability__slug", "target_level")
    ) == [("allocation", Level.RUN)]
    lifecycle.assessment_set_scope(
        assessment=assessment,
        targets={allocation.pk: Level.CRAWL, forecasting.pk: Level.WALK},
    )
    added = assessment.scoped_capabilities.get(capability=forecasting)
    # A capability put back in scope is routed to its default personas again.
    assert set(added.personas.all()) == set(forecasting.default_personas.all())
    assert assessment.scoped_capabilities.get(capability=allocation).target_level == 1


def test_it_finds_answered_capabilities_before_removing_them(assessment, framework):
    invitation, _ = create_invitation(assessment=assessment, email="a@x.io")
    respond_to_invitation(
        invitation=invitation, submitted=True, answer_slugs=("allocation",)
    )
    ids = set(framework.capabilities.values_list("pk", flat=True))
    answered = lifecycle.answered_capabilities(
        assessment=assessment, capability_ids=ids
    )
    assert [c.slug for c in answered] == ["allocation"]


def test_set_routing_replaces_the_personas_asked(assessment, framework):
    item = assessment.scoped_capabilities.get(capability__slug="budgeting")
    finance = framework.personas.get(slug="finance")
    lifecycle.assessment_set_routing(
        assessment=assessment, routes={item.pk: {finance.pk}}
    )
    assert list(item.personas.all()) == [finance]


def test_settings_keep_personas_that_have_participants(assessment, framework):
    create_invitation(assessment=assessment, email="a@x.io", persona="finance")
    with pytest.raises(lifecycle.LifecycleError, match="Finance"):
        lifecycle.assessment_update(
            assessment=assessment,
            title="T",
            scope_label="",
            personas=list(framework.personas.exclude(slug="finance")),
            anonymity_threshold=3,
            opens_on=None,
            closes_on=None,
        )


def test_duplicate_copies_scope_targets_routing_and_invitees(
    open_assessment,
    framework,
    owner,
):
    allocation = open_assessment.scoped_capabilities.get(capability__slug="allocation")
    allocation.target_level = Level.RUN
    allocation.save()
    finance = framework.personas.get(slug="finance")
    allocation.personas.set([finance])
    first, _ = create_invitation(
        assessment=open_assessment,
        email="a@x.io",
        persona="finance",
        business_unit="Retail",
    )
    first.sent_at = timezone.now()
    first.save()
    create_invitation(
        assessment=open_assessment
    )  # an open-link participant: no address

    new = lifecycle.assessment_duplicate(assessment=open_assessment, created_by=owner)

    assert new.status == Assessment.Status.DRAFT
    assert new.previous == open_assessment
    assert (
        new.scoped_capabilities.count() == open_assessment.scoped_capabilities.count()
    )
    copied = new.scoped_capabilities.get(capability__slug="allocation")
    assert copied.target_level == Level.RUN
    assert list(copied.personas.all()) == [finance]
    assert set(new.personas.all()) == set(open_assessment.personas.all())
    (invitee,) = new.invitations.all()
    assert (invitee.email, invitee.business_unit, invitee.sent_at) == (
        "a@x.io",
        "Retail",
        None,
    )
    assert not invitee.tokens.exists()  # the link is made when it is sent
    assert ScopedCapability.objects.filter(assessment=open_assessment).count() == 22
