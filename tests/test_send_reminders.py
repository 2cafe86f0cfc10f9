"""The send_reminders command: every open assessment, at most every N days."""

import datetime

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone

from assessment.models import Assessment, EmailSend, Invitation
from tests.factories import create_assessment, create_invitation, respond_to_invitation


@pytest.fixture
def sent_long_ago(organisation, framework):
    """An open and a closed assessment, each with invitees sent a week ago."""
    week_ago = timezone.now() - datetime.timedelta(days=7)
    opened = create_assessment(
        organisation=organisation, framework=framework, status=Assessment.Status.OPEN
    )
    closed = create_assessment(
        organisation=organisation, framework=framework, status=Assessment.Status.CLOSED
    )
    create_invitation(assessment=opened, email="waiting@x.io")
    done, _ = create_invitation(assessment=opened, email="done@x.io")
    respond_to_invitation(invitation=done, submitted=True)
    create_invitation(assessment=closed, email="closed@x.io")
    create_invitation(
        assessment=opened
    )  # open-link participant: no address, never emailed
    Invitation.objects.update(sent_at=week_ago)
    return opened


def test_it_reminds_only_unsubmitted_invitees_of_open_assessments(sent_long_ago):
    call_command("send_reminders")
    assert [m.to for m in mail.outbox] == [["waiting@x.io"]]
    invitation = Invitation.objects.get(email="waiting@x.io")
    assert invitation.reminder_count == 1


def test_it_waits_the_minimum_interval_between_reminders(sent_long_ago):
    call_command("send_reminders")
    call_command("send_reminders")
    assert len(mail.outbox) == 1
    Invitation.objects.filter(email="waiting@x.io").update(
        last_reminded_at=timezone.now() - datetime.timedelta(days=2)
    )
    call_command("send_reminders")
    assert len(mail.outbox) == 1
    call_command("send_reminders", "--min-days", "1")
    assert len(mail.outbox) == 2
    assert Invitation.objects.get(email="waiting@x.io").reminder_count == 2


def test_it_does_not_remind_people_invited_just_now(organisation, framework):
    opened = create_assessment(
        organisation=organisation, framework=framework, status=Assessment.Status.OPEN
    )
    create_invitation(assessment=opened, email="new@x.io")
    Invitation.objects.update(sent_at=timezone.now())
    call_command("send_reminders")
    assert mail.outbox == []
    # Nobody to remind: no empty send for owners to read as "0 of 0 sent".
    assert not EmailSend.objects.filter(assessment=opened).exists()


def test_it_rejects_a_negative_interval(db):
    with pytest.raises(CommandError, match="zero or more"):
        call_command("send_reminders", "--min-days", "-1")
