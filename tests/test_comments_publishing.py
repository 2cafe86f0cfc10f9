"""Owners publish participants' comments from the settings; viewers then read them."""

import re
from html import unescape

import pytest
from django.urls import reverse

from assessment.models import AuditEvent
from tests.factories import create_hand_example
from tests.pdf_reading import pdf_text

COMMENT = "Le coût partagé est réparti à la main, dit Zoë."


@pytest.fixture
def assessment(organisation, framework):
    return create_hand_example(organisation=organisation, framework=framework)


def settings_data(assessment, **changes) -> dict:
    data = {
        "title": assessment.title,
        "scope_label": assessment.scope_label,
        "personas": list(assessment.personas.values_list("pk", flat=True)),
        "anonymity_threshold": str(assessment.anonymity_threshold),
        "opens_on": "",
        "closes_on": "",
    }
    data.update(changes)
    return data


def publish(client, assessment, published: bool = True):
    data = settings_data(assessment)
    if published:
        data["comments_published"] = "on"
    reply = client.post(reverse("assessment:edit", args=[assessment.pk]), data)
    assert reply.status_code == 302
    assessment.refresh_from_db()


def test_the_settings_offer_publishing_and_say_names_are_never_shown(
    client, owner, assessment
):
    client.force_login(owner)
    html = client.get(reverse("assessment:edit", args=[assessment.pk])).content
    html = unescape(" ".join(html.decode().split()))
    assert 'name="comments_published"' in html
    assert 'id="id_comments_published"' in html
    assert "Show participants' comments to viewers" in html
    assert "never shown with its author's name or email address" in html


def test_a_new_assessment_has_no_comments_to_publish_yet(client, owner):
    client.force_login(owner)
    html = client.get(reverse("assessment:create", args=["acme"])).content.decode()
    assert "comments_published" not in html


def test_publishing_lets_viewers_read_the_comments(client, owner, viewer, assessment):
    client.force_login(viewer)
    results = reverse("assessment:results", args=[assessment.pk])
    assert COMMENT not in client.get(results).content.decode()

    client.force_login(owner)
    publish(client, assessment)
    assert assessment.comments_published
    event = AuditEvent.objects.get(assessment=assessment)
    assert (event.action, event.actor) == ("comments.published", owner)

    client.force_login(viewer)
    html = client.get(results).content.decode()
    assert COMMENT in html
    assert "Published by the FinOps team, without names." in html

    client.force_login(owner)
    publish(client, assessment, published=False)
    assert not assessment.comments_published
    assert AuditEvent.objects.filter(action="comments.unpublished").count() == 1
    client.force_login(viewer)
    assert COMMENT not in client.get(results).content.decode()


def test_saving_other_settings_keeps_comments_published(client, owner, assessment):
    client.force_login(owner)
    publish(client, assessment)
    data = settings_data(assessment, title="Renamed", comments_published="on")
    client.post(reverse("assessment:edit", args=[assessment.pk]), data)
    assessment.refresh_from_db()
    assert (assessment.title, assessment.comments_published) == ("Renamed", True)
    # One event for the one change of publication.
    assert AuditEvent.objects.filter(action__startswith="comments.").count() == 1


def test_the_pages_point_to_the_setting_that_publishes(client, owner, assessment):
    client.force_login(owner)
    link = reverse("assessment:edit", args=[assessment.pk]) + "#id_comments_published"
    page = client.get(assessment.get_absolute_url()).content.decode()
    assert f'href="{link}"' in page
    assert re.search(r'id="report-comments"[^>]* disabled', page)
    dashboard = client.get(reverse("assessment:results", args=[assessment.pk]))
    html = dashboard.content.decode()
    assert f'href="{link}"' in html
    assert "from the assessment settings" not in html


@pytest.mark.real_pdf
def test_once_published_owners_download_the_report_with_its_comments(
    client, owner, assessment
):
    client.force_login(owner)
    publish(client, assessment)
    page = client.get(assessment.get_absolute_url()).content.decode()
    checkbox = re.search(r'<input[^>]*id="report-comments"[^>]*>', page).group(0)
    assert "disabled" not in checkbox
    reply = client.get(
        reverse("assessment:report", args=[assessment.pk]),
        {"paper": "a4", "comments": "1"},
    )
    assert reply.status_code == 200
    text = " ".join(pdf_text(reply.content).split())
    assert "Appendix: participants' comments" in text
    assert "réparti à la main" in text
