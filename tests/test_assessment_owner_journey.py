"""The issue's "done when": an owner runs a whole round through the UI alone."""

import re

from django.core import mail
from django.urls import reverse

from assessment.models import Assessment, Invitation, Level
from tests.factories import respond_to_invitation


def _form_fields(html: str) -> dict:
    """Collect what the browser would submit from the page's checked inputs."""
    data: dict[str, list[str]] = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        kind = re.search(r'type="([^"]+)"', tag)
        if not name or name.group(1) == "csrfmiddlewaretoken":
            continue
        value = re.search(r'value="([^"]*)"', tag)
        if kind and kind.group(1) == "checkbox" and "checked" not in tag:
            continue
        data.setdefault(name.group(1), []).append(value.group(1) if value else "")
    for select in re.finditer(
        r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S
    ):
        chosen = re.search(r'<option value="([^"]*)"[^>]*selected', select.group(2))
        if chosen:
            data[select.group(1)] = [chosen.group(1)]
    return data


def test_an_owner_runs_a_round_through_the_ui(client, owner, framework):
    client.force_login(owner)
    listing = client.get(reverse("assessment:list", args=["acme"])).content.decode()
    create_url = reverse("assessment:create", args=["acme"])
    assert create_url in listing

    # Create, with the defaults the form offers, and raise one target.
    data = _form_fields(client.get(create_url).content.decode())
    allocation = framework.capabilities.get(slug="allocation")
    data.update(title=["Acme FinOps 2026"], closes_on=["2031-06-30"])
    data[f"target_{allocation.pk}"] = [str(Level.RUN)]
    response = client.post(create_url, data)
    assessment = Assessment.objects.get()
    assert response.url == assessment.get_absolute_url()
    assert assessment.personas.count() == 12
    assert assessment.anonymity_threshold == 3
    assert assessment.scoped_capabilities.get(capability=allocation).target_level == 3

    # Invite 20 people from a pasted list, then send the invitations.
    lines = "\n".join(
        f"p{n}@acme.example, {'finance' if n % 2 else 'Engineering'}" for n in range(20)
    )
    invitations_url = reverse("assessment:invitations", args=[assessment.pk])
    client.post(invitations_url, {"lines": lines})
    # A draft without an opening date sends nothing, and says so.
    page = client.post(
        reverse("assessment:invitations_send", args=[assessment.pk]), follow=True
    )
    assert "The assessment is a draft: open it first" in page.content.decode()
    assert mail.outbox == []

    # Open it and send; participants answer (the survey is another screen).
    client.post(reverse("assessment:open", args=[assessment.pk]))
    client.post(reverse("assessment:invitations_send", args=[assessment.pk]))
    assert len(mail.outbox) == 20
    assert all(m.alternatives for m in mail.outbox)
    invitations = list(Invitation.objects.order_by("email"))
    for invitation in invitations[:5]:
        respond_to_invitation(invitation=invitation, submitted=True)
    respond_to_invitation(invitation=invitations[5], submitted=False)

    page = client.get(assessment.get_absolute_url()).content.decode()
    assert "25%" in page  # 5 of 20 submitted
    assert (
        "5 of 20 invited people submitted (25%); 1 started without submitting." in page
    )

    # Remind: only the 15 who have not submitted, as the button says.
    assert "Remind 15 who have not submitted" in page
    mail.outbox.clear()
    client.post(reverse("assessment:remind", args=[assessment.pk]))
    assert len(mail.outbox) == 15

    client.post(reverse("assessment:close", args=[assessment.pk]))
    assessment.refresh_from_db()
    assert assessment.status == Assessment.Status.CLOSED
    client.post(reverse("assessment:reopen", args=[assessment.pk]), {"closes_on": ""})
    assessment.refresh_from_db()
    assert assessment.status == Assessment.Status.OPEN
