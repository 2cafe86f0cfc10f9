"""Survey page latency on gunicorn, with and without PDF reports rendering.

Usage:
  .venv/bin/python bench/report_load.py \\
      --dsn postgres://postgres@127.0.0.1:5432/finops_report_load

Recreates the database named in --dsn (a throwaway one), loads the catalogue
and the demo organisation's two rounds (the current one published, so it has
a report), starts gunicorn (--workers sync workers) and one `db_worker` on
127.0.0.1, and has --participants people open their questionnaire once.

Then two phases of --requests GETs of a questionnaire page each, from
--threads threads: first with no report rendering, then while three owners
each wait for a report (A4, US Letter, A4 with comments): each asks for the
download, waits on the "being prepared" page (polling it every second, as
its refresh does) until the PDF arrives, and asks again for a fresh render
(the bench deletes the stored file's row), so three renders stay queued or
running for the whole phase. It prints p50/p95 of both phases, their ratio
(target: p95 during renders at most 1.5x), and the renders completed.

Only loopback addresses are used; every request has a timeout.
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from load import (
    LOG,
    ROOT,
    Browser,
    Results,
    app_env,
    recreate_database,
    setup_django,
    start_gunicorn,
    stop,
    warm_up,
)

WORKER_LOG = Path(tempfile.gettempdir()) / "finops-bench-report-worker.log"
MEDIA = Path(tempfile.mkdtemp(prefix="finops-bench-report-media-"))
OPTIONS = [{"paper": "a4"}, {"paper": "letter"}, {"paper": "a4", "comments": "1"}]
TARGET_RATIO = 1.5


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--dsn", required=True, help="postgres://user@127.0.0.1/db")
    parser.add_argument("--port", type=int, default=8132)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--requests", type=int, default=300, help="per phase")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--participants", type=int, default=8)
    parser.add_argument("--respondents", type=int, default=40, help="in the report")
    args = parser.parse_args()
    if not 1 <= args.requests <= 5000 or not 1 <= args.threads <= 32:
        parser.error("--requests 1-5000 and --threads 1-32 keep it bounded")
    args.max_seconds = 600.0
    return args


def env(dsn: str) -> dict[str, str]:
    return app_env(dsn) | {"MEDIA_ROOT": str(MEDIA)}


def create_data(participants: int, respondents: int):
    """Return the published current round and its participants' tokens."""
    from django.core.management import call_command

    from assessment.catalogue import catalogue_files, load_catalogue, read_catalogue
    from assessment.demo import demo_organisation_create, demo_rounds_create
    from assessment.invitations import invitation_create
    from assessment.models import ResultsSnapshot
    from assessment.snapshots import snapshot_take

    call_command("migrate", verbosity=0)
    for path in catalogue_files():
        load_catalogue(read_catalogue(path))
    organisation, logins = demo_organisation_create()
    rounds = demo_rounds_create(organisation=organisation, respondents=respondents)
    current = rounds.current
    current.comments_published = True
    current.save(update_fields=["comments_published"])
    snapshot_take(assessment=current, reason=ResultsSnapshot.Reason.INTERIM)
    persona = current.framework.personas.get(slug="engineering")
    tokens = [
        invitation_create(
            assessment=current, persona=persona, email=f"bench{n}@report.example"
        )[1]
        for n in range(participants)
    ]
    owner = next(login for login in logins if login.role == "owner")
    return current, [(t, persona.pk) for t in tokens], owner


def start_worker(dsn: str) -> subprocess.Popen:
    command = [str(ROOT / ".venv" / "bin" / "python"), "manage.py", "db_worker"]
    return subprocess.Popen(  # noqa: S603 (our own worker)
        [*command, "--no-startup-delay"],
        cwd=ROOT,
        env=env(dsn),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=WORKER_LOG.open("w"),
    )


def questionnaire_page(port: int, invitee: tuple[str, int]) -> tuple:
    """Start a participant's response; return their browser and first page."""
    token, persona = invitee
    browser = Browser(port, Results(), time.monotonic() + 120)
    landing = f"/s/{token}/"
    csrf, _ = browser.form(landing)
    start = {"csrfmiddlewaretoken": csrf, "persona": persona, "business_unit": ""}
    page = browser.send("POST", landing, start).location
    if "/p/" not in page:
        raise SystemExit(f"Could not start a response: {page!r}")
    return browser, page


def phase(pages: list, requests: int, threads: int) -> list[float]:
    """GET questionnaire pages `requests` times; return latencies in ms."""
    results = Results()

    def one(n: int) -> None:
        browser, page = pages[n % len(pages)]
        browser.results = results
        reply = browser._once("GET", page, None)
        if reply.status != 200:
            raise SystemExit(f"GET {page}: {reply.status}")

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, range(requests)))
    return sorted((r.ended - r.started) * 1000 for r in results.records)


