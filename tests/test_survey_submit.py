"""Reviewing, submitting, the thank-you page and reopening."""

import pytest

from assessment.models import Assessment, Response
from assessment.responses import answers_save
from tests.factories import (
    create_assessment,
    set_assessment_status,
    start_response,
    survey_url,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def assessment(organisation, framework):
    return create_assessment(
        organisation=organisation, framework=framework, status=Assessment.Status.OPEN
    )


@pytest.fixture
def finance(assessment):
    token, response = start_response(assessment=assessment, persona="finance")
    routed = assessment.scoped_capabilities.filter(personas=response.persona)
    ids = list(routed.values_list("capability_id", flat=True))
    answers_save(response=response, answers={ids[0]: (3, "Forecasts monthly")})
    return token, response, ids


def test_the_review_lists_the_unanswered_questions(client, finance):
    token, _, ids = finance
    page = client.get(survey_url(name="survey_review", token=token))
    html = page.content.decode()
    assert f"{len(ids) - 1} questions not answered yet" in html
    assert {
        entry["item"]["capability"].pk for entry in page.context["unanswered"]
    } == set(ids[1:])


def test_submitting_twice_yields_one_submitted_response_with_the_latest_answers(
    client, finance
):
    token, response, ids = finance
    first = client.post(survey_url(name="survey_review", token=token))
    second = client.post(survey_url(name="survey_review", token=token))
    assert first.status_code == second.status_code == 302
    assert first.url == second.url == survey_url(name="survey_thanks", token=token)
    response.refresh_from_db()
    assert Response.objects.count() == 1
    assert (response.status, response.submit_count) == ("submitted", 1)
    assert list(response.answers.values_list("value", "comment")) == [
        (3, "Forecasts monthly")
    ]


def test_the_thank_you_page_shows_a_copy_of_the_answers(client, finance):
    token, _, _ = finance
    client.post(survey_url(name="survey_review", token=token))
    html = client.get(survey_url(name="survey_thanks", token=token)).content.decode()
    assert "Thank you!" in html
    assert "Forecasts monthly" in html
    assert "level-3" in html
    assert "Reopen my answers" in html


def test_reopening_makes_it_a_draft_and_submitting_again_counts_a_resubmission(
    client, finance
):
    token, response, _ = finance
    client.post(survey_url(name="survey_review", token=token))
    reply = client.post(survey_url(name="survey_reopen", token=token))
    assert reply.url == survey_url(name="survey_review", token=token)
    response.refresh_from_db()
    assert response.status == "draft"
    client.post(survey_url(name="survey_review", token=token))
    response.refresh_from_db()
    assert (response.status, response.submit_count) == ("submitted", 2)


def test_reopen_only_accepts_post(client, finance):
    token, _, _ = finance
    assert client.get(survey_url(name="survey_reopen", token=token)).status_code == 405


def test_submitting_after_the_assessment_closed_is_refused_with_a_message(
    client, finance, assessment
):
    token, response, _ = finance
    set_assessment_status(assessment=assessment, status=Assessment.Status.CLOSED)
    reply = client.post(survey_url(name="survey_review", token=token), follow=True)
    assert "has closed" in reply.content.decode()
    response.refresh_from_db()
    assert response.status == "draft"
    assert (
        "Forecasts monthly"
        in client.get(survey_url(name="survey_thanks", token=token)).content.decode()
    )


def test_submitting_nothing_is_refused_with_a_message(client, assessment):
    token, response = start_response(assessment=assessment, persona="finance")
    reply = client.post(survey_url(name="survey_review", token=token), follow=True)
    assert "Answer at least one question" in reply.content.decode()
    response.refresh_from_db()
    assert response.status == "draft"
