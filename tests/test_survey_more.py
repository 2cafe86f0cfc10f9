"""Answering capabilities outside the persona's routing ("answer more")."""

import pytest

from assessment.models import Assessment
from tests.factories import (
    create_assessment,
    start_response,
    survey_page_url,
    survey_url,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def participant(organisation, framework):
    assessment = create_assessment(
        organisation=organisation, framework=framework, status=Assessment.Status.OPEN
    )
    token, response = start_response(assessment=assessment, persona="finance")
    outside = assessment.scoped_capabilities.exclude(personas=response.persona)
    return token, response, outside.select_related("capability__domain")[0]


def test_an_added_capability_joins_its_domain_page(client, participant):
    token, response, extra = participant
    html = client.get(survey_url(name="survey_more", token=token)).content.decode()
    assert extra.capability.name in html
    reply = client.post(
        survey_url(name="survey_more", token=token),
        {"capability": [extra.capability_id]},
    )
    assert reply.status_code == 302
    page = client.get(
        survey_page_url(token=token, domain=extra.capability.domain.slug)
    ).content.decode()
    assert f'name="value-{extra.capability_id}"' in page
    assert "added by you" in page


@pytest.mark.parametrize("bad", ["999999", "abc", "²", "99999999999999999999"])
def test_an_unknown_capability_is_refused_clearly(client, participant, bad):
    token, response, extra = participant
    reply = client.post(
        survey_url(name="survey_more", token=token),
        {"capability": [extra.capability_id, bad]},
    )
    assert reply.status_code == 200
    assert "not available to add" in reply.content.decode()
    assert not response.extra_capabilities.exists()
