"""Reminders every N days until closing, set by the owner, beside cron."""

import datetime

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from assessment import reminders
from assessment.models import Assessment, EmailSend, Invitation
from tests.factories import create_invitation, respond_to_invitation

pytestmark = pytest.mark.django_db


def _days_ago(days: float) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=days)


@pytest.fixture
def scheduled(open_assessment):
    """Every 3 days; one invitee sent 4 days ago, one yesterday, one done."""
    for email, sent in (("old@x.io", 4), ("new@x.io", 1), ("done@x.io", 4)):
        invitation, _ = create_invitation(
            assessment=open_assessment, email=email, persona="finance"
        )
        Invitation.objects.filter(pk=invitation.pk).update(sent_at=_days_ago(sent))
    respond_to_invitation(
        invitation=Invitation.objects.get(email="done@x.io"), submitted=True
    )
    reminders.reminders_set(assessment=open_assessment, every_days=3)
    return open_assessment


def _run_due(assessment: Assessment) -> None:
    """Let the day's run come, and run it."""
    Assessment.objects.filter(pk=assessment.pk).update(
        reminders_next_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    reminders.reminders_run(assessment.pk)


def test_the_owner_sets_the_interval_in_the_settings(client, owner, open_assessment):
    client.force_login(owner)
    url = reverse("assessment:edit", args=[open_assessment.pk])
    form = client.get(url).context["form"]
    data = {k: v for k, v in form.initial.items() if v is not None}
    data["personas"] = [p.pk for p in data["personas"]]
    data["remind_every_days"] = "3"
    assert client.post(url, data).status_code == 302
    open_assessment.refresh_from_db()
    assert open_assessment.remind_every_days == 3
    next_at = timezone.localtime(open_assessment.reminders_next_at)
    assert next_at > timezone.now() and next_at.hour == reminders.REMINDER_HOUR
    page = client.get(open_assessment.get_absolute_url()).content.decode()
    assert "Reminders go out every 3 days to those who have not submitted" in page
    data["remind_every_days"] = "0"
    response = client.post(url, data)
    assert "greater than or equal to 1" in response.content.decode()
    data["remind_every_days"] = ""
    client.post(url, data)
    open_assessment.refresh_from_db()
    assert open_assessment.remind_every_days is None
    assert open_assessment.reminders_next_at is None


def test_a_run_reminds_those_due_once_and_schedules_the_next_day(scheduled):
    _run_due(scheduled)
    assert [m.to for m in mail.outbox] == [["old@x.io"]]
    scheduled.refresh_from_db()
    assert scheduled.reminders_next_at > timezone.now()
    # A duplicate job of the same run does nothing.
    reminders.reminders_run(scheduled.pk)
    # Neither does the next day's run, nor cron the same day.
    _run_due(scheduled)
    call_command("send_reminders", "--min-days", "3")
    assert len(mail.outbox) == 1
    assert Invitation.objects.get(email="old@x.io").reminder_count == 1
    # Three days after the reminder, the next one.
    Invitation.objects.filter(email="old@x.io").update(last_reminded_at=_days_ago(3))
    _run_due(scheduled)
    assert len(mail.outbox) == 2


def test_cron_first_then_the_schedule_the_same_day_reminds_once(scheduled):
    call_command("send_reminders", "--min-days", "3")
    _run_due(scheduled)
    assert [m.to for m in mail.outbox] == [["old@x.io"]]


def test_no_reminders_after_the_closing_date_nor_while_a_draft(scheduled):
    Assessment.objects.filter(pk=scheduled.pk).update(
        closes_on=timezone.localdate() - datetime.timedelta(days=1)
    )
    _run_due(scheduled)
    Assessment.objects.filter(pk=scheduled.pk).update(
        closes_on=None, status=Assessment.Status.DRAFT
    )
    _run_due(scheduled)
    assert mail.outbox == []
    assert not EmailSend.objects.filter(assessment=scheduled).exists()
    scheduled.refresh_from_db()
    assert scheduled.reminders_next_at > timezone.now()  # still scheduled


def test_closing_stops_the_schedule_and_reopening_restarts_it(client, owner, scheduled):
    Assessment.objects.filter(pk=scheduled.pk).update(status=Assessment.Status.CLOSED)
    _run_due(scheduled)
    scheduled.refresh_from_db()
    assert scheduled.reminders_next_at is None and mail.outbox == []
    Assessment.objects.filter(pk=scheduled.pk).update(status=Assessment.Status.OPEN)
    client.force_login(owner)
    client.get(scheduled.get_absolute_url())
    scheduled.refresh_from_db()
    assert scheduled.reminders_next_at > timezone.now()


def test_the_next_run_is_at_the_reminder_hour():
    tz = timezone.get_current_timezone()
    morning = datetime.datetime(2026, 12, 1, 7, 30, tzinfo=tz)
    evening = datetime.datetime(2026, 12, 1, 18, 0, tzinfo=tz)
    assert reminders.next_run(morning) == datetime.datetime(2026, 12, 1, 9, tzinfo=tz)
    assert reminders.next_run(evening) == datetime.datetime(2026, 12, 2, 9, tzinfo=tz)
