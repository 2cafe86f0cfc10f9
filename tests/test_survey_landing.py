"""The landing page of a personal link and joining through an open link."""

import datetime

import pytest
from django.urls import reverse

from assessment.invitations import open_link_create
from assessment.models import Assessment, Invitation, OpenLink, Response
from assessment.tokens import hash_token
from tests.factories import (
    create_assessment,
    create_invitation,
    get_persona,
    set_assessment_status,
    survey_url,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def assessment(organisation, framework):
    return create_assessment(
        organisation=organisation,
        framework=framework,
        closes_on=datetime.date.today() + datetime.timedelta(days=10),
        status=Assessment.Status.OPEN,
    )


def test_it_introduces_the_assessment_and_how_answers_are_used(client, assessment):
    _, token = create_invitation(
        assessment=assessment, persona="engineering", email="erin@acme.example"
    )
    html = client.get(survey_url(name="survey", token=token)).content.decode()
    assert "Acme Énergie" in html
    assert assessment.title in html
    closes = assessment.closes_on
    assert f"{closes.day} {closes:%b} {closes.year}" in html
    assert "11 for your role, about 20 minutes" in html
    assert "Leadership never sees one person" in html
    assert "fewer than 3 people" in html
    # The personal link is shown to bookmark, and the persona is pre-filled.
    assert f"/s/{token}/" in html
    assert "selected>Engineering</option>" in html


def test_an_unknown_link_is_a_404(client):
    assert client.get(survey_url(name="survey", token="nope")).status_code == 404
    assert client.get(reverse("assessment:join", args=["nope"])).status_code == 404


def test_starting_confirms_persona_and_business_unit_then_opens_the_first_page(
    client, assessment, framework
):
    _, token = create_invitation(assessment=assessment, persona="engineering")
    reply = client.post(
        survey_url(name="survey", token=token),
        {
            "persona": get_persona(framework=framework, slug="finance").pk,
            "business_unit": "  Retail  ",
        },
    )
    assert reply.status_code == 302
    assert "/p/understand-usage-cost/" in reply.url
    response = Response.objects.get()
    assert (response.persona.slug, response.business_unit) == ("finance", "Retail")


def test_a_persona_not_in_the_assessment_is_refused_clearly(
    client, organisation, framework
):
    assessment = create_assessment(
        organisation=organisation,
        framework=framework,
        personas=[get_persona(framework=framework, slug="engineering")],
        status=Assessment.Status.OPEN,
    )
    _, token = create_invitation(assessment=assessment, persona="engineering")
    reply = client.post(
        survey_url(name="survey", token=token),
        {
            "persona": get_persona(framework=framework, slug="finance").pk,
            "business_unit": "Kept BU",
        },
    )
    assert reply.status_code == 200
    assert "Select a valid choice" in reply.content.decode()
    assert "Kept BU" in reply.content.decode()
    assert not Response.objects.exists()


def test_a_draft_assessment_says_it_is_not_open_yet(client, organisation, framework):
    assessment = create_assessment(
        organisation=organisation, framework=framework, status=Assessment.Status.OPEN
    )
    set_assessment_status(assessment=assessment, status=Assessment.Status.DRAFT)
    _, token = create_invitation(assessment=assessment, persona="engineering")
    html = client.get(survey_url(name="survey", token=token)).content.decode()
    assert "not open yet" in html
    assert '<form method="post" novalidate>' not in html
    client.post(
        survey_url(name="survey", token=token),
        {"persona": get_persona(framework=assessment.framework, slug="engineering").pk},
    )
    assert not Response.objects.exists()


def test_a_closed_assessment_offers_the_answers_read_only(client, assessment):
    _, token = create_invitation(assessment=assessment, persona="engineering")
    client.post(
        survey_url(name="survey", token=token),
        {"persona": get_persona(framework=assessment.framework, slug="engineering").pk},
    )
    set_assessment_status(assessment=assessment, status=Assessment.Status.CLOSED)
    html = client.get(survey_url(name="survey", token=token)).content.decode()
    assert "has closed" in html
    assert "See your answers" in html


@pytest.fixture
def open_link(assessment, framework):
    """A link that lets people choose their persona (engineering by default)."""
    _, token = open_link_create(
        assessment=assessment,
        persona=get_persona(framework=framework, slug="engineering"),
        allow_persona_choice=True,
    )
    return token


def test_an_open_link_asks_role_and_unit_once_then_starts_the_questions(
    client, open_link, framework
):
    join_url = reverse("assessment:join", args=[open_link])
    page = client.get(join_url).content.decode()
    assert "selected>Engineering</option>" in page
    assert "Business unit or team (optional)" in page
    reply = client.post(
        join_url,
        {
            "persona": get_persona(framework=framework, slug="product").pk,
            "business_unit": "Retail",
        },
    )
    assert reply.status_code == 302
    personal = reply.url.split("/")[2]
    invitation = Invitation.objects.get(tokens__token_hash=hash_token(personal))
    assert invitation.response.persona.slug == "product"
    assert invitation.response.business_unit == "Retail"
    # Straight to the first page of questions: role and unit are not asked again.
    assert reply.url.startswith(f"/s/{personal}/p/")
    page = client.get(reply.url).content.decode()
    assert "Business unit or team" not in page
    assert "Bookmark this page" in page
    landing = client.get(survey_url(name="survey", token=personal)).content.decode()
    assert f"/s/{personal}/" in landing
    assert "no name or email address is recorded" in landing


def test_an_inactive_open_link_is_a_404(client, open_link):
    OpenLink.objects.update(is_active=False)
    assert client.get(reverse("assessment:join", args=[open_link])).status_code == 404


def test_an_open_link_of_a_closed_assessment_joins_nobody(
    client, open_link, assessment, framework
):
    set_assessment_status(assessment=assessment, status=Assessment.Status.CLOSED)
    join_url = reverse("assessment:join", args=[open_link])
    assert "has closed" in client.get(join_url).content.decode()
    reply = client.post(
        join_url, {"persona": get_persona(framework=framework, slug="product").pk}
    )
    assert reply.status_code == 200
    assert not Invitation.objects.exists()
