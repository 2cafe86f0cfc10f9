from django.core.management.base import BaseCommand

from assessment.demo import demo_organisation_create


class Command(BaseCommand):
    help = "Create or refresh the demo organisation and print its logins."

    def handle(self, *args, **options):
        organisation, logins = demo_organisation_create()
        self.stdout.write(f"Demo organisation: {organisation.name}")
        for login in logins:
            self.stdout.write(
                f"  {login.role:<7} login: {login.username} / {login.password}"
            )
        self.stdout.write("Open http://127.0.0.1:8000/ and log in.")
