"""Time the results computation and the dashboard for growing respondent counts.

Usage: .venv/bin/python bench/results.py [N ...]   (default: 40 500 5000)

Runs against a throwaway SQLite database (never your own data): seeds the demo
with N respondents, then prints the median wall time and the query count of
`assessment_results` (live figures), of publishing a results snapshot, and of
the dashboard view (published results, then the owner's live preview). The
query counts must be the same for every N.
"""

import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _setup import setup_django

DB = Path(tempfile.mkdtemp()) / "bench.sqlite3"
setup_django(DB)

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402

from assessment.demo import CURRENT_TITLE, DEMO_SLUG  # noqa: E402
from assessment.models import Assessment, Membership, ResultsSnapshot  # noqa: E402
from assessment.scoring import assessment_results  # noqa: E402
from assessment.snapshots import snapshot_take  # noqa: E402

RUNS = 5


def measure(action) -> tuple[float, int]:
    """Return the median milliseconds over RUNS and the queries of one run."""
    timings = []
    for _ in range(RUNS):
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            action()
            timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings), len(ctx.captured_queries)


def main(sizes: list[int]) -> None:
    call_command("migrate", verbosity=0)
    call_command("load_catalogue", verbosity=0, stdout=io.StringIO())
    print(
        f"{'respondents':>11} {'seed s':>7} {'results ms':>10} {'queries':>7} "
        f"{'publish ms':>10} {'queries':>7} {'dashboard ms':>12} {'queries':>7} "
        f"{'live ms':>8} {'queries':>7}"
    )
    for n in sizes:
        started = time.perf_counter()
        call_command("seed_demo", respondents=n, seed=1, stdout=io.StringIO())
        seeded = time.perf_counter() - started
        assessment = Assessment.objects.get(
            organisation__slug=DEMO_SLUG, title=CURRENT_TITLE
        )
        owner = Membership.objects.get(
            organisation=assessment.organisation, role=Membership.Role.OWNER
        ).user
        client = Client()
        client.force_login(owner)
        url = reverse("assessment:results", args=[assessment.pk])

        def dashboard(client=client, url=url):
            assert client.get(url).status_code == 200

        def live(client=client, url=url + "?live=1"):
            assert client.get(url).status_code == 200

        results_ms, results_q = measure(
            lambda a=assessment: assessment_results(a, include_comments=True)
        )
        publish_ms, publish_q = measure(
            lambda a=assessment: snapshot_take(
                assessment=a, reason=ResultsSnapshot.Reason.INTERIM
            )
        )
        page_ms, page_q = measure(dashboard)
        live_ms, live_q = measure(live)
        print(
            f"{n:>11} {seeded:>7.1f} {results_ms:>10.1f} {results_q:>7} "
            f"{publish_ms:>10.1f} {publish_q:>7} {page_ms:>12.1f} {page_q:>7} "
            f"{live_ms:>8.1f} {live_q:>7}"
        )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [40, 500, 5000])
