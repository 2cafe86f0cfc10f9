import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from assessment.demo import demo_organisation_create, demo_rounds_create


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError("must be at least 1")
    return value


class Command(BaseCommand):
    help = (
        "Create or refresh the demo organisation (owner and viewer logins), a "
        "closed previous round and a current assessment with submitted answers."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--respondents",
            type=_positive,
            default=40,
            help="Submitted responses in the current round (default 40).",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=2026,
            help="Random seed: the same seed gives the same answers (default 2026).",
        )

    def handle(self, *args, **options):
        started = time.perf_counter()
        # The README's passwords are public: only a development server gets them.
        random_passwords = not settings.DEBUG
        organisation, logins = demo_organisation_create(
            random_passwords=random_passwords
        )
        try:
            rounds = demo_rounds_create(
                organisation=organisation,
                respondents=options["respondents"],
                seed=options["seed"],
            )
        except ValueError as error:
            raise CommandError(str(error)) from error
        elapsed = time.perf_counter() - started
        self.stdout.write(f"Demo organisation: {organisation.name}")
        if random_passwords:
            self.stdout.write(
                "DEBUG is off, so the demo logins get new random passwords "
                "(the README's are for local development only):"
            )
        for login in logins:
            self.stdout.write(
                f"  {login.role:<7} login: {login.username} / {login.password}"
            )
        self.stdout.write(
            f"Current round: {rounds.current.title} "
            f"({options['respondents']} submitted responses, "
            f"previous round: {rounds.previous.title}) in {elapsed:.1f}s."
        )
        self.stdout.write("Open http://127.0.0.1:8000/ and log in.")
