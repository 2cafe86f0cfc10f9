"""Participants' links stop working a while after the assessment closes."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from assessment import lifecycle
from assessment.invitations import open_link_create
from assessment.models import Assessment, AuditEvent
from tests.factories import (
    answer_every_question,
    create_assessment,
    start_response,
    survey_page_url,
    survey_url,
)

UNDERSTAND = "understand-usage-cost"


@pytest.fixture
def assessment(organisation, framework):
    return create_assessment(
        organisation=organisation, framework=framework, status=Assessment.Status.OPEN
    )


@pytest.fixture
def participant(assessment):
    token, response = start_response(assessment=assessment, persona="engineering")
    answer_every_question(response=response)
    return token


def _closed_days_ago(assessment: Assessment, days: float) -> None:
    lifecycle.assessment_close(assessment=assessment)
    assessment.closed_at = timezone.now() - datetime.timedelta(days=days)
    assessment.save(update_fields=["closed_at"])


def test_links_keep_working_for_thirty_days_after_closing(
    client, assessment, participant
):
    _closed_days_ago(assessment, 29.9)
    response = client.get(survey_url(name="survey", token=participant))
    assert response.status_code == 200
    assert "has closed" in response.content.decode()


@pytest.mark.parametrize(
    "page", ["survey", "survey_review", "survey_thanks", "survey_more", "domain"]
)
def test_after_that_every_page_says_the_link_has_expired(
    client, assessment, participant, page
):
    _closed_days_ago(assessment, 30.1)
    if page == "domain":
        target = survey_page_url(token=participant, domain=UNDERSTAND)
    else:
        target = survey_url(name=page, token=participant)
    response = client.get(target)
    assert response.status_code == 410
    html = response.content.decode()
    assert "This link has expired" in html
    assert "Answer" not in html and "Walk" not in html  # no answers shown
    assert {"no-store", "private"} <= {
        d.strip() for d in response["Cache-Control"].split(",")
    }


def test_posting_to_an_expired_link_changes_nothing(client, assessment, participant):
    _closed_days_ago(assessment, 31)
    response = client.post(survey_url(name="survey_reopen", token=participant))
    assert response.status_code == 410
    assert assessment.responses.get().status == "draft"


def test_an_open_link_expires_too(client, assessment, framework):
    _, token = open_link_create(
        assessment=assessment, persona=framework.personas.get(slug="finance")
    )
    _closed_days_ago(assessment, 31)
    response = client.get(reverse("assessment:join", args=[token]))
    assert response.status_code == 410
    assert "This link has expired" in response.content.decode()


def test_the_time_after_closing_is_configurable(
    client, assessment, participant, settings
):
    settings.SURVEY_LINK_DAYS_AFTER_CLOSE = 7
    _closed_days_ago(assessment, 8)
    assert client.get(survey_url(name="survey", token=participant)).status_code == 410
    settings.SURVEY_LINK_DAYS_AFTER_CLOSE = 10
    assert client.get(survey_url(name="survey", token=participant)).status_code == 200


def test_links_of_open_and_reopened_assessments_never_expire(
    client, assessment, participant
):
    _closed_days_ago(assessment, 400)
    lifecycle.assessment_reopen(assessment=assessment)
    assert assessment.links_expire_at() is None
    assert client.get(survey_url(name="survey", token=participant)).status_code == 200


def test_an_owner_keeps_the_links_working_longer(
    client, owner, viewer, assessment, participant
):
    _closed_days_ago(assessment, 40)
    client.force_login(owner)
    detail = reverse("assessment:detail", args=[assessment.pk])
    assert "stopped working on" in client.get(detail).content.decode()
    keep = reverse("assessment:keep_links", args=[assessment.pk])
    response = client.post(keep, follow=True)
    assert "now work until" in response.content.decode()
    assessment.refresh_from_db()
    remaining = assessment.links_expire_at() - timezone.now()
    assert (
        datetime.timedelta(days=29, hours=23) < remaining <= datetime.timedelta(days=30)
    )
    assert AuditEvent.objects.get(assessment=assessment).action == "links.kept"
    client.logout()
    assert client.get(survey_url(name="survey", token=participant)).status_code == 200
    client.force_login(viewer)
    assert client.post(keep).status_code == 403


def test_keeping_adds_to_links_still_working(assessment):
    _closed_days_ago(assessment, 10)
    before = assessment.links_expire_at()
    lifecycle.assessment_keep_links(assessment=assessment, days=30)
    assert assessment.links_expire_at() == before + datetime.timedelta(days=30)


def test_an_open_assessments_links_need_no_keeping(client, owner, assessment):
    client.force_login(owner)
    keep = reverse("assessment:keep_links", args=[assessment.pk])
    response = client.post(keep, follow=True)
    assert "Links work while the assessment is open." in response.content.decode()
    assessment.refresh_from_db()
    assert assessment.links_kept_until is None
