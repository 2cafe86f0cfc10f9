"""Load and fault test: participants saving and submitting on gunicorn + PostgreSQL.

Usage:
  .venv/bin/python bench/load.py --dsn postgres://postgres@127.0.0.1:5432/finops_load
  .venv/bin/python bench/load.py --dsn postgres://postgres@127.0.0.1:5439/finops_load \\
      --restart-cmd "pg_ctlcluster 15 fault restart" --restart-after 8

Recreates the database named in --dsn (it must be a throwaway one), loads the
catalogue and an open assessment with --participants invitations, starts
gunicorn on 127.0.0.1:--port and drives every participant through the
questionnaire over HTTP, --concurrency at a time: open the link, confirm the
persona, save every page, change the first page again, submit. A request
answered 5xx, or not answered, is tried again after a pause, as a person
would; nothing else is retried.

With --restart-cmd, the command (which must restart the PostgreSQL server of
--dsn, and only one of your own) runs --restart-after seconds into the run.

It then reads the database and prints: requests, 5xx (inside and outside the
restart window), p50/p95 latency, and acknowledged saves lost: answers whose
save was acknowledged (302) but which the database does not hold as last
acknowledged, and acknowledged submits whose response is not submitted.

Only loopback addresses are used; the run stops by itself after --max-seconds.
"""

from __future__ import annotations

import argparse
import http.client
import http.cookies
import os
import random
import re
import secrets
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
VALUES = [-2, -1, 0, 1, 2, 3]
ATTEMPTS = 12  # per step, while the answer is 5xx or missing
RETRY_PAUSE = 0.5
LOG = Path(tempfile.gettempdir()) / "finops-bench-load-gunicorn.log"
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
SHOWN = re.compile(r'name="shown" value="([^"]*)"')


# ---------------------------------------------------------------------------
# Arguments and the throwaway database
# ---------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--dsn", required=True, help="postgres://user@127.0.0.1/db")
    parser.add_argument("--participants", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--port", type=int, default=8131)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--restart-cmd", default="", help="restarts --dsn's server")
    parser.add_argument("--restart-after", type=float, default=8.0, help="seconds")
    parser.add_argument("--max-seconds", type=float, default=600.0)
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()
    check_dsn(parser, args.dsn)
    if not 1 <= args.participants <= 1000 or not 1 <= args.concurrency <= 64:
        parser.error("--participants 1-1000 and --concurrency 1-64 keep it bounded")
    return args


def check_dsn(parser: argparse.ArgumentParser, dsn: str) -> None:
    """Refuse a --dsn that is not a PostgreSQL database on this machine."""
    parts = urlsplit(dsn)
    if parts.scheme not in ("postgres", "postgresql") or not parts.path.strip("/"):
        parser.error("--dsn must be postgres://user@host:port/database")
    if parts.hostname not in LOOPBACK:
        parser.error("--dsn must point at this machine (127.0.0.1, localhost, ::1)")


def recreate_database(dsn: str) -> None:
    """Drop and create the database named in the DSN (a throwaway one)."""
    parts = urlsplit(dsn)
    name = parts.path.strip("/")
    if not re.fullmatch(r"[a-z0-9_]+", name):
        raise SystemExit(f"Use a plain lower-case database name, not {name!r}.")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def app_env(dsn: str) -> dict[str, str]:
    """The environment of the app's processes: production-like, plain HTTP."""
    return {
        **os.environ,
        "ENV_FILE": "",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": dsn,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_COOKIES": "false",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "LOG_LEVEL": "ERROR",
    }


def setup_django(dsn: str) -> None:
    os.environ.update(app_env(dsn))
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


@dataclass
class Invitee:
    token: str
    invitation_id: int
    persona_id: int


def create_assessment(participants: int) -> list[Invitee]:
    """Migrate, load the catalogue, open an assessment and invite people."""
    from django.core.management import call_command

    from assessment.catalogue import catalogue_files, load_catalogue, read_catalogue
    from assessment.invitations import invitation_create
    from assessment.lifecycle import assessment_create, assessment_open
    from assessment.models import FrameworkVersion, Organisation

    call_command("migrate", verbosity=0)
    for path in catalogue_files():
        load_catalogue(read_catalogue(path))
    framework = FrameworkVersion.objects.get(slug="2026")
    organisation = Organisation.objects.create(name="Load test", slug="load")
    assessment = assessment_create(
        organisation=organisation, framework=framework, title="Load test"
    )
    assessment_open(assessment=assessment)
    personas = list(framework.personas.all())
    invitees = []
    for n in range(participants):
        persona = personas[n % len(personas)]
        invitation, token = invitation_create(
            assessment=assessment, persona=persona, email=f"p{n}@load.example"
        )
        invitees.append(Invitee(token, invitation.pk, persona.pk))
    return invitees


# ---------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------


