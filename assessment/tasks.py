"""Background jobs: every task of the app, run by `manage.py db_worker`.

Tasks use Django's tasks API. On Django 5.2 it comes from the django-tasks
backport; from Django 6 it is built in, and moving is the one import line
below (`from django.tasks import ...`): no other module imports the API.

A task takes ids, not model instances, re-reads what it needs and is safe to
run twice: a worker may be stopped half-way and the job run again.
"""

import datetime
import logging

from django.utils import timezone
from django_tasks import TaskResultStatus, task  # noqa: F401 - the app's tasks API

logger = logging.getLogger(__name__)


def enqueue_at(job, *args, run_after: datetime.datetime | None, **kwargs) -> bool:
    """Enqueue `job` to run at `run_after` (now if None or past); False if not.

    The database backend keeps deferred jobs until their time. A backend that
    cannot defer (the immediate one the tests use) runs jobs due now and
    skips later ones, which a test then runs itself.
    """
    if run_after is None or run_after <= timezone.now():
        job.enqueue(*args, **kwargs)
        return True
    if not job.get_backend().supports_defer:
        logger.info("%s not scheduled: the task backend cannot defer", job.name)
        return False
    job.using(run_after=run_after).enqueue(*args, **kwargs)
    return True


@task()
def evidence_process_task(run_id: int) -> None:
    """Read a run's uploaded cost exports with DuckDB and store the KPIs.

    `evidence.evidence_process` claims the run in one conditional update,
    so a second delivery of the same job finds it taken and does nothing.
    """
    from .evidence import evidence_process

    evidence_process(run_id)


@task()
def report_render_task(report_id: int) -> None:
    """Render a queued PDF report and store it (`reports.report_render`).

    The row is claimed in one conditional update, so a second delivery of
    the job finds it taken and does nothing.
    """
    from .reports import report_render

    report_render(report_id)


@task()
def email_send_task(send_id: int, watchdog: bool = False) -> int:
    """Email one batch of a send (invitations, reminders or a re-send).

    `mailing.send_process` claims deliveries before sending and skips those
    sent, so a repeated or overlapping run emails nobody twice; it enqueues
    the next run while emails remain.
    """
    from .mailing import send_process

    return send_process(send_id, watchdog=watchdog)


@task()
def reminders_task(assessment_id: int) -> None:
    """Queue an assessment's reminders of the day (every N days, as set).

    `reminders.reminders_run` claims the day in one conditional update, so a
    duplicate job does nothing; it schedules the next day's run.
    """
    from .reminders import reminders_run

    reminders_run(assessment_id)
