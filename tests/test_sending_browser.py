"""In Chromium, the sending progress moves without a reload, under the CSP."""

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from assessment import mailing
from assessment.models import (
    Assessment,
    EmailDelivery,
    EmailSend,
    FrameworkVersion,
    Invitation,
    Membership,
    Organisation,
)
from tests.browsing import WATCH_VIOLATIONS
from tests.factories import create_assessment

sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.browser


@pytest.fixture
def sending(live_server, settings):
    """An open assessment whose invitations are half sent (no worker runs)."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    organisation = Organisation.objects.create(name="Acme", slug="acme")
    owner = get_user_model().objects.create_user("olivia", password="pw-Olivia-1")
    Membership.objects.create(
        organisation=organisation, user=owner, role=Membership.Role.OWNER
    )
    assessment = create_assessment(
        organisation=organisation,
        framework=FrameworkVersion.objects.get(slug="2026"),
        status=Assessment.Status.OPEN,
    )
    persona = assessment.personas.get(slug="finance")
    Invitation.objects.bulk_create(
        Invitation(assessment=assessment, persona=persona, email=f"p{n}@x.io")
        for n in range(4)
    )
    send = mailing.invitations_send(assessment=assessment)
    mailing._prepare(send)
    first_two = list(send.deliveries.order_by("pk").values_list("pk", flat=True)[:2])
    EmailDelivery.objects.filter(pk__in=first_two).update(
        status="sent", sent_at=timezone.now()
    )
    return live_server.url, assessment, send


def test_the_assessment_page_follows_the_sending_without_a_reload(browser, sending):
    base, assessment, send = sending
    context = browser.new_context()
    context.add_init_script(WATCH_VIOLATIONS)
    page = context.new_page()
    # The page's timers run on a clock the test moves: no 3 s waits.
    page.clock.install()
    page.goto(base + "/login/")
    page.fill("#id_username", "olivia")
    page.fill("#id_password", "pw-Olivia-1")
    page.click("button[type=submit]")
    page.goto(base + f"/assessments/{assessment.pk}/")
    assert "Invitations: 2 of 4 sent" in page.inner_text(".sending-line")

    # The worker sends the rest while the owner looks.
    send.deliveries.filter(status="queued").update(
        status="sent", sent_at=timezone.now()
    )
    EmailSend.objects.filter(pk=send.pk).update(finished_at=timezone.now())
    page.clock.run_for(3000)
    sync_api.expect(page.locator("[data-sending-url]")).to_have_attribute(
        "data-active", "0"
    )
    assert "Invitations: 4 of 4 sent" in page.inner_text(".sending-line")
    assert page.evaluate("window.__violations") == []
    context.close()
