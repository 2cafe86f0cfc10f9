"""Invitations as background jobs: 5,000 emails through a slow mail server.

Usage:
  .venv/bin/python bench/invitations.py \\
      --dsn postgres://postgres@127.0.0.1:5432/finops_mail_bench

Recreates the database named in --dsn (a throwaway one), loads the
catalogue, opens an assessment with --invitees invitations and starts a local
SMTP sink (tests/smtp_sink.py) that takes --delay seconds to accept each
message, and one `manage.py db_worker` process. Then, twice:

1. the owner clicks "Send invitations" (Django's test client, timed);
2. the second time, the worker is killed (`kill -9`) once --kill-at of the
   emails have arrived, and a new one started at once;
3. it waits for the last email and prints: the request's time, the total
   time, emails received, distinct working links (every link received,
   resolved against the database and belonging to its recipient),
   duplicates (emails beyond one per invitee) and dead links.

A killed worker's batch is taken over once its claim lapses:
EMAIL_JOB_LEASE_SECONDS, --lease here (300 s by default in production).
Only loopback addresses are used.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from load import check_dsn, recreate_database  # noqa: E402

from tests.smtp_sink import SmtpSink  # noqa: E402

LINK = re.compile(r"https?://\S+/s/([\w-]+)/")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--dsn", required=True, help="postgres://user@host/db")
    parser.add_argument("--invitees", type=int, default=5000)
    parser.add_argument("--delay", type=float, default=0.05, help="seconds/email")
    parser.add_argument("--kill-at", type=float, default=0.4, help="share of emails")
    parser.add_argument("--lease", type=int, default=20, help="seconds")
    parser.add_argument("--max-seconds", type=float, default=900.0, help="per run")
    args = parser.parse_args()
    check_dsn(parser, args.dsn)
    if not 1 <= args.invitees <= 20000:
        parser.error("--invitees 1-20000 keeps it bounded")
    return args


def app_env(args: argparse.Namespace, sink: SmtpSink, key: str) -> dict[str, str]:
    return {
        **os.environ,
        "ENV_FILE": "",
        "DEBUG": "false",
        "SECRET_KEY": key,
        "DATABASE_URL": args.dsn,
        "EMAIL_URL": sink.url,
        "ALLOWED_HOSTS": "testserver,127.0.0.1",
        "EMAIL_JOB_LEASE_SECONDS": str(args.lease),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }


def start_worker(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603 (the project's own manage.py)
        [
            sys.executable,
            "manage.py",
            "db_worker",
            "--interval",
            "0.2",
            "--no-startup-delay",
            "--no-reload",
            "--verbosity",
            "0",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
    )


def create_assessment(invitees: int, title: str):
    """An open assessment with `invitees` invitations never sent; its owner."""
    from django.contrib.auth import get_user_model

    from assessment.lifecycle import assessment_create
    from assessment.models import (
        Assessment,
        FrameworkVersion,
        Invitation,
        Membership,
        Organisation,
    )

    organisation, _ = Organisation.objects.get_or_create(
        slug="bench", defaults={"name": "Bench Corp"}
    )
    owner = get_user_model().objects.filter(username="owner").first()
    if owner is None:
        owner = get_user_model().objects.create_user("owner")
        Membership.objects.create(
            organisation=organisation, user=owner, role=Membership.Role.OWNER
        )
    framework = FrameworkVersion.objects.get(slug="2026")
    assessment = assessment_create(
        organisation=organisation, framework=framework, title=title
    )
    Assessment.objects.filter(pk=assessment.pk).update(status="open")
    personas = list(assessment.personas.all())
    Invitation.objects.bulk_create(
        (
            Invitation(
                assessment=assessment,
                persona=personas[n % len(personas)],
                email=f"{title.lower().replace(' ', '-')}-{n}@bench.example",
            )
            for n in range(invitees)
        ),
        batch_size=1000,
    )
    return assessment, owner


def check_links(assessment, messages) -> dict[str, int]:
    """Resolve every emailed link against the database."""
    from assessment.models import InvitationToken
    from assessment.tokens import hash_token

    invited = set(assessment.invitations.values_list("email", flat=True))
    received = [
        (str(m["To"]), LINK.search(m.get_body(("plain",)).get_content()).group(1))
        for m in messages
    ]
    received = [(to, token) for to, token in received if to in invited]
    hashes = {hash_token(token): (to, token) for to, token in received}
    owners: dict[str, str] = {}
    keys = list(hashes)
    for start in range(0, len(keys), 1000):
        owners.update(
            InvitationToken.objects.filter(
                token_hash__in=keys[start : start + 1000]
            ).values_list("token_hash", "invitation__email")
        )
    working = {
        token for digest, (to, token) in hashes.items() if owners.get(digest) == to
    }
    recipients = {to for to, _ in received}
    return {
        "emails received": len(received),
        "invitees reached": len(recipients),
        "distinct working links": len(working),
        "duplicates": len(received) - len(recipients),
        "dead links": len({token for _, token in received} - working),
    }


def run(args, sink: SmtpSink, env: dict[str, str], *, kill: bool) -> dict:
    from django.test import Client
    from django.urls import reverse

    from assessment.models import EmailDelivery

    title = "Killed worker" if kill else "Steady worker"
    assessment, owner = create_assessment(args.invitees, title)
    already = sink.count()
    worker = start_worker(env)
    time.sleep(1.0)  # the worker is up, as in production
    client = Client()
    client.force_login(owner)
    # The owner looks at the assessment before clicking (a warm process).
    client.get(assessment.get_absolute_url())
    started = time.perf_counter()
    response = client.post(reverse("assessment:invitations_send", args=[assessment.pk]))
    request_ms = (time.perf_counter() - started) * 1000
    assert response.status_code == 302, response.status_code
    kill_after = int(args.invitees * args.kill_at)
    killed_at = None
    deadline = time.monotonic() + args.max_seconds
    last_report = time.monotonic()
    try:
        while time.monotonic() < deadline:
            arrived = sink.count() - already
            if kill and killed_at is None and arrived >= kill_after:
                worker.send_signal(signal.SIGKILL)
                worker.wait()
                killed_at = arrived
                worker = start_worker(env)
            pending = EmailDelivery.objects.filter(
                send__assessment=assessment, status__in=["queued", "sending"]
            ).exists()
            if arrived >= args.invitees and not pending:
                break
            if time.monotonic() - last_report > 15:
                print(f"  ... {arrived} emails so far", flush=True)
                last_report = time.monotonic()
            time.sleep(0.1)
        total = time.perf_counter() - started
        # Anything a stray duplicate run would still send arrives meanwhile.
        time.sleep(2)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)
    messages = sink.received()[already:]
    return {
        "run": title + (f" (kill -9 after {killed_at} emails)" if kill else ""),
        "request ms": round(request_ms, 1),
        "total s": round(total, 1),
        **check_links(assessment, messages),
        "invitees": args.invitees,
        "deliveries sent": EmailDelivery.objects.filter(
            send__assessment=assessment, status="sent"
        ).count(),
    }


def main() -> None:
    args = parse_args()
    recreate_database(args.dsn)
    key = secrets.token_urlsafe(50)
    with SmtpSink(delay=args.delay) as sink:
        env = app_env(args, sink, key)
        os.environ.update(env)
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        call_command("load_catalogue", verbosity=0)
        print(
            f"{args.invitees} invitees, mail server {args.delay * 1000:.0f} ms per "
            f"email, one db_worker, lease {args.lease} s, database {args.dsn}",
            flush=True,
        )
        for kill in (False, True):
            result = run(args, sink, env, kill=kill)
            print(result.pop("run"))
            for name, value in result.items():
                print(f"  {name}: {value}")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
