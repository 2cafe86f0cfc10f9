from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from assessment import audit
from assessment.models import Assessment
from assessment.report_content import PAPER_SIZES, ReportOptions
from assessment.reports import ReportError, report_filename, report_now


class Command(BaseCommand):
    help = "Render an assessment's PDF maturity report to a file."

    def add_arguments(self, parser):
        parser.add_argument("assessment_id", type=int)
        parser.add_argument(
            "-o",
            "--output",
            help="File to write (default: the download's file name, here).",
        )
        parser.add_argument("--paper", choices=sorted(PAPER_SIZES), default="a4")
        parser.add_argument(
            "--comments",
            action="store_true",
            help="Add the appendix of published comments (as owners may).",
        )

    def handle(self, *args, **options):
        assessment = (
            Assessment.objects.select_related("organisation", "framework")
            .filter(pk=options["assessment_id"])
            .first()
        )
        if assessment is None:
            raise CommandError(f"No assessment with id {options['assessment_id']}.")
        report_options = ReportOptions(
            paper=options["paper"], include_comments=options["comments"]
        )
        try:
            pdf = report_now(assessment, report_options)
        except ReportError as exc:
            raise CommandError(str(exc)) from exc
        audit.record(
            assessment=assessment,
            action="report.downloaded",
            detail=f"{PAPER_SIZES[report_options.paper]}, from the command line.",
        )
        path = Path(options["output"] or report_filename(assessment))
        try:
            path.write_bytes(pdf)
        except OSError as exc:
            raise CommandError(f"Cannot write {path}: {exc.strerror}.") from exc
        self.stdout.write(f"Wrote {path} ({len(pdf):,} bytes).")
