"""Time importing 10,000 invitee lines and listing 10,000 invitees.

Usage: .venv/bin/python bench/invitees.py [N]   (default: 10000)

Runs against a throwaway SQLite database (never your own data), or the
PostgreSQL database BENCH_DATABASE_URL names (it must be a throwaway one: the
demo organisation is replaced). Seeds the demo (40 respondents in the open
assessment), then through the owner's pages:

1. imports N pasted lines (every 50th one is bad) and prints the request's
   wall time, its query count and the errors reported;
2. imports the same lines again (every line merges into one already there);
3. gives a third of the invitees a sent date and some a response, then
   renders the invitations list (first page, last page, a search, a status
   filter) and prints the median milliseconds, queries and HTML size.

The query counts of the list must not depend on N.
"""

import io
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _setup import setup_django

DB = os.environ.get("BENCH_DATABASE_URL") or Path(tempfile.mkdtemp()) / "bench.sqlite3"
setup_django(DB)

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from assessment.demo import CURRENT_TITLE, DEMO_SLUG  # noqa: E402
from assessment.models import Assessment, Invitation, Membership  # noqa: E402

RUNS = 5
PERSONAS = ("finance", "engineering", "product", "leadership", "procurement")


def lines(count: int) -> str:
    """Return `count` import lines; every 50th has a bad address."""
    rows = []
    for n in range(count):
        email = f"person{n}@acme.example" if n % 50 != 49 else f"person{n}-acme"
        rows.append(f"{email}, {PERSONAS[n % len(PERSONAS)]}, Unit {n % 40}")
    return "\n".join(rows)


def timed_post(client: Client, url: str, data: dict) -> tuple[float, int, object]:
    with CaptureQueriesContext(connection) as ctx:
        started = time.perf_counter()
        reply = client.post(url, data)
        elapsed = time.perf_counter() - started
    return elapsed, len(ctx.captured_queries), reply


def page(client: Client, url: str) -> tuple[float, int, int]:
    """Return the median milliseconds over RUNS, the queries and the bytes."""
    timings = []
    for _ in range(RUNS):
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            reply = client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
        assert reply.status_code == 200, reply.status_code
    return statistics.median(timings), len(ctx.captured_queries), len(reply.content)


def spread_statuses(assessment: Assessment) -> None:
    """Mark a third of the invitees sent, as an owner's earlier sending would."""
    ids = list(
        assessment.invitations.exclude(email="")
        .filter(response__isnull=True)
        .values_list("pk", flat=True)
    )
    random.Random(1).shuffle(ids)
    Invitation.objects.filter(pk__in=ids[: len(ids) // 3]).update(
        sent_at=timezone.now()
    )


def main(count: int) -> None:
    call_command("migrate", verbosity=0)
    call_command("load_catalogue", verbosity=0, stdout=io.StringIO())
    call_command("seed_demo", respondents=40, seed=1, stdout=io.StringIO())
    assessment = Assessment.objects.get(
        organisation__slug=DEMO_SLUG, title=CURRENT_TITLE
    )
    owner = Membership.objects.get(
        organisation=assessment.organisation, role=Membership.Role.OWNER
    ).user
    client = Client()
    client.force_login(owner)
    url = reverse("assessment:invitations", args=[assessment.pk])
    text = lines(count)

    before = assessment.invitations.count()
    seconds, queries, reply = timed_post(client, url, {"lines": text})
    added = assessment.invitations.count() - before
    errors = reply.content.decode().count("is not a valid email address")
    print(
        f"import {count} lines: {seconds:.2f} s, {queries} queries, "
        f"{added} added, {errors} line errors shown, status {reply.status_code}"
    )
    seconds, queries, reply = timed_post(client, url, {"lines": text})
    print(
        f"import again (all merged): {seconds:.2f} s, {queries} queries, "
        f"{assessment.invitations.count() - before - added} added"
    )

    spread_statuses(assessment)
    total = assessment.invitations.count()
    print(f"\nlist of {total:,} invitees on {connection.vendor}")
    print(f"{'':<37} {'ms':>7} {'queries':>7} {'KB':>7}")
    views = {
        "first page": url,
        "page 100": url + "?page=100",
        "search 'person12'": url + "?q=person12",
        "status=sent, finance": url + "?status=sent&persona=finance",
        "status=failed": url + "?status=failed",
    }
    for label, address in views.items():
        ms, queries, size = page(client, address)
        print(f"{label:<37} {ms:>7.1f} {queries:>7} {size / 1024:>7.0f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
