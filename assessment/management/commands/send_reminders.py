"""Remind invitees of every open assessment who have not submitted (for cron).

The same path as the owner's button and the scheduled reminders: a send per
assessment, with one delivery per invitee, run here to the end. Invitees
reminded within --min-days (by any of the three) are skipped, and nobody
already waiting for a reminder is queued twice, so cron and the schedule
never both remind one person the same day.
"""

import datetime

from django.core.management.base import BaseCommand, CommandError

from assessment import audit
from assessment.invitations import reminder_candidates
from assessment.mailing import invitations_remind, send_counts, send_run_all
from assessment.models import Assessment


class Command(BaseCommand):
    help = (
        "Email a reminder with a fresh personal link to every invitee of an open "
        "assessment who has not submitted, at most once per --min-days."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--min-days",
            type=float,
            default=3,
            help="Skip invitees invited or reminded more recently (default: 3).",
        )
        parser.add_argument(
            "--assessment",
            type=int,
            help="Only remind for the open assessment with this id.",
        )

    def handle(self, *args, min_days: float, assessment: int | None, **options):
        if min_days < 0:
            raise CommandError("--min-days must be zero or more.")
        interval = datetime.timedelta(days=min_days)
        assessments = Assessment.objects.filter(
            status=Assessment.Status.OPEN
        ).select_related("organisation")
        if assessment is not None:
            assessments = assessments.filter(pk=assessment)
            if not assessments.exists():
                raise CommandError(f"No open assessment with id {assessment}.")
        total = failed = 0
        for item in assessments:
            # No send without someone to remind: an empty one would show
            # owners "0 of 0 sent" until the next run.
            candidates = reminder_candidates(assessment=item, min_interval=interval)
            if not candidates.exists():
                continue
            send = invitations_remind(
                assessment=item, min_interval=interval, enqueue=False
            )
            send_run_all(send)
            counts = send_counts(send)
            # Messages still queued are retried by the background worker;
            # failed ones wait for the owner's "Retry failed".
            waiting = counts["queued"] + counts["sending"] + counts["failed"]
            total += counts["sent"]
            failed += waiting
            if counts["sent"] or waiting:
                audit.record(
                    assessment=item,
                    action="invitations.reminded",
                    detail=f"{counts['sent']} sent by the scheduled reminders.",
                )
                self.stdout.write(
                    f"{item.organisation} / {item}: {counts['sent']} reminded"
                    + (f", {waiting} not sent yet" if waiting else "")
                )
        self.stdout.write(self.style.SUCCESS(f"{total} reminder(s) sent."))
        if failed:
            raise CommandError(
                f"{failed} reminder(s) could not be sent now: queued ones are "
                "retried by the background worker; owners see failed ones with "
                "a button to try again."
            )
