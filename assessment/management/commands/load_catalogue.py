from django.core.management.base import BaseCommand

from assessment.catalogue import catalogue_files, load_catalogue, read_catalogue


class Command(BaseCommand):
    help = "Load the FinOps framework catalogue; versions already loaded are kept."

    def add_arguments(self, parser):
        parser.add_argument(
            "--refresh-texts",
            action="store_true",
            help="Rewrite descriptions, level signs, routing, aliases, next "
            "steps and prerequisites of loaded versions from the files "
            "(overwrites corrections made in the admin).",
        )

    def handle(self, *args, refresh_texts: bool = False, **options):
        for path in catalogue_files():
            result = load_catalogue(read_catalogue(path), refresh_texts=refresh_texts)
            if result.created:
                status = "loaded"
            elif result.refreshed:
                status = "texts refreshed"
            else:
                status = "already loaded, unchanged"
            self.stdout.write(f"Framework {result.version}: {status}.")
