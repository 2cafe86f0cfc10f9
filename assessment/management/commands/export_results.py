from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from assessment import audit, exports
from assessment.disclosure import shown_results
from assessment.models import Assessment


class Command(BaseCommand):
    help = (
        "Write an assessment's published results (one row per capability, domain "
        "and overall) as JSON, CSV or XLSX; with --live, its live results (with "
        "the same suppression); with --answers, its raw answers instead."
    )

    def add_arguments(self, parser):
        parser.add_argument("assessment_id", type=int)
        parser.add_argument(
            "--format", choices=sorted(exports.FORMATS), default="json", dest="fmt"
        )
        parser.add_argument(
            "-o", "--output", required=True, help="File to write ('-' for stdout)."
        )
        parser.add_argument(
            "--answers",
            action="store_true",
            help="Export raw answers under pseudonyms (CSV or XLSX).",
        )
        parser.add_argument(
            "--live",
            action="store_true",
            help="Export live results instead of the published ones.",
        )

    def handle(self, *args, assessment_id, fmt, output, answers, live, **options):
        assessment = (
            Assessment.objects.select_related("framework")
            .filter(pk=assessment_id)
            .first()
        )
        if assessment is None:
            raise CommandError(f"No assessment with id {assessment_id}.")
        try:
            if answers:
                content = exports.export_answers(assessment, fmt)
                audit.record(
                    assessment=assessment,
                    action="answers.exported",
                    detail=f"As {fmt.upper()}, from the command line.",
                )
            else:
                shown = shown_results(assessment, owner=True, live=live)
                if shown.results is None:
                    raise CommandError(
                        f"Assessment {assessment_id} has no published results "
                        "yet: use --live for its live results."
                    )
                content = exports.export_results(shown, fmt)
        except ValueError as error:
            raise CommandError(str(error)) from error
        if output == "-":
            if fmt == "xlsx":
                raise CommandError("Write XLSX to a file: -o results.xlsx.")
            self.stdout.write(content.decode("utf-8-sig"))
            return
        try:
            Path(output).write_bytes(content)
        except OSError as error:
            raise CommandError(f"Cannot write {output}: {error.strerror}.") from error
        self.stderr.write(f"Wrote {output} ({len(content):,} bytes).")
