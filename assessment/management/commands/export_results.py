from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from assessment import audit, exports
from assessment.models import Assessment
from assessment.scoring import assessment_results, previous_comparison


class Command(BaseCommand):
    help = (
        "Write an assessment's results (one row per capability, domain and "
        "overall) as JSON, CSV or XLSX; with --answers, its raw answers instead."
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

    def handle(self, *args, assessment_id, fmt, output, answers, **options):
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
                results = assessment_results(assessment)
                content = exports.export_results(
                    results, fmt, previous_comparison(results)
                )
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
