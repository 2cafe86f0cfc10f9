"""Reminders every N days until closing, as the owner set them.

`tasks.reminders_task` runs once a day per assessment with the setting, at
REMINDER_HOUR (site time), and queues a reminder send for those who have not
submitted and were invited or reminded at least N days before (less a little
slack, so someone invited at ten is reminded at nine N days later). The send
goes through `mailing`, the path of the owner's button and of the cron
command `send_reminders`: whichever runs first on a day, the others find
those people reminded lately, or already waiting for a reminder, and skip
them.

A run claims its day by moving `Assessment.reminders_next_at` on in a
conditional update, so duplicate jobs do nothing. Reopening re-arms the
schedule; the owner's page also does if a worker vanished with it.
"""

import datetime

from django.db import transaction
from django.utils import timezone

from . import audit
from .invitations import reminder_candidates
from .mailing import invitations_remind
from .models import Assessment

REMINDER_HOUR = 9
SLACK = datetime.timedelta(hours=3)
# A schedule this late has lost its job (a worker vanished): re-arm it.
LOST_AFTER = datetime.timedelta(hours=1)


def next_run(after: datetime.datetime) -> datetime.datetime:
    """The first REMINDER_HOUR (site time) after `after`."""
    local = timezone.localtime(after)
    moment = local.replace(hour=REMINDER_HOUR, minute=0, second=0, microsecond=0)
    if moment <= local:
        moment = timezone.make_aware(
            datetime.datetime.combine(
                local.date() + datetime.timedelta(days=1),
                datetime.time(REMINDER_HOUR),
            )
        )
    return moment


def _enqueue(assessment_id: int, run_after: datetime.datetime) -> None:
    from .tasks import enqueue_at, reminders_task

    enqueue_at(reminders_task, assessment_id, run_after=run_after)


def reminders_set(*, assessment: Assessment, every_days: int | None) -> None:
    """Save the owner's choice and (re)start or stop the daily job."""
    assessment.remind_every_days = every_days
    if not every_days:
        assessment.reminders_next_at = None
        assessment.save(update_fields=["remind_every_days", "reminders_next_at"])
        return
    assessment.save(update_fields=["remind_every_days"])
    _arm_unless_running(assessment)


def reminders_keep_going(assessment: Assessment) -> None:
    """Re-arm the schedule if its job was lost (or the assessment reopened)."""
    if assessment.remind_every_days and not assessment.is_closed:
        _arm_unless_running(assessment)


def _arm_unless_running(assessment: Assessment) -> None:
    """Arm the daily job unless one is due and not overdue (a lost one)."""
    next_at = assessment.reminders_next_at
    if next_at is None or next_at < timezone.now() - LOST_AFTER:
        _arm(assessment)


def _arm(assessment: Assessment) -> None:
    next_at = next_run(timezone.now())
    with transaction.atomic():
        Assessment.objects.filter(pk=assessment.pk).update(reminders_next_at=next_at)
        _enqueue(assessment.pk, next_at)
    assessment.reminders_next_at = next_at


def reminders_run(assessment_id: int) -> None:
    """The daily run: claim the day, schedule the next, queue the reminders."""
    assessment = (
        Assessment.objects.select_related("organisation")
        .filter(pk=assessment_id)
        .first()
    )
    if assessment is None or not assessment.remind_every_days:
        return
    due = assessment.reminders_next_at
    now = timezone.now()
    if due is None or due > now:
        return  # not yet, or a duplicate of a run that already claimed it
    with transaction.atomic():
        next_at = None if assessment.is_closed else next_run(now)
        claimed = Assessment.objects.filter(
            pk=assessment.pk, reminders_next_at=due
        ).update(reminders_next_at=next_at)
        if not claimed:
            return
        if next_at is None:
            return  # closed: reopening re-arms it
        _enqueue(assessment.pk, next_at)
        _remind(assessment)


def _remind(assessment: Assessment) -> None:
    closes_on = assessment.closes_on
    if not assessment.is_open or (closes_on and timezone.localdate() > closes_on):
        return
    interval = datetime.timedelta(days=assessment.remind_every_days) - SLACK
    count = reminder_candidates(assessment=assessment, min_interval=interval).count()
    if not count:
        return
    invitations_remind(assessment=assessment, min_interval=interval)
    audit.record(
        assessment=assessment,
        action="invitations.reminded",
        detail=f"{count} queued by the reminders every "
        f"{assessment.remind_every_days} days.",
    )
