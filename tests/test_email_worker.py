"""A real `manage.py db_worker` process sends the invitations (PostgreSQL).

The worker is a separate process, so it must see the test's rows: the test
commits them (a transactional test) in PostgreSQL's test database, which the
worker opens by its URL. SQLite's test database lives in memory and cannot
be shared, hence the skip.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from django.urls import reverse

from assessment.invitations import invitation_for_token
from assessment.models import (
    Assessment,
    EmailDelivery,
    FrameworkVersion,
    Invitation,
    Membership,
    Organisation,
)
from tests.factories import create_assessment, create_member
from tests.smtp_sink import SmtpSink

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="the worker process needs the test database on a server",
    ),
    pytest.mark.django_db(transaction=True),
]

ROOT = Path(__file__).resolve().parent.parent
LINK = re.compile(r"https?://\S+/s/([\w-]+)/")
PEOPLE = 60


def _database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    host = f"{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}"
    return f"postgres://{auth}@{host}/{db['NAME']}"


def _run_worker(sink: SmtpSink) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "EMAIL_URL": sink.url,
        "ENV_FILE": "",
    }
    return subprocess.run(  # noqa: S603 (the project's own manage.py)
        [
            sys.executable,
            "manage.py",
            "db_worker",
            "--batch",
            "--no-startup-delay",
            "--interval",
            "0",
            "--no-reload",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_worker_process_sends_every_invitation_once(client, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    organisation = Organisation.objects.create(name="Acme", slug="acme")
    owner = create_member(
        organisation=organisation, username="olivia", role=Membership.Role.OWNER
    )
    assessment = create_assessment(
        organisation=organisation,
        framework=FrameworkVersion.objects.get(slug="2026"),
        status=Assessment.Status.OPEN,
    )
    persona = assessment.personas.get(slug="finance")
    Invitation.objects.bulk_create(
        Invitation(assessment=assessment, persona=persona, email=f"p{n}@x.io")
        for n in range(PEOPLE)
    )
    client.force_login(owner)
    client.post(reverse("assessment:invitations_send", args=[assessment.pk]))

    with SmtpSink() as sink:
        result = _run_worker(sink)
        assert result.returncode == 0, result.stderr
        received = sink.received()

    assert len(received) == PEOPLE
    addresses = sorted(m["To"] for m in received)
    assert addresses == sorted(f"p{n}@x.io" for n in range(PEOPLE))
    for message in received:
        body = message.get_body(("plain",)).get_content()
        invitation = invitation_for_token(LINK.search(body).group(1))
        assert invitation is not None and invitation.email == message["To"]
    assert set(EmailDelivery.objects.values_list("status", flat=True)) == {"sent"}
    assert not Invitation.objects.filter(sent_at__isnull=True).exists()