class Downloader(threading.Thread):
    """An owner waiting for a report, over and over, until told to stop."""

    def __init__(self, port: int, owner, assessment, options: dict):
        super().__init__(daemon=True)
        self.port, self.owner, self.options = port, owner, options
        self.assessment = assessment
        self.url = f"/assessments/{assessment.pk}/report.pdf?" + "&".join(
            f"{k}={v}" for k, v in options.items()
        )
        self.stopping = threading.Event()
        self.renders: list[float] = []
        self.failures = 0
        self.browser = Browser(port, Results(), time.monotonic() + 3600)
        csrf, _ = self.browser.form("/login/")
        form = {
            "csrfmiddlewaretoken": csrf,
            "username": owner.username,
            "password": owner.password,
        }
        if self.browser.send("POST", "/login/", form).status != 302:
            raise SystemExit("The owner could not log in.")

    def forget_stored(self) -> None:
        """Delete the stored report so that the next download renders it."""
        from assessment.models import ReportFile

        ReportFile.objects.filter(
            assessment=self.assessment,
            paper=self.options["paper"],
            include_comments="comments" in self.options,
            status__in=[ReportFile.Status.READY, ReportFile.Status.FAILED],
        ).delete()

    def download(self) -> bool:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        cookies = "; ".join(f"{k}={v}" for k, v in self.browser.cookies.items())
        conn.request("GET", self.url, headers={"Cookie": cookies})
        response = conn.getresponse()
        body = response.read()
        conn.close()
        if response.status != 200:
            raise SystemExit(f"GET {self.url}: {response.status}")
        if b"could not be prepared" in body:
            self.failures += 1
        return response.getheader("Content-Type") == "application/pdf"

    def run(self) -> None:
        while not self.stopping.is_set():
            self.forget_stored()
            asked = time.monotonic()
            while not self.download():
                if self.stopping.wait(1.0):
                    return
            self.renders.append(time.monotonic() - asked)


def wait_idle(seconds: float = 120) -> None:
    """Wait until no report is queued or rendering."""
    from assessment.models import ReportFile

    waiting = [ReportFile.Status.QUEUED, ReportFile.Status.RUNNING]
    give_up = time.monotonic() + seconds
    while ReportFile.objects.filter(status__in=waiting).exists():
        if time.monotonic() > give_up:
            raise SystemExit("Reports still rendering after 120 s: is the worker up?")
        time.sleep(0.5)


def quantiles(latencies: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(latencies, n=100)
    return q[49], q[94]


def main() -> int:
    args = parse_args()
    recreate_database(args.dsn)
    setup_django(args.dsn)
    assessment, tokens, owner = create_data(args.participants, args.respondents)
    # gunicorn and the worker read MEDIA_ROOT from the environment.
    import load

    load.app_env = env
    server = start_gunicorn(args)
    worker = start_worker(args.dsn)
    try:
        warm_up(args.port, args.workers)
        wait_idle()  # the previous round's report, queued when the demo closed it
        pages = [questionnaire_page(args.port, invitee) for invitee in tokens]
        phase(pages, args.workers * 10, args.threads)  # every worker's first page
        quiet = phase(pages, args.requests, args.threads)
        downloaders = [
            Downloader(args.port, owner, assessment, options) for options in OPTIONS
        ]
        for downloader in downloaders:
            downloader.start()
        time.sleep(2.0)  # the three renders are queued or running
        started = time.monotonic()
        busy = phase(pages, args.requests, args.threads)
        busy_seconds = time.monotonic() - started
        for downloader in downloaders:
            downloader.stopping.set()
        for downloader in downloaders:
            downloader.join(timeout=60)
    finally:
        stop(server)
        stop(worker)
    quiet_p50, quiet_p95 = quantiles(quiet)
    busy_p50, busy_p95 = quantiles(busy)
    renders = [s for d in downloaders for s in d.renders]
    ratio = busy_p95 / quiet_p95
    line = "-" * 64
    print(line)
    print(f"server                 gunicorn, {args.workers} sync workers, 1 db_worker")
    print(f"questionnaire GETs     {args.requests} per phase, {args.threads} threads")
    print(f"without renders        p50 {quiet_p50:.0f} ms, p95 {quiet_p95:.0f} ms")
    print(f"with 3 renders waiting p50 {busy_p50:.0f} ms, p95 {busy_p95:.0f} ms")
    print(f"p95 ratio              {ratio:.2f} (target <= {TARGET_RATIO})")
    print(
        f"reports rendered       {len(renders)} during the {busy_seconds:.1f} s phase "
        f"and after, waited {statistics.mean(renders or [0]):.1f} s on average, "
        f"{sum(d.failures for d in downloaders)} failed"
    )
    print(f"logs                   {LOG}, {WORKER_LOG}")
    print(line)
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
