"""Measure the server time and query count of a questionnaire page.

Usage: .venv/bin/python bench/survey.py [participants ...]

Builds a throwaway SQLite database under /tmp, an open assessment of the
whole framework and the given numbers of participants (default 1 and 500),
each with every question answered, then times GET requests of the largest
page (Manage the FinOps Practice, 8 questions for a FinOps practitioner)
through Django's test client: middleware, view, template, no network.
"""

import statistics
import sys
import tempfile
import time
from pathlib import Path

from _setup import setup_django

DB = Path(tempfile.gettempdir()) / "finops-bench-survey.sqlite3"
setup_django(DB)

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402

from assessment.catalogue import catalogue_files, load_catalogue, read_catalogue  # noqa: E402
from assessment.invitations import invitation_create  # noqa: E402
from assessment.lifecycle import assessment_create  # noqa: E402
from assessment.models import (  # noqa: E402
    Answer,
    Assessment,
    FrameworkVersion,
    Organisation,
    Response,
)

RUNS = 100
DOMAIN = "manage-finops-practice"


def setup_database() -> Assessment:
    DB.unlink(missing_ok=True)
    call_command("migrate", verbosity=0)
    for path in catalogue_files():
        load_catalogue(read_catalogue(path))
    framework = FrameworkVersion.objects.get(slug="2026")
    organisation = Organisation.objects.create(name="Bench", slug="bench")
    assessment = assessment_create(
        organisation=organisation, framework=framework, title="Bench"
    )
    assessment.status = Assessment.Status.OPEN
    assessment.save()
    return assessment


def add_participants(assessment: Assessment, count: int) -> str:
    """Add participants with every question answered; return the last token."""
    practitioner = assessment.framework.personas.get(slug="finops-practitioner")
    capabilities = list(assessment.framework.capabilities.all())
    token = ""
    for index in range(count):
        invitation, token = invitation_create(
            assessment=assessment, persona=practitioner
        )
        response = Response.objects.create(
            invitation=invitation, assessment=assessment, persona=practitioner
        )
        Answer.objects.bulk_create(
            Answer(response=response, capability=c, value=(index + c.pk) % 4)
            for c in capabilities
        )
    return token


def measure(token: str) -> tuple[float, float, float, int]:
    """Return median and p95 wall time, median CPU time (ms), query count.

    CPU time is what the server spends on the page; wall time also counts
    waiting for a busy machine.
    """
    client = Client()
    url = reverse("assessment:survey_page", args=[token, DOMAIN])
    for _ in range(5):  # warm template and URL caches
        client.get(url)
    times, cpu = [], []
    for _ in range(RUNS):
        start, start_cpu = time.perf_counter(), time.process_time()
        reply = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
        assert reply.status_code == 200
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    p95 = statistics.quantiles(times, n=20)[-1]
    return statistics.median(times), p95, statistics.median(cpu), len(queries)


def main() -> None:
    sizes = [int(arg) for arg in sys.argv[1:]] or [1, 500]
    assessment = setup_database()
    total = 0
    print(f"questionnaire page '{DOMAIN}' (8 questions), {RUNS} GETs each")
    for size in sorted(sizes):
        token = add_participants(assessment, size - total)
        total = size
        median, p95, cpu, queries = measure(token)
        print(
            f"{size:>6} participants: wall median {median:5.1f} ms, "
            f"p95 {p95:5.1f} ms; CPU median {cpu:5.1f} ms; {queries} queries"
        )
    DB.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