def start_gunicorn(args: argparse.Namespace) -> subprocess.Popen:
    command = [
        str(ROOT / ".venv" / "bin" / "gunicorn"),
        "config.wsgi",
        "--bind",
        f"127.0.0.1:{args.port}",
        "--workers",
        str(args.workers),
        "--timeout",
        "60",
        "--log-level",
        "warning",
    ]
    server = subprocess.Popen(  # noqa: S603 (our own gunicorn)
        command,
        cwd=ROOT,
        env=app_env(args.dsn),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=LOG.open("w"),
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            pass
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited; see {LOG}")
        time.sleep(0.3)
    stop(server)
    raise SystemExit("gunicorn did not answer /healthz within 60 s.")


def warm_up(port: int, workers: int) -> None:
    """Make every worker serve a real page before the clock starts.

    /healthz is answered before Django loads the views; a worker's first page
    imports them (matplotlib, WeasyPrint), which takes seconds.
    """

    def get() -> float:
        started = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        conn.request("GET", "/login/")
        conn.getresponse().read()
        return time.monotonic() - started

    for _ in range(10):
        with ThreadPoolExecutor(workers * 2) as pool:
            slowest = max(pool.map(lambda _: get(), range(workers * 4)))
        if slowest < 2.0:
            return


def stop(server: subprocess.Popen) -> None:
    """Stop the gunicorn this script started (its own process group)."""
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


# ---------------------------------------------------------------------------
# Participants over HTTP
# ---------------------------------------------------------------------------


@dataclass
class Record:
    started: float
    ended: float
    status: int  # 0: no answer (connection refused or reset, timeout)


@dataclass
class Results:
    records: list[Record] = field(default_factory=list)
    # (invitation id, capability id) -> (value, comment) last acknowledged.
    acknowledged: dict[tuple[int, int], tuple[int, str]] = field(default_factory=dict)
    acknowledged_saves: int = 0
    refused_saves: int = 0
    submitted: set[int] = field(default_factory=set)
    unfinished: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Reply:
    def __init__(self, status: int, location: str, body: str):
        self.status, self.location, self.body = status, location, body


class Browser:
    """One participant's browser: cookies, no redirects followed."""

    def __init__(self, port: int, results: Results, deadline: float):
        self.port, self.results, self.deadline = port, results, deadline
        self.cookies: dict[str, str] = {}

    def _once(self, method: str, path: str, form: dict | None) -> Reply:
        headers = {}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.monotonic()
        status, location, text = 0, "", ""
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
            status, location = response.status, response.getheader("Location", "")
            for raw in response.headers.get_all("Set-Cookie") or []:
                cookie = http.cookies.SimpleCookie(raw)
                self.cookies.update({k: m.value for k, m in cookie.items()})
            conn.close()
        except (OSError, http.client.HTTPException):
            pass
        with self.results.lock:
            self.results.records.append(Record(started, time.monotonic(), status))
        return Reply(status, location, text)

    def send(self, method: str, path: str, form: dict | None = None) -> Reply:
        """Send, and send again while the server fails or does not answer."""
        for _ in range(ATTEMPTS):
            if time.monotonic() > self.deadline:
                raise TimeoutError
            reply = self._once(method, path, form)
            if 0 < reply.status < 500:
                return reply
            time.sleep(RETRY_PAUSE)
        raise TimeoutError

    def form(self, path: str) -> tuple[str, str]:
        """GET a page; return its CSRF token and HTML."""
        reply = self.send("GET", path)
        if reply.status != 200:
            raise RuntimeError(f"GET {path}: {reply.status}")
        return CSRF.search(reply.body).group(1), reply.body


def save_page(
    browser: Browser, invitee: Invitee, path: str, go: str, rng: random.Random
) -> str:
    """Answer every question of a page; record the save if acknowledged."""
    csrf, html = browser.form(path)
    shown = SHOWN.search(html).group(1)
    answers = {
        int(pk): (rng.choice(VALUES), f"Load test note {rng.randrange(10**6)}")
        for pk in shown.split(",")
    }
    form = {"csrfmiddlewaretoken": csrf, "shown": shown, "go": go}
    for pk, (value, comment) in answers.items():
        form[f"value-{pk}"] = str(value)
        form[f"comment-{pk}"] = comment
    reply = browser.send("POST", path, form)
    results = browser.results
    with results.lock:
        if reply.status == 302:
            results.acknowledged_saves += 1
            for pk, answer in answers.items():
                results.acknowledged[(invitee.invitation_id, pk)] = answer
        else:
            results.refused_saves += 1
    return reply.location


def participate(
    invitee: Invitee, port: int, results: Results, deadline: float, seed: int
) -> None:
    rng = random.Random(seed)
    browser = Browser(port, results, deadline)
    landing = f"/s/{invitee.token}/"
    try:
        csrf, _ = browser.form(landing)
        start = {
            "csrfmiddlewaretoken": csrf,
            "persona": invitee.persona_id,
            "business_unit": rng.choice(["Retail", "Platform", ""]),
        }
        page = first = browser.send("POST", landing, start).location
        while "/p/" in page:
            page = save_page(browser, invitee, page, "next", rng)
        # Change the first page again: the later save must be the one kept.
        save_page(browser, invitee, first, "review", rng)
        review = f"/s/{invitee.token}/review/"
        csrf, _ = browser.form(review)
        reply = browser.send("POST", review, {"csrfmiddlewaretoken": csrf})
        if reply.status == 302 and reply.location.endswith("/thanks/"):
            with results.lock:
                results.submitted.add(invitee.invitation_id)
    except (TimeoutError, RuntimeError, AttributeError):
        with results.lock:
            results.unfinished += 1


# ---------------------------------------------------------------------------
# The restart and the report
# ---------------------------------------------------------------------------


@dataclass
class Window:
    started: float = 0.0
    command_done: float = 0.0
    error: str = ""


def restart_later(command: str, after: float, window: Window) -> threading.Thread:
    def run() -> None:
        time.sleep(after)
        window.started = time.monotonic()
        done = subprocess.run(  # noqa: S603 (the operator's own command)
            shlex.split(command), capture_output=True, text=True, timeout=120
        )
        window.command_done = time.monotonic()
        if done.returncode:
            window.error = done.stderr.strip() or f"exit {done.returncode}"

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def recovered_at(records: list[Record], after: float) -> float:
    """Return when the first request begun after `after` succeeded."""
    ok = [r.ended for r in records if r.started >= after and 0 < r.status < 500]
    return min(ok, default=after)


def lost_saves(results: Results, invitees: list[Invitee]) -> tuple[int, int, int]:
    """Compare what was acknowledged with the database.

    Return answers lost or changed, acknowledged submits lost, and answers
    checked.
    """
    from django.db import close_old_connections

    from assessment.models import Answer, Response

    close_old_connections()  # a restart killed this process's connection
    stored = {
        (invitation_id, capability_id): (value, comment)
        for invitation_id, capability_id, value, comment in Answer.objects.filter(
            response__invitation_id__in=[i.invitation_id for i in invitees]
        ).values_list("response__invitation_id", "capability_id", "value", "comment")
    }
    lost = sum(
        1 for key, answer in results.acknowledged.items() if stored.get(key) != answer
    )
    submitted = set(
        Response.objects.filter(status=Response.Status.SUBMITTED).values_list(
            "invitation_id", flat=True
        )
    )
    return lost, len(results.submitted - submitted), len(results.acknowledged)


def report(args, results: Results, window: Window, elapsed: float, lost) -> None:
    records = results.records
    latencies = sorted((r.ended - r.started) * 1000 for r in records if r.status)
    errors = [r for r in records if r.status >= 500 or r.status == 0]
    line = "-" * 60
    print(line)
    print(f"participants            {args.participants} ({args.concurrency} at a time)")
    server = f"gunicorn, {args.workers} workers, 127.0.0.1:{args.port}"
    print(f"server                  {server}")
    print(f"elapsed                 {elapsed:.1f} s")
    print(f"requests                {len(records)} ({len(records) / elapsed:.0f}/s)")
    print(f"5xx or no answer        {len(errors)}")
    if window.started:
        end = recovered_at(records, window.command_done)
        inside = [r for r in errors if r.ended >= window.started and r.started <= end]
        print(
            f"restart window          {end - window.started:.2f} s "
            f"(command {window.command_done - window.started:.2f} s)"
            + (f", command failed: {window.error}" if window.error else "")
        )
        print(f"  5xx inside the window {len(inside)}")
        print(f"  5xx outside it        {len(errors) - len(inside)}")
    if latencies:
        q = statistics.quantiles(latencies, n=100)
        print(f"latency p50 / p95       {q[49]:.0f} ms / {q[94]:.0f} ms")
    answers_lost, submits_lost, checked = lost
    print(f"acknowledged saves      {results.acknowledged_saves} ({checked} answers)")
    print(f"saves refused (200)     {results.refused_saves}")
    print(f"acknowledged submits    {len(results.submitted)}")
    print(f"unfinished participants {results.unfinished}")
    print(f"ACKNOWLEDGED SAVES LOST {answers_lost} answers, {submits_lost} submits")
    print(line)


def main() -> int:
    args = parse_args()
    if args.restart_cmd and urlsplit(args.dsn).port in (None, 5432):
        print(
            "Refusing to restart the server on port 5432: others may use it. "
            "Create a throwaway cluster on another port (see bench/load.py).",
            file=sys.stderr,
        )
        return 2
    recreate_database(args.dsn)
    setup_django(args.dsn)
    invitees = create_assessment(args.participants)
    server = start_gunicorn(args)
    results, window = Results(), Window()
    try:
        warm_up(args.port, args.workers)
        started = time.monotonic()
        deadline = started + args.max_seconds
        restarter = None
        if args.restart_cmd:
            restarter = restart_later(args.restart_cmd, args.restart_after, window)
        with ThreadPoolExecutor(args.concurrency) as pool:
            for n, invitee in enumerate(invitees):
                pool.submit(
                    participate, invitee, args.port, results, deadline, args.seed + n
                )
        elapsed = time.monotonic() - started
        if restarter is not None:
            restarter.join(timeout=120)
    finally:
        stop(server)
    lost = lost_saves(results, invitees)
    report(args, results, window, elapsed, lost)
    answers_lost, submits_lost, _ = lost
    return 1 if answers_lost or submits_lost or results.unfinished else 0


if __name__ == "__main__":
    sys.exit(main())
