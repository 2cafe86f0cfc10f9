"""Dates people read: one format, and an early close says only when it closed."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from assessment.lifecycle import assessment_close
from assessment.models import Assessment, OpenLink
from assessment.tokens import new_token
from tests.factories import (
    answer_every_question,
    create_assessment,
    create_invitation,
    start_response,
    survey_url,
)

pytestmark = pytest.mark.django_db

# Closed on 30 November 2026, three weeks before its planned closing date.
CLOSED_AT = datetime.datetime(2026, 11, 30, 15, 0, tzinfo=datetime.UTC)


def shown(day: datetime.date) -> str:
    """Write a date as people should read it, independently of the app."""
    return f"{day.day} {day:%b} {day.year}"


@pytest.fixture
def planned() -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=21)


@pytest.fixture
def closed_early(organisation, framework, planned):
    assessment = create_assessment(
        organisation=organisation,
        framework=framework,
        opens_on=datetime.date(2026, 11, 2),
        closes_on=planned,
        status=Assessment.Status.OPEN,
    )
    assessment_close(assessment=assessment)
    assessment.closed_at = CLOSED_AT
    assessment.save(update_fields=["closed_at"])
    return assessment


def _text(reply) -> str:
    assert reply.status_code == 200
    return " ".join(reply.content.decode().split())


def test_the_assessment_page_says_only_when_it_closed(
    client, owner, closed_early, planned
):
    client.force_login(owner)
    html = _text(client.get(closed_early.get_absolute_url()))
    assert "closed on 30 Nov 2026" in html
    assert shown(planned) not in html
    assert "days left" not in html
    assert "day left" not in html


def test_the_list_says_when_it_closed_not_when_it_was_to_close(
    client, owner, closed_early, planned
):
    client.force_login(owner)
    html = _text(client.get(reverse("assessment:list", args=["acme"])))
    assert "Closed 30 Nov 2026" in html
    assert shown(planned) not in html


def test_survey_pages_say_only_when_it_closed(client, closed_early, planned):
    _, token = create_invitation(
        assessment=closed_early, persona="engineering", email="erin@acme.example"
    )
    html = _text(client.get(survey_url(name="survey", token=token)))
    assert "closed on 30 Nov 2026" in html
    assert "Closed on</dt>" in html
    assert shown(planned) not in html
    assert "Closes on" not in html

    raw, token_hash = new_token()
    OpenLink.objects.create(
        assessment=closed_early,
        persona=closed_early.framework.personas.get(slug="finance"),
        token_hash=token_hash,
    )
    html = _text(client.get(reverse("assessment:join", args=[raw])))
    assert "closed on 30 Nov 2026" in html
    assert "open until" not in html
    assert shown(planned) not in html


def test_an_open_assessment_still_counts_down_to_its_closing_date(
    client, owner, organisation, framework
):
    closes = timezone.localdate() + datetime.timedelta(days=9)
    assessment = create_assessment(
        organisation=organisation,
        framework=framework,
        closes_on=closes,
        status=Assessment.Status.OPEN,
    )
    client.force_login(owner)
    html = _text(client.get(assessment.get_absolute_url()))
    assert f"closes {shown(closes)} (9 days left)" in html
    html = _text(client.get(reverse("assessment:list", args=["acme"])))
    assert shown(closes) in html
    _, token = create_invitation(
        assessment=assessment, persona="engineering", email="erin@acme.example"
    )
    html = _text(client.get(survey_url(name="survey", token=token)))
    assert "Closes on</dt>" in html
    assert f"{shown(closes)} (9 days left)" in html


def test_reopening_says_when_it_will_close_again(client, owner, closed_early, planned):
    client.force_login(owner)
    html = _text(client.get(reverse("assessment:reopen", args=[closed_early.pk])))
    assert f"it closes again on {shown(planned)}" in html


def test_a_passed_closing_date_is_named_in_the_one_date_format(
    client, owner, organisation, framework
):
    assessment = create_assessment(
        organisation=organisation, framework=framework, status=Assessment.Status.OPEN
    )
    assessment_close(assessment=assessment)
    assessment.closes_on = datetime.date(2025, 3, 5)
    assessment.save(update_fields=["closes_on"])
    client.force_login(owner)
    reply = client.post(
        reverse("assessment:reopen", args=[assessment.pk]), {"closes_on": ""}
    )
    html = _text(reply)
    assert "The closing date (5 Mar 2025) has passed" in html
    assert "Its closing date (5 Mar 2025) has passed: choose a new one." in html


def test_a_submission_time_is_shown_in_the_one_format(client, organisation, framework):
    assessment = create_assessment(
        organisation=organisation, framework=framework, status=Assessment.Status.OPEN
    )
    token, response = start_response(assessment=assessment, persona="engineering")
    answer_every_question(response=response)
    client.post(survey_url(name="survey_review", token=token))
    response.refresh_from_db()
    html = _text(client.get(survey_url(name="survey_thanks", token=token)))
    local = timezone.localtime(response.submitted_at)
    assert f"submitted on {shown(local)}, {local:%H:%M}" in html
