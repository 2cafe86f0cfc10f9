"""Remind invitees of every open assessment who have not submitted (for cron)."""

import datetime

from django.core.management.base import BaseCommand, CommandError

from assessment import audit
from assessment.invitations import invitations_remind
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
            result = invitations_remind(assessment=item, min_interval=interval)
            total += result.sent
            failed += result.failed
            if result.sent or result.failed:
                audit.record(
                    assessment=item,
                    action="invitations.reminded",
                    detail=f"{result.sent} sent by the scheduled reminders.",
                )
                self.stdout.write(
                    f"{item.organisation} / {item}: {result.sent} reminded"
                    + (f", {result.failed} failed" if result.failed else "")
                )
        self.stdout.write(self.style.SUCCESS(f"{total} reminder(s) sent."))
        if failed:
            raise CommandError(f"{failed} reminder(s) could not be sent.")
